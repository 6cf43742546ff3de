// A distributed run against the faults of a real broker (Debian's mosquitto on loopback, logins + the run's
// ACL): a graceful restart (SIGTERM: every client's last will published, as a service restart does) and a
// hard one (SIGKILL) during a live run are ridden out; a trial ends on its own retained `done` and never on
// another trial's.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedSummary } from '../sim/distributed-feed.js';
import { runDistributed, spawnRole } from '../src/distributed/launcher.js';
import { BusClient } from '../src/links/mqtt/client.js';
import { encodePayload } from '../src/links/mqtt/schemas.js';
import { SwarmTopics } from '../src/links/mqtt/topics.js';
import { singleProcessTrial, startDistributedMosquitto, writeDistributedLaunch } from './helpers/distributed-launch.js';
import { mosquittoSkipReason, type Mosquitto } from '../sim/mosquitto.js';
import { until } from './helpers/mqtt.js';

const skip = mosquittoSkipReason();
const PASSWORD = 'broker-fault-test-password';
const PASSWORD_ENV = 'SWARMGUARD_BROKER_FAULT_TEST_PASSWORD';
const ids = Array.from({ length: 10 }, (_, i) => `epuck-${i}`);
const SWARMS = ['fault-live', 'fault-lockstep', 'fault-lockstep-iso', 'fault-done', 'fault-stale'];

let dir: string;
let mosquitto: Mosquitto | null = null;

function writeLaunch(name: string, edit: (l: Record<string, any>) => void): string {
  return writeDistributedLaunch(dir, name, PASSWORD_ENV, edit);
}

function login(user: string, who = `test ${user}`): Promise<BusClient> {
  return BusClient.connect({ url: mosquitto!.url, who, clientId: `test-${user}-${Math.random().toString(16).slice(2)}`, username: user, password: PASSWORD, log: () => {} });
}

/** A retained done on `topic`, acknowledged by the broker (the mqtt client's own call: no help from the code under test). */
async function publishDone(bus: BusClient, topic: string, done: { trial: string; ticks: number; interrupted: boolean }): Promise<void> {
  await bus.mqtt.publishAsync(topic, encodePayload({ t: Date.now(), by: 'feed', ...done }), { qos: 1, retain: true });
}

function runFolder(name: string): { summary: Record<string, any>; events: Record<string, any>[] } {
  const runs = readdirSync(join(dir, `runs-${name}`));
  expect(runs).toHaveLength(1);
  const folder = join(dir, `runs-${name}`, runs[0]!);
  const events = readFileSync(join(folder, 'events.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { summary: JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')), events };
}

