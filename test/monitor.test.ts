import { describe, expect, it } from 'vitest';
import { estimateTwist } from '../src/core/kinematics.js';
import { aggregateBeliefs, DEFAULT_MONITOR, SwarmMonitor, type MonitorAlert } from '../src/monitor/monitor.js';
import { faultByName } from '../src/attacks/faults.js';
import { RendezvousWorld } from '../sim/world.js';
import { shippedMappo } from './helpers.js';

const { settings, team: mappo } = shippedMappo();

/** One seeded episode of the shipped MAPPO team on the twin (noise on), robot 3 spinning from `from` to `to`. */
async function watch(from: number, to: number): Promise<{ alerts: MonitorAlert[]; monitor: SwarmMonitor }> {
  const world = new RendezvousWorld(settings, { envs: 1, seed: 11, autoReset: false });
  const ids = settings.robots.map((_, i) => `epuck-${i}`);
  const monitor = new SwarmMonitor(ids, settings.robots, DEFAULT_MONITOR);
  const actions = new Float32Array(2 * ids.length);
  const alerts: MonitorAlert[] = [];
  mappo().resetEnv(0);
  for (let t = 0; t < settings.episodeSteps; t++) {
    if (t === from) world.setVictim(0, { robot: 3, override: faultByName('spin') });
    if (t === to) world.setVictim(0, null);
    await mappo().act(world, actions);
    const poses = ids.map((_, g) => ({ x: world.tracked.x[g]!, y: world.tracked.y[g]!, theta: world.tracked.heading[g]! }));
    // The tracker's motion over the last tick (none before the first step).
    const motion = ids.map((_, g) => (t === 0 ? null : { linear: world.tracked.speed[g]!, angular: world.tracked.turnRate[g]! }));
    alerts.push(...monitor.update(t, { poses, motion, intended: actions, beliefs: null }));
    world.step(actions);
  }
  return { alerts, monitor };
}

describe('swarm monitor', () => {
  it('raises no flag on a benign episode with the real-arena noise model on', async () => {
    const { alerts } = await watch(-1, -1);
    expect(alerts).toEqual([]);
  });

  it('flags a robot that stops following its policy within a few ticks, and only that robot; clears it after it recovers', async () => {
    const { alerts } = await watch(100, 200);
    const flags = alerts.filter((a) => a.kind === 'flag');
    expect(flags.map((a) => a.robot)).toEqual(['epuck-3']);
    expect(flags[0]!.tick).toBeGreaterThanOrEqual(100);
    expect(flags[0]!.tick).toBeLessThanOrEqual(106);
    expect(flags[0]!.evidence.consistency).toBe(1);
    const clear = alerts.find((a) => a.kind === 'clear');
    expect(clear?.robot).toBe('epuck-3');
    expect(clear!.tick).toBeGreaterThan(200);
  });

  it('averages P(compromised), summed over types, over the observers that see each robot', () => {
    // 3 robots, 2 types: robot 2 seen by 0 and 1; robot 0 seen by 1 only; robot 1 seen by nobody.
    const R = 2;
    const N = 3;
    const b = new Float32Array(N * N * R);
    const set = (i: number, j: number, p: [number, number]) => b.set(p, (i * N + j) * R);
    set(0, 2, [0.5, 0.3]);
    set(1, 2, [0.1, 0.1]);
    set(1, 0, [0.2, 0]);
    set(2, 1, [0.9, 0.1]); // out of range: ignored
    const seen = new Set(['0-2', '1-2', '1-0']);
    const agg = aggregateBeliefs(b, R, N, (i, j) => seen.has(`${i}-${j}`));
    expect(Array.from(agg.observers)).toEqual([1, 0, 2]);
    expect(agg.value[0]).toBeCloseTo(0.2, 6);
    expect(agg.value[1]).toBe(0);
    expect(agg.value[2]).toBeCloseTo(0.5, 6);
  });

  it('fuses a confident belief alone into a flag (noisy-OR) for a robot that moves as its policy says', () => {
    const monitor = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), DEFAULT_MONITOR);
    const poses = [{ x: 1, y: 1, theta: 0 }, { x: 1.2, y: 1, theta: 0 }];
    const beliefs = { value: Float64Array.from([0.05, 0.95]), observers: Int32Array.from([1, 1]) };
    const still = { linear: 0, angular: 0 };
    const alerts = [0, 1, 2, 3].flatMap((t) => monitor.update(t, { poses, motion: t === 0 ? [null, null] : [still, still], intended: new Float32Array(4), beliefs }));
    expect(alerts.map((a) => [a.robot, a.kind, a.tick])).toEqual([['b', 'flag', 2]]);
    expect(alerts[0]!.evidence.belief).toBeCloseTo(0.95, 6);
  });

  it('does not hold a robot pushed by a neighbour it touches responsible for its speed, but still scores its turning', () => {
    const run = (gap: number, turn: number) => {
      const monitor = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), DEFAULT_MONITOR);
      const flags: string[] = [];
      for (let t = 0; t < 30; t++) {
        // Both are told to stand still but slide 1.5 cm per tick together; b also turns `turn` rad per tick.
        const at = (k: number) => [{ x: 1 + 0.015 * k, y: 1, theta: 0 }, { x: 1 + gap + 0.015 * k, y: 1, theta: turn * k }];
        const poses = at(t);
        const motion = poses.map((p, i) => (t === 0 ? null : estimateTwist(at(t - 1)[i]!.x, at(t - 1)[i]!.y, at(t - 1)[i]!.theta, p.x, p.y, p.theta, 0.1)));
        flags.push(...monitor.update(t, { poses, motion, intended: new Float32Array(4), beliefs: null }).filter((a) => a.kind === 'flag').map((a) => a.robot));
      }
      return flags;
    };
    // Bodies in contact (centres 0.074 m apart, both pushed along): no flag.
    expect(run(0.074, 0)).toEqual([]);
    // The same sliding with nobody around: flagged (both slide, so both).
    expect(run(0.5, 0)).toEqual(['a', 'b']);
    // In contact but spinning although told to stand still: flagged.
    expect(run(0.074, 0.3)).toEqual(['b']);
  });
});
