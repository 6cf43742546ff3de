import { describe, expect, it } from 'vitest';
import { loadRobotsFile, resolveRobotParams } from '../src/core/robot-params.js';
import { ControlScheduler, type TickInfo } from '../src/runtime/scheduler.js';
import { SafetyLayer } from '../src/runtime/safety.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { ManualClock } from './helpers.js';

const params = resolveRobotParams(loadRobotsFile(`${PROJECT_ROOT}/robots/epuck2.yaml`), ['a', 'b']);

describe('control scheduler', () => {
  it('ticks at start + k periods without drift, measuring latency and jitter', async () => {
    const clock = new ManualClock();
    const seen: TickInfo[] = [];
    const s = new ControlScheduler(100, (info) => {
      seen.push(info);
      clock.t += 7; // each tick's work takes 7 ms
    }, clock);
    s.start();
    await clock.advanceAsync(1000);
    await s.stop();
    expect(seen.map((x) => x.dueMs)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(s.stats.latencyMs.max).toBe(7);
    expect(s.stats.overruns).toBe(0);
    expect(s.stats.skippedTicks).toBe(0);
  });

  it('after an overrun skips the missed ticks instead of running a backlog of stale ones', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const s = new ControlScheduler(100, ({ tick }) => {
      seen.push(tick);
      if (tick === 2) clock.t += 350; // one tick stalls for three and a half periods
    }, clock);
    s.start();
    await clock.advanceAsync(1000);
    await s.stop();
    // Tick 2 ends at 550: ticks 3, 4 and 5 are skipped, the next runs at its own due time 600.
    expect(seen).toEqual([0, 1, 2, 6, 7, 8, 9, 10]);
    expect(s.stats.overruns).toBe(1);
    expect(s.stats.skippedTicks).toBe(3);
  });

  it('keeps ticking when a tick throws, and reports the error', async () => {
    const clock = new ManualClock();
    const errors: number[] = [];
    const s = new ControlScheduler(100, ({ tick }) => {
      if (tick === 1) throw new Error('link down');
    }, clock, (_err, info) => errors.push(info.tick));
    s.start();
    await clock.advanceAsync(300);
    await s.stop();
    expect(errors).toEqual([1]);
    expect(s.stats.ticks).toBe(4);
  });
});

describe('safety layer', () => {
  const arena = { width: 2, height: 2 };
  const pose = (x: number, y: number, theta = 0, stampMs = 1000) => ({ x, y, theta, stampMs });

  it('clamps commands to the wheel limits', () => {
    const s = new SafetyLayer(params, arena);
    expect(s.filter(0, 3, -0.5, pose(1, 1), 1000)).toEqual({ left: 1, right: -0.5, stopped: null });
  });

  it('stops a robot without a pose, with a NaN pose, with a stale pose, or given a NaN command, and counts why', () => {
    const s = new SafetyLayer(params, arena, { maxPoseAgeMs: 200, lookaheadS: 0.5, wallMargin: 0.01 });
    expect(s.filter(0, 0.5, 0.5, null, 1000).stopped).toBe('no-pose');
    expect(s.filter(0, 0.5, 0.5, pose(Number.NaN, 1), 1000).stopped).toBe('invalid-pose');
    expect(s.filter(0, 0.5, 0.5, pose(1, 1, 0, 700), 1000).stopped).toBe('stale-pose');
    expect(s.filter(0, 0.5, 0.5, pose(1, 1, 0, 850), 1000).stopped).toBeNull();
    expect(s.filter(1, Number.NaN, 0.5, pose(1, 1), 1000)).toEqual({ left: 0, right: 0, stopped: 'invalid-command' });
    expect(s.stops['stale-pose']).toBe(1);
    expect(s.stops['invalid-command']).toBe(1);
  });

  it('stops a robot driving into a wall but lets it turn back in', () => {
    const s = new SafetyLayer(params, arena);
    // 2 cm from the right wall, facing it, full speed ahead: stopped.
    expect(s.filter(0, 1, 1, pose(1.94, 1, 0), 1000).stopped).toBe('leaving-arena');
    // Same place, facing the centre: allowed.
    expect(s.filter(0, 1, 1, pose(1.94, 1, Math.PI), 1000).stopped).toBeNull();
    // Reversing away from the wall: allowed.
    expect(s.filter(0, -1, -1, pose(1.94, 1, 0), 1000).stopped).toBeNull();
    // Resting against the wall (centre one body radius from it): turning on the spot is allowed, driving on is not.
    expect(s.filter(0, -1, 1, pose(2 - 0.037, 1, 0), 1000).stopped).toBeNull();
    expect(s.filter(0, 1, 1, pose(2 - 0.037, 1, 0), 1000).stopped).toBe('leaving-arena');
  });

  it('filters a whole swarm in one call (the tick path) exactly as robot by robot: commands, reasons and counts', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const robots = resolveRobotParams(loadRobotsFile(`${PROJECT_ROOT}/robots/epuck2.yaml`), ids);
    const settings = { maxPoseAgeMs: 200, lookaheadS: 0.5, wallMargin: 0.01 };
    const batch = new SafetyLayer(robots, arena, settings);
    const single = new SafetyLayer(robots, arena, settings);
    // Held robots (isolate-and-stop) too: robot 11.
    batch.holdWhere((i) => i === 11);
    single.holdWhere((i) => i === 11);
    // Every reason once, and passing commands in and out of range, near and away from the walls.
    const poses = [
      pose(1, 1), pose(1.94, 1, 0), pose(1.94, 1, Math.PI), null, pose(Number.NaN, 1), pose(1, 1, 0, 700),
      pose(1, 1), pose(0.05, 0.05, -2.4), pose(1, 1.95, Math.PI / 2), pose(0.5, 1.5, 1), pose(1, 1), pose(1, 1),
    ];
    const commands = Float32Array.from([0.5, 0.5, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, Number.NaN, 0.5, 1, 1, 1, 1, 3, -2, -0.25, 0.75, 0.5, 0.5]);
    const out = new Float32Array(commands.length);
    batch.filterAllInto(commands, poses, 1000, out);
    const reasons = new Set<string | null>();
    poses.forEach((p, i) => {
      const one = single.filter(i, commands[2 * i]!, commands[2 * i + 1]!, p, 1000);
      expect([batch.reasons[i], out[2 * i], out[2 * i + 1]]).toEqual([one.stopped, Math.fround(one.left), Math.fround(one.right)]);
      reasons.add(one.stopped);
    });
    expect([...reasons].sort()).toEqual(['invalid-command', 'invalid-pose', 'isolated', 'leaving-arena', 'no-pose', 'stale-pose', null].sort());
    expect(batch.stops).toEqual(single.stops);
    // In place (out = commands), as the run filters its tick's commands.
    batch.filterAllInto(commands, poses, 1000, commands);
    expect(Array.from(commands)).toEqual(Array.from(out));
  });

  it('holds a swarm-wide e-stop until released', () => {
    const s = new SafetyLayer(params, arena);
    s.engageEStop('operator');
    for (let k = 0; k < 3; k++) expect(s.filter(k % 2, 0.5, 0.5, pose(1, 1), 1000).stopped).toBe('e-stop');
    expect(s.eStopped).toBe('operator');
    s.release();
    expect(s.filter(0, 0.5, 0.5, pose(1, 1), 1000).stopped).toBeNull();
  });
});
