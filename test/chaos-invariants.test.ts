// The fault campaign's invariant checks (sim/chaos/invariants.ts) and its probe of the runtime's link
// (sim/chaos/probe.ts) on hand-made runs: each check must catch what it is there to catch and nothing else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { falseFlagsByKind, recordLoss, recoveryMs, staleActions, unexplainedJumps, unlocated } from '../sim/chaos/invariants.js';
import { probeLink, readProbe, type ProbeTick } from '../sim/chaos/probe.js';
import type { RobotLink } from '../src/runtime/link.js';
import type { TimedPose } from '../src/runtime/safety.js';

/** A tick of two robots 100 ms after the last; `over` replaces fields. */
function tick(k: number, over: Partial<ProbeTick> = {}): ProbeTick {
  return { wallMs: 1000 + 100 * k, ageMs: [20, 20], poses: [[0.5 + 0.01 * k, 0.5], [1, 1]], commands: [0.5, 0.5, 0, 0], causes: [0, 0], ...over };
}

describe('chaos invariants', () => {
  it('a robot commanded to move on a pose older than maxPoseAgeMs, or on none, is a stale action; a stop is not', () => {
    const ticks = [tick(0), tick(1, { ageMs: [350, 20] }), tick(2, { ageMs: [20, 900], commands: [0.5, 0.5, 0, 0] }), tick(3, { ageMs: [null, 20] }), tick(4, { ageMs: [300, 20] })];
    expect(staleActions(ticks, 300)).toEqual([
      { tick: 1, robot: 0, ageMs: 350 },
      { tick: 3, robot: 0, ageMs: null },
    ]);
  });

  it('a pose that moves further than the robot can drive between two measurements is a jump, unless the link recorded a cause', () => {
    // Robot 0 drives 1 cm per 100 ms (0.1 m/s); at tick 3 its pose leaps 0.4 m.
    const ticks = [0, 1, 2, 3, 4].map((k) => tick(k));
    ticks[3]!.poses[0] = [0.93, 0.5];
    ticks[4]!.poses[0] = [0.94, 0.5];
    const jumps = unexplainedJumps(ticks, 0.15, 0.05);
    expect(jumps.map((j) => [j.tick, j.robot])).toEqual([[3, 0]]);
    expect(jumps[0]!.jumpM).toBeCloseTo(0.41, 5);
    expect(jumps[0]!.allowedM).toBeCloseTo(0.065, 5);
    // The same leap with a rebase or reconnect counted at that tick has its cause on record.
    ticks[3]!.causes = [1, 0];
    ticks[4]!.causes = [1, 0];
    expect(unexplainedJumps(ticks, 0.15, 0.05)).toEqual([]);
  });

  it('a long gap between measurements allows as much travel as the robot can drive in it', () => {
    // Robot 0's pose is 2 s old at tick 5 (nothing new came), then a fresh pose 0.25 m away: 0.15 m/s * 2.1 s covers it.
    const ticks = [tick(0), tick(1), tick(5, { ageMs: [2000, 20] }), tick(6, { poses: [[0.76, 0.5], [1, 1]] })];
    ticks[2]!.poses[0] = ticks[1]!.poses[0]!;
    expect(unexplainedJumps(ticks, 0.15, 0.05)).toEqual([]);
  });

  it('records lost: gaps always, the tail only beyond the last (unfinished) chunk of a killed run, all of it otherwise', () => {
    const all = Array.from({ length: 100 }, (_, t) => t);
    expect(recordLoss(100, all, false, 40).lost).toBe(0);
    expect(recordLoss(100, all.slice(0, 70), true, 40)).toMatchObject({ gaps: 0, tail: 30, lost: 0 });
    expect(recordLoss(100, all.slice(0, 59), true, 40)).toMatchObject({ tail: 41, lost: 0 }); // the chunk and the tick it split
    expect(recordLoss(100, all.slice(0, 50), true, 40)).toMatchObject({ tail: 50, lost: 9 });
    expect(recordLoss(100, all.slice(0, 99), false, 40)).toMatchObject({ tail: 1, lost: 1 });
    expect(recordLoss(100, all.filter((t) => t !== 20 && t !== 21), false, 40)).toMatchObject({ gaps: 2, tail: 0, lost: 2 });
  });

  it('recovery: from the fault to the first tick of a stretch of holdMs with every pose fresh', () => {
    const ticks = Array.from({ length: 60 }, (_, k) => tick(k, k >= 10 && k < 25 ? { ageMs: [20, 800] } : {}));
    // The fault at tick 8 shows from tick 10 (a reply timing out); fresh again from tick 25 (wall 3500 ms).
    expect(recoveryMs(ticks, 1800, 300, 2000)).toBe(3500 - 1800);
    // Not yet: the stretch after it is shorter than the hold.
    expect(recoveryMs(ticks.slice(0, 40), 1800, 300, 2000)).toBeNull();
  });

  it('a robot is waiting to be placed once its pose has been missing in every tick for the given time', () => {
    const ticks = Array.from({ length: 20 }, (_, k) => tick(k, k >= 5 ? { poses: [null, [1, 1]] } : {}));
    expect(unlocated(ticks, 1000)).toEqual([0]);
    expect(unlocated(ticks.slice(0, 12), 1000)).toEqual([]);
  });

  it('false flags are charged to the last fault at most windowMs before them, else to none', () => {
    const faults = [
      { kind: 'robot-reboot', atMs: 1000 },
      { kind: 'runtime-kill', atMs: 5000 },
    ];
    expect(falseFlagsByKind([1500, 5200, 6000, 40_000, 500], faults, 30_000)).toEqual({ 'robot-reboot': 1, 'runtime-kill': 2, none: 2 });
  });
});

describe('chaos probe', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it("writes one line per tick (the clock reading, the poses, one send per robot) and none for the shutdown's stops", () => {
    dir = mkdtempSync(join(tmpdir(), 'swarmguard-chaos-probe-'));
    let clock = 500;
    const sent: [number, number, number][] = [];
    const timed: (TimedPose | null)[] = [{ x: 0.4, y: 0.6, theta: 0, stampMs: 480 }, null];
    const link: RobotLink = {
      kind: 'test',
      ids: ['a', 'b'],
      poses: () => timed,
      send: (i, l, r) => void sent.push([i, l, r]),
      now: () => clock,
      health: () => [
        { id: 'a', connected: true, exchanges: 1, latencyMs: { p50: 1, p99: 1, max: 1 }, rejected: {}, timeouts: 0, reconnects: 2, coalesced: 0 },
        { id: 'b', connected: true, exchanges: 1, latencyMs: { p50: 1, p99: 1, max: 1 }, rejected: {}, timeouts: 0, reconnects: 0, coalesced: 0 },
      ],
      start: () => {},
      stop: async () => {},
    };
    const path = join(dir, 'probe.jsonl');
    const close = probeLink(link, path);
    // A tick as TrialRun runs it: the clock, then the poses, then a command per robot.
    link.now();
    clock = 530; // read late: the age is taken against the tick's own clock reading
    link.poses();
    link.send(0, 0.25, -0.5);
    link.send(1, 0, 0);
    // The shutdown's stops: no poses read before them, not a tick.
    link.send(0, 0, 0);
    link.send(1, 0, 0);
    close();
    expect(sent).toHaveLength(4);
    const ticks = readProbe(path);
    expect(ticks).toHaveLength(1);
    expect(ticks[0]).toMatchObject({ ageMs: [20, null], poses: [[0.4, 0.6], null], commands: [0.25, -0.5, 0, 0], causes: [2, 0] });
  });
});
