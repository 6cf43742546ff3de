// The distributed runtime's parts without separate processes: the inbox keeping every tick's messages apart,
// the launch file's distributed block, bad input to an agent (refused and counted, the agent goes on).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../src/distributed/agent.js';
import { credentials, distributedAcl } from '../src/distributed/config.js';
import { SwarmInbox } from '../src/distributed/inbox.js';
import { HELD_STILL, LEFT_OUT } from '../src/core/observation.js';
import { followPeers, WILL_SETTLE_MS } from '../src/distributed/participant.js';
import { EmbeddedBroker } from '../src/links/mqtt/broker.js';
import { BusClient } from '../src/links/mqtt/client.js';
import { AclFile } from '../src/links/mqtt/acl.js';
import { SwarmTopics } from '../src/links/mqtt/topics.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import mqtt from 'mqtt';
import { decodePayload, encodePayload } from '../src/links/mqtt/schemas.js';
import { BridgeStops } from '../src/distributed/bridge-stops.js';
import { sleep, until } from './helpers/mqtt.js';

const ids = ['a', 'b', 'c'];
const pose = (t: number, tick?: number) => ({ v: 1 as const, t, x: 1, y: 2, theta: 0.5, ...(tick === undefined ? {} : { tick }) });
const cmd = (tick: number, left: number) => ({ v: 1 as const, t: 0, tick, left, right: -left });

describe('SwarmInbox (lock-step)', () => {
  it("keeps each tick's poses apart and uses exactly tick k-1's commands at tick k, whatever arrives early", () => {
    const box = new SwarmInbox(ids, 'lockstep');
    box.pose('a', pose(100, 1), 0); // tick 1 before tick 0
    box.pose('a', pose(0, 0), 0);
    box.pose('b', pose(0, 0), 0);
    expect(box.posesHeard(0)).toBe(2);
    expect(box.posesHeard(1)).toBe(1);
    expect(box.newestPoseTick).toBe(1);
    expect(box.posesAt(0).map((p) => p?.stampMs ?? null)).toEqual([0, 0, null]);
    box.command('a', cmd(0, 0.5));
    box.command('a', cmd(1, 0.9)); // robot a's agent is a tick ahead
    box.command('b', cmd(0, 0.25));
    const out = new Float32Array(6);
    box.commandsBefore(1, out);
    expect(Array.from(out)).toEqual([0.5, -0.5, 0.25, -0.25, 0, 0]);
    expect(box.commandAt(0, 1)).toMatchObject({ left: 0.9, right: -0.9 });
    expect(box.commandsHeard(0)).toBe(2);
  });

  it('counts and drops a pose without a tick, a late pose and an unknown robot; a repeated command is taken once', () => {
    const box = new SwarmInbox(ids, 'lockstep');
    box.pose('a', pose(0), 0);
    box.done(3);
    box.pose('a', pose(0, 2), 0);
    box.pose('zz', pose(0, 5), 0);
    box.command('b', cmd(4, 0.1));
    box.command('b', cmd(4, 0.7));
    expect(box.ignored).toEqual({ 'no-tick': 1, late: 1, 'unknown-robot': 1 });
    expect(box.commandAt(1, 4)).toMatchObject({ left: 0.1, right: -0.1 });
  });

  it("takes a crashed agent's robot as stopped from the first tick it sent no command for (the feed stops it)", () => {
    const box = new SwarmInbox(ids, 'lockstep');
    box.command('c', cmd(4, 0.5));
    box.agentGone('c', true);
    const out = new Float32Array(6);
    box.commandsBefore(5, out); // tick 4's command came before it died
    expect(out[4]).toBe(0.5);
    box.commandsBefore(6, out); // none for tick 5
    expect([out[4], out[5]]).toEqual([0, 0]);
    box.agentGone('c', false);
    box.command('c', cmd(6, 0.25));
    box.commandsBefore(7, out);
    expect(out[4]).toBe(0.25);
  });
});

