// The dashboard server: the page (plain HTTP) and the telemetry stream (WebSocket on /ws) from one port.
// It is fed tick records and events by a live run (service.ts) or a replay, and takes operator controls
// only when it has the run's controller (a replay has none). tick() only stores the record and queues the
// events: encoding and sending happen after the control tick has returned, once per tick and detail level
// however many clients watch.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ControlAction, RunController } from '../runtime/control.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { allowedHosts, DEFAULT_LOCKOUT, isLoopback, Lockout, randomToken, refuseRequest, tokenMatches, type LockoutSettings } from './auth.js';
import { ClientStream, type FrameSource, type StreamStats } from './client-stream.js';
import { frameBody, parseClientMessage, visibleEvent, type ClientMessage, type DashboardAction, type Detail, type Welcome } from './protocol.js';
import { Refusals, type RefusalKind } from './refusals.js';

export interface DashboardServerOptions {
  title?: string;
  arena: { width: number; height: number };
  ids: readonly string[];
  bodyRadius: readonly number[];
  /** s per tick. */
  controlPeriod: number;
  /** Injections allowed, and their ground truth shown. */
  trialMode: boolean;
  flagAt: number;
  clearAt: number;
  /** The run's controller; without one (a replay) every control is refused with "replay: no controls". */
  controller?: RunController | null;
  /** Attack names the injection control offers -> the reference the controller loads (fault:/obs-noise: need none). */
  attacks?: Record<string, string>;
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** Left out: a random one (see `token`). */
  token?: string;
  log?: (line: string) => void;
  lockout?: LockoutSettings;
  maxClients?: number;
}

export interface DashboardStats {
  clients: number;
  refused: Partial<Record<RefusalKind, number>>;
  /** Per connected client. */
  streams: StreamStats[];
}

interface Client {
  ws: WebSocket;
  address: string;
  stream: ClientStream;
  viewing: boolean;
  malformed: number;
}

const PAGE_DIR = new URL('./page/', import.meta.url);
const PAGES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
};
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};
const RECENT_EVENTS = 50;
/** A client that sends this many malformed messages is disconnected. */
const MAX_MALFORMED = 50;
const DONE: Record<ControlAction['kind'], string> = {
  estop: 'e-stop engaged: every robot stopped until released',
  release: 'e-stop released',
  stop: 'every robot held still until start',
  start: 'robots under their policies again',
  inject: 'injection scheduled from the next tick',
};

export class DashboardServer implements FrameSource {
  readonly token: string;
  readonly refusals: Refusals;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly lockout: Lockout;
  private readonly pages = new Map<string, Buffer>();
  private readonly log: (line: string) => void;
  private hosts: Set<string> | null = null;
  private boundPort: number | null = null;
  private latest: TickRecord | null = null;
  private bodies: Partial<Record<Detail, string>> = {};
  private flushQueued = false;
  private readonly flags = new Map<string, Welcome['flags'][string]>();
  private readonly recent: RunEvent[] = [];
  private eStopped: string | null = null;
  private paused = false;

