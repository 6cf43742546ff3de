// The dashboard's protocol against a real run of the shipped MAPPO policy on the twin (sim link, fast mode,
// stepped by hand): frames carry every robot; controls need the token (missing, wrong, locked out: refused,
// answered with the reason, counted, nothing changes); with it an e-stop stops the robots and an injection
// reaches the run; foreign Origin and Host headers are refused; malformed messages are refused and counted;
// a client that does not keep up gets the latest frame, never a backlog; a replay has no controls (and says
// why); an e-stop is one event line with the robots it stopped; the end of the run is told to every viewer
// before they are let go. Then `swarmguard run` with a `dashboard:` block serves it, and tells its viewers
// when it ends.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runLaunch } from '../src/cli/run.js';
import { ConfigError } from '../src/core/config-file.js';
import { isLoopback } from '../src/core/net.js';
import { allowedHosts, Lockout, refuseRequest, tokenMatches } from '../src/dashboard/auth.js';
import { dashboardFor, DashboardSchema, resolveDashboard } from '../src/dashboard/config.js';
import { Refusals } from '../src/dashboard/refusals.js';
import { ClientStream, HIGH_WATER_BYTES, LITE_INTERVAL_MS, MAX_IN_FLIGHT, MAX_PENDING_EVENTS, RECOVER_MS } from '../src/dashboard/client-stream.js';
import { eventsToShow } from '../src/dashboard/events.js';
import { DashboardServer, type DashboardServerOptions } from '../src/dashboard/server.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch } from '../src/launch/launch.js';
import { SimLink } from '../sim/sim-link.js';
import { describeEvent } from '../src/runtime/status-text.js';
import { swarmTrial, type RunEvent, type TrialRun } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { shippedMappo } from './helpers.js';

const TOKEN = 'test-token-0123456789abcdef';

// Messages as the test reads them: loosely typed on purpose, the test checks their shape itself.
type Msg = Record<string, any>;

/** A WebSocket client that keeps every message; acks frames unless told not to. */
class Client {
  readonly msgs: Msg[] = [];
  /** The close code and reason, once the connection closes. */
  readonly closed: Promise<[number, string]>;
  private waiters: (() => void)[] = [];
  constructor(
    readonly ws: WebSocket,
    private readonly autoAck: boolean,
  ) {
    this.closed = new Promise((r) => ws.once('close', (code, why) => r([code, why.toString()])));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as Msg;
      this.msgs.push(m);
      if (m.type === 'frame' && this.autoAck) this.send({ type: 'ack', seq: m.seq });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(port: number, o: { autoAck?: boolean; headers?: Record<string, string> } = {}): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: o.headers });
    const c = new Client(ws, o.autoAck ?? true);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  frames(): Msg[] {
    return this.msgs.filter((m) => m.type === 'frame');
  }

  /** The first message (from index `from`) that satisfies `pred`. */
  async next(pred: (m: Msg) => boolean, from = 0, timeoutMs = 20_000): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.msgs.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no such message; got ${JSON.stringify(this.msgs.slice(-3))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /**
   * Shows the token with `hello`, as the page does on connecting, and waits until the server has handled it
   * (a successful hello has no reply: an ack for a frame never sent, refused after it, marks the point).
   */
  async showToken(token: string): Promise<void> {
    const from = this.msgs.length;
    this.send({ type: 'hello', token });
    this.send({ type: 'ack', seq: 1_000_000 });
    await this.next((m) => m.type === 'error' && /never sent/.test(m.reason), from);
  }

  /** Sends a control and waits for its answer (result or error). */
  async control(action: unknown, token?: string): Promise<Msg> {
    const id = Math.floor(Math.random() * 1e9);
    this.send({ type: 'control', id, action, ...(token === undefined ? {} : { token }) });
    return this.next((m) => m.id === id);
  }
}

/** Whether a WebSocket upgrade with these headers is refused, and with which HTTP status. */
function upgradeStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

function httpGet(port: number, path: string, host?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { Host: host } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes (a request no HTTP client library would build) and resolves with the status line. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.on('error', reject);
    sock.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
}