describe('SwarmInbox (live)', () => {
  it("stamps poses with the sender's spacing, moved onto this clock by the smallest arrival delay", () => {
    const box = new SwarmInbox(ids, 'live');
    box.pose('a', pose(1000), 5030); // delay 4030 (offset + latency)
    box.pose('a', pose(1100), 5105); // delay 4005: the smallest so far
    expect(box.posesAt(0)[0]!.stampMs).toBe(1100 + 4005);
    box.pose('a', pose(1200), 5400); // arrived late (bunched): its stamp keeps the 100 ms spacing
    expect(box.posesAt(0)[0]!.stampMs).toBe(1200 + 4005);
  });

  it("takes a robot its bridge e-stops (its pose says so) as driving zero, whatever its agent sends, until a pose says otherwise", () => {
    const box = new SwarmInbox(ids, 'live');
    box.command('b', cmd(3, 0.5));
    const out = new Float32Array(6);
    box.pose('b', { ...pose(1000), stop: 'e-stop' }, 1010);
    box.commandsBefore(4, out);
    box.zeroEStopped(out);
    expect([out[2], out[3]]).toEqual([0, 0]);
    // Another stop (its agent's own, a watchdog's) is not the operator's e-stop: its command stands as sent.
    box.pose('b', { ...pose(1100), stop: 'watchdog' }, 1110);
    box.commandsBefore(4, out);
    box.zeroEStopped(out);
    expect(out[2]).toBe(0.5);
    box.pose('b', pose(1200), 1210);
    box.commandsBefore(4, out);
    box.zeroEStopped(out);
    expect(out[2]).toBe(0.5);
  });
});