describe.skipIf(skip !== null)(`distributed run through broker faults${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swarmguard-broker-fault-test-'));
    process.env[PASSWORD_ENV] = PASSWORD;
    mosquitto = await startDistributedMosquitto(dir, {
      password: PASSWORD,
      ids,
      swarms: SWARMS,
      observerReads: ['swarmguard/v1/+/robot/+/cmd', 'swarmguard/v1/+/robot/+/suspicion', 'swarmguard/v1/+/status/#', 'swarmguard/v1/+/done'],
    });
  }, 60_000);

  afterAll(async () => {
    await mosquitto?.stop();
    delete process.env[PASSWORD_ENV];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a live run rides out a graceful (SIGTERM) and a hard (SIGKILL) mosquitto restart: it runs to its end, no process exits early, the robots are held stopped while cut off, no false flag', async () => {
    const name = 'fault-live';
    const path = writeLaunch(name, (l) => {
      l.duration = 20;
      l.distributed.mode = 'live';
    });
    const topics = new SwarmTopics(name);
    const observer = await login('observer');
    const lines: string[] = [];
    try {
      // Statuses as they come: the graceful stop must publish the agents' wills (the fault under test).
      const wills: string[] = [];
      await observer.subscribe(topics.everyStatus, 'status', 1, (t, msg, _r, retained) => {
        if (!retained && msg.state === 'offline' && msg.done !== true) wills.push(topics.parseStatus(t)!);
      });
      let newestTick = -1;
      await observer.subscribe(topics.everyRobot('cmd'), 'cmd', 0, (_t, msg) => (newestTick = Math.max(newestTick, msg.tick)));
      const running = runDistributed(path, { broker: mosquitto!.url, feedOut: join(dir, 'feed-live.json'), log: (l) => lines.push(l) });
      const failed = running.then(() => Promise.reject(new Error(`the run ended before the restarts:\n${lines.join('\n')}`)));
      const restarts: { signal: 'SIGTERM' | 'SIGKILL'; atTick: number }[] = [];
      for (const [signal, atTick] of [['SIGTERM', 50], ['SIGKILL', 110]] as const) {
        await Promise.race([until(`agents at tick ${atTick}`, () => newestTick >= atTick, 300_000), failed]);
        restarts.push({ signal, atTick: newestTick });
        await mosquitto!.restart(signal);
        // Back: commands flow again (the observer reconnected too).
        const before = newestTick;
        await Promise.race([until('commands after the restart', () => newestTick > before + 5 && observer.connected, 120_000), failed]);
      }
      const exits = await running;
      expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
      expect(exits).toHaveLength(12);
      expect(wills.filter((r) => r.startsWith('agent/')).length, 'the graceful stop published the agents\' last wills').toBeGreaterThan(0);

      const feed = JSON.parse(readFileSync(join(dir, 'feed-live.json'), 'utf8')) as FeedSummary;
      expect(feed.interrupted).toBe(false);
      expect(feed.ticks).toBe(200);
      // Two outages, each with every robot held stopped (it moved no more than actuator noise).
      expect(feed.outages, lines.join('\n')).toHaveLength(2);
      for (const o of feed.outages) {
        expect(o.travelM).not.toBeNull();
        expect(o.travelM!).toBeLessThan(0.02);
      }
      const { summary, events } = runFolder(name);
      expect(summary.interrupted).toBe(false);
      // The monitor came back after both outages and went on until the trial's end (ticks the scheduler skipped
      // under load are not counted); it flagged no robot that was never compromised.
      const back = lines.flatMap((l) => /\[monitor\] swarmguard monitor: lost the broker at tick \d+, back at tick (\d+)/.exec(l)?.[1] ?? []).map(Number);
      expect(back, lines.join('\n')).toHaveLength(2);
      expect(summary.ticks).toBeGreaterThan(Math.max(...back));
      expect(events.filter((e) => e.kind === 'flag' && e.robot !== 'epuck-3'), JSON.stringify(restarts)).toEqual([]);
      expect(summary.outcomes.find((o: { robot: string }) => o.robot === 'epuck-3')?.compromisedTicks).toBeGreaterThan(0);
      // Nobody took the wills for the end of the trial: no agent reported going offline.
      expect(lines.some((l) => /went offline/.test(l))).toBe(false);
    } finally {
      await observer.close();
    }
  }, 600_000);

  // Once flaky in the full parallel suite (5 robots given a lock-step watchdog stop after the restarts): a
  // graceful broker shutdown drops its clients one by one, and a round trip answered between two wills made
  // the feed take agents as gone; a will now counts only once our connection outlives it (followPeers).
  // And with flags acting (isolate-and-stop, the adversary held from about tick 30): the monitor's isolation
  // masks in flight at a restart are sent again, and the run is still the undisturbed one.
  for (const onFlag of ['report', 'isolate-and-stop'] as const) {
    it(`a lock-step run through a graceful and a hard mosquitto restart is the undisturbed single-process trial, event for event and pose for pose${onFlag === 'report' ? '' : ` (onFlag ${onFlag})`}`, async () => {
      const name = onFlag === 'report' ? 'fault-lockstep' : 'fault-lockstep-iso';
      const path = writeLaunch(name, (l) => {
        l.duration = 8;
        l.injections[0].at = 2;
        l.injections[0].duration = 5;
        l.distributed.stepTimeoutMs = 30_000; // a loaded machine never makes the feed give up on a living agent
        l.monitor.onFlag = onFlag;
      });
      // The single-process fast trial of the same file.
      const single = await singleProcessTrial(path);
      const topics = new SwarmTopics(name);
      const observer = await login('observer');
      const lines: string[] = [];
      try {
        let newestTick = -1;
        await observer.subscribe(topics.everyRobot('cmd'), 'cmd', 0, (_t, msg) => (newestTick = Math.max(newestTick, msg.tick)));
        const running = runDistributed(path, { broker: mosquitto!.url, feedOut: join(dir, `feed-${name}.json`), log: (l) => lines.push(l) });
        const failed = running.then(() => Promise.reject(new Error(`the run ended before the restarts:\n${lines.join('\n')}`)));
        for (const [signal, atTick] of [['SIGTERM', 20], ['SIGKILL', 45]] as const) {
          await Promise.race([until(`agents at tick ${atTick}`, () => newestTick >= atTick, 300_000), failed]);
          await mosquitto!.restart(signal);
          const before = newestTick;
          await Promise.race([until('commands after the restart', () => newestTick > before + 2 && observer.connected, 120_000), failed]);
        }
        const exits = await running;
        expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
        const feed = JSON.parse(readFileSync(join(dir, `feed-${name}.json`), 'utf8')) as FeedSummary;
        expect(feed.outages, lines.join('\n')).toHaveLength(2);
        expect(feed.ticks).toBe(80);
        // Time stood still while the broker was away: nobody stopped for want of a command, the twin ended
        // where the undisturbed run ends, and the monitor saw exactly what that run saw.
        expect(Object.values(feed.watchdogStops).every((n) => n === 0), JSON.stringify(feed.watchdogStops)).toBe(true);
        expect(feed.finalTruePoses).toEqual(single.truePoses);
        const { summary, events } = runFolder(name);
        expect(summary.ticks).toBe(80);
        expect(events).toEqual(JSON.parse(JSON.stringify(single.events)));
        expect(summary.outcomes).toEqual(single.outcomes);
        if (onFlag !== 'report') expect(events.some((e) => e.kind === 'isolate')).toBe(true);
      } finally {
        await observer.close();
      }
    }, 600_000);
  }

  it("a trial ends on its own retained done, published by whoever ends it, and never on an earlier trial's", async () => {
    const name = 'fault-done';
    const path = writeLaunch(name, (l) => {
      l.duration = 60; // ended by the done long before this
      l.distributed.mode = 'live';
      l.trial = false;
      l.injections = [];
    });
    const topics = new SwarmTopics(name);
    // A feed of this test's own: an earlier trial's done is on the broker (retained) when the processes start.
    const feed = await BusClient.connect({
      url: mosquitto!.url,
      who: 'test feed',
      clientId: `test-feed-${process.pid}`,
      username: 'feed',
      password: PASSWORD,
      status: { topic: topics.status('feed'), extra: { trial: 'this-trial', ready: true } },
      log: () => {},
    });
    const observer = await login('observer');
    const children: ReturnType<typeof spawnRole>[] = [];
    const lines: string[] = [];
    try {
      await publishDone(feed, `${topics.prefix}/done`, { trial: 'an-earlier-trial', ticks: 3, interrupted: false });
      // The slowest agent's and the monitor's ticks.
      const agentTicks = new Map<string, number>();
      let monitorTick = -1;
      await observer.subscribe(topics.everyRobot('cmd'), 'cmd', 0, (t, msg) => agentTicks.set(topics.parseRobot(t)!.id, msg.tick));
      await observer.subscribe(topics.everyRobot('suspicion'), 'suspicion', 0, (_t, msg) => (monitorTick = Math.max(monitorTick, msg.tick)));
      const common = [path, '--broker', mosquitto!.url];
      children.push(spawnRole('monitor', ['monitor', ...common], (l) => lines.push(l)));
      for (const id of ids) children.push(spawnRole(`agent ${id}`, ['agent', '--robot', id, ...common], (l) => lines.push(l)));
      // Poses keep coming (the robots stand still) until the processes are over.
      const timer = setInterval(() => ids.forEach((id, i) => feed.publish(topics.robot(id, 'pose'), { t: Date.now(), x: 0.3 + 0.15 * i, y: 1, theta: 0 }, 0)), 100);
      try {
        const anyExit = Promise.race(children.map((c) => c.exited)).then((e) => Promise.reject(new Error(`${e.role} ended before the done:\n${lines.join('\n')}`)));
        const ticked = () => agentTicks.size === ids.length && Math.min(...agentTicks.values()) >= 20 && monitorTick >= 20;
        await Promise.race([until('20 ticks of every agent and the monitor, the stale done notwithstanding', ticked, 300_000), anyExit]);
        await publishDone(feed, `${topics.prefix}/done`, { trial: 'this-trial', ticks: 25, interrupted: false });
        const exits = await Promise.all(children.map((c) => c.exited));
        expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
      } finally {
        clearInterval(timer);
      }
      // The done ended them, not the duration (600 ticks), and the earlier trial's did not.
      const { summary } = runFolder(name);
      expect(summary.interrupted).toBe(false);
      expect(summary.ticks).toBeGreaterThanOrEqual(20);
      expect(summary.ticks).toBeLessThan(600);
      expect(lines.some((l) => l.includes('ignoring the done of another trial (an-earlier-trial'))).toBe(true);
      for (const id of ids) expect(lines.some((l) => l.startsWith(`[agent ${id}] swarmguard agent ${id}: done after`)), id).toBe(true);
    } finally {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await observer.close();
      await feed.close();
    }
  }, 600_000);

  it("the feed clears the last trial's done before it starts and ends its trial with its own (lock-step)", async () => {
    const name = 'fault-stale';
    const path = writeLaunch(name, (l) => {
      l.duration = 3;
      l.trial = false;
      l.injections = [];
    });
    const topics = new SwarmTopics(name);
    const stale = await login('feed');
    await publishDone(stale, `${topics.prefix}/done`, { trial: 'an-earlier-trial', ticks: 1, interrupted: true });
    await stale.close();
    const lines: string[] = [];
    const exits = await runDistributed(path, { broker: mosquitto!.url, feedOut: join(dir, 'feed-stale.json'), log: (l) => lines.push(l) });
    expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
    const feedSummary = JSON.parse(readFileSync(join(dir, 'feed-stale.json'), 'utf8')) as FeedSummary;
    expect(feedSummary.ticks).toBe(30);
    expect(runFolder(name).summary.ticks).toBe(30);
    // What the broker keeps now is this trial's end.
    const observer = await login('observer');
    try {
      const dones: Record<string, unknown>[] = [];
      await observer.subscribe(topics.done, 'done', 1, (_t, msg) => dones.push(msg));
      await until('the retained done', () => dones.length > 0);
      expect(dones[0]).toMatchObject({ trial: feedSummary.trial, by: 'feed', ticks: 30, interrupted: false });
    } finally {
      await observer.close();
    }
  }, 600_000);
});
