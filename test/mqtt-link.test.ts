// The MQTT link over the embedded broker, with the bus twin as the robots: a whole run, malformed payloads,
// a robot whose poses stop, and the broker's logins and ACL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { runLaunch, type RunSummary } from '../src/cli/run.js';
import { serveBusTwin } from '../src/cli/twin-serve.js';
import { loadLaunch } from '../src/launch/launch.js';
import { createLink } from '../src/cli/link-factory.js';
import { EmbeddedBroker } from '../src/links/mqtt/broker.js';
import { BusClient } from '../src/links/mqtt/client.js';
import type { BusTwin } from '../sim/protocol-twin/mqtt-bus-twin.js';
import { CLOCK_REBASE_AFTER, MqttLink } from '../src/links/mqtt/link.js';
import { SwarmTopics, DEFAULT_QOS } from '../src/links/mqtt/topics.js';
import { EIR, mqttLaunch, settings10, SHIPPED_ACL, startTwin, tempDir, until, writePasswordFile } from './helpers/mqtt.js';
import { expectUnauthorisedCannotCommand } from './helpers/mqtt-auth.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function broker(o: { passwordFile?: string; aclFile?: string } = {}): Promise<EmbeddedBroker> {
  const b = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, ...o, allowAnonymous: !o.passwordFile, log: () => undefined });
  cleanup.push(() => b.close());
  return b;
}

async function twinOn(url: string, swarm: string, login = {}): Promise<BusTwin> {
  const t = await startTwin(url, swarm, login);
  cleanup.push(() => t.stop());
  return t;
}

async function observer(url: string, login: { username?: string; password?: string } = {}): Promise<BusClient> {
  const c = await BusClient.connect({ url, who: 'test observer', ...login, log: () => undefined });
  cleanup.push(() => c.close());
  return c;
}

/** Runs the launch file until `done()` resolves, then ends the run as Ctrl-C would. */
async function runUntil(path: string, done: () => Promise<void>): Promise<{ sum: RunSummary; lines: string[] }> {
  const ac = new AbortController();
  const lines: string[] = [];
  const running = runLaunch(path, { quiet: true, console: false, signal: ac.signal }, (l) => lines.push(l));
  try {
    await Promise.race([done(), running.then(() => Promise.reject(new Error(`the run ended first: ${lines.join('\n')}`)))]);
  } finally {
    ac.abort();
  }
  return { sum: await running, lines };
}

