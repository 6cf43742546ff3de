// The uniform grid behind neighbour searches: the same neighbours, in the same order, as a loop over every
// robot; and observations built through it bit-identical to the loop's.
import { describe, expect, it } from 'vitest';
import { LOCAL_SPEC_ID, GLOBAL_SPEC_ID, PAIR_DIM, RendezvousObserver, type ObservationSpec, type SwarmFrame } from '../src/core/observation.js';
import { SpatialGrid } from '../src/core/spatial-grid.js';
import { makeStreams } from '../src/core/random.js';

function frame(n: number, side: number, seed: number): SwarmFrame {
  const rng = makeStreams(seed, 1)[0]!;
  const f = (g: () => number) => Float64Array.from({ length: n }, g);
  const fr = {
    x: f(() => rng.range(0, side)),
    y: f(() => rng.range(0, side)),
    heading: f(() => rng.range(-Math.PI, Math.PI)),
    speed: f(() => rng.range(-0.14, 0.14)),
    turnRate: f(() => rng.range(-5, 5)),
    command: Float64Array.from({ length: 2 * n }, () => rng.range(-1, 1)),
  };
  // Two coincident robots, and one far outside any arena (a robot not located yet).
  fr.x[1] = fr.x[0]!;
  fr.y[1] = fr.y[0]!;
  fr.x[2] = 1e6;
  fr.y[2] = -1e6;
  return fr;
}

describe('SpatialGrid', () => {
  it('finds exactly the robots within r of each robot, in ascending order, wherever they stand', () => {
    const n = 500;
    const fr = frame(n, 14, 3);
    const r = 0.6;
    const grid = new SpatialGrid(r);
    grid.build(fr.x, fr.y, 0, n);
    const out = new Int32Array(n);
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      const want: number[] = [];
      for (let j = 0; j < n; j++) if (j !== i && (fr.x[j]! - fr.x[i]!) ** 2 + (fr.y[j]! - fr.y[i]!) ** 2 <= r * r) want.push(j);
      expect(Array.from(out.subarray(0, grid.within(i, r * r, out)))).toEqual(want);
      expect(Array.from(out.subarray(0, grid.within(i, r * r, out, true)))).toEqual(want.filter((j) => j > i));
      pairs += want.length;
    }
    expect(pairs).toBeGreaterThan(n); // the search was not trivially empty
  });

  it('refuses a cell size that is not a positive number', () => {
    expect(() => new SpatialGrid(0)).toThrow(/cell size must be a positive number, got 0/);
    expect(() => new SpatialGrid(Number.NaN)).toThrow(/cell size/);
  });
});

describe('observations through the grid', () => {
  for (const id of [GLOBAL_SPEC_ID, LOCAL_SPEC_ID] as const) {
    it(`${id}: bit-identical to the loop over every pair (observations, rows, pair features, observed pairs)`, () => {
      for (const n of [12, 120]) {
        const side = 2 * Math.sqrt(n / 10);
        const spec: ObservationSpec = { id, maxNeighbours: id === LOCAL_SPEC_ID ? 4 : 9, sensingRadius: id === LOCAL_SPEC_ID ? 0.6 : 1.5, arenaWidth: side, arenaHeight: side, maxSpeed: 0.15, maxTurnRate: 5 };
        const fr = frame(n, side, n);
        const built = [0, Infinity].map((gridFrom) => {
          const o = new RendezvousObserver(spec);
          o.gridFrom = gridFrom;
          const obs = new Float32Array(n * o.size);
          const rows = new Int32Array(n * spec.maxNeighbours);
          o.observeAll(fr, 0, n, obs, 0, rows, 0);
          const dense = new Float32Array(n * n * PAIR_DIM);
          o.pairFeaturesAll(fr, 0, n, dense, 0);
          const pairs = o.observedPairs;
          const sparse = new Float32Array(pairs.count * PAIR_DIM);
          o.observedPairFeatures(fr, 0, n, sparse, 0);
          return { obs, rows, dense, sparse, start: Array.from(pairs.start), neighbour: Array.from(pairs.neighbour.subarray(0, pairs.count)) };
        });
        expect(built[0]).toEqual(built[1]);
        // The sparse features are the dense ones of the observed pairs; every other pair is all zero.
        const { dense, sparse, start, neighbour } = built[0]!;
        const expected = new Float32Array(n * n * PAIR_DIM);
        for (let i = 0; i < n; i++) {
          for (let p = start[i]!; p < start[i + 1]!; p++) expected.set(sparse.subarray(p * PAIR_DIM, (p + 1) * PAIR_DIM), (i * n + neighbour[p]!) * PAIR_DIM);
        }
        expect(dense).toEqual(expected);
        expect(neighbour.length).toBeGreaterThan(0);
      }
    });
  }

  it('asks for observeAll first', () => {
    const spec: ObservationSpec = { id: LOCAL_SPEC_ID, maxNeighbours: 4, sensingRadius: 0.6, arenaWidth: 2, arenaHeight: 2, maxSpeed: 0.15, maxTurnRate: 5 };
    expect(() => new RendezvousObserver(spec).pairFeaturesAll(frame(5, 2, 1), 0, 5, new Float32Array(5 * 5 * PAIR_DIM), 0)).toThrow(/call observeAll on the same frame first/);
  });
});
