// monitor.onFlag isolate / isolate-and-stop in the distributed runtime: 10 agent processes, the feed and the
// monitor over `swarmguard distributed --embedded`'s broker (logins + the run's ACL), in lock-step, against the
// single-process fast trial of the same launch file: the same flag, isolate, probation and stop events at the
// same ticks, the same isolation counts and final poses, bit for bit; the feed (the robots' bridge) is the one
// that held the flagged robot still, on exactly the ticks the single-process safety layer did. And only the
// monitor may publish the isolation mask.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeedSummary } from '../sim/distributed-feed.js';
import { runDistributed, spawnRole, startRunBroker } from '../src/distributed/launcher.js';
import { joinBus } from '../src/distributed/participant.js';
import { loadLaunch } from '../src/launch/launch.js';
import { BusClient } from '../src/links/mqtt/client.js';
import { ISOLATION_QOS, SwarmTopics } from '../src/links/mqtt/topics.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { distributedTestFiles, singleProcessTrial, writeDistributedLaunch } from './helpers/distributed-launch.js';
import { sleep, until } from './helpers/mqtt.js';

const PASSWORD_ENV = 'SWARMGUARD_DISTRIBUTED_ISOLATION_TEST_PASSWORD';
const quiet = () => {};
const files = distributedTestFiles('distributed-isolation', PASSWORD_ENV);

/** The demo's trained adversary on epuck-3 (injections as given), onFlag as given, in lock-step. */
function writeLaunch(name: string, onFlag: string, duration: number, injections: { at: number; duration: number }[]): string {
  return writeDistributedLaunch(files.dir, name, PASSWORD_ENV, (l) => {
    l.duration = duration;
    l.monitor.onFlag = onFlag;
    l.injections = injections.map((inj) => ({ ...l.injections[0], ...inj }));
    l.distributed.stepTimeoutMs = 30_000; // a loaded machine never makes the feed give up on a living agent
  });
}

