// The twin's contact broad phase on a large swarm (a sweep along x, its near pairs reused after the motion):
// the candidate pairs, overlap answer and contact marks of the passes over every pair, bit for bit.
import { describe, expect, it } from 'vitest';
import { makeStreams, type RandomStream } from '../src/core/random.js';
import { ContactSolver, detectContacts, hasOverlap, type DiscBodies } from '../sim/physics.js';

const MARGIN = 0.001;

/** E environments of n discs stacked in flat arrays (environment e at e * n), scattered over a side x side arena. */
function world(n: number, envs: number, side: number, rng: RandomStream): DiscBodies {
  const f = (g: () => number) => Float64Array.from({ length: n * envs }, g);
  return { x: f(() => rng.range(0.04, side - 0.04)), y: f(() => rng.range(0.04, side - 0.04)), radius: Float64Array.from({ length: n }, () => rng.range(0.03, 0.04)), width: side, height: side };
}

/** The candidates of a loop over every pair (the small-swarm path's test), in its order. */
function loopCandidates(b: DiscBodies, base: number, n: number, reach: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const lim = b.radius[i]! + b.radius[j]! + reach;
      const dx = b.x[base + j]! - b.x[base + i]!;
      if (dx >= lim || dx <= -lim) continue;
      const dy = b.y[base + j]! - b.y[base + i]!;
      if (dx * dx + dy * dy >= lim * lim) continue;
      out.push([i, j]);
    }
  }
  return out;
}

/** Re-draws robots of an environment until no two overlap (a start as the twin's spawn gives). */
function separateAll(b: DiscBodies, base: number, n: number, rng: RandomStream): void {
  for (let k = 0; k < n; k++) {
    for (let clash = true; clash; ) {
      clash = false;
      for (let j = 0; j < k && !clash; j++) {
        clash = Math.hypot(b.x[base + k]! - b.x[base + j]!, b.y[base + k]! - b.y[base + j]!) < b.radius[k]! + b.radius[j]!;
      }
      if (clash) {
        b.x[base + k] = rng.range(0.04, b.width - 0.04);
        b.y[base + k] = rng.range(0.04, b.height - 0.04);
      }
    }
  }
}

/** Moves every robot of an environment by a random step of at most `most` m. */
function jiggle(b: DiscBodies, base: number, n: number, most: number, rng: RandomStream): void {
  for (let k = 0; k < n; k++) {
    const a = rng.range(-Math.PI, Math.PI);
    const r = rng.range(0, most);
    b.x[base + k]! += r * Math.cos(a);
    b.y[base + k]! += r * Math.sin(a);
  }
}

describe('contact broad phase of a large swarm', () => {
  it('finds the candidate pairs of the loop, in its order, step after step in several environments', () => {
    const rng = makeStreams(4, 1)[0]!;
    for (const [n, side] of [[60, 1.2], [150, 3], [150, 7]] as const) {
      const envs = 3;
      const b = world(n, envs, side, rng);
      const solver = new ContactSolver(n, MARGIN);
      let pairs = 0;
      for (let step = 0; step < 12; step++) {
        for (let e = 0; e < envs; e++) {
          const reach = rng.range(1e-4, 0.05);
          solver.collectCandidates(b, e * n, n, reach);
          const want = loopCandidates(b, e * n, n, reach);
          expect(solver.candidatePairs()).toEqual(want);
          const involved = new Uint8Array(n);
          for (const [i, j] of want) involved[i] = involved[j] = 1;
          expect(Array.from(solver.involved.subarray(0, n))).toEqual(Array.from(involved));
          pairs += want.length;
          jiggle(b, e * n, n, 0.02, rng);
        }
      }
      expect(pairs).toBeGreaterThan(20);
    }
  });

  it('answers the overlap test and marks contacts as the full passes after small and large motions', () => {
    const rng = makeStreams(9, 1)[0]!;
    let overlaps = 0;
    let touching = 0;
    for (let trial = 0; trial < 60; trial++) {
      const n = 120;
      const b = world(n, 2, 2.2, rng);
      separateAll(b, n * (trial % 2), n, rng);
      const solver = new ContactSolver(n, MARGIN);
      const base = n * (trial % 2);
      const reach = rng.range(1e-4, 0.05);
      const startX = b.x.slice(base, base + n);
      const startY = b.y.slice(base, base + n);
      solver.collectCandidates(b, base, n, reach);
      // Within half the reach (the near pairs serve), or up to twice the reach (the full passes run).
      jiggle(b, base, n, trial % 3 === 0 ? 2 * reach : 0.499 * reach, rng);
      const overlap = hasOverlap(b, base, n);
      expect(solver.overlapsAfterMotion(b, base, n, startX, startY)).toBe(overlap);
      const robot = new Uint8Array(2 * n);
      const wall = new Uint8Array(2 * n);
      detectContacts(b, base, n, MARGIN, robot, wall);
      const robotNear = new Uint8Array(2 * n);
      const wallNear = new Uint8Array(2 * n);
      solver.detectContactsAfterMotion(b, base, n, startX, startY, robotNear, wallNear);
      expect(Array.from(robotNear)).toEqual(Array.from(robot));
      expect(Array.from(wallNear)).toEqual(Array.from(wall));
      if (overlap) overlaps++;
      touching += robot.reduce((a, v) => a + v, 0);
    }
    // Both answers occurred: the checks were not trivially all false.
    expect(overlaps).toBeGreaterThan(5);
    expect(overlaps).toBeLessThan(60);
    expect(touching).toBeGreaterThan(100);
  });

  it('falls back to every pair when a coordinate is not finite', () => {
    const rng = makeStreams(2, 1)[0]!;
    const n = 80;
    const b = world(n, 1, 1.5, rng);
    b.x[7] = Number.NaN;
    const solver = new ContactSolver(n, MARGIN);
    solver.collectCandidates(b, 0, n, 0.03);
    expect(solver.candidatePairs()).toEqual(loopCandidates(b, 0, n, 0.03));
    expect(solver.overlapsAfterMotion(b, 0, n, b.x.slice(), b.y.slice())).toBe(hasOverlap(b, 0, n));
  });
});
