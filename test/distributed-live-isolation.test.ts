// monitor.onFlag isolate / isolate-and-stop in a LIVE distributed run (distributed.mode: live): 10 agent
// processes, the feed (the twin paced to the wall clock, its command watchdog on) and the monitor, each ticking
// on its own clock, over `swarmguard distributed --embedded`'s broker, the trained adversary injected on
// epuck-3. Live runs are not deterministic (each process ticks when the machine lets it, under load some skip
// ticks), so this checks behaviour, not ticks: the attacked robot is flagged and isolated, held still by the
// feed (the robots' bridge) under isolate-and-stop and never held under isolate, whose isolation ends with a
// clear once the injection is over; no other robot is flagged, isolated or held; every process exits 0. The
// lock-step runs (test/distributed-isolation.test.ts) check the same bit for bit against the single-process trial.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedSummary } from '../sim/distributed-feed.js';
import { runDistributed } from '../src/distributed/launcher.js';
import { readRecording } from '../src/recording/reader.js';
import { writeDistributedLaunch } from './helpers/distributed-launch.js';

const PASSWORD_ENV = 'SWARMGUARD_DISTRIBUTED_LIVE_ISOLATION_TEST_PASSWORD';
const ATTACKED = 'epuck-3';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarmguard-distributed-live-isolation-'));
  process.env[PASSWORD_ENV] = 'distributed-live-isolation-test-password';
});

afterAll(() => {
  delete process.env[PASSWORD_ENV];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Event = Record<string, any>;

/**
 * The demo launch file in live mode, the trained adversary on epuck-3 from `at` for `duration` s, onFlag as
 * given, run by `swarmguard distributed --embedded`; every process must exit 0 and the run must go to its end.
 */
async function liveRun(name: string, onFlag: string, seconds: number, injection: { at: number; duration: number }) {
  const path = writeDistributedLaunch(dir, name, PASSWORD_ENV, (l) => {
    l.duration = seconds;
    l.monitor.onFlag = onFlag;
    l.injections = [{ ...l.injections[0], ...injection }];
    l.distributed.mode = 'live';
  });
  const lines: string[] = [];
  const feedOut = join(dir, `feed-${name}.json`);
  const exits = await runDistributed(path, { embedded: true, feedOut, log: (l) => lines.push(l) });
  const log = lines.join('\n');
  expect(exits.filter((e) => e.code !== 0), log).toEqual([]);
  expect(exits).toHaveLength(12);
  const runs = readdirSync(join(dir, `runs-${name}`));
  expect(runs).toHaveLength(1);
  const folder = join(dir, `runs-${name}`, runs[0]!);
  const events = readFileSync(join(folder, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
  const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8'));
  const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
  const ticks = seconds * 10;
  // The feed paced the twin through the whole trial; the monitor ran it (some ticks may be skipped under load).
  expect(feed.mode).toBe('live');
  expect(feed.ticks).toBe(ticks);
  expect(feed.interrupted).toBe(false);
  expect(summary.interrupted, log).toBe(false);
  expect(summary.ticks).toBeGreaterThan(ticks / 2);
  // The injection ran (the agent's ground truth reached the monitor).
  expect(events.filter((e) => e.kind === 'injection-start' && e.robot === ATTACKED)).toHaveLength(1);
  expect(events.filter((e) => e.kind === 'injection-end' && e.robot === ATTACKED)).toHaveLength(1);
  // Only the attacked robot is flagged or isolated, at any time of the run.
  const aboutOthers = events.filter((e) => ['flag', 'isolate', 'probation', 'isolation-end'].includes(e.kind) && e.robot !== ATTACKED);
  expect(aboutOthers, log).toEqual([]);
  const flag = events.find((e) => e.kind === 'flag' && e.robot === ATTACKED);
  expect(flag, JSON.stringify(events)).toBeDefined();
  // Live mode allows the feed's command watchdog to stop a robot whose agent stalled past commandTimeoutMs on
  // a loaded machine (a tick or two at a time): no robot may be left without commands for long.
  for (const [id, n] of Object.entries(feed.watchdogStops)) expect(n, `${id}'s watchdog stops\n${log}`).toBeLessThan(ticks / 5);
  return { path, events, summary, feed, folder, flag: flag!, log };
}

describe('monitor.onFlag in a distributed run (live, embedded broker)', () => {
  it("isolate-and-stop: the attacked robot flagged, isolated and held still by the feed (the robots' bridge); no other robot flagged or held", async () => {
    const { events, feed, folder, flag, log } = await liveRun('live-iso-stop', 'isolate-and-stop', 12, { at: 2, duration: 4 });
    // Isolated, held, at the flag's tick (the monitor's own count: the flag and what it does come together).
    expect(events).toContainEqual({ tick: flag.tick, kind: 'isolate', robot: ATTACKED, stopped: true });
    expect(events.filter((e) => e.kind === 'isolate')).toHaveLength(1);
    // The feed zeroed its wheels while the monitor's mask held it, and no other robot's.
    expect(feed.heldTicks[ATTACKED], log).toBeGreaterThan(0);
    for (const [id, n] of Object.entries(feed.heldTicks)) if (id !== ATTACKED) expect(n, id).toBe(0);
    // Its agent heard the mask too: what it published says it was held (its safety layer's `isolated` stop).
    expect(events).toContainEqual(expect.objectContaining({ kind: 'stop', robot: ATTACKED, reason: 'isolated' }));
    // And the robot did stand still: from two ticks after the isolation (the mask on its way to the feed) to the
    // end of the hold, its tracked pose moved no more than the tracker's noise, as the monitor recorded it.
    const i = Number(ATTACKED.slice('epuck-'.length));
    const released = events.find((e) => e.kind === 'probation' && e.robot === ATTACKED && e.tick > flag.tick)?.tick ?? Infinity;
    const records = (await readRecording(join(folder, 'run.mcap'))).records;
    const held = records.filter((r) => r.tick >= flag.tick + 2 && r.tick < released);
    expect(held.length).toBeGreaterThan(5);
    const first = held[0]!.poses[i]!;
    const travel = Math.max(...held.map((r) => Math.hypot(r.poses[i]!.x - first.x, r.poses[i]!.y - first.y)));
    expect(travel, `travel while held, from tick ${held[0]!.tick} to ${held.at(-1)!.tick}`).toBeLessThan(0.01);
  }, 600_000);

  it('isolate: the attacked robot left out (never held) until the monitor clears it after the injection', async () => {
    const { events, feed, flag, log } = await liveRun('live-iso-leave', 'isolate', 15, { at: 2, duration: 3 });
    expect(events).toContainEqual({ tick: flag.tick, kind: 'isolate', robot: ATTACKED, stopped: false });
    expect(events.filter((e) => e.kind === 'isolate')).toHaveLength(1);
    // Isolate leaves the robot out of the others' observations; nobody holds it.
    for (const [id, n] of Object.entries(feed.heldTicks)) expect(n, id).toBe(0);
    expect(events.some((e) => e.kind === 'stop' && e.reason === 'isolated')).toBe(false);
    // Cleared once the injection is over, which ends the isolation.
    const end = events.find((e) => e.kind === 'isolation-end' && e.robot === ATTACKED);
    expect(end, log).toMatchObject({ reason: 'cleared' });
    expect(events).toContainEqual(expect.objectContaining({ tick: end!.tick, kind: 'clear', robot: ATTACKED }));
    expect(end!.tick).toBeGreaterThan(events.find((e) => e.kind === 'injection-end')!.tick);
  }, 600_000);
});
