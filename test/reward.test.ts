import { describe, expect, it } from 'vitest';
import { isGathered, meanPairwiseDistance, rendezvousReward } from '../src/core/rendezvous.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

const W = { actionPenalty: 0.001, collisionPenalty: 0.01 };
const DIAG = Math.hypot(2, 2);

describe('shared rendezvous reward', () => {
  it('is minus the mean pairwise distance over the arena diagonal when nobody moves', () => {
    const x = Float64Array.of(0.5, 1.5, 0.5);
    const y = Float64Array.of(0.5, 0.5, 1.5);
    const mean = (1 + 1 + Math.SQRT2) / 3;
    expect(meanPairwiseDistance(x, y, 0, 3)).toBeCloseTo(mean, 12);
    expect(rendezvousReward(x, y, new Float64Array(6), 0, 3, DIAG, 0, W)).toBeCloseTo(-mean / DIAG, 12);
  });

  it('charges the mean squared wheel command and the fraction of robots in contact', () => {
    const x = Float64Array.of(1, 1.074);
    const y = Float64Array.of(1, 1);
    const cmd = Float64Array.of(1, 1, -1, 0);
    const r = rendezvousReward(x, y, cmd, 0, 2, DIAG, 2, W);
    expect(r).toBeCloseTo(-0.074 / DIAG - 0.001 * (3 / 4) - 0.01 * 1, 12);
  });

  it('reads only the robots of its environment', () => {
    const x = Float64Array.of(9, 9, 0.5, 1.5);
    const y = Float64Array.of(9, 9, 1, 1);
    expect(rendezvousReward(x, y, new Float64Array(8), 2, 2, DIAG, 0, W)).toBeCloseTo(-1 / DIAG, 12);
  });

  it('measures gathering and distance over the team, leaving a compromised robot out', () => {
    // Robots 0 and 1 sit together; robot 2 (the victim) is far away.
    const x = Float64Array.of(1, 1.1, 0.1);
    const y = Float64Array.of(1, 1, 1.9);
    expect(meanPairwiseDistance(x, y, 0, 3, Infinity, 2)).toBeCloseTo(0.1, 12);
    expect(isGathered(x, y, 0, 3, 0.15, 2)).toBe(true);
    expect(isGathered(x, y, 0, 3, 0.15)).toBe(false);
  });

  it('counts robots as gathered when all centres are within the radius of their centroid', () => {
    const x = Float64Array.of(1, 1.2, 1.1);
    const y = Float64Array.of(1, 1, 1.1);
    expect(isGathered(x, y, 0, 3, 0.15)).toBe(true);
    expect(isGathered(x, y, 0, 3, 0.05)).toBe(false);
  });

  it('is what the world reports, and the episode metrics add it up', () => {
    const s = settings({ robots: 3, episodeSteps: 5 });
    let ended: unknown = null;
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false, onEpisodeEnd: (_e, m) => (ended = m) });
    world.resetEnv(0, [
      { x: 0.5, y: 0.5, heading: 0 },
      { x: 1.5, y: 0.5, heading: 0 },
      { x: 0.5, y: 1.5, heading: 0 },
    ]);
    let total = 0;
    for (let t = 0; t < 5; t++) {
      world.step([0, 0, 0, 0, 0, 0]);
      expect(world.rewards[0]).toBeCloseTo(-((2 + Math.SQRT2) / 3) / DIAG, 12);
      total += world.rewards[0]!;
    }
    expect(world.dones[0]).toBe(1);
    expect(ended).toMatchObject({ episodeReturn: total, steps: 5, timeToGather: null, collisionsPerRobotMinute: 0 });
  });

  it('records the time the swarm first gathers', () => {
    const s = settings({ robots: 2, episodeSteps: 40 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
    // 0.5 m apart, facing each other at full speed: inside a 0.3 m circle once closer than 0.3 m.
    world.resetEnv(0, [
      { x: 0.75, y: 1, heading: 0 },
      { x: 1.25, y: 1, heading: Math.PI },
    ]);
    for (let t = 0; t < 40; t++) world.step([1, 1, 1, 1]);
    const m = world.metrics(0);
    const v = s.observation.maxSpeed;
    // Gap closes at 2v: (0.5 - 0.3) / (2 v) s, rounded up to whole ticks.
    expect(m.timeToGather).toBeCloseTo(Math.ceil((0.2 / (2 * v)) * 10) / 10, 9);
    expect(m.finalMeanPairwiseDistance).toBeCloseTo(2 * s.robots[0]!.bodyRadius, 6);
  });
});