describe('MQTT link with the bus twin on the embedded broker', () => {
  it('swarmguard run drives every robot over the bus and publishes telemetry and its retained status', async () => {
    const b = await broker();
    const twin = await twinOn(b.url, 'bus');
    const T = new SwarmTopics('bus');
    const obs = await observer(b.url);
    const suspicionFrom = new Set<string>();
    const statuses: string[] = [];
    await obs.subscribe(T.everyRobot('suspicion'), 'suspicion', 0, (topic) => suspicionFrom.add(T.parseRobot(topic)!.id));
    await obs.subscribe(T.status('controller'), 'status', 1, (_t, m) => statuses.push(m.state));
    const start = twin.truePoses();
    const dir = tempDir('run');
    const { sum, lines } = await runUntil(mqttLaunch(dir, 'bus', b.url), () => until('every robot driven 20 times', () => twin.stats.every((s) => s.driving >= 20), 60_000));
    expect(lines.join('\n')).toMatch(/10 robots on link mqtt/);
    for (const [k, s] of twin.stats.entries()) expect(s.driving, twin.ids[k]).toBeGreaterThanOrEqual(20);
    for (const h of sum.links!) {
      expect(h.exchanges, h.id).toBeGreaterThan(0);
      expect(Object.values(h.rejected).reduce((a, n) => a + n, 0), h.id).toBe(0);
    }
    // The twin echoes the tick of the last command in its poses: the link measured round trips for every robot.
    for (const h of sum.links!) expect(Number.isFinite(h.latencyMs.p50), h.id).toBe(true);
    expect(sum.stops['no-pose']).toBe(0);
    expect([...suspicionFrom].sort()).toEqual([...twin.ids].sort());
    await until('the controller offline', () => statuses.at(-1) === 'offline');
    expect(statuses[0]).toBe('online');
    // The robots obeyed: every one of them moved.
    for (const [k, p] of twin.truePoses().entries()) expect(Math.hypot(p.x - start[k]!.x, p.y - start[k]!.y), twin.ids[k]).toBeGreaterThan(0.002);
  });

  it('refuses and counts a malformed pose (bad JSON, NaN, wrong version, wrong type, not an object, out of order); the next good one is taken', async () => {
    const b = await broker();
    const ids = settings10().robotIds;
    const logged: string[] = [];
    const link = await MqttLink.open({ swarm: 'bad', ids, bus: { embedded: null, url: b.url, qos: DEFAULT_QOS, connectTimeoutMs: 5000 }, log: (l) => logged.push(l) });
    cleanup.push(() => link.stop());
    const raw = await mqtt.connectAsync(b.url);
    cleanup.push(() => raw.endAsync());
    const topic = new SwarmTopics('bad').robot('epuck-2', 'pose');
    const bad = [
      '{"v":1,"t":1,"x":0.5',
      '{"v":1,"t":1,"x":NaN,"y":0.5,"theta":0}',
      '{"v":2,"t":1,"x":0.5,"y":0.5,"theta":0}',
      '{"t":1,"x":0.5,"y":0.5,"theta":0}',
      '{"v":1,"t":1,"x":"0.5","y":0.5,"theta":0}',
      '{"v":1,"t":1,"x":0.5,"y":0.5}',
      '[1,2,3]',
    ];
    for (const p of bad) await raw.publishAsync(topic, p, { qos: 1 });
    await raw.publishAsync(topic, '{"v":1,"t":100,"x":0.4,"y":0.6,"theta":1}', { qos: 1 });
    await raw.publishAsync(topic, '{"v":1,"t":50,"x":0.1,"y":0.1,"theta":0}', { qos: 1 });
    await raw.publishAsync(topic, '{"v":1,"t":101,"x":0.41,"y":0.61,"theta":1.1}', { qos: 1 });
    await until('the last good pose', () => link.health()[2]!.exchanges === 2);
    const h = link.health()[2]!;
    expect(h.rejected).toMatchObject({ 'bad-json': 2, 'wrong-version': 2, schema: 2, 'not-object': 1, 'out-of-order': 1 });
    const pose = link.poses()[2]!;
    expect([pose.x, pose.y, pose.theta]).toEqual([0.41, 0.61, 1.1]);
    // Nothing was charged to the other robots, and none of them has a pose.
    for (const [i, o] of link.health().entries()) if (i !== 2) expect(Object.values(o.rejected).every((n) => n === 0) && o.exchanges === 0).toBe(true);
    expect(link.poses().filter((p) => p !== null)).toHaveLength(1);
    // Logged through the fault log: one line as each kind of refusal starts, not one per refused payload.
    const starts = logged.filter((l) => /refused a pose payload/.test(l)).map((l) => /: (bad-json|wrong-version|schema|not-object): /.exec(l)?.[1]);
    expect(starts).toEqual(['bad-json', 'wrong-version', 'schema', 'not-object']);
    // A sender whose clock went back (a restarted bridge): refused until CLOCK_REBASE_AFTER in a row, then taken.
    for (let k = 1; k <= CLOCK_REBASE_AFTER; k++) await raw.publishAsync(topic, `{"v":1,"t":${k},"x":0.3,"y":0.3,"theta":${k}}`, { qos: 1 });
    await until('the rebased pose', () => link.health()[2]!.exchanges === 3);
    expect(link.health()[2]!.rejected['out-of-order']).toBe(1 + CLOCK_REBASE_AFTER - 1);
    expect(link.poses()[2]!.theta).toBe(CLOCK_REBASE_AFTER);
    // The out-of-order poses: one line as they started; at the link's stop every repeated kind gets its count.
    expect(logged.filter((l) => /^mqtt epuck-2: out-of-order: refused a pose/.test(l))).toHaveLength(1);
    await link.stop();
    for (const kind of ['bad-json', 'wrong-version', 'schema']) expect(logged.filter((l) => l.includes(`: ${kind}: over, at stop (2 in `)), kind).toHaveLength(1);
    expect(logged.filter((l) => /^mqtt epuck-2: out-of-order: over, at stop \(5 in /.test(l))).toHaveLength(1);
  });

  it('a robot whose poses stop is stopped by the safety layer (stale-pose), and only it; it resumes when its poses come back', async () => {
    const b = await broker();
    const twin = await twinOn(b.url, 'stale');
    const T = new SwarmTopics('stale');
    const obs = await observer(b.url);
    const k = 3;
    const id = twin.ids[k]!;
    const stops: { robot: string; reason: string }[] = [];
    await obs.subscribe(T.events, 'events', 1, (_t, e) => {
      if (e.kind !== 'stop') return;
      stops.push(e as unknown as { robot: string; reason: string });
      if (phase === 'silent' && e.robot === id && e.reason === 'stale-pose') phase = 'stopped';
    });
    // silent: its poses withheld; stopped: the stale-pose stop seen (commands published after it are zero).
    let phase: 'before' | 'silent' | 'stopped' | 'back' = 'before';
    const drivingIn = { silent: new Map<string, number>(), back: 0 };
    await obs.subscribe(T.everyRobot('cmd'), 'cmd', 0, (topic, m) => {
      const who = T.parseRobot(topic)!.id;
      const driving = m.left !== 0 || m.right !== 0;
      if (phase === 'stopped' && driving) drivingIn.silent.set(who, (drivingIn.silent.get(who) ?? 0) + 1);
      if (phase === 'back' && who === id && driving) drivingIn.back++;
    });
    const { lines } = await runUntil(mqttLaunch(tempDir('stale'), 'stale', b.url), async () => {
      await until(`${id} driven`, () => twin.stats[k]!.driving >= 10, 60_000);
      twin.setSilent(k, true);
      phase = 'silent';
      await until(`a stale-pose stop of ${id}`, () => phase === 'stopped');
      await until('the others driven meanwhile', () => twin.ids.every((o) => o === id || (drivingIn.silent.get(o) ?? 0) >= 3));
      twin.setSilent(k, false);
      phase = 'back';
      await until(`${id} driven again`, () => drivingIn.back >= 3);
    });
    expect(stops.filter((s) => s.reason === 'stale-pose').map((s) => s.robot)).toEqual([id]);
    expect(drivingIn.silent.get(id) ?? 0).toBe(0);
    expect(lines.join('\n')).toMatch(/stale-pose/);
  });
});

describe('MQTT link across a broker restart', () => {
  it('the link and the twin reconnect and resubscribe by themselves; poses and commands flow again', async () => {
    const first = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, allowAnonymous: true, log: () => undefined });
    const port = first.port;
    const twin = await twinOn(first.url, 'restart');
    const lines: string[] = [];
    const link = await MqttLink.open({ swarm: 'restart', ids: twin.ids, bus: { embedded: null, url: first.url, qos: DEFAULT_QOS, connectTimeoutMs: 5000 }, log: (l) => lines.push(l) });
    cleanup.push(() => link.stop());
    const exchanges = () => link.health().map((h) => h.exchanges);
    await until('poses from every robot', () => exchanges().every((n) => n > 0));
    await first.close();
    const before = exchanges();
    const second = await EmbeddedBroker.start({ host: '127.0.0.1', port, allowAnonymous: true, log: () => undefined });
    cleanup.push(() => second.close());
    await until('poses from every robot again', () => exchanges().every((n, i) => n > before[i]! + 2));
    const commands = twin.stats.map((s) => s.commands);
    for (let i = 0; i < twin.ids.length; i++) link.send(i, 0.1, 0.1);
    await until('a command at every twin robot', () => twin.stats.every((s, k) => s.commands > commands[k]!));
    expect(lines.join('\n')).toMatch(/broker unreachable, reconnecting/);
  });
});

