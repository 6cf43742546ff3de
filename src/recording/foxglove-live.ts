// A running trial served live to Foxglove over the Foxglove WebSocket protocol (@foxglove/ws-protocol on a
// `ws` server), as Foxglove connects to a ROS 2 bridge: the same channels, schemas and messages the
// recorder writes to run.mcap (messages.ts), the scene also sent again once a second for viewers that join
// late. Read only: the server declares no capability, so Foxglove can neither publish, call services nor
// set parameters; the run's controls are the dashboard's.
// A CommonJS package whose named exports Node's ESM loader cannot see: its default export is the module.
import wsProtocol, { type IWebSocket } from '@foxglove/ws-protocol';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConfigError } from '../core/config-file.js';
import { isLoopback } from '../core/net.js';
import type { RunContext, RunService } from '../runtime/services.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import type { FoxgloveLiveConfig } from './config.js';
import { channelDefinitions, RunClock, TickMessages, type MessageHeader, type MessageRole } from './messages.js';

const { FoxgloveServer } = wsProtocol;

export interface FoxgloveLiveOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** The run's name, shown by Foxglove as the server's. */
  name: string;
  header: MessageHeader;
  log: (line: string) => void;
}

/** A viewer whose socket has this much unsent is skipped until it catches up: a slow viewer never grows the run's memory. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * A `ws` socket as the protocol's IWebSocket, dropping message data (binary frames) while the viewer is too
 * far behind; control messages (text) always go. Its send takes one argument, so the protocol sends each
 * message whole, never in fragments that could be half dropped.
 */
export class ThrottledSocket implements IWebSocket {
  private dropping = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly onDrop: () => void,
  ) {}

  get binaryType(): string {
    return this.ws.binaryType;
  }
  set binaryType(v: string) {
    this.ws.binaryType = v as WebSocket['binaryType'];
  }
  get protocol(): string {
    return this.ws.protocol;
  }
  /* eslint-disable @typescript-eslint/no-explicit-any -- the protocol's own handler types */
  get onerror(): ((event: any) => void) | null {
    return this.ws.onerror;
  }
  set onerror(f: ((event: any) => void) | null | undefined) {
    this.ws.onerror = f ?? null;
  }
  get onopen(): ((event: any) => void) | null {
    return this.ws.onopen;
  }
  set onopen(f: ((event: any) => void) | null | undefined) {
    this.ws.onopen = f ?? null;
  }
  get onclose(): ((event: any) => void) | null {
    return this.ws.onclose;
  }
  set onclose(f: ((event: any) => void) | null | undefined) {
    this.ws.onclose = f ?? null;
  }
  get onmessage(): ((event: any) => void) | null {
    return this.ws.onmessage;
  }
  set onmessage(f: ((event: any) => void) | null | undefined) {
    this.ws.onmessage = f ?? null;
  }
  /* eslint-enable @typescript-eslint/no-explicit-any */
  close(): void {
    this.ws.close();
  }
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (typeof data !== 'string' && this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      if (!this.dropping) this.onDrop();
      this.dropping = true;
      return;
    }
    this.dropping = false;
    this.ws.send(data);
  }
}

export class FoxgloveLiveServer {
  private readonly server: InstanceType<typeof FoxgloveServer>;
  private readonly channelIds = new Map<MessageRole, number>();
  private readonly messages: TickMessages;
  private readonly clock = new RunClock(Date.now());
  /** Channels some viewer is subscribed to: with none, a tick is not even encoded. */
  private readonly subscribed = new Set<number>();
  private wss: WebSocketServer | null = null;
  private boundPort: number | null = null;

  constructor(private readonly o: FoxgloveLiveOptions) {
    this.server = new FoxgloveServer({ name: `swarmguard ${o.name}`, capabilities: [] });
    this.server.on('subscribe', (id) => this.subscribed.add(id));
    this.server.on('unsubscribe', (id) => this.subscribed.delete(id));
    this.server.on('error', (err) => o.log(`foxglove: ${err.message}`));
    for (const ch of channelDefinitions()) {
      this.channelIds.set(ch.role, this.server.addChannel({ topic: ch.topic, encoding: 'json', schemaName: ch.schemaName, schema: ch.schema, schemaEncoding: 'jsonschema' }));
    }
    this.messages = new TickMessages(o.header, { live: true });
  }

