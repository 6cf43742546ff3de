// The twin's contact passes on a large swarm go through the spatial grid: the same contacts and overlaps as
// a loop over every pair, and a dense gathering stays free of overlaps.
import { describe, expect, it } from 'vitest';
import { makeStreams } from '../src/core/random.js';
import { GRID_MIN_ROBOTS } from '../src/core/spatial-grid.js';
import { makeController } from '../sim/episode.js';
import { detectContacts, hasOverlap, type DiscBodies } from '../sim/physics.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

function discs(n: number, side: number, seed: number): DiscBodies {
  const rng = makeStreams(seed, 1)[0]!;
  const f = (g: () => number) => Float64Array.from({ length: n }, g);
  return { x: f(() => rng.range(0, side)), y: f(() => rng.range(0, side)), radius: f(() => rng.range(0.03, 0.04)), width: side, height: side };
}

describe('contact passes through the grid', () => {
  it(`finds the contacts and overlaps of a loop over every pair (${GRID_MIN_ROBOTS} robots or more)`, () => {
    for (const seed of [1, 2, 3]) {
      const n = 300;
      const b = discs(n, 3, seed);
      const robot = new Uint8Array(n);
      const wall = new Uint8Array(n);
      detectContacts(b, 0, n, 0.005, robot, wall);
      const want = new Uint8Array(n);
      let overlap = false;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const d = Math.hypot(b.x[j]! - b.x[i]!, b.y[j]! - b.y[i]!);
          if (d < b.radius[i]! + b.radius[j]! + 0.005) want[i] = want[j] = 1;
          if (d < b.radius[i]! + b.radius[j]! - 1e-9) overlap = true;
        }
      }
      expect(Array.from(robot)).toEqual(Array.from(want));
      expect(want.reduce((a, v) => a + v, 0)).toBeGreaterThan(10);
      expect(hasOverlap(b, 0, n)).toBe(overlap);
    }
  });

  it('keeps a dense gathering of 120 robots free of overlaps and inside the walls', () => {
    const robots = 120;
    const s = settings({ robots, arena: { width: 3, height: 3 }, noise: 'default' });
    const world = new RendezvousWorld(s, { envs: 1, seed: 5 });
    const controller = makeController('consensus', s, 0);
    const actions = new Float32Array(2 * robots);
    const { x, y } = world.truth;
    for (let t = 0; t < 120; t++) {
      controller.act(world.obs, robots, actions);
      world.step(actions);
    }
    let minGap = Infinity;
    for (let i = 0; i < robots; i++) {
      const ri = s.robots[i]!.bodyRadius;
      expect(x[i]! - ri).toBeGreaterThanOrEqual(-1e-12);
      expect(y[i]! + ri).toBeLessThanOrEqual(3 + 1e-12);
      for (let j = i + 1; j < robots; j++) minGap = Math.min(minGap, Math.hypot(x[j]! - x[i]!, y[j]! - y[i]!) - ri - s.robots[j]!.bodyRadius);
    }
    expect(minGap).toBeGreaterThanOrEqual(-1e-9);
    expect(world.metrics(0).collisionsPerRobotMinute).toBeGreaterThan(0);
  });
});