describe('MQTT telemetry and twin-serve', () => {
  it('a run over another link (sim) publishes beliefs, suspicion, events, alerts and its status to the broker of its mqtt: block', async () => {
    const b = await broker();
    const T = new SwarmTopics('simbus');
    const obs = await observer(b.url);
    const suspicionFrom = new Set<string>();
    const status: Record<string, unknown>[] = [];
    const beliefs = new Map<string, Record<string, number>>();
    await obs.subscribe(T.everyRobot('suspicion'), 'suspicion', 0, (topic) => suspicionFrom.add(T.parseRobot(topic)!.id));
    await obs.subscribe(T.everyRobot('belief'), 'belief', 0, (topic, m) => beliefs.set(T.parseRobot(topic)!.id, m.about));
    await obs.subscribe(T.status('controller'), 'status', 1, (_t, m) => status.push(m));
    const dir = tempDir('simbus');
    const path = join(dir, 'launch.yaml');
    // A policy with a belief network: every robot's beliefs about the others go out too.
    writeFileSync(path, `name: simbus\nswarm: { robots: 10, noise: 'off' }\npolicy: ${EIR}\nduration: 120\nlink: { kind: sim, mode: live }\nmqtt: { broker: '${b.url}' }\nout: ${dir}\ntrial: true\ninjections: [{ robot: epuck-3, at: 0.5, duration: 100, attack: 'fault:spin' }]\n`);
    const events: string[] = [];
    const alerts: { kind: string; robot: string; evidence: unknown }[] = [];
    await obs.subscribe(T.events, 'events', 1, (_t, e) => events.push(`${e.kind}${'robot' in e ? ` ${String(e.robot)}` : ''}`));
    await obs.subscribe(T.alerts, 'alerts', 1, (_t, a) => alerts.push(a));
    await runUntil(path, () => until('beliefs, suspicion and a flag of epuck-3', () => suspicionFrom.size === 10 && beliefs.size === 10 && alerts.length > 0, 60_000));
    expect(events).toContain('injection-start epuck-3');
    expect(events).toContain('flag epuck-3');
    expect(alerts[0]).toMatchObject({ kind: 'flag', robot: 'epuck-3', evidence: { observers: expect.any(Number) } });
    for (const [id, about] of beliefs) {
      expect(Object.keys(about).sort(), id).toEqual(settings10().robotIds.filter((o) => o !== id).sort());
      for (const p of Object.values(about)) expect(p >= 0 && p <= 1).toBe(true);
    }
    await until('the controller offline', () => status.at(-1)?.state === 'offline');
    expect(status[0]).toMatchObject({ v: 1, state: 'online', link: 'sim' });
  });

  it('twin-serve serves an mqtt launch file on its broker; the link the same file builds gets every robot', async () => {
    const b = await broker();
    const dir = tempDir('serve');
    const path = mqttLaunch(dir, 'served', b.url);
    const lines: string[] = [];
    const twin = await serveBusTwin(path, {}, (l) => lines.push(l));
    cleanup.push(() => twin.stop());
    expect(lines.join('\n')).toMatch(/now: swarmguard run/);
    const link = await createLink(await loadLaunch(path), () => undefined);
    cleanup.push(() => link.stop());
    expect(await link.ready!(20_000)).toEqual([]);
    await expect(serveBusTwin(mqttLaunch(dir, 'twinned', b.url, '  twin: true\n'))).rejects.toThrow(/link\.twin/);
  });
});

