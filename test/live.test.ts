import { describe, expect, it } from 'vitest';
import { LiveTwin } from '../sim/live.js';
import { InvalidCommandError } from '../sim/world.js';
import { ManualClock, settings } from './helpers.js';

const START = [
  { x: 0.5, y: 1, heading: 0 },
  { x: 1.5, y: 1, heading: Math.PI },
];

describe('live twin', () => {
  it('ticks at the control period without drift and applies the latest command per robot', () => {
    const clock = new ManualClock();
    const twin = new LiveTwin(settings({ robots: 2 }), { seed: 1, clock, startPoses: START });
    const ticks: number[] = [];
    twin.on('tick', () => ticks.push(clock.now()));
    twin.submitCommand('epuck-0', 1, 1);
    twin.start();
    clock.advance(1000);
    expect(twin.stats).toEqual({ ticks: 10, overruns: 0, skippedTicks: 0 });
    expect(ticks).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    const [a, b] = twin.getTruePoses();
    expect(a!.x).toBeCloseTo(0.5 + twin.world.settings.observation.maxSpeed, 9);
    expect(b!.x).toBe(1.5);
    // The robot keeps its last command until told otherwise.
    twin.submitCommand('epuck-0', 0, 0);
    clock.advance(300);
    expect(twin.getTruePoses()[0]!.x).toBeCloseTo(a!.x, 12);
    twin.stop();
    expect(clock.pending).toBe(0);
    expect(twin.running).toBe(false);
  });

  it('reports tracked poses with robot ids, tick and stamp', () => {
    const clock = new ManualClock();
    const twin = new LiveTwin(settings({ robots: 2, noise: 'default' }), { seed: 2, clock, startPoses: START });
    twin.start();
    clock.advance(250);
    const poses = twin.getPoses();
    expect(poses.map((p) => p.id)).toEqual(['epuck-0', 'epuck-1']);
    expect(poses[0]).toMatchObject({ tick: 2, stamp: 200 });
    expect(Math.abs(poses[0]!.x - twin.getTruePoses()[0]!.x)).toBeLessThan(0.02);
    expect(poses[0]!.x).not.toBe(twin.getTruePoses()[0]!.x);
  });

  it('catches up a little after a stall and skips the rest instead of queueing a backlog', () => {
    const clock = new ManualClock();
    const twin = new LiveTwin(settings({ robots: 2 }), { seed: 1, clock, maxCatchUpTicks: 2 });
    twin.start();
    clock.advance(100);
    expect(twin.stats.ticks).toBe(1);
    // The process stalls for 1 s: 10 ticks fell due (200 to 1,100 ms), 3 are run (1 + 2 catch-up), 7 skipped.
    const stamps: number[] = [];
    twin.on('tick', () => stamps.push(twin.trackedStamp));
    clock.t += 1000;
    clock.advance(0);
    expect(twin.stats).toEqual({ ticks: 4, overruns: 1, skippedTicks: 7 });
    // The ticks run are the latest due, each stamped with its due time (not all with the moment they were computed).
    expect(stamps).toEqual([900, 1000, 1100]);
    // Back on the grid afterwards.
    clock.advance(100);
    expect(twin.stats.ticks).toBe(5);
  });

  it('rejects unknown robot ids and non-finite commands by name', () => {
    const twin = new LiveTwin(settings({ robots: 2 }), { seed: 1, clock: new ManualClock() });
    expect(() => twin.submitCommand('epuck-7', 0, 0)).toThrow(/unknown robot id 'epuck-7'/);
    expect(() => twin.submitCommand('epuck-1', NaN, 0)).toThrow(InvalidCommandError);
    expect(() => twin.submitCommand('epuck-1', 0, Infinity)).toThrow(/robot 'epuck-1'/);
    twin.stepOnce();
    expect(twin.world.truth.x.every(Number.isFinite)).toBe(true);
  });

  it('runs as fast as possible with stepOnce for batch trials', () => {
    const twin = new LiveTwin(settings({ robots: 2 }), { seed: 1, clock: new ManualClock(), startPoses: START });
    twin.submitCommand('epuck-1', 1, 1);
    for (let i = 0; i < 10; i++) twin.stepOnce();
    expect(twin.stats.ticks).toBe(10);
    expect(twin.getTruePoses()[1]!.x).toBeCloseTo(1.5 - twin.world.settings.observation.maxSpeed, 9);
  });
});