describe('launch files and agents: bad input', () => {
  let dir: string;
  let broker: EmbeddedBroker;
  const launchWith = (distributed: unknown, name = 'parts') => {
    const l = parse(readFileSync(join(PROJECT_ROOT, 'launch/distributed-demo.yaml'), 'utf8')) as Record<string, any>;
    l.name = name;
    l.policy = join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous');
    l.injections = [];
    l.trial = false;
    l.out = join(dir, 'runs');
    if (distributed === undefined) delete l.distributed;
    else l.distributed = distributed;
    const path = join(dir, `${name}-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(path, stringify(l));
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swarmguard-distributed-parts-'));
    broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, allowAnonymous: true, log: () => {} });
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the shipped demo loads; a bad key, a bad mode, a missing block, an unset password variable and an unknown robot are named', async () => {
    const demo = await loadLaunch(join(PROJECT_ROOT, 'launch/distributed-demo.yaml'));
    expect(demo.distributed).toMatchObject({ mode: 'lockstep', passwordEnv: 'SWARMGUARD_MQTT_PASSWORD' });
    await expect(loadLaunch(launchWith({ mode: 'sometimes' }))).rejects.toThrow(/distributed\.mode/);
    await expect(loadLaunch(launchWith({ brokr: 'mqtt://x:1' }))).rejects.toThrow(/distributed: Unrecognized key.*brokr/);
    await expect(runAgent(launchWith(undefined), { robot: 'epuck-0', log: () => {} })).rejects.toThrow(/distributed: missing/);
    await expect(runAgent(launchWith({ passwordEnv: 'SWARMGUARD_TEST_UNSET_VARIABLE' }), { robot: 'epuck-0', log: () => {} })).rejects.toThrow(
      /distributed\.passwordEnv: the environment variable SWARMGUARD_TEST_UNSET_VARIABLE is not set/,
    );
    await expect(runAgent(launchWith({}), { robot: 'epuck-42', log: () => {} })).rejects.toThrow(/--robot: unknown robot id 'epuck-42'/);
  });

  it("the ACL lets an agent write only its own robot's command and belief", () => {
    const acl = AclFile.parse(distributedAcl('demo', ['epuck-0', 'epuck-1']), 'acl');
    const t = new SwarmTopics('demo');
    expect(acl.canPublish('agent-epuck-0', 'c', t.robot('epuck-0', 'cmd'))).toBe(true);
    expect(acl.canPublish('agent-epuck-0', 'c', t.robot('epuck-1', 'cmd'))).toBe(false);
    expect(acl.canPublish('agent-epuck-0', 'c', t.robot('epuck-0', 'pose'))).toBe(false);
    expect(acl.canPublish('feed', 'c', t.robot('epuck-0', 'cmd'))).toBe(false);
    expect(acl.canPublish('monitor', 'c', t.robot('epuck-0', 'cmd'))).toBe(false);
    expect(acl.canRead('agent-epuck-1', 'c', t.robot('epuck-0', 'pose'))).toBe(true);
    // Only the feed ends a trial (and clears the last one's end); everyone reads it.
    expect(acl.canPublish('feed', 'c', t.done)).toBe(true);
    expect(acl.canPublish('agent-epuck-0', 'c', t.done)).toBe(false);
    expect(acl.canPublish('monitor', 'c', t.done)).toBe(false);
    for (const u of ['agent-epuck-0', 'monitor']) expect(acl.canRead(u, 'c', t.done), u).toBe(true);
  });

  it('the ACL lets only the monitor publish the isolation mask (who is left out, who is held still); the agents and the feed read it', () => {
    const acl = AclFile.parse(distributedAcl('demo', ['epuck-0', 'epuck-1']), 'acl');
    const t = new SwarmTopics('demo');
    expect(t.isolation).toBe('swarmguard/v1/demo/isolation');
    expect(acl.canPublish('monitor', 'c', t.isolation)).toBe(true);
    for (const u of ['agent-epuck-0', 'agent-epuck-1', 'feed', 'observer']) expect(acl.canPublish(u, 'c', t.isolation), u).toBe(false);
    for (const u of ['agent-epuck-0', 'agent-epuck-1', 'feed']) expect(acl.canRead(u, 'c', t.isolation), u).toBe(true);
  });

  it("the ACL lets only the operator give orders, one topic per recipient: what a flag does (only the monitor reads it), e-stop and release (only the feed, the robots' bridge, reads it), injections (every agent reads them); the operator reads the answers", () => {
    const acl = AclFile.parse(distributedAcl('demo', ['epuck-0', 'epuck-1']), 'acl');
    const t = new SwarmTopics('demo');
    expect(t.control('monitor')).toBe('swarmguard/v1/demo/control/monitor');
    expect(t.control('feed')).toBe('swarmguard/v1/demo/control/feed');
    expect(t.control('agents')).toBe('swarmguard/v1/demo/control/agents');
    for (const topic of [t.control('monitor'), t.control('feed'), t.control('agents')]) {
      expect(acl.canPublish('operator', 'c', topic), topic).toBe(true);
      // No agent (the compromised party, maybe), nor the monitor or the feed, can give an order.
      for (const u of ['agent-epuck-0', 'agent-epuck-1', 'monitor', 'feed', 'observer']) expect(acl.canPublish(u, 'c', `${topic}`), `${u} ${topic}`).toBe(false);
      for (const u of ['observer', 'operator']) expect(acl.canRead(u, 'c', topic), `${u} ${topic}`).toBe(false);
    }
    // The agents hear the injections only (an e-stop is the bridge's to enforce, what flags do the monitor's).
    for (const u of ['agent-epuck-0', 'agent-epuck-1']) {
      expect(acl.canRead(u, 'c', t.control('agents')), u).toBe(true);
      for (const topic of [t.control('monitor'), t.control('feed')]) expect(acl.canRead(u, 'c', topic), `${u} ${topic}`).toBe(false);
    }
    for (const u of ['monitor', 'feed']) expect(acl.canRead(u, 'c', t.control('agents')), u).toBe(false);
    // Least privilege: each recipient reads its own orders only; nobody subscribes to every order at once.
    expect(acl.canRead('monitor', 'c', t.control('monitor'))).toBe(true);
    expect(acl.canRead('monitor', 'c', t.control('feed'))).toBe(false);
    expect(acl.canRead('feed', 'c', t.control('feed'))).toBe(true);
    expect(acl.canRead('feed', 'c', t.control('monitor'))).toBe(false);
    for (const u of ['monitor', 'feed', 'operator']) expect(acl.canRead(u, 'c', `${t.prefix}/control/#`), u).toBe(false);
    // Only the operator publishes orders: no other topic under control/ and nothing else.
    expect(acl.canPublish('operator', 'c', `${t.prefix}/control/agent`)).toBe(false);
    expect(acl.canPublish('operator', 'c', `${t.prefix}/control`)).toBe(false);
    // The answers: the monitor's, the feed's and the agents' events, which the operator reads, and the commands'
    // ticks (an injection names the tick it starts at).
    expect(acl.canRead('operator', 'c', t.events)).toBe(true);
    expect(acl.canRead('operator', 'c', t.everyRobot('cmd'))).toBe(true);
    expect(acl.canRead('operator', 'c', t.everyRobot('pose'))).toBe(false);
    for (const u of ['monitor', 'feed']) expect(acl.canPublish(u, 'c', t.events), u).toBe(true);
    // The operator drives no robot and holds none.
    for (const topic of [t.robot('epuck-0', 'cmd'), t.isolation, t.done, t.events]) expect(acl.canPublish('operator', 'c', topic), topic).toBe(false);
  });

  it("the agents' injection orders: robots, an attack, seconds (on/off), the start tick and the sender's id; anything else is refused whole", () => {
    const order = { t: 1, order: 'o1', kind: 'inject', robots: ['epuck-1'], attack: 'fault:spin', seconds: 3, fromTick: 40 };
    expect(decodePayload('agent-order', encodePayload(order))).toMatchObject({ ok: true });
    expect(decodePayload('agent-order', encodePayload({ ...order, on: 1, off: 2 }))).toMatchObject({ ok: true });
    for (const bad of [{ robots: [] }, { seconds: 0 }, { fromTick: -1 }, { fromTick: 1.5 }, { attack: '' }, { kind: 'estop' }, { also: 'x' }, { attack: 'fault:spin\n' }]) {
      expect(decodePayload('agent-order', encodePayload({ ...order, ...bad })), JSON.stringify(bad)).toMatchObject({ ok: false, reason: 'schema' });
    }
  });

  it("the robots' bridge: an e-stop zeroes the wheels until its release, the monitor's hold until its mask lets go; neither lifts the other", () => {
    const mask = new Uint8Array(3);
    const bridge = new BridgeStops(mask);
    expect(bridge.wheels(0, 0.5, -0.25)).toEqual([0.5, -0.25]);
    bridge.eStop(0, 'test (operator)');
    expect(bridge.wheels(0, 0.5, -0.25)).toEqual([0, 0]);
    expect(bridge.wheels(1, 0.5, -0.25)).toEqual([0.5, -0.25]);
    // The monitor holds robot 0 too, then its mask lets it go: still e-stopped.
    mask[0] = HELD_STILL;
    mask[0] = 0;
    expect(bridge.stops(0)).toBe(true);
    expect(bridge.wheels(0, 0.5, -0.25)).toEqual([0, 0]);
    bridge.release(0);
    expect(bridge.wheels(0, 0.5, -0.25)).toEqual([0.5, -0.25]);
    // Held by the monitor, e-stopped and released: still held; once the mask lets go, it drives.
    mask[1] = HELD_STILL;
    bridge.eStop(1, 'test (operator)');
    bridge.release(1);
    expect(bridge.eStopped(1)).toBeNull();
    expect(bridge.held(1)).toBe(true);
    expect(bridge.wheels(1, 0.5, 0.5)).toEqual([0, 0]);
    mask[1] = LEFT_OUT;
    expect(bridge.wheels(1, 0.5, 0.5)).toEqual([0.5, 0.5]);
  });

  it("the feed's orders: an e-stop or release of robots (ids or all), each with the sender's id; anything else is refused whole", () => {
    const ok = (body: object) => decodePayload('stop-order', encodePayload({ t: 1, order: 'o1', ...body }));
    expect(ok({ kind: 'estop', robots: ['epuck-0', 'epuck-1'], reason: 'test' })).toMatchObject({ ok: true });
    expect(ok({ kind: 'estop', robots: 'all', reason: 'test' })).toMatchObject({ ok: true });
    expect(ok({ kind: 'release', robots: ['epuck-0'] })).toMatchObject({ ok: true });
    for (const bad of [
      { kind: 'inject', robots: ['epuck-0'] },
      { kind: 'estop', robots: [], reason: 'test' },
      { kind: 'estop', robots: 'some', reason: 'test' },
      { kind: 'estop', robots: ['epuck-0'] },
      { kind: 'estop', robots: ['epuck-0'], reason: 'bell\u0007' },
      { kind: 'release', robots: ['epuck-0'], reason: 'a release has none' },
      { kind: 'release', robots: ['epuck-0'], andAlso: { kind: 'estop' } },
    ]) {
      expect(ok(bad), JSON.stringify(bad)).toMatchObject({ ok: false, reason: 'schema' });
    }
    expect(decodePayload('stop-order', encodePayload({ t: 1, kind: 'release', robots: ['epuck-0'] }))).toMatchObject({ ok: false, reason: 'schema' });
  });

  it('the inbox keeps the isolation mask per tick (tick 0 empty); a robot held at tick k-1 counts as commanded zero, stopped isolated, whatever its agent sent', () => {
    const ids = ['epuck-0', 'epuck-1', 'epuck-2'];
    const inbox = new SwarmInbox(ids, 'lockstep');
    const mask = new Uint8Array(3);
    expect(inbox.isolationHeard(0)).toBe(true);
    expect(inbox.isolationHeard(1)).toBe(false);
    inbox.isolation({ tick: 1, leftOut: ['epuck-0'], held: ['epuck-2', 'epuck-9'] });
    expect(inbox.ignored['unknown-robot']).toBe(1);
    expect(inbox.isolationHeard(1)).toBe(true);
    expect(Array.from(inbox.isolationAt(0, mask))).toEqual([0, 0, 0]);
    expect(Array.from(inbox.isolationAt(1, mask))).toEqual([LEFT_OUT, 0, HELD_STILL]);
    // A second mask for the same tick (sent again after an outage) changes nothing.
    inbox.isolation({ tick: 1, leftOut: [], held: [] });
    expect(Array.from(inbox.isolationAt(1, mask))).toEqual([LEFT_OUT, 0, HELD_STILL]);
    for (const id of ids) inbox.command(id, { v: 1, t: 100, tick: 1, left: 0.5, right: 0.4 });
    const out = new Float32Array(6);
    const stopped: (string | null)[] = [null, null, null];
    inbox.commandsBefore(2, out, stopped);
    expect(Array.from(out)).toEqual([0.5, 0.4, 0.5, 0.4, 0, 0].map(Math.fround));
    expect(stopped).toEqual([null, null, 'isolated']);
    // The monitor gone: tick 2's mask is not waited for, the last one stays in force.
    expect(inbox.isolationHeard(2)).toBe(false);
    inbox.monitorGone = true;
    expect(inbox.isolationHeard(2)).toBe(true);
    expect(Array.from(inbox.isolationAt(2, mask))).toEqual([LEFT_OUT, 0, HELD_STILL]);
  });

  it('logs in by default (SWARMGUARD_MQTT_PASSWORD), rides out outages for a minute, and goes without a login only when told to', async () => {
    const l = await loadLaunch(launchWith({}));
    expect(l.distributed).toMatchObject({ passwordEnv: 'SWARMGUARD_MQTT_PASSWORD', allowAnonymous: false, outageTimeoutMs: 60_000 });
    expect(credentials(l.distributed!, 'monitor', 'x', { SWARMGUARD_MQTT_PASSWORD: 'pw' })).toEqual({ username: 'monitor', password: 'pw' });
    expect(() => credentials(l.distributed!, 'monitor', 'x', {})).toThrow(/distributed\.passwordEnv: the environment variable SWARMGUARD_MQTT_PASSWORD is not set .*--embedded makes one up/);
    const open = await loadLaunch(launchWith({ allowAnonymous: true }));
    expect(credentials(open.distributed!, 'monitor', 'x', {})).toEqual({});
    await releaseRun(l);
    await releaseRun(open);
  });

  it('an agent refuses and counts malformed poses, ignores an unknown robot, and goes on', async () => {
    const path = launchWith({ broker: broker.url, allowAnonymous: true }, 'bad-input');
    const topics = new SwarmTopics('bad-input');
    const probe = await BusClient.connect({ url: broker.url, who: 'probe', log: () => {} });
    const ready = new Promise<void>((resolve) =>
      void probe.subscribe(topics.status('agent/epuck-0'), 'status', 1, (_t, msg) => msg.ready === true && resolve()),
    );
    const commands: number[] = [];
    await probe.subscribe(topics.robot('epuck-0', 'cmd'), 'cmd', 0, (_t, msg) => commands.push(msg.tick));
    const ac = new AbortController();
    const lines: string[] = [];
    const agent = runAgent(path, { robot: 'epuck-0', signal: ac.signal, log: (l) => lines.push(l) });
    await ready;
    const bad = ['{not json', JSON.stringify({ v: 2, t: 0, x: 0, y: 0, theta: 0, tick: 0 }), JSON.stringify({ v: 1, t: 0, x: 'far', y: 0, theta: 0, tick: 0 })];
    for (const b of bad) probe.mqtt.publish(topics.robot('epuck-1', 'pose'), b);
    probe.publish(topics.robot('epuck-99', 'pose'), { t: 0, x: 0, y: 0, theta: 0, tick: 0 }, 0);
    // Then a good tick 0 for every robot: the agent runs it and commands its robot.
    for (let i = 0; i < 10; i++) probe.publish(topics.robot(`epuck-${i}`, 'pose'), { t: 0, x: 0.2 + 0.15 * i, y: 1, theta: 0, tick: 0 }, 0);
    while (commands.length === 0) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const summary = await agent;
    expect(commands).toEqual([0]);
    expect(summary.refused).toBe(3);
    expect(summary.ignored['unknown-robot']).toBe(1);
    expect(lines.some((l) => /refused a pose payload/.test(l))).toBe(true);
    expect(lines.some((l) => /WARNING: no login to .*distributed\.allowAnonymous: true.*command the robots/.test(l))).toBe(true);
    await probe.close();
  }, 120_000);
});

