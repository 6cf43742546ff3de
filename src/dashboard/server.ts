// The dashboard server: the page (plain HTTP) and the telemetry stream (WebSocket on /ws) from one port.
// It is fed tick records and events by a live run (service.ts) or a replay, and takes operator controls
// only when it has the run's controller (a replay has none). tick() only stores the record and queues the
// events: encoding and sending happen after the control tick has returned, once per tick and detail level
// however many clients watch. When the run ends, end() tells every viewer so (and how, with the summary)
// before close() lets them go: the page then stops reconnecting.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ControlAction, RunController } from '../runtime/control.js';
import type { RunEnd } from '../runtime/services.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { isBuiltinAttack } from '../attacks/attack.js';
import type { OnFlag } from '../runtime/isolation.js';
import { isLoopback } from '../core/net.js';
import { allowedHosts, DEFAULT_LOCKOUT, Lockout, randomToken, refuseRequest, tokenMatches, type LockoutSettings } from './auth.js';
import { ClientStream, type FrameSource, type StreamStats } from './client-stream.js';
import { Pages, pathOf } from './pages.js';
import { eventsToShow, type ShownEvent } from './events.js';
import { frameBody, parseClientMessage, type ClientMessage, type DashboardAction, type Detail, type RunEnded, type Welcome } from './protocol.js';
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
  /** The consistency detector's CUSUM threshold (the monitor's consistency.threshold), drawn with each flag's CUSUM. */
  cusumThreshold: number;
  /** What a flag does at the start (monitor.onFlag; default report); later changes come as on-flag events. */
  onFlag?: OnFlag;
  /** The run's controller; without one (a replay) every control is refused with "replay: no controls". */
  controller?: RunController | null;
  /** Attack names the injection control offers -> the reference the controller loads (fault:/obs-noise: need none). */
  attacks?: Record<string, string>;
  host?: string;
  /**
   * 'open' (default): anyone who can reach a loopback address may watch without the token (never on any
   * other address); 'token': watching always needs it (e.g. behind a reverse proxy, where every client
   * comes from loopback).
   */
  viewing?: 'open' | 'token';
  /** 0: any free port. */
  port?: number;
  /** Left out: a random one (see `token`). */
  token?: string;
  log?: (line: string) => void;
  lockout?: LockoutSettings;
  /** Connections at once (default 32); when full, the oldest that has not shown the token makes room. */
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
  /**
   * This connection has shown the token (a `hello` or a control that carried it): the lock-out no longer
   * applies to it, so whoever keeps the address locked out with wrong tokens cannot keep an operator's open
   * page from its e-stop.
   */
  proven: boolean;
  /** Messages refused so far (every kind): each costs a reply, so a client gets a bounded number of them. */
  refused: number;
  /** Messages in the current one-second window, and when it started (ms). */
  received: number;
  windowStart: number;
}

const RECENT_EVENTS = 50;
/** A client whose messages have been refused this many times (malformed, wrong token, bad ack...) is disconnected. */
const MAX_REFUSED = 50;
/** A client that lets this much pile up unread in its socket (replies; frames stop at HIGH_WATER_BYTES) is dropped. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * Messages one client may send per second. The page sends at most one ack per frame (10 Hz) and a control
 * now and then; a flood would be parsed on the run's own thread, between its control ticks.
 */
const MAX_MESSAGES_PER_SECOND = 100;
/** How long close() waits for viewers to take the closing handshake (and the run-ended message before it). */
const CLOSE_GRACE_MS = 1000;
const REPLAY_CONTROLS_OFF = 'a replay of a recording: the controls act on a live run only';
const ENDED_CONTROLS_OFF = 'the run has ended';
const DONE: Record<ControlAction['kind'], string> = {
  estop: 'e-stop engaged: every robot stopped until released',
  release: 'e-stop released',
  stop: 'every robot held still until start',
  start: 'robots under their policies again',
  inject: 'injection scheduled from the next tick',
  'end-injection': "the robot's injections ended: back under its policy",
  'on-flag': 'flags now act as set (robots flagged now are isolated or released at once)',
};