  constructor(private readonly o: DashboardServerOptions) {
    if (o.ids.length !== o.bodyRadius.length) throw new RangeError(`dashboard: ${o.ids.length} robot ids but ${o.bodyRadius.length} body radii`);
    this.token = o.token ?? randomToken();
    this.log = o.log ?? ((l) => console.log(l));
    this.refusals = new Refusals(this.log);
    this.lockout = new Lockout(o.lockout ?? DEFAULT_LOCKOUT);
    for (const { file } of Object.values(PAGES)) this.pages.set(file, readFileSync(new URL(file, PAGE_DIR)));
    this.http = createServer((req, res) => this.serveHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  private get host(): string {
    return this.o.host ?? '127.0.0.1';
  }

  /** Starts listening; the port it got (the one asked for, or a free one for 0). */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === 'EADDRINUSE' ? `port ${this.o.port ?? 0} on ${this.host} is in use (set dashboard.port, or 0 for any free port)` : `cannot listen on ${this.host}:${this.o.port ?? 0}: ${err.message}`));
      this.http.once('error', fail);
      this.http.listen(this.o.port ?? 0, this.host, () => {
        this.http.off('error', fail);
        resolve();
      });
    });
    this.boundPort = (this.http.address() as AddressInfo).port;
    this.hosts = allowedHosts(this.host, this.boundPort);
    return this.boundPort;
  }

  /** The page's address; with the token in the fragment (never sent to the server, read by the page). */
  url(withToken = false): string {
    if (this.boundPort === null) throw new Error('dashboard: not listening');
    const h = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}/${withToken ? `#token=${encodeURIComponent(this.token)}` : ''}`;
  }

  /** Viewing without the token: only when listening on loopback. */
  private get openView(): boolean {
    return isLoopback(this.host);
  }

  /** A tick's record and the events it produced. Cheap: the frame is encoded after the tick, once per detail. */
  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.latest = record;
    this.bodies = {};
    for (const e of events) this.remember(e);
    const visible = events.filter((e) => visibleEvent(e, this.o.trialMode)).map((e) => JSON.stringify(e));
    for (const c of this.clients) if (c.viewing && visible.length) c.stream.addEvents(visible);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      for (const c of this.clients) {
        if (!c.viewing) continue;
        // Outside the run's tick (no service guard here): one client's failure must not end the process.
        try {
          c.stream.offer();
        } catch (err) {
          this.log(`dashboard: client ${c.address} dropped: ${(err as Error).message}`);
          c.ws.terminate();
        }
      }
    });
  }

  /**
   * Forgets the run so far (a replay seeking back or starting over): flags, events, e-stop and pause state.
   * Every viewer is welcomed again, which clears its trails and event log.
   */
  reset(): void {
    this.latest = null;
    this.bodies = {};
    this.flags.clear();
    this.recent.length = 0;
    this.eStopped = null;
    this.paused = false;
    for (const c of this.clients) if (c.viewing) this.send(c, { type: 'welcome', ...this.welcome() });
  }

  /** FrameSource: the latest tick's frame body at one detail level, encoded at most once. */
  body(detail: Detail): string | null {
    if (!this.latest) return null;
    return (this.bodies[detail] ??= frameBody(this.latest, detail, { controlPeriod: this.o.controlPeriod, trialMode: this.o.trialMode, eStopped: this.eStopped, paused: this.paused }));
  }

  stats(): DashboardStats {
    return { clients: this.clients.size, refused: { ...this.refusals.counts }, streams: [...this.clients].map((c) => ({ ...c.stream.stats })) };
  }

  async close(): Promise<void> {
    for (const c of this.clients) {
      c.stream.close();
      c.ws.terminate();
    }
    this.clients.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.http.closeAllConnections();
    if (this.http.listening) await new Promise<void>((r) => this.http.close(() => r()));
  }

  private remember(e: RunEvent): void {
    if (e.kind === 'flag') this.flags.set(e.robot, { suspicion: e.suspicion, evidence: e.evidence, tick: e.tick });
    else if (e.kind === 'clear') this.flags.delete(e.robot);
    else if (e.kind === 'e-stop') this.eStopped = e.reason;
    else if (e.kind === 'release') this.eStopped = null;
    else if (e.kind === 'pause') this.paused = true;
    else if (e.kind === 'resume') this.paused = false;
    if (!visibleEvent(e, this.o.trialMode)) return;
    this.recent.push(e);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
  }

  private welcome(): Welcome {
    return {
      title: this.o.title ?? 'swarmguard',
      ids: this.o.ids,
      arena: this.o.arena,
      bodyRadius: this.o.bodyRadius,
      controlPeriod: this.o.controlPeriod,
      trialMode: this.o.trialMode,
      flagAt: this.o.flagAt,
      clearAt: this.o.clearAt,
      mode: this.o.controller ? 'live' : 'replay',
      attacks: this.o.trialMode && this.o.controller ? Object.keys(this.o.attacks ?? {}) : [],
      flags: Object.fromEntries(this.flags),
      events: [...this.recent],
      eStopped: this.eStopped,
      paused: this.paused,
    };
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    const why = refuseRequest({ host: req.headers.host }, this.hosts);
    if (why) {
      this.refusals.count('bad-host', `${req.socket.remoteAddress}: ${why}`);
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(`${why}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET\n');
      return;
    }
    const page = PAGES[new URL(req.url ?? '/', 'http://x').pathname];
    if (!page) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': page.type, ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : this.pages.get(page.file));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: string, kind: RefusalKind | null, why: string) => {
      if (kind) this.refusals.count(kind, `${req.socket.remoteAddress}: ${why}`);
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${why}\n`);
      socket.destroy();
    };
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') return refuse('404 Not Found', null, 'the telemetry stream is at /ws');
    const why = refuseRequest({ host: req.headers.host, origin: req.headers.origin }, this.hosts);
    if (why) return refuse('403 Forbidden', why.startsWith('Origin') ? 'bad-origin' : 'bad-host', why);
    if (this.clients.size >= (this.o.maxClients ?? 32)) return refuse('503 Service Unavailable', 'too-many-clients', `${this.clients.size} clients already watch`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, req.socket.remoteAddress ?? 'unknown'));
  }

  private connected(ws: WebSocket, address: string): void {
    const client: Client = { ws, address, stream: new ClientStream(ws, this), viewing: this.openView, malformed: 0 };
    this.clients.add(client);
    ws.on('message', (data, isBinary) => this.message(client, data, isBinary));
    ws.on('close', () => {
      client.stream.close();
      this.clients.delete(client);
    });
    ws.on('error', () => ws.terminate());
    if (client.viewing) this.startViewing(client);
    else this.send(client, { type: 'auth-needed' });
  }

  private startViewing(c: Client): void {
    c.viewing = true;
    this.send(c, { type: 'welcome', ...this.welcome() });
    if (this.latest) c.stream.offer();
  }

  private send(c: Client, msg: object): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  }

  private refuse(c: Client, kind: RefusalKind, reason: string, id: number | null = null): void {
    this.refusals.count(kind, `${c.address}: ${reason}`);
    this.send(c, { type: 'error', id, reason });
  }

  private message(c: Client, data: RawData, isBinary: boolean): void {
    const parsed = isBinary ? ({ ok: false, why: 'binary messages are not part of the protocol' } as const) : parseClientMessage(data.toString());
    if (!parsed.ok) {
      this.refuse(c, 'malformed', `malformed message: ${parsed.why}`);
      if (++c.malformed >= MAX_MALFORMED) c.ws.close(1008, 'too many malformed messages');
      return;
    }
    const msg = parsed.msg;
    switch (msg.type) {
      case 'ack':
        if (!c.stream.ack(msg.seq)) this.refuse(c, 'bad-ack', `ack for frame ${msg.seq}, which was never sent`);
        return;
      case 'hello':
        if (c.viewing) return;
        if (this.checkToken(c, msg.token, null)) this.startViewing(c);
        return;
      case 'control':
        void this.control(c, msg);
        return;
    }
  }

  /** The token check every protected message goes through: lock-out first, then a constant-time compare. */
  private checkToken(c: Client, token: string | undefined, id: number | null): boolean {
    const locked = this.lockout.lockedFor(c.address);
    if (locked > 0) {
      this.refuse(c, 'locked-out', `locked out for ${locked} s after repeated wrong tokens`, id);
      return false;
    }
    if (!token) {
      this.refuse(c, 'no-token', 'this needs the token (the URL printed at start-up carries it)', id);
      return false;
    }
    if (!tokenMatches(token, this.token)) {
      const locks = this.lockout.fail(c.address);
      this.refuse(c, 'wrong-token', locks ? `wrong token; locked out for ${this.lockout.lockedFor(c.address)} s` : 'wrong token', id);
      return false;
    }
    return true;
  }

  private async control(c: Client, msg: Extract<ClientMessage, { type: 'control' }>): Promise<void> {
    const id = msg.id ?? null;
    const controller = this.o.controller;
    if (!controller) return this.refuse(c, 'replay', 'replay: no controls', id);
    if (!this.checkToken(c, msg.token, id)) return;
    const action = this.toAction(msg.action);
    if (typeof action === 'string') return this.refuse(c, 'unknown-attack', action, id);
    try {
      await controller.apply(action, 'dashboard');
      this.send(c, { type: 'result', id, message: DONE[action.kind] });
    } catch (err) {
      this.refuse(c, 'rejected-by-run', (err as Error).message, id);
    }
  }

  /** The controller's action; an injection's attack must be one offered (or a fault / observation noise). */
  private toAction(a: DashboardAction): ControlAction | string {
    if (a.kind === 'estop') return { kind: 'estop', reason: a.reason || 'dashboard' };
    if (a.kind !== 'inject') return a;
    const offered = this.o.attacks ?? {};
    const ref = Object.hasOwn(offered, a.attack) ? offered[a.attack]! : /^(fault|obs-noise):/.test(a.attack) ? a.attack : null;
    if (ref === null) return `unknown attack '${a.attack}' (offered: ${[...Object.keys(offered), 'fault:<name>', 'obs-noise:<eps>'].join(', ')})`;
    return { ...a, attack: ref };
  }
}