describe('dashboard protocol (a run of the shipped MAPPO policy, stepped by hand)', () => {
  const { settings, team } = shippedMappo();
  let link: SimLink;
  let run: TrialRun;
  let control: RunController;
  let server: DashboardServer;
  let port: number;
  const logs: string[] = [];
  const clients: Client[] = [];
  const extraServers: DashboardServer[] = [];

  const options = (o: Partial<DashboardServerOptions> = {}): DashboardServerOptions => ({
    title: 'test',
    arena: { width: settings.arenaWidth, height: settings.arenaHeight },
    ids: settings.robotIds,
    bodyRadius: settings.robots.map((r) => r.bodyRadius),
    controlPeriod: settings.controlPeriod,
    trialMode: true,
    flagAt: 0.8,
    clearAt: 0.3,
    cusumThreshold: 40,
    controller: control,
    attacks: { 'fault:spin': 'fault:spin' },
    port: 0,
    token: TOKEN,
    log: (l) => logs.push(l),
    ...o,
  });

  async function open(o: { autoAck?: boolean; headers?: Record<string, string>; port?: number } = {}): Promise<Client> {
    const c = await Client.open(o.port ?? port, o);
    clients.push(c);
    return c;
  }

  let reported = 0;
  /** n control ticks, each told to the server(s) with the events since the last one, as the run's service is. */
  async function step(n: number, servers: DashboardServer[] = [server]): Promise<void> {
    for (let k = 0; k < n; k++) {
      await run.step();
      link.advance();
      for (const s of servers) s.tick(run.records.at(-1)!, run.events.slice(reported));
      reported = run.events.length;
      await new Promise((r) => setImmediate(r));
    }
  }

  beforeAll(async () => {
    link = new SimLink(settings, 'fast', 5);
    run = swarmTrial(settings, team(), link, { trialMode: true, injections: [], seed: 1 });
    control = new RunController(run, settings);
    server = new DashboardServer(options());
    port = await server.listen();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.ws.terminate();
  });

  afterAll(async () => {
    await control?.close();
    await server?.close();
    await Promise.all(extraServers.map((s) => s.close()));
  });

  it('welcomes a viewer with the swarm, then streams frames carrying every robot as the run moves', async () => {
    const c = await open();
    const welcome = await c.next((m) => m.type === 'welcome');
    expect(welcome.ids).toEqual(settings.robotIds);
    expect(welcome.arena).toEqual({ width: settings.arenaWidth, height: settings.arenaHeight });
    expect(welcome.mode).toBe('live');
    // Controls on, the run going, the CUSUM threshold the page draws with each flag's CUSUM.
    expect(welcome).toMatchObject({ controlsOff: null, ended: null, cusumThreshold: 40 });
    expect(welcome.attacks).toEqual(['fault:spin']);
    await step(5);
    const last = run.records.at(-1)!;
    const f = await c.next((m) => m.type === 'frame' && m.tick === last.tick);
    expect(f.poses).toHaveLength(3 * settings.robotIds.length);
    last.truePoses!.forEach((p, i) => {
      expect(f.poses[3 * i]).toBe(Math.round(p.x * 1000));
      expect(f.poses[3 * i + 1]).toBe(Math.round(p.y * 1000));
    });
    expect(f.susp).toHaveLength(settings.robotIds.length);
    expect(f.detail).toBe('full');
    await step(20);
    const later = await c.next((m) => m.type === 'frame' && m.tick === run.records.at(-1)!.tick);
    expect(later.poses).not.toEqual(f.poses);
  });

  it('controls without the token or with a wrong one are refused with the reason, counted, and change nothing', async () => {
    const c = await open();
    await c.next((m) => m.type === 'welcome');
    const before = { ...server.stats().refused };
    const none = await c.control({ kind: 'estop' });
    expect(none).toMatchObject({ type: 'error' });
    expect(none.reason).toMatch(/needs the token/);
    const wrong = await c.control({ kind: 'estop' }, 'not-the-token-at-all');
    expect(wrong.reason).toMatch(/wrong token/);
    const stopped = await c.control({ kind: 'stop' }, '');
    expect(stopped.reason).toMatch(/needs the token/);
    expect(server.stats().refused['no-token']).toBe((before['no-token'] ?? 0) + 2);
    expect(server.stats().refused['wrong-token']).toBe((before['wrong-token'] ?? 0) + 1);
    expect(control.state).toMatchObject({ eStopped: null, paused: false });
    await step(3);
    expect(run.records.at(-1)!.stopped.every((s) => s === null)).toBe(true);
    expect(run.events.filter((e) => e.kind === 'e-stop' || e.kind === 'pause')).toEqual([]);
  });

  it('with the token an e-stop stops every robot (and the frames say so, as one event line); release lets them go', async () => {
    const c = await open();
    await c.next((m) => m.type === 'welcome');
    const ok = await c.control({ kind: 'estop', reason: 'test' }, TOKEN);
    expect(ok).toMatchObject({ type: 'result' });
    expect(control.state.eStopped).toMatch(/test \(dashboard\)/);
    const before = run.events.length;
    await step(2);
    const rec = run.records.at(-1)!;
    expect(rec.stopped.every((s) => s === 'e-stop')).toBe(true);
    expect(rec.commands.every((u) => u === 0)).toBe(true);
    const f = await c.next((m) => m.type === 'frame' && m.tick === rec.tick);
    expect(f.eStopped).toMatch(/test/);
    expect(f.stopped).toHaveLength(settings.robotIds.length);
    // The run reports the e-stop and then every robot it stopped; the page is sent one line for all of them.
    expect(run.events.slice(before).filter((e) => e.kind === 'stop' && e.reason === 'e-stop')).toHaveLength(settings.robotIds.length);
    const shown = c.frames().flatMap((m) => m.events as Msg[]);
    expect(shown.filter((e) => e.kind === 'stop' || e.kind === 'stops')).toEqual([]);
    expect(shown.filter((e) => e.kind === 'e-stop')).toEqual([expect.objectContaining({ robots: 10, text: expect.stringMatching(/E-STOP\s+test \(dashboard\): 10 robots stopped$/) })]);
    expect((await c.control({ kind: 'release' }, TOKEN)).type).toBe('result');
    expect(control.state.eStopped).toBeNull();
    await step(2);
    expect(run.records.at(-1)!.stopped.every((s) => s === null)).toBe(true);
  });

  it('with the token an injection reaches the run, and the frames show its ground truth (trial mode)', async () => {
    const c = await open();
    await c.next((m) => m.type === 'welcome');
    const ok = await c.control({ kind: 'inject', robot: 'epuck-3', attack: 'fault:spin', seconds: 1 }, TOKEN);
    expect(ok).toMatchObject({ type: 'result' });
    await step(2);
    expect(run.events).toContainEqual(expect.objectContaining({ kind: 'injection-start', robot: 'epuck-3', attack: 'fault:spin' }));
    const f = await c.next((m) => m.type === 'frame' && m.tick === run.records.at(-1)!.tick);
    expect(f.compromised).toEqual([3]);
    expect(c.frames().flatMap((x) => x.events)).toContainEqual(expect.objectContaining({ kind: 'injection-start', robot: 'epuck-3' }));
    // Refused by the run itself: an unknown robot, named.
    const bad = await c.control({ kind: 'inject', robot: 'epuck-99', attack: 'fault:spin', seconds: 1 }, TOKEN);
    expect(bad.reason).toMatch(/unknown robot id 'epuck-99'/);
    // An attack that is not offered never reaches the controller (no file is opened for it).
    const file = await c.control({ kind: 'inject', robot: 'epuck-3', attack: '/etc', seconds: 1 }, TOKEN);
    expect(file.reason).toMatch(/unknown attack '\/etc'/);
    expect(server.stats().refused['unknown-attack']).toBeGreaterThanOrEqual(1);
    // The operator ends it early: the robot is back under its policy from the next tick.
    expect(await c.control({ kind: 'end-injection', robot: 'epuck-3' }, TOKEN)).toMatchObject({ type: 'result', message: expect.stringMatching(/injections ended/) });
    await step(1);
    expect(run.records.at(-1)!.compromised).toEqual([]);
    expect(run.events).toContainEqual(expect.objectContaining({ kind: 'end-injection', robot: 'epuck-3', reason: 'dashboard' }));
    expect((await c.control({ kind: 'end-injection', robot: 'epuck-3' }, TOKEN)).reason).toMatch(/no injection on epuck-3/);
  });

  it('malformed messages are refused, answered with what is wrong, and counted; nothing changes', async () => {
    const c = await open();
    await c.next((m) => m.type === 'welcome');
    const before = server.stats().refused.malformed ?? 0;
    const events = run.events.length;
    const bad = [
      'not json',
      '{"type":"control","token":"' + TOKEN + '","action":{"kind":"fly"}}',
      JSON.stringify({ type: 'control', token: TOKEN, action: { kind: 'inject', robot: 'epuck-1', attack: 'fault:spin', seconds: -1 } }),
      JSON.stringify({ type: 'control', token: TOKEN, action: { kind: 'estop' }, extra: 1 }),
      JSON.stringify({ type: 'control', token: TOKEN, action: { kind: 'estop', reason: 'fine\n 12.0 s  RELEASE  forged' } }),
      JSON.stringify({ type: 'ack', seq: 'x' }),
      '[]',
    ];
    const from = c.msgs.length;
    for (const m of bad) c.send(m);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.next((m) => m.type === 'error' && /binary/.test(m.reason), from);
    const errors = c.msgs.slice(from).filter((m) => m.type === 'error');
    expect(errors).toHaveLength(bad.length + 1);
    expect(errors[0]!.reason).toMatch(/not JSON/);
    expect(errors[1]!.reason).toMatch(/action/);
    expect(errors[2]!.reason).toMatch(/action\.seconds/);
    expect(server.stats().refused.malformed).toBe(before + bad.length + 1);
    expect(control.state).toMatchObject({ eStopped: null, paused: false });
    expect(run.events.length).toBe(events);
    expect(logs.some((l) => /refused \(malformed\)/.test(l))).toBe(true);
  });

  it('a message over 4 KiB closes the connection and is counted; so does the 50th refused message of any kind', async () => {
    const big = await open();
    await big.next((m) => m.type === 'welcome');
    const before = server.stats().refused.malformed ?? 0;
    big.send(JSON.stringify({ type: 'hello', token: 'x'.repeat(5000) }));
    expect([1006, 1009]).toContain((await big.closed)[0]);
    expect(server.stats().refused.malformed).toBe(before + 1);
    // Well-formed but refused (acks for frames never sent): each costs a reply, so there is a limit too.
    const noisy = await open();
    await noisy.next((m) => m.type === 'welcome');
    for (let k = 0; k < 60; k++) noisy.send({ type: 'ack', seq: 1_000_000 + k });
    expect(await noisy.closed).toEqual([1008, '50 messages refused']);
    expect(noisy.msgs.filter((m) => m.type === 'error')).toHaveLength(50);
  });

  it('a client flooding the server with (even valid) messages is disconnected: it would be parsed on the run thread', async () => {
    const flood = await open({ autoAck: false });
    await flood.next((m) => m.type === 'welcome');
    for (let k = 0; k < 500; k++) flood.send({ type: 'ack', seq: 0 }); // valid: frame 0 is "drawn" already
    expect(await flood.closed).toEqual([1008, 'over 100 messages/s']);
    expect(server.stats().refused['too-fast']).toBe(1);
    expect(flood.msgs.filter((m) => m.type === 'error')).toEqual([]);
    // Pings count too (ws answers each with a pong): 30 of them and 80 acks are over the limit, either alone is not.
    const pinger = await open({ autoAck: false });
    await pinger.next((m) => m.type === 'welcome');
    for (let k = 0; k < 30; k++) pinger.ws.ping();
    for (let k = 0; k < 80; k++) pinger.send({ type: 'ack', seq: 0 });
    expect(await pinger.closed).toEqual([1008, 'over 100 messages/s']);
    expect(server.stats().refused['too-fast']).toBe(2);
  });

  it('a page from another origin, or a request under a foreign host name (DNS rebinding), is refused', async () => {
    const before = server.stats().refused;
    expect(await upgradeStatus(port, { Origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(port, { Origin: `http://localhost:${port + 1}` })).toBe(403);
    expect(await upgradeStatus(port, { Host: `evil.example:${port}` })).toBe(403);
    expect((await httpGet(port, '/', `evil.example:${port}`)).status).toBe(403);
    const after = server.stats().refused;
    expect(after['bad-origin']).toBe((before['bad-origin'] ?? 0) + 2);
    expect(after['bad-host']).toBe((before['bad-host'] ?? 0) + 2);
    // The dashboard's own page, and a client that is no page at all, are let in.
    expect(await upgradeStatus(port, { Origin: `http://127.0.0.1:${port}` })).toBe(101);
    expect(await upgradeStatus(port, {})).toBe(101);
    const page = await httpGet(port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<canvas id="arena"/);
    expect(String(page.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/);
    expect(String(page.headers['content-security-policy'])).not.toMatch(/unsafe/);
    expect((await httpGet(port, '/dashboard.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('odd request targets (`//`, `/\\`, `constructor`, absolute URLs) get an HTTP error, and the server lives on', async () => {
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    for (const target of ['//', '///', '/\\', '//:99999', 'constructor', '/__proto__', 'http://', 'http://127.0.0.1/ws?x']) {
      for (const extra of ['', upgrade]) {
        const status = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`);
        expect(status, `GET ${target} ${extra ? '(upgrade)' : ''}`).toMatch(/^HTTP\/1\.1 (400|404) /);
      }
    }
    expect((await httpGet(port, '/')).status).toBe(200);
    expect((await httpGet(port, '/dashboard.js?v=1')).status).toBe(200);
  });

  it("a server error after start-up (accept() out of file descriptors) is logged, not thrown into the run", async () => {
    // What net.Server emits when accept() fails; without a listener Node would throw it.
    const http = (server as unknown as { http: HttpServer }).http;
    http.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect(logs.at(-1)).toBe('dashboard: server error: accept EMFILE');
    expect((await httpGet(port, '/')).status).toBe(200);
  });

  it('a client that does not keep up gets the latest frame when it catches up, never a backlog', async () => {
    const c = await open({ autoAck: false });
    await c.next((m) => m.type === 'welcome');
    await step(15);
    await c.next((m) => m.type === 'frame' && m.seq === MAX_IN_FLIGHT);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.frames()).toHaveLength(MAX_IN_FLIGHT);
    c.send({ type: 'ack', seq: MAX_IN_FLIGHT });
    const caughtUp = await c.next((m) => m.type === 'frame' && m.seq === MAX_IN_FLIGHT + 1);
    expect(caughtUp.tick).toBe(run.records.at(-1)!.tick);
    const mine = server.stats().streams.find((s) => s.sent === MAX_IN_FLIGHT + 1);
    expect(mine!.coalesced).toBeGreaterThan(0);
    // An ack for a frame never sent is refused and counted.
    const before = server.stats().refused['bad-ack'] ?? 0;
    c.send({ type: 'ack', seq: 1000 });
    await c.next((m) => m.type === 'error' && /never sent/.test(m.reason));
    expect(server.stats().refused['bad-ack']).toBe(before + 1);
  });

  it('repeated wrong tokens lock the address out, even for the right token', async () => {
    const s = new DashboardServer(options({ lockout: { maxFailures: 3, windowMs: 60_000, lockMs: 60_000 } }));
    extraServers.push(s);
    const p = await s.listen();
    const c = await open({ port: p });
    await c.next((m) => m.type === 'welcome');
    for (let k = 0; k < 3; k++) expect((await c.control({ kind: 'estop' }, `wrong-${k}`)).reason).toMatch(/wrong token/);
    const locked = await c.control({ kind: 'estop' }, TOKEN);
    expect(locked.reason).toMatch(/locked out for \d+ s/);
    expect(control.state.eStopped).toBeNull();
    expect(s.stats().refused).toMatchObject({ 'wrong-token': 3, 'locked-out': 1 });
  });

  it("a lock-out cannot take the e-stop from an operator's page that has already shown the token", async () => {
    const s = new DashboardServer(options({ lockout: { maxFailures: 3, windowMs: 60_000, lockMs: 60_000 } }));
    extraServers.push(s);
    const p = await s.listen();
    const operator = await open({ port: p });
    await operator.next((m) => m.type === 'welcome');
    await operator.showToken(TOKEN); // what the page does on connecting, when it has the token
    // Someone else on the same address (any local process, on loopback) locks it out.
    const attacker = await open({ port: p });
    await attacker.next((m) => m.type === 'welcome');
    for (let k = 0; k < 3; k++) await attacker.control({ kind: 'stop' }, `wrong-${k}`);
    expect((await attacker.control({ kind: 'stop' }, TOKEN)).reason).toMatch(/locked out/);
    const late = await open({ port: p }); // a page opened during the lock-out has not shown the token: refused
    await late.next((m) => m.type === 'welcome');
    expect((await late.control({ kind: 'estop' }, TOKEN)).reason).toMatch(/locked out/);
    // The operator's page still has its e-stop (with the token: a wrong one is still refused).
    expect((await operator.control({ kind: 'estop' }, 'not-the-token-at-all')).reason).toMatch(/wrong token/);
    expect(await operator.control({ kind: 'estop', reason: 'despite the lock-out' }, TOKEN)).toMatchObject({ type: 'result' });
    expect(control.state.eStopped).toMatch(/despite the lock-out/);
    expect((await operator.control({ kind: 'release' }, TOKEN)).type).toBe('result');
    expect(control.state.eStopped).toBeNull();
  });

  it('when full, the oldest connection without the token makes room; one that has shown it never does', async () => {
    const s = new DashboardServer(options({ maxClients: 2 }));
    extraServers.push(s);
    const p = await s.listen();
    const squatter = await open({ port: p });
    await squatter.next((m) => m.type === 'welcome');
    const operator = await open({ port: p });
    await operator.next((m) => m.type === 'welcome');
    await operator.showToken(TOKEN);
    // A handshake ws refuses (a bad key) costs no one their place.
    const badKey = `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n`;
    expect(await rawRequest(p, badKey)).toMatch(/^HTTP\/1\.1 400 /);
    expect(s.stats().clients).toBe(2);
    expect(s.stats().refused['too-many-clients']).toBeUndefined();
    expect(squatter.ws.readyState).toBe(WebSocket.OPEN);
    const second = await open({ port: p });
    await second.next((m) => m.type === 'welcome');
    expect(await squatter.closed).toEqual([1013, 'the dashboard is full: dropped for a newer client']);
    const third = await open({ port: p });
    await third.next((m) => m.type === 'welcome');
    await second.closed;
    expect(operator.ws.readyState).toBe(WebSocket.OPEN);
    // Every slot held by a connection that has shown the token: a newcomer is refused.
    await third.showToken(TOKEN);
    expect(await upgradeStatus(p, {})).toBe(503);
    expect(s.stats().refused['too-many-clients']).toBe(3);
    expect(s.stats().clients).toBe(2);
  });

  it.each([
    ['beyond loopback', { host: '0.0.0.0' }],
    ["on loopback with viewing: 'token' (behind a reverse proxy)", { viewing: 'token' as const }],
  ])('%s, viewing needs the token too', async (_, where) => {
    const s = new DashboardServer(options(where));
    extraServers.push(s);
    const p = await s.listen();
    const c = await open({ port: p });
    await c.next((m) => m.type === 'auth-needed');
    await step(2, [server, s]);
    c.send({ type: 'hello', token: 'nope-nope-nope-nope' });
    expect((await c.next((m) => m.type === 'error')).reason).toMatch(/wrong token/);
    expect(c.msgs.some((m) => m.type === 'frame' || m.type === 'welcome')).toBe(false);
    c.send({ type: 'hello', token: TOKEN });
    await c.next((m) => m.type === 'welcome');
    await c.next((m) => m.type === 'frame');
  });

  it('a replay (no controller) streams frames and refuses every control with "replay: no controls"', async () => {
    const s = new DashboardServer(options({ controller: null }));
    extraServers.push(s);
    const p = await s.listen();
    const c = await open({ port: p });
    const welcome = await c.next((m) => m.type === 'welcome');
    // The page is told why its controls are off.
    expect(welcome).toMatchObject({ mode: 'replay', attacks: [], controlsOff: 'a replay of a recording: the controls act on a live run only' });
    await step(Math.max(0, 6 - run.records.length)); // records to replay, whichever tests ran before
    for (const r of run.records.slice(0, 5)) s.tick(r, []);
    await c.next((m) => m.type === 'frame' && m.tick === 4);
    const refused = await c.control({ kind: 'estop' }, TOKEN);
    expect(refused.reason).toBe('replay: no controls');
    expect(s.stats().refused.replay).toBe(1);
    // A flag, then a seek back: the viewer is welcomed again with no flags or events.
    const flag = { tick: 5, kind: 'flag' as const, robot: 'epuck-2', suspicion: 0.9, evidence: { belief: null, consistency: 0.9, cusum: 60, observers: 0 } };
    s.tick(run.records[5]!, [flag]);
    const f = await c.next((m) => m.type === 'frame' && m.tick === 5);
    expect(f.events).toEqual([{ ...flag, text: describeEvent(flag, settings.controlPeriod) }]);
    // Before the seek the flag is remembered (a viewer joining now is told of it)...
    const late = await open({ port: p });
    expect((await late.next((m) => m.type === 'welcome')).flags).toEqual({ 'epuck-2': { suspicion: 0.9, evidence: flag.evidence, tick: 5 } });
    const from = c.msgs.length;
    s.reset();
    // ...and after it forgotten. (toEqual: toMatchObject({ flags: {} }) would accept any flags at all.)
    const again = await c.next((m) => m.type === 'welcome', from);
    expect(again.flags).toEqual({});
    expect(again.events).toEqual([]);
  });

  it('the end of the run is told to every viewer (how, and the summary), then to a page that joins later; close() lets them go after it', async () => {
    const s = new DashboardServer(options());
    extraServers.push(s);
    const p = await s.listen();
    const c = await open({ port: p });
    await c.next((m) => m.type === 'welcome');
    await step(3, [server, s]);
    const last = run.records.at(-1)!.tick;
    await c.next((m) => m.type === 'frame' && m.tick === last);
    s.end({ reason: 'interrupted', summary: ['\nsummary (0.3 s, interrupted):', '  detected 0 of 0 compromised robot(s); 0 false flag(s)'] });
    const ended = await c.next((m) => m.type === 'run-ended');
    expect(ended).toEqual({ type: 'run-ended', reason: 'interrupted', tick: last, t: Math.round(last * settings.controlPeriod * 1000) / 1000, summary: ['summary (0.3 s, interrupted):', '  detected 0 of 0 compromised robot(s); 0 false flag(s)'] });
    // Nothing after it but the close.
    expect(c.msgs.at(-1)).toBe(ended);
    const late = await open({ port: p });
    const welcome = await late.next((m) => m.type === 'welcome');
    expect(welcome.ended).toEqual({ reason: 'interrupted', tick: last, t: ended.t, summary: ended.summary });
    expect(welcome.controlsOff).toBe('the run has ended');
    await s.close();
    expect(await c.closed).toEqual([1001, 'the run has ended']);
    expect(await late.closed).toEqual([1001, 'the run has ended']);
  });
});

describe('the events the page shows (one batch of the run at a time)', () => {
  const ids = Array.from({ length: 10 }, (_, i) => `epuck-${i}`);
  const o = { trialMode: true, controlPeriod: 0.1 };
  const stops = (tick: number, reason: 'e-stop' | 'paused' | 'leaving-arena', robots = ids): RunEvent[] => robots.map((robot) => ({ tick, kind: 'stop', robot, reason }));

  it('an e-stop and the robots it stops are one line, with the count of robots; so is an operator stop', () => {
    const estop: RunEvent = { tick: 7, kind: 'e-stop', reason: 'dashboard e-stop (dashboard)' };
    expect(eventsToShow([estop, ...stops(7, 'e-stop')], o)).toEqual([{ ...estop, robots: 10, text: `${describeEvent(estop, 0.1)}: 10 robots stopped` }]);
    const pause: RunEvent = { tick: 9, kind: 'pause', reason: 'console' };
    const shown = eventsToShow([pause, ...stops(9, 'paused')], o);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.text).toBe('   0.9 s  STOP     every robot held (console): 10 robots stopped');
  });

  it('robots stopped by a swarm-wide stop with no e-stop in their batch (a release while stopped) are one line too', () => {
    const release: RunEvent = { tick: 12, kind: 'release', reason: 'console' };
    const shown = eventsToShow([release, ...stops(12, 'paused')], o);
    expect(shown.map((e) => e.text)).toEqual([describeEvent(release, 0.1), '   1.2 s  STOP     10 robots: paused']);
    expect(shown[1]).toMatchObject({ kind: 'stops', reason: 'paused', robots: ids });
  });

  it("a robot's own stop (leaving the arena) stays a line of its own, next to a swarm-wide one", () => {
    const estop: RunEvent = { tick: 3, kind: 'e-stop', reason: 'x' };
    const shown = eventsToShow([stops(3, 'leaving-arena', ['epuck-4'])[0]!, estop, ...stops(3, 'e-stop', ids.slice(0, 9))], o);
    expect(shown.map((e) => e.kind)).toEqual(['stop', 'e-stop']);
    expect(shown[1]!.robots).toBe(9);
  });

  it("every line is the terminal's (describeEvent), so page and terminal name each action alike; injections only in trial mode", () => {
    const events: RunEvent[] = [
      { tick: 1, kind: 'injection-start', robot: 'epuck-3', attack: 'fault:spin' },
      { tick: 2, kind: 'flag', robot: 'epuck-3', suspicion: 0.91, evidence: { belief: null, consistency: 0.91, cusum: 36.4, observers: 0 } },
      { tick: 3, kind: 'resume', reason: 'dashboard' },
      { tick: 4, kind: 'release', reason: 'dashboard' },
    ];
    expect(eventsToShow(events, o).map((e) => e.text)).toEqual(events.map((e) => describeEvent(e, 0.1)));
    expect(eventsToShow(events, { ...o, trialMode: false }).map((e) => e.kind)).toEqual(['flag', 'resume', 'release']);
  });
});

describe('dashboard auth and refusal counting', () => {
  it('tokens match only exactly, whatever their lengths', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
  });

  it('a lock-out starts at the limit within the window and ends after its time', () => {
    let t = 0;
    const l = new Lockout({ maxFailures: 3, windowMs: 1000, lockMs: 5000 }, () => t);
    expect(l.fail('a')).toBe(false);
    t = 1500; // the first failure has left the window
    expect(l.fail('a')).toBe(false);
    expect(l.fail('a')).toBe(false);
    expect(l.lockedFor('a')).toBe(0);
    expect(l.fail('a')).toBe(true);
    expect(l.lockedFor('a')).toBe(5);
    expect(l.lockedFor('b')).toBe(0);
    t += 5001;
    expect(l.lockedFor('a')).toBe(0);
  });

  it('the lock-out remembers a bounded number of addresses, however many send wrong tokens at once', () => {
    const l = new Lockout({ maxFailures: 3, windowMs: 60_000, lockMs: 60_000 }, () => 0);
    for (let k = 0; k < 5000; k++) l.fail(`2001:db8::${k.toString(16)}`);
    expect(l.size).toBeLessThanOrEqual(1000);
    for (let k = 0; k < 3; k++) l.fail('192.0.2.1');
    expect(l.lockedFor('192.0.2.1')).toBe(60); // the newest are kept
  });

  it('Host and Origin: loopback names at the port, the page itself; anything on a wildcard address', () => {
    const hosts = allowedHosts('127.0.0.1', 8765);
    expect(refuseRequest({ host: 'localhost:8765' }, hosts)).toBeNull();
    expect(refuseRequest({ host: '127.0.0.1:8765', origin: 'http://127.0.0.1:8765' }, hosts)).toBeNull();
    expect(refuseRequest({ host: '127.0.0.1:8766' }, hosts)).toMatch(/not this dashboard/);
    expect(refuseRequest({ host: 'attacker.example:8765' }, hosts)).toMatch(/Host 'attacker.example:8765'/);
    expect(refuseRequest({ host: 'localhost:8765', origin: 'null' }, hosts)).toMatch(/Origin 'null'/);
    expect(refuseRequest({}, hosts)).toBe('no Host header');
    expect(allowedHosts('0.0.0.0', 8765)).toBeNull();
    // On port 80 a browser sends no port in Host or Origin.
    expect(refuseRequest({ host: 'localhost', origin: 'http://localhost' }, allowedHosts('127.0.0.1', 80))).toBeNull();
    expect(refuseRequest({ host: 'localhost:80' }, allowedHosts('127.0.0.1', 80))).toBeNull();
    expect(refuseRequest({ host: 'localhost' }, hosts)).toMatch(/not this dashboard/);
    // Viewing is open only on a loopback address: IP literals and localhost, never a name that looks like one.
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].filter(isLoopback)).toHaveLength(4);
    expect(['0.0.0.0', '::', '192.168.1.5', '127.example.com', '127.0.0.1.example.com'].some(isLoopback)).toBe(false);
  });

  it('refusals are all counted but logged once per burst, with the count of those not logged', () => {
    let t = 0;
    const lines: string[] = [];
    const r = new Refusals((l) => lines.push(l), 5000, () => t);
    for (let k = 0; k < 10; k++) r.count('malformed', `m${k}`);
    r.count('wrong-token', 'w');
    expect(r.counts).toEqual({ malformed: 10, 'wrong-token': 1 });
    expect(lines).toHaveLength(2);
    t = 6000;
    r.count('malformed', 'later');
    expect(lines.at(-1)).toMatch(/later \(and 9 more since the last one logged\)/);
    expect(r.total).toBe(12);
  });

  it("a refusal's detail quotes the client, so control characters are escaped and its length capped in the log", () => {
    const lines: string[] = [];
    const r = new Refusals((l) => lines.push(l));
    r.count('malformed', 'Unrecognized key: "x\n 12.0 s  E-STOP   forged\u001b[2J"');
    r.count('bad-host', `Host '${'h'.repeat(5000)}'`);
    expect(lines[0]).toBe('dashboard: refused (malformed): Unrecognized key: "x\\u000a 12.0 s  E-STOP   forged\\u001b[2J"');
    expect(lines[1]!.length).toBeLessThan(400);
    expect(lines[1]).toMatch(/\.\.\. \(\d+ characters\)$/);
  });
});

describe('per-client flow control (ClientStream, a fake socket and clock)', () => {
  function setup() {
    const clock = { t: 0 };
    const sent: Msg[] = [];
    const socket = { bufferedAmount: 0, send: (d: string) => void sent.push(JSON.parse(d) as Msg) };
    let tick = 0;
    const source = { body: (detail: 'full' | 'lite') => `"detail":"${detail}","tick":${tick}` };
    const stream = new ClientStream(socket, source, () => clock.t);
    /** One tick 100 ms after the last (the timer for lite frames is not needed: ticks drive the sends). */
    const next = () => {
      tick++;
      clock.t += 100;
      stream.offer();
    };
    return { clock, sent, socket, stream, next, ackAll: () => stream.ack(sent.at(-1)!.seq as number) };
  }

  it('a client that keeps up gets every tick in full detail', () => {
    const { sent, stream, next, ackAll } = setup();
    for (let k = 0; k < 50; k++) {
      next();
      ackAll();
    }
    expect(sent.map((f) => f.tick)).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
    expect(sent.every((f) => f.detail === 'full')).toBe(true);
    expect(stream.stats).toMatchObject({ sent: 50, coalesced: 0, detail: 'full' });
  });

  it('a client held back on over a quarter of the ticks gets lite frames, spaced, then full ones after 10 s caught up', () => {
    const { clock, sent, stream, next, ackAll } = setup();
    // Acks only every 4th tick: held back on about half of them.
    for (let k = 1; k <= 20; k++) {
      next();
      if (k % 4 === 0) ackAll();
    }
    expect(stream.stats.detail).toBe('lite');
    expect(stream.stats.coalesced).toBeGreaterThan(0);
    const lite = sent.filter((f) => f.detail === 'lite');
    expect(lite.length).toBeGreaterThan(0);
    // Every frame sent is the latest tick at the time (no backlog), and lite ones come at most every 200 ms.
    for (let k = 1; k < sent.length; k++) expect(sent[k]!.tick).toBeGreaterThan(sent[k - 1]!.tick);
    const at = new Map<number, number>(); // tick -> time it was offered (ticks are 100 ms apart from t=100)
    for (const f of lite) at.set(f.seq as number, (f.tick as number) * 100);
    const times = [...at.values()];
    for (let k = 1; k < times.length; k++) expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(LITE_INTERVAL_MS);
    // Keeping up again: still lite until RECOVER_MS have passed without being held back, then full.
    const caughtUpAt = clock.t;
    while (clock.t - caughtUpAt <= RECOVER_MS + 100) {
      clock.t += LITE_INTERVAL_MS; // the lite interval passes, so each tick can be sent and acked at once
      next();
      ackAll();
      if (clock.t - caughtUpAt < RECOVER_MS - 200) expect(stream.stats.detail).toBe('lite');
    }
    expect(stream.stats.detail).toBe('full');
    expect(sent.at(-1)!.detail).toBe('full');
    stream.close();
  });

  it("a full socket buffer holds frames back too; events are never coalesced, and the oldest beyond the limit are dropped and counted", () => {
    const { sent, socket, stream, next } = setup();
    socket.bufferedAmount = HIGH_WATER_BYTES;
    stream.addEvents(['{"kind":"flag","n":0}']);
    next();
    stream.addEvents(['{"kind":"clear","n":1}']);
    next();
    expect(sent).toHaveLength(0);
    socket.bufferedAmount = 0;
    next();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.events).toEqual([{ kind: 'flag', n: 0 }, { kind: 'clear', n: 1 }]);
    expect(stream.stats.coalesced).toBe(2);
    // Unacknowledged frames (MAX_IN_FLIGHT) hold the next one back; events pile up to the limit.
    for (let k = 1; k < MAX_IN_FLIGHT; k++) next();
    stream.addEvents(Array.from({ length: MAX_PENDING_EVENTS + 7 }, (_, k) => `{"n":${k}}`));
    next();
    expect(stream.stats.droppedEvents).toBe(7);
    stream.ack(sent.at(-1)!.seq as number);
    expect(sent.at(-1)!.events).toHaveLength(MAX_PENDING_EVENTS);
    expect(sent.at(-1)!.events[0]).toEqual({ n: 7 });
    // An ack for a frame never sent is refused.
    expect(stream.ack(1000)).toBe(false);
  });
});

describe('swarmguard run with a dashboard', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sg-dash-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function writeLaunch(dashboard: unknown): string {
    const file = join(work, `dash-${Math.random().toString(36).slice(2)}.yaml`);
    const launch = {
      name: 'dash',
      swarm: { robots: 10, noise: 'default' },
      link: { kind: 'sim', mode: 'live', seed: 3 },
      policy: join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous'),
      duration: 120,
      trial: true,
      out: work,
      dashboard,
    };
    writeFileSync(file, JSON.stringify(launch));
    return file;
  }

  it('a bad dashboard block is refused naming the key; --dashboard turns it on or moves the port', async () => {
    await expect(loadLaunch(writeLaunch({ port: 70000 }))).rejects.toThrow(/dashboard\.port/);
    // The launch file is recorded with every run (run.mcap): a token is refused there, named from the environment.
    await expect(loadLaunch(writeLaunch({ token: TOKEN }))).rejects.toThrow(/dashboard\.token: a token never goes in the launch file/);
    await expect(loadLaunch(writeLaunch({ tokenEnv: 'not a name' }))).rejects.toThrow(/dashboard\.tokenEnv: an environment variable name/);
    await expect(loadLaunch(writeLaunch({ tokenEnv: 'SWARMGUARD_TEST_UNSET_TOKEN' }))).rejects.toThrow(/dash-\w+\.yaml: dashboard\.tokenEnv: the environment variable SWARMGUARD_TEST_UNSET_TOKEN is not set/);
    expect(() => resolveDashboard(DashboardSchema.parse({ tokenEnv: 'T' }), 'f.yaml: dashboard', { T: 'short' })).toThrow(/f\.yaml: dashboard\.tokenEnv: the token in T has 5 characters; it needs 16 to 256/);
    expect(resolveDashboard(DashboardSchema.parse({ tokenEnv: 'T' }), 'f.yaml: dashboard', { T: TOKEN })).toEqual({ enabled: true, host: '127.0.0.1', viewing: 'open', port: 8765, token: TOKEN });
    await expect(loadLaunch(writeLaunch({ bind: 'x' }))).rejects.toThrow(/dashboard/);
    expect(dashboardFor(undefined, undefined)).toBeNull();
    expect(dashboardFor(undefined, true)).toMatchObject({ enabled: true, host: '127.0.0.1', port: 8765 });
    expect(dashboardFor({ enabled: false, host: '127.0.0.1', viewing: 'open', port: 9000 }, undefined)).toBeNull();
    expect(dashboardFor({ enabled: false, host: '127.0.0.1', viewing: 'open', port: 9000 }, 0)).toMatchObject({ enabled: true, port: 0 });
    await expect(loadLaunch(writeLaunch({ viewing: 'anyone' }))).rejects.toThrow(/dashboard\.viewing/);
  });

  it('a dashboard port already in use stops the run before it starts, naming the launch file and the port', async () => {
    const blocker = createNetServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    try {
      const taken = (blocker.address() as AddressInfo).port;
      const err = await runLaunch(writeLaunch({ port: taken }), { quiet: true, console: false }, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(new RegExp(`dash-\\w+\\.yaml: dashboard: port ${taken} on 127\\.0\\.0\\.1 is in use`));
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('serves the live run: the URL with its token (from dashboard.tokenEnv) is printed, frames stream, the token e-stops the swarm, and the end is told with the summary the terminal prints', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    process.env.SWARMGUARD_TEST_DASHBOARD_TOKEN = TOKEN;
    const file = writeLaunch({ port: 0, tokenEnv: 'SWARMGUARD_TEST_DASHBOARD_TOKEN' });
    const done = runLaunch(file, { quiet: true, console: false, signal: abort.signal }, (l) => lines.push(l));
    expect(readFileSync(file, 'utf8')).not.toContain(TOKEN);
    let c: Client | null = null;
    let summaryShown: string[] = [];
    try {
      const end = Date.now() + 60_000;
      let url: RegExpMatchArray | null = null;
      while (!(url = lines.join('\n').match(/dashboard: http:\/\/127\.0\.0\.1:(\d+)\/#token=([\w-]+)/)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(url, lines.join('\n')).not.toBeNull();
      const [, portText, token] = url!;
      expect(token).toBe(TOKEN);
      c = await Client.open(Number(portText));
      const welcome = await c.next((m) => m.type === 'welcome');
      expect(welcome.ids).toHaveLength(10);
      expect(welcome.attacks).toContain('eir-mappo-rendezvous@eir');
      const first = await c.next((m) => m.type === 'frame' && m.tick >= 5, 0, 60_000);
      expect((await c.control({ kind: 'estop', reason: 'from the test' }, token!)).type).toBe('result');
      await c.next((m) => m.type === 'frame' && typeof m.eStopped === 'string' && m.tick > first.tick, 0, 30_000);
      // The run ends (as Ctrl-C ends it): the page is told so, with the summary the terminal prints, and let go.
      abort.abort();
      const ended = await c.next((m) => m.type === 'run-ended', 0, 60_000);
      expect(ended.reason).toBe('interrupted');
      expect(ended.summary[0]).toMatch(/^summary \(\d+\.\d s, interrupted\):$/);
      expect(ended.summary).toContainEqual(expect.stringMatching(/^ {2}detected \d+ of \d+ compromised robot\(s\)/));
      summaryShown = ended.summary;
      expect(await c.closed).toEqual([1001, 'the run has ended']);
    } finally {
      delete process.env.SWARMGUARD_TEST_DASHBOARD_TOKEN;
      c?.ws.terminate();
      abort.abort();
    }
    const summary = await done;
    expect(summary.interrupted).toBe(true);
    expect(lines.some((l) => /E-STOP\s+from the test \(dashboard\)/.test(l))).toBe(true);
    // The page's summary is the terminal's, but for the run folder's line (the folder is written after).
    const printed = lines.slice(lines.findIndex((l) => l.startsWith('\nsummary')));
    expect(printed.at(-1)).toMatch(/^ {2}run folder: /);
    expect(printed.slice(0, -1).map((l) => l.replace(/^\n/, ''))).toEqual(summaryShown);
  }, 120_000);
});
