// A large swarm's pairs in range are found by a sweep along x over an order kept per environment
// (src/core/observation.ts, src/core/spatial-grid.ts). This pins the observations it gives, frame after frame
// and environment by environment, bit for bit to the grid's and to the loop over every pair.
import { describe, expect, it } from 'vitest';
import { GLOBAL_SPEC_ID, LOCAL_SPEC_ID, PAIR_DIM, RendezvousObserver, type ObservationSpec, type SwarmFrame } from '../src/core/observation.js';
import { makeStreams, type RandomStream } from '../src/core/random.js';
import { orderPairs, SweepOrder } from '../src/core/spatial-grid.js';

/** E environments of n robots (environment e at e * n), with coincident robots and robots sharing an x or a y. */
function frame(n: number, envs: number, side: number, rng: RandomStream): SwarmFrame {
  const G = n * envs;
  const f = (lo: number, hi: number) => Float64Array.from({ length: G }, () => rng.range(lo, hi));
  const fr = { x: f(0, side), y: f(0, side), heading: f(-Math.PI, Math.PI), speed: f(-0.15, 0.15), turnRate: f(-5, 5), command: new Float64Array(2 * G) };
  for (let e = 0; e < envs; e++) {
    const b = e * n;
    fr.x[b + 1] = fr.x[b]!;
    fr.y[b + 1] = fr.y[b]!;
    fr.x[b + 3] = fr.x[b + 2]!;
    fr.y[b + 5] = fr.y[b + 4]!;
  }
  return fr;
}

function observeEvery(o: RendezvousObserver, fr: SwarmFrame, n: number, envs: number) {
  const obs = new Float32Array(n * envs * o.size);
  const rows = new Int32Array(n * envs * o.spec.maxNeighbours);
  const pairs: number[][] = [];
  const features: Float32Array[] = [];
  for (let e = 0; e < envs; e++) {
    o.observeAll(fr, e * n, n, obs, e * n * o.size, rows, e * n * o.spec.maxNeighbours);
    const p = o.observedPairs;
    pairs.push([...p.start, ...p.neighbour.subarray(0, p.count)]);
    const out = new Float32Array(p.count * PAIR_DIM);
    o.observedPairFeatures(fr, e * n, n, out, 0);
    features.push(out);
  }
  return { obs, rows, pairs, features };
}

describe('pairs in range by a sweep along x', () => {
  for (const id of [GLOBAL_SPEC_ID, LOCAL_SPEC_ID] as const) {
    it(`${id}: the grid's and the loop's observations, frame after frame in several environments`, () => {
      const rng = makeStreams(id.length, 1)[0]!;
      for (const n of [60, 150]) {
        const envs = 3;
        const side = 2 * Math.sqrt(n / 10);
        const spec: ObservationSpec = { id, maxNeighbours: id === LOCAL_SPEC_ID ? 4 : 9, sensingRadius: id === LOCAL_SPEC_ID ? 0.6 : 1.5, arenaWidth: side, arenaHeight: side, maxSpeed: 0.15, maxTurnRate: 5 };
        const [loop, grid, sweep] = [0, 1, 2].map(() => new RendezvousObserver(spec));
        loop!.gridFrom = Infinity;
        grid!.gridFrom = 0;
        grid!.sweepFrom = Infinity;
        sweep!.gridFrom = 0;
        sweep!.sweepFrom = 0;
        const fr = frame(n, envs, side, rng);
        for (let t = 0; t < 6; t++) {
          const want = observeEvery(loop!, fr, n, envs);
          expect(observeEvery(grid!, fr, n, envs)).toEqual(want);
          expect(observeEvery(sweep!, fr, n, envs)).toEqual(want);
          expect(want.pairs.flat().length).toBeGreaterThan(4 * n);
          // The robots move a little, as between control steps (the kept order is then nearly sorted).
          for (let g = 0; g < n * envs; g++) {
            fr.x[g]! += rng.range(-0.03, 0.03);
            fr.y[g]! += rng.range(-0.03, 0.03);
          }
        }
        // A coordinate that is not finite: the sweep cannot order the robots and leaves the search to the grid.
        fr.x[n + 7] = Number.NaN;
        expect(observeEvery(sweep!, fr, n, envs)).toEqual(observeEvery(grid!, fr, n, envs));
      }
    });
  }

  it('keeps each environment in x order, and refuses an order it cannot trust', () => {
    const rng = makeStreams(3, 1)[0]!;
    const n = 40;
    const x = Float64Array.from({ length: 2 * n }, () => rng.range(0, 5));
    const y = new Float64Array(2 * n);
    const sweep = new SweepOrder();
    for (const base of [0, n, 0]) {
      const order = sweep.sort(x, y, base, n)!;
      const ks = Array.from(order.subarray(base, base + n));
      expect([...ks].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, k) => k));
      for (let a = 1; a < n; a++) expect(x[base + ks[a]!]!).toBeGreaterThanOrEqual(x[base + ks[a - 1]!]!);
    }
    expect(sweep.sort(x, y, 5, n)).toBeNull();
    y[3] = Number.POSITIVE_INFINITY;
    expect(sweep.sort(x, y, 0, n)).toBeNull();
  });

  it('puts pairs found in any order into the order of a loop over the lower index, then the higher', () => {
    const rng = makeStreams(8, 1)[0]!;
    const n = 30;
    const want: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rng.uniform() < 0.2) want.push([i, j]);
    const shuffled = [...want].sort(() => rng.uniform() - 0.5);
    const lo = Int32Array.from(shuffled, (p) => p[0]);
    const hi = Int32Array.from(shuffled, (p) => p[1]);
    const outLo = new Int32Array(want.length);
    const outHi = new Int32Array(want.length);
    orderPairs(lo, hi, want.length, n, outLo, outHi, new Int32Array(n + 1));
    expect(Array.from(outLo, (i, p) => [i, outHi[p]!])).toEqual(want);
  });
});