export class DashboardServer implements FrameSource {
  readonly token: string;
  readonly refusals: Refusals;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly lockout: Lockout;
  private readonly pages = new Pages();
  private readonly log: (line: string) => void;
  private hosts: Set<string> | null = null;
  private boundPort: number | null = null;
  private latest: TickRecord | null = null;
  private bodies: Partial<Record<Detail, string>> = {};
  private flushQueued = false;
  private readonly flags = new Map<string, Welcome['flags'][string]>();
  private readonly recent: ShownEvent[] = [];
  private eStopped: string | null = null;
  private paused = false;
  private onFlag: OnFlag;
  private readonly isolated = new Set<string>();
  private ended: RunEnded | null = null;

  constructor(private readonly o: DashboardServerOptions) {
    if (o.ids.length !== o.bodyRadius.length) throw new RangeError(`dashboard: ${o.ids.length} robot ids but ${o.bodyRadius.length} body radii`);
    this.token = o.token ?? randomToken();
    this.onFlag = o.onFlag ?? 'report';
    this.log = o.log ?? ((l) => console.log(l));
    this.refusals = new Refusals(this.log);
    this.lockout = new Lockout(o.lockout ?? DEFAULT_LOCKOUT);
    // Whatever a request holds, a throw here would end the run (these handlers are outside its guard).
    this.http = createServer((req, res) => {
      try {
        this.serveHttp(req, res);
      } catch (err) {
        this.log(`dashboard: a request failed: ${(err as Error).message}`);
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error\n');
      }
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node leaves an upgrading socket without an error listener: a reset before ws takes it must not throw.
      socket.on('error', () => socket.destroy());
      try {
        this.upgrade(req, socket, head);
      } catch (err) {
        this.log(`dashboard: a WebSocket upgrade failed: ${(err as Error).message}`);
        socket.destroy();
      }
    });
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
        // Later server errors (accept() out of file descriptors when flooded with connections) would be
        // thrown without a listener, ending the run: logged instead, and the server goes on accepting.
        this.http.on('error', (err) => this.log(`dashboard: server error: ${err.message}`));
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

  /** Viewing without the token: only when listening on loopback, and not turned off. */
  get openView(): boolean {
    return (this.o.viewing ?? 'open') === 'open' && isLoopback(this.host);
  }

  /** A tick's record and the events it produced. Cheap: the frame is encoded after the tick, once per detail. */
  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.latest = record;
    this.bodies = {};
    for (const e of events) this.remember(e);
    const shown = eventsToShow(events, this.o);
    for (const e of shown) this.recent.push(e);
    if (this.recent.length > RECENT_EVENTS) this.recent.splice(0, this.recent.length - RECENT_EVENTS);
    const encoded = shown.map((e) => JSON.stringify(e));
    for (const c of this.clients) if (c.viewing && encoded.length) c.stream.addEvents(encoded);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  /** Offers the latest tick to every viewer (after the tick that stored it, or before the run-ended message). */
  private flush(): void {
    if (!this.flushQueued) return;
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
  }

  /**
   * The run is over: every viewer is told how it ended (with the summary), after the last tick's frame, and
   * so is a page that connects later (a replay held at its end). The page then stops reconnecting.
   */
  end(end: RunEnd): void {
    this.flush();
    const tick = this.latest?.tick ?? null;
    this.ended = { reason: end.reason, tick, t: tick === null ? null : Math.round(tick * this.o.controlPeriod * 1000) / 1000, summary: end.summary?.map((l) => l.replace(/^\n/, '')) ?? null };
    for (const c of this.clients) if (c.viewing) this.send(c, { type: 'run-ended', ...this.ended });
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
    this.onFlag = this.o.onFlag ?? 'report';
    this.isolated.clear();
    this.ended = null;
    for (const c of this.clients) if (c.viewing) this.send(c, { type: 'welcome', ...this.welcome() });
  }

  /** FrameSource: the latest tick's frame body at one detail level, encoded at most once. */
  body(detail: Detail): string | null {
    if (!this.latest) return null;
    return (this.bodies[detail] ??= frameBody(this.latest, detail, { controlPeriod: this.o.controlPeriod, trialMode: this.o.trialMode, eStopped: this.eStopped, paused: this.paused, isolated: [...this.isolated].map((id) => this.o.ids.indexOf(id)) }));
  }

  stats(): DashboardStats {
    return { clients: this.clients.size, refused: { ...this.refusals.counts }, streams: [...this.clients].map((c) => ({ ...c.stream.stats })) };
  }

  /**
   * Lets every viewer go with a closing handshake (so a run-ended message sent before it arrives), waiting at
   * most CLOSE_GRACE_MS for them before cutting the rest off, and stops listening.
   */
  async close(): Promise<void> {
    const clients = [...this.clients];
    this.clients.clear();
    const closed = clients.map((c) => new Promise<void>((r) => (c.ws.readyState === c.ws.CLOSED ? r() : c.ws.once('close', () => r()))));
    for (const c of clients) {
      c.stream.close();
      c.ws.close(1001, this.ended ? 'the run has ended' : 'the dashboard is closing');
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const c of clients) c.ws.terminate();
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
    else if (e.kind === 'on-flag') this.onFlag = e.onFlag;
    else if (e.kind === 'isolate') this.isolated.add(e.robot);
    else if (e.kind === 'isolation-end') this.isolated.delete(e.robot);
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
      cusumThreshold: this.o.cusumThreshold,
      mode: this.o.controller ? 'live' : 'replay',
      controlsOff: this.o.controller ? (this.ended ? ENDED_CONTROLS_OFF : null) : REPLAY_CONTROLS_OFF,
      attacks: this.o.trialMode && this.o.controller ? Object.keys(this.o.attacks ?? {}) : [],
      flags: Object.fromEntries(this.flags),
      events: [...this.recent],
      eStopped: this.eStopped,
      paused: this.paused,
      onFlag: this.onFlag,
      isolated: [...this.isolated],
      ended: this.ended,
    };
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    const why = refuseRequest({ host: req.headers.host }, this.hosts);
    if (why) {
      this.refusals.count('bad-host', `${req.socket.remoteAddress}: ${why}`);
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(`${why}\n`);
      return;
    }
    this.pages.serve(req, res);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: string, kind: RefusalKind | null, why: string) => {
      if (kind) this.refusals.count(kind, `${req.socket.remoteAddress}: ${why}`);
      // Destroyed once the answer is written: destroying at once could drop it.
      socket.once('finish', () => socket.destroy());
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nX-Content-Type-Options: nosniff\r\n\r\n${why}\n`);
    };
    if (pathOf(req.url) !== '/ws') return refuse('404 Not Found', null, 'the telemetry stream is at /ws');
    const why = refuseRequest({ host: req.headers.host, origin: req.headers.origin }, this.hosts);
    if (why) return refuse('403 Forbidden', why.startsWith('Origin') ? 'bad-origin' : 'bad-host', why);
    const max = this.o.maxClients ?? 32;
    if (this.clients.size >= max && !this.oldestUnproven()) return refuse('503 Service Unavailable', 'too-many-clients', `${this.clients.size} clients already watch, every one with the token`);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.connected(ws, req.socket.remoteAddress ?? 'unknown');
      // Room is made only for an upgrade that succeeded (a bad handshake must not cost anyone their place).
      while (this.clients.size > max && this.makeRoom());
    });
  }

  private oldestUnproven(): Client | undefined {
    return [...this.clients].find((c) => !c.proven);
  }

  /**
   * Full: the oldest connection that has not shown the token goes, so whoever holds every slot cannot keep
   * the operator's page out (it shows the token on connecting, and then is never the one to go).
   */
  private makeRoom(): boolean {
    const victim = this.oldestUnproven();
    if (!victim) return false;
    this.refusals.count('too-many-clients', `${victim.address}: dropped to make room for a newer client`);
    this.clients.delete(victim);
    victim.stream.close();
    victim.ws.close(1013, 'the dashboard is full: dropped for a newer client');
    return true;
  }

  private connected(ws: WebSocket, address: string): void {
    const client: Client = { ws, address, stream: new ClientStream(ws, this), viewing: this.openView, proven: false, refused: 0, received: 0, windowStart: Date.now() };
    this.clients.add(client);
    ws.on('message', (data, isBinary) => {
      // A throw in a ws listener would end the run: this client goes instead.
      try {
        this.message(client, data, isBinary);
      } catch (err) {
        this.log(`dashboard: client ${address} dropped: ${(err as Error).message}`);
        ws.terminate();
      }
    });
    // ws answers every ping with a pong: a flood of them costs replies as messages do.
    ws.on('ping', () => this.withinRate(client));
    ws.on('close', () => {
      client.stream.close();
      this.clients.delete(client);
    });
    // ws reports what the client got wrong at the frame level (over maxPayload, invalid UTF-8, bad opcode...).
    ws.on('error', (err) => {
      this.refusals.count('malformed', `${address}: ${err.message}`);
      ws.terminate();
    });
    if (client.viewing) this.startViewing(client);
    else this.send(client, { type: 'auth-needed' });
  }

  private startViewing(c: Client): void {
    c.viewing = true;
    this.send(c, { type: 'welcome', ...this.welcome() });
    if (this.latest) c.stream.offer();
  }

  private send(c: Client, msg: object): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log(`dashboard: client ${c.address} dropped: it reads nothing (${c.ws.bufferedAmount} bytes waiting)`);
      c.ws.terminate();
      return;
    }
    c.ws.send(JSON.stringify(msg));
  }

  private refuse(c: Client, kind: RefusalKind, reason: string, id: number | null = null): void {
    this.refusals.count(kind, `${c.address}: ${reason}`);
    this.send(c, { type: 'error', id, reason });
    if (++c.refused === MAX_REFUSED) c.ws.close(1008, `${MAX_REFUSED} messages refused`);
  }

  /** One more message (or ping) from `c`; false, and the client closed, when it has sent too many this second. */
  private withinRate(c: Client): boolean {
    if (c.ws.readyState !== c.ws.OPEN) return false; // closing: what is still in flight is not worth handling
    const now = Date.now();
    if (now - c.windowStart >= 1000) {
      c.windowStart = now;
      c.received = 0;
    }
    if (++c.received <= MAX_MESSAGES_PER_SECOND) return true;
    this.refusals.count('too-fast', `${c.address}: over ${MAX_MESSAGES_PER_SECOND} messages in a second`);
    c.ws.close(1008, `over ${MAX_MESSAGES_PER_SECOND} messages/s`);
    return false;
  }

  private message(c: Client, data: RawData, isBinary: boolean): void {
    if (!this.withinRate(c)) return;
    const parsed = isBinary ? ({ ok: false, why: 'binary messages are not part of the protocol' } as const) : parseClientMessage(data.toString());
    if (!parsed.ok) {
      this.refuse(c, 'malformed', `malformed message: ${parsed.why}`);
      return;
    }
    const msg = parsed.msg;
    switch (msg.type) {
      case 'ack':
        if (!c.stream.ack(msg.seq)) this.refuse(c, 'bad-ack', `ack for frame ${msg.seq}, which was never sent`);
        return;
      case 'hello':
        // The page says hello whenever it has a token, to view (beyond loopback) and to be proven.
        if (c.proven || !this.checkToken(c, msg.token, null)) return;
        if (!c.viewing) this.startViewing(c);
        return;
      case 'control':
        // Asynchronous (an injection loads its attack): a rejection left unhandled would end the process.
        this.control(c, msg).catch((err: unknown) => {
          this.log(`dashboard: client ${c.address} dropped: ${(err as Error).message}`);
          c.ws.terminate();
        });
        return;
    }
  }

  /**
   * The token check every protected message goes through: lock-out first (unless this connection has shown
   * the token before), then a constant-time compare.
   */
  private checkToken(c: Client, token: string | undefined, id: number | null): boolean {
    const locked = c.proven ? 0 : this.lockout.lockedFor(c.address);
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
    c.proven = true;
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
    const ref = Object.hasOwn(offered, a.attack) ? offered[a.attack]! : isBuiltinAttack(a.attack) ? a.attack : null;
    if (ref === null) return `unknown attack '${a.attack}' (offered: ${[...Object.keys(offered), 'fault:<name>', 'obs-noise:<eps>'].join(', ')})`;
    return { ...a, attack: ref };
  }
}