  /** Starts listening; the port it got (the one asked for, or a free one for 0). */
  async listen(): Promise<number> {
    const { host, port } = this.o;
    const wss = new WebSocketServer({ host, port, perMessageDeflate: false, maxPayload: 64 * 1024, handleProtocols: (protocols) => this.server.handleProtocols(protocols) });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException) => {
        wss.close();
        reject(new Error(err.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use (set foxglove.port, or 0 for any free port)` : `cannot listen on ${host}:${port}: ${err.message}`));
      };
      wss.once('error', fail);
      wss.once('listening', () => {
        wss.off('error', fail);
        wss.on('error', (err) => this.o.log(`foxglove: server error: ${err.message}`));
        resolve();
      });
    });
    wss.on('connection', (ws, req) => {
      const name = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      // A throw from a socket error without a listener would end the run: logged instead.
      ws.on('error', (err) => this.o.log(`foxglove: viewer ${name}: ${err.message}`));
      this.server.handleConnection(
        new ThrottledSocket(ws, () => this.o.log(`foxglove: viewer ${name} is too slow: messages skipped until it catches up`)),
        name,
      );
    });
    this.wss = wss;
    this.boundPort = (wss.address() as AddressInfo).port;
    return this.boundPort;
  }

  /** How many channels some viewer is subscribed to. */
  get subscribedChannels(): number {
    return this.subscribed.size;
  }

  /** The address Foxglove opens (Open connection > Foxglove WebSocket). */
  url(): string {
    if (this.boundPort === null) throw new Error('foxglove: not listening');
    const h = this.o.host === '0.0.0.0' || this.o.host === '::' ? '127.0.0.1' : this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `ws://${h}:${this.boundPort}`;
  }

  /** One tick's messages to every viewer subscribed to their channels. */
  tick(record: TickRecord, events: readonly RunEvent[]): void {
    const logTime = this.clock.logTime(record.timeMs);
    if (this.subscribed.size === 0) return;
    for (const m of this.messages.encode(record, events, logTime, Date.now())) {
      const id = this.channelIds.get(m.role)!;
      if (this.subscribed.has(id)) this.server.sendMessage(id, logTime, m.data);
    }
  }

  async close(): Promise<void> {
    const wss = this.wss;
    this.wss = null;
    if (!wss) return;
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}

/** The live server as a run service: the launch file's `foxglove:` block (one line in servicesFor, src/cli/run.ts). */
export class FoxgloveLiveService implements RunService {
  readonly name = 'foxglove';
  private current: FoxgloveLiveServer | null = null;

  constructor(private readonly config: FoxgloveLiveConfig) {}

  /** The running server (tests: its url). */
  get server(): FoxgloveLiveServer | null {
    return this.current;
  }

  async start(ctx: RunContext): Promise<void> {
    const { launch } = ctx;
    const server = new FoxgloveLiveServer({
      host: this.config.host,
      port: this.config.port,
      name: launch.name,
      header: { robotIds: launch.settings.robotIds, controlPeriod: launch.settings.controlPeriod, settings: { swarm: launch.settings } },
      log: ctx.log,
    });
    try {
      await server.listen();
    } catch (err) {
      // The address or port the launch file names cannot be had: bad input, named.
      throw new ConfigError(`${launch.source}: foxglove: ${(err as Error).message}`);
    }
    this.current = server;
    const reach = isLoopback(this.config.host) ? 'this machine only' : 'anyone who can reach this address can watch: the protocol has no authentication';
    ctx.log(`foxglove: ${server.url()}  (read only; ${reach}; in Foxglove: Open connection > Foxglove WebSocket)`);
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.current?.tick(record, events);
  }

  async stop(): Promise<void> {
    await this.current?.close();
  }
}