/** Runs the launch file distributed (embedded broker) and checks it against the single-process trial; returns both. */
async function reproduces(name: string, path: string, ticks: number) {
  const single = await singleProcessTrial(path);
  const lines: string[] = [];
  const feedOut = join(files.dir, `feed-${name}.json`);
  const exits = await runDistributed(path, { embedded: true, feedOut, log: (l) => lines.push(l) });
  expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
  expect(exits).toHaveLength(12);
  const runs = readdirSync(join(files.dir, `runs-${name}`));
  expect(runs).toHaveLength(1);
  const folder = join(files.dir, `runs-${name}`, runs[0]!);
  const events = readFileSync(join(folder, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // Every event with its tick (on-flag, flags, isolations, probations, the held robot's stop), as in the single run.
  expect(events).toEqual(JSON.parse(JSON.stringify(single.events)));
  const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8'));
  expect(summary.ticks).toBe(ticks);
  expect(summary.outcomes).toEqual(single.outcomes);
  expect(summary.isolations).toEqual(JSON.parse(JSON.stringify(single.isolations)));
  expect(summary.stops).toEqual(single.stops);
  const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
  expect(feed.ticks).toBe(ticks);
  expect(Object.values(feed.watchdogStops).every((n) => n === 0)).toBe(true);
  expect(feed.finalTruePoses).toEqual(single.truePoses);
  expect(feed.finalPoses).toEqual(single.poses);
  return { single, events, feed, lines };
}

describe('monitor.onFlag in a distributed run (lock-step, embedded broker)', () => {
  it('only the monitor can publish the isolation mask: an agent (the compromised robot\'s, say) that tries is refused and its mask never reaches the feed', async () => {
    const path = writeLaunch('dist-iso-acl', 'isolate-and-stop', 2, [{ at: 0.5, duration: 1 }]);
    const launch = await loadLaunch(path);
    try {
      const run = await startRunBroker(launch, launch.distributed!, quiet);
      const clients: BusClient[] = [];
      try {
        const password = run.env[PASSWORD_ENV]!;
        const login = async (user: string) => {
          const c = await BusClient.connect({ url: run.broker.url, who: user, username: user, password, log: quiet, reconnectMs: 60_000 });
          clients.push(c);
          return c;
        };
        const T = new SwarmTopics(launch.name);
        const feed = await login('feed');
        const heard: { tick: number; held: string[] }[] = [];
        await feed.subscribe(T.isolation, 'isolation', ISOLATION_QOS, (_t, msg) => heard.push({ tick: msg.tick, held: msg.held }));
        // A forged release from the held robot's agent, another agent and the feed (each its own connection:
        // the broker closes one that publishes where it may not).
        for (const [k, user] of ['agent-epuck-3', 'agent-epuck-0', 'feed'].entries()) (await login(user)).publish(T.isolation, { tick: 4 + k, leftOut: [], held: [] }, ISOLATION_QOS);
        const monitor = await login('monitor');
        monitor.publish(T.isolation, { tick: 7, leftOut: [], held: ['epuck-3'] }, ISOLATION_QOS);
        await until("the monitor's mask at the feed", () => heard.length > 0);
        await sleep(300);
        expect(heard).toEqual([{ tick: 7, held: ['epuck-3'] }]);
      } finally {
        for (const c of clients) await c.close();
        await run.broker.close();
        if (run.dir) rmSync(run.dir, { recursive: true, force: true });
      }
    } finally {
      await releaseRun(launch);
    }
  }, 60_000);

  it('isolate-and-stop: held by the feed from the tick after the flag, released on probation at the clear, held again when flagged on probation: the single-process trial bit for bit', async () => {
    const path = writeLaunch('dist-iso-stop', 'isolate-and-stop', 16, [
      { at: 2, duration: 4 },
      { at: 8, duration: 3 },
    ]);
    const { single, events, feed } = await reproduces('dist-iso-stop', path, 160);
    const kinds = events.map((e) => `${e.tick} ${e.kind}${e.state ? ` ${e.state}` : ''}${e.reason === 'isolated' ? ' isolated' : ''}`);
    // What the trial must exercise (fails if the attack stops being flagged): hold, probation, hold again.
    for (const want of ['isolate', 'stop isolated', 'probation started', 'probation failed']) expect(kinds.some((k) => k.endsWith(want)), `${want}\n${kinds.join('\n')}`).toBe(true);
    const flag = events.find((e) => e.kind === 'flag' && e.robot === 'epuck-3')!;
    expect(events).toContainEqual({ tick: flag.tick, kind: 'isolate', robot: 'epuck-3', stopped: true });
    // The hold takes effect with the next tick's command (the single-process timing).
    expect(events).toContainEqual({ tick: flag.tick + 1, kind: 'stop', robot: 'epuck-3', reason: 'isolated' });
    // The feed (the bridge) zeroed epuck-3's wheels on exactly the ticks the single-process safety layer held it; no one else.
    expect(single.stops.isolated).toBeGreaterThan(0);
    expect(feed.heldTicks).toEqual(Object.fromEntries(Object.keys(feed.heldTicks).map((id) => [id, id === 'epuck-3' ? single.stops.isolated : 0])));
  }, 600_000);

  it('isolate: left out of the others\' observations from the tick after the flag until the clear: the single-process trial bit for bit', async () => {
    const path = writeLaunch('dist-iso-leave', 'isolate', 12, [{ at: 2, duration: 4 }]);
    const { events, feed } = await reproduces('dist-iso-leave', path, 120);
    const flag = events.find((e) => e.kind === 'flag' && e.robot === 'epuck-3')!;
    expect(events).toContainEqual({ tick: flag.tick, kind: 'isolate', robot: 'epuck-3', stopped: false });
    expect(events.some((e) => e.kind === 'isolation-end' && e.robot === 'epuck-3' && e.reason === 'cleared')).toBe(true);
    expect(Object.values(feed.heldTicks).every((n) => n === 0)).toBe(true);
  }, 600_000);

  it("isolate-and-stop is enforced by the robot's bridge (the feed), not by its agent: a rogue agent that keeps driving its robot is held still all the same", async () => {
    const name = 'dist-iso-rogue';
    const path = writeDistributedLaunch(files.dir, name, PASSWORD_ENV, (l) => {
      l.duration = 6;
      l.trial = false;
      l.injections = [];
      l.swarm.noise = 'off'; // a held robot's tracked pose then stays exactly where it is (unless pushed)
      l.monitor.onFlag = 'isolate-and-stop';
      l.distributed.stepTimeoutMs = 30_000;
    });
    const launch = await loadLaunch(path);
    const run = await startRunBroker(launch, launch.distributed!, quiet);
    const children: ReturnType<typeof spawnRole>[] = [];
    const lines: string[] = [];
    const rogueId = 'epuck-3';
    // The rogue stands in for epuck-3's agent (its login: a compromised agent) and ignores every mask: it
    // drives a circle at full speed on every tick and says nothing of a stop.
    const rogue = await joinBus(launch, { role: `agent/${rogueId}`, user: `agent-${rogueId}`, broker: run.broker.url, log: quiet, extra: { robot: rogueId } });
    try {
      const T = rogue.topics;
      const poses = new Map<number, { x: number; y: number }>();
      const heldAt = new Set<number>();
      await rogue.bus.subscribe(T.isolation, 'isolation', ISOLATION_QOS, (_t, msg) => msg.held.includes(rogueId) && heldAt.add(msg.tick));
      await rogue.bus.subscribe(T.robot(rogueId, 'pose'), 'pose', 0, (_t, msg) => {
        if (msg.tick === undefined || poses.has(msg.tick)) return;
        poses.set(msg.tick, { x: msg.x, y: msg.y });
        rogue.bus.publish(T.robot(rogueId, 'belief'), { tick: msg.tick, about: {} }, 0);
        rogue.bus.publish(T.robot(rogueId, 'cmd'), { t: msg.t, tick: msg.tick, left: 1, right: 0.6 }, 0);
      });
      rogue.ready();
      const env = { ...process.env, ...run.env };
      const common = [path, '--broker', run.broker.url];
      const feedOut = join(files.dir, `feed-${name}.json`);
      children.push(spawnRole('monitor', ['monitor', ...common], (l) => lines.push(l), env));
      for (const id of launch.settings.robotIds.filter((x) => x !== rogueId)) children.push(spawnRole(`agent ${id}`, ['agent', '--robot', id, ...common], (l) => lines.push(l), env));
      children.push(spawnRole('feed', ['feed', ...common, '--out', feedOut], (l) => lines.push(l), env));
      const exits = await Promise.all(children.map((c) => c.exited));
      expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
      const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
      expect(feed.ticks).toBe(60);
      // Flagged and held (the monitor's masks), the feed zeroing its wheels on every held tick, no one else's.
      const held = [...heldAt].filter((k) => k < 60).sort((a, b) => a - b);
      expect(held.length, lines.join('\n')).toBeGreaterThan(5);
      expect(feed.heldTicks).toEqual(Object.fromEntries(launch.settings.robotIds.map((id) => [id, id === rogueId ? held.length : 0])));
      const step = (k: number) => Math.hypot(poses.get(k + 1)!.x - poses.get(k)!.x, poses.get(k + 1)!.y - poses.get(k)!.y);
      // Free, it drives (about a centimetre a tick); held, it does not move, whatever it commands.
      const free = [...Array(held[0]!).keys()].filter((k) => k >= 1 && poses.has(k + 1));
      expect(free.filter((k) => step(k) > 0.005).length).toBeGreaterThan(free.length / 2);
      const still = held.filter((k) => poses.has(k + 1));
      expect(still.length).toBeGreaterThan(5);
      for (const k of still) expect(step(k), `tick ${k}`).toBeLessThan(1e-3);
      const runs = readdirSync(join(files.dir, `runs-${name}`));
      const events = readFileSync(join(files.dir, `runs-${name}`, runs[0]!, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(events).toContainEqual(expect.objectContaining({ kind: 'isolate', robot: rogueId, stopped: true }));
    } finally {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await rogue.close();
      await run.broker.close();
      if (run.dir) rmSync(run.dir, { recursive: true, force: true });
      await releaseRun(launch);
    }
  }, 600_000);
});