describe('the bus twin', () => {
  it("stops a robot whose commands stop for commandTimeoutMs (its bridge's watchdog), and only that robot", async () => {
    const b = await broker();
    const twin = await twinOn(b.url, 'dog');
    const c = await observer(b.url);
    const T = new SwarmTopics('dog');
    c.publish(T.robot(twin.ids[0]!, 'cmd'), { t: Date.now(), tick: 0, left: 0.3, right: 0.3 }, 0);
    await until('the watchdog stop', () => twin.stats[0]!.watchdogStops === 1);
    const at = twin.truePoses()[0]!;
    const ticks = twin.live.stats.ticks;
    await until('three more twin ticks', () => twin.live.stats.ticks >= ticks + 3);
    const now = twin.truePoses()[0]!;
    expect(Math.hypot(now.x - at.x, now.y - at.y)).toBeLessThan(1e-9);
    expect(twin.stats.slice(1).every((s) => s.watchdogStops === 0 && s.commands === 0)).toBe(true);
  });
});

describe('MQTT logins and ACL on the embedded broker', () => {
  it('an anonymous, a wrong-password and an ACL-forbidden client cannot command a robot; the controller can', async () => {
    const dir = tempDir('auth');
    const b = await broker({ passwordFile: writePasswordFile(dir), aclFile: SHIPPED_ACL });
    await expectUnauthorisedCannotCommand(b.url, (t) => cleanup.push(t));
    expect(b.refused.login).toBeGreaterThanOrEqual(2);
    expect(b.refused.publish + b.refused.subscribe).toBeGreaterThanOrEqual(1);
  });

  it('refuses to start without logins unless anonymous clients are asked for, and anonymous clients anywhere but on loopback', async () => {
    await expect(EmbeddedBroker.start({ host: '127.0.0.1', port: 0, log: () => undefined })).rejects.toThrow(/needs logins .*allowAnonymous: true/);
    await expect(EmbeddedBroker.start({ host: '0.0.0.0', port: 0, allowAnonymous: true, log: () => undefined })).rejects.toThrow(/needs a password file/);
    const warned: string[] = [];
    const open = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, allowAnonymous: true, log: (l) => warned.push(l) });
    cleanup.push(() => open.close());
    expect(warned.join('\n')).toMatch(/WARNING: .* accepts anonymous clients \(allowAnonymous: true\): any process on this machine can command the robots/);
  });
});