describe('followPeers', () => {
  /** A broker, a participant `agent/a` that dies without closing (its will), and a follower whose events are recorded. */
  async function willScene() {
    const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, allowAnonymous: true, log: () => {} });
    const topics = new SwarmTopics('peers');
    const follower = await BusClient.connect({ url: broker.url, who: 'test follower', clientId: `follower-${process.pid}`, status: { topic: topics.status('feed') }, log: () => {} });
    const events: string[] = [];
    await followPeers(follower, topics, topics.everyStatus, (role, event) => events.push(`${role} ${event}`));
    let willAt: number | null = null;
    await follower.subscribe(topics.status('agent/a'), 'status', 1, (_t, msg, _r, retained) => {
      if (!retained && msg.state === 'offline') willAt = Date.now();
    });
    // A peer that never reconnects: its socket torn down, as a crash or a broker dropping it does.
    const will = { topic: topics.status('agent/a'), payload: Buffer.from(encodePayload({ state: 'offline', t: Date.now() })), qos: 1 as const, retain: true };
    const peer = await mqtt.connectAsync(broker.url, { clientId: `peer-a-${process.pid}`, will, reconnectPeriod: 0 });
    await peer.publishAsync(topics.status('agent/a'), encodePayload({ state: 'online', t: Date.now(), ready: true }), { qos: 1, retain: true });
    await until('the peer online', () => events.includes('agent/a online'));
    return { broker, follower, events, willAt: () => willAt, crash: () => peer.stream.destroy() };
  }

  it('a will is a participant gone once our connection has outlived it by WILL_SETTLE_MS', async () => {
    const s = await willScene();
    try {
      s.crash();
      await until('the will', () => s.willAt() !== null);
      await until('agent/a gone', () => s.events.includes('agent/a gone'));
      expect(Date.now() - s.willAt()!).toBeGreaterThanOrEqual(WILL_SETTLE_MS - 50);
    } finally {
      await s.follower.close();
      await s.broker.close();
    }
  });

  it('a will followed by the loss of our own connection (a broker going down client by client, answering a round trip in between) is not a participant gone', async () => {
    const s = await willScene();
    try {
      s.crash();
      await until('the will', () => s.willAt() !== null);
      // The broker still answers for a while (a round trip right after the will would succeed), then drops us.
      await sleep(200);
      expect(s.follower.connected).toBe(true);
      await s.broker.close();
      await sleep(WILL_SETTLE_MS + 500);
      expect(s.events.filter((e) => e.endsWith('gone'))).toEqual([]);
    } finally {
      await s.follower.close();
    }
  });
});
