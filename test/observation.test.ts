import { describe, expect, it } from 'vitest';
import {
  NEIGHBOUR_FEATURES,
  OWN_DIM,
  PAIR_DIM,
  ROW_DIM,
  RendezvousObserver,
  globalStateSize,
  type SwarmFrame,
} from '../src/core/observation.js';
import { makeStreams } from '../src/core/random.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

function randomFrame(n: number, seed: number): SwarmFrame {
  const rng = makeStreams(seed, 1)[0]!;
  const f = (g: () => number) => Float64Array.from({ length: n }, g);
  return {
    x: f(() => rng.range(0.1, 1.9)),
    y: f(() => rng.range(0.1, 1.9)),
    heading: f(() => rng.range(-Math.PI, Math.PI)),
    speed: f(() => rng.range(-0.14, 0.14)),
    turnRate: f(() => rng.range(-5, 5)),
    command: Float64Array.from({ length: 2 * n }, () => rng.range(-1, 1)),
  };
}

function permute(frame: SwarmFrame, perm: number[]): SwarmFrame {
  // Robot perm[k] of the new frame is robot k of the old one.
  const n = perm.length;
  const move = (a: Float64Array) => {
    const out = new Float64Array(n);
    perm.forEach((to, from) => (out[to] = a[from]!));
    return out;
  };
  const command = new Float64Array(2 * n);
  perm.forEach((to, from) => {
    command[2 * to] = frame.command[2 * from]!;
    command[2 * to + 1] = frame.command[2 * from + 1]!;
  });
  return {
    x: move(frame.x), y: move(frame.y), heading: move(frame.heading),
    speed: move(frame.speed), turnRate: move(frame.turnRate), command,
  };
}

const s = settings({ robots: 12, maxNeighbours: 6, sensingRadius: 1.0 });
const observer = new RendezvousObserver(s.observation);
const size = observer.size;

describe('rendezvous-v1 observation', () => {
  it('lays out own features, K neighbour rows and a mask', () => {
    expect(size).toBe(OWN_DIM + 6 * ROW_DIM + 6);
    expect(NEIGHBOUR_FEATURES.length).toBe(ROW_DIM);
    expect(globalStateSize(12)).toBe(12 * 8 + 1);
  });

  it('is invariant to relabelling 40 robots (insertion ordering path)', () => {
    const n = 40;
    const st = settings({ robots: n, maxNeighbours: 9, sensingRadius: 1.5 });
    const ob = new RendezvousObserver(st.observation);
    const frame = randomFrame(n, 3);
    const perm = Array.from({ length: n }, (_, k) => (k * 17 + 5) % n);
    const a = new Float32Array(n * ob.size);
    const b = new Float32Array(n * ob.size);
    ob.observeAll(frame, 0, n, a, 0);
    ob.observeAll(permute(frame, perm), 0, n, b, 0);
    for (let k = 0; k < n; k++) {
      expect(Array.from(b.subarray(perm[k]! * ob.size, (perm[k]! + 1) * ob.size))).toEqual(
        Array.from(a.subarray(k * ob.size, (k + 1) * ob.size)),
      );
    }
  });

  it('is invariant to relabelling the robots', () => {
    const n = 12;
    const frame = randomFrame(n, 1);
    const perm = [5, 3, 11, 0, 7, 9, 1, 4, 10, 2, 8, 6];
    const a = new Float32Array(n * size);
    const b = new Float32Array(n * size);
    observer.observeAll(frame, 0, n, a, 0);
    observer.observeAll(permute(frame, perm), 0, n, b, 0);
    for (let k = 0; k < n; k++) {
      expect(Array.from(b.subarray(perm[k]! * size, (perm[k]! + 1) * size))).toEqual(
        Array.from(a.subarray(k * size, (k + 1) * size)),
      );
    }
    // Pair features follow the robots they describe.
    const pa = new Float32Array(n * n * PAIR_DIM);
    const pb = new Float32Array(n * n * PAIR_DIM);
    observer.observeAll(frame, 0, n, a, 0);
    observer.pairFeaturesAll(frame, 0, n, pa, 0);
    observer.observeAll(permute(frame, perm), 0, n, b, 0);
    observer.pairFeaturesAll(permute(frame, perm), 0, n, pb, 0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const ra = Array.from(pa.subarray((i * n + j) * PAIR_DIM, (i * n + j + 1) * PAIR_DIM));
        const rb = Array.from(pb.subarray((perm[i]! * n + perm[j]!) * PAIR_DIM, (perm[i]! * n + perm[j]! + 1) * PAIR_DIM));
        for (let f = 0; f < PAIR_DIM; f++) expect(rb[f]).toBeCloseTo(ra[f]!, 5);
      }
    }
  });

  it.each([
    [12, 6, 1.0],
    [40, 9, 1.2], // more than 16 robots in range: the insertion path
  ])('sees only robots within the radius, nearest first, at most K (N=%i, K=%i)', (n, K, radius) => {
    const st = settings({ robots: n, maxNeighbours: K, sensingRadius: radius });
    const ob = new RendezvousObserver(st.observation);
    const frame = randomFrame(n, 2);
    const out = new Float32Array(n * ob.size);
    const ids = new Int32Array(n * K);
    ob.observeAll(frame, 0, n, out, 0, ids, 0);
    const { rowsOffset, maskOffset } = ob.layout;
    let truncated = 0;
    for (let i = 0; i < n; i++) {
      const inRange = [];
      for (let j = 0; j < n; j++) {
        const d = Math.hypot(frame.x[j]! - frame.x[i]!, frame.y[j]! - frame.y[i]!);
        if (j !== i && d <= radius) inRange.push(d);
      }
      inRange.sort((p, q) => p - q);
      if (inRange.length > K) truncated++;
      const o = i * ob.size;
      const seen = Array.from(out.subarray(o + maskOffset, o + maskOffset + K)).reduce((p, q) => p + q, 0);
      expect(seen).toBe(Math.min(K, inRange.length));
      for (let k = 0; k < seen; k++) {
        expect(out[o + rowsOffset + k * ROW_DIM]).toBeCloseTo(inRange[k]! / radius, 6);
        // The row's robot id points at the robot at that distance.
        const j = ids[i * K + k]!;
        expect(Math.hypot(frame.x[j]! - frame.x[i]!, frame.y[j]! - frame.y[i]!)).toBeCloseTo(inRange[k]!, 9);
      }
      for (let k = seen; k < K; k++) {
        expect(out[o + rowsOffset + k * ROW_DIM]).toBe(0);
        expect(ids[i * K + k]).toBe(-1);
      }
    }
    expect(truncated).toBeGreaterThan(0);
  });

  it('reports bearings counter-clockwise in the observer frame and relative headings', () => {
    const two = settings({ robots: 2 });
    const obs2 = new RendezvousObserver(two.observation);
    // Observer at (1, 1) facing +y; the neighbour is to its left (-x in the world).
    const frame: SwarmFrame = {
      x: Float64Array.of(1, 0.5), y: Float64Array.of(1, 1),
      heading: Float64Array.of(Math.PI / 2, Math.PI),
      speed: Float64Array.of(0, 0.07), turnRate: Float64Array.of(0, 0),
      command: Float64Array.of(0.25, -0.5, 0, 0),
    };
    const out = new Float32Array(2 * obs2.size);
    obs2.observeAll(frame, 0, 2, out, 0);
    expect(Array.from(out.subarray(0, OWN_DIM)).map((v) => +v.toFixed(6))).toEqual([0.25, -0.5, 0, 0, 0, 1]);
    const row = Array.from(out.subarray(OWN_DIM, OWN_DIM + ROW_DIM));
    expect(row[0]).toBeCloseTo(0.5 / two.observation.sensingRadius, 6);
    expect(row[1]).toBeCloseTo(0, 6); // cos bearing
    expect(row[2]).toBeCloseTo(1, 6); // sin bearing: on the left
    expect(row[3]).toBeCloseTo(0, 6); // cos(pi - pi/2)
    expect(row[4]).toBeCloseTo(1, 6); // sin(pi/2)
    expect(row[5]).toBeCloseTo(0.07 / two.observation.maxSpeed, 6);
  });

  it("adds bounded noise only to the victim's observation, never to its mask", () => {
    const st = settings({ robots: 6 });
    const clean = new RendezvousWorld(st, { envs: 1, seed: 4 });
    const noisy = new RendezvousWorld(st, { envs: 1, seed: 4 });
    noisy.setVictim(0, { robot: 'epuck-1', observationNoise: 0.2 });
    noisy.resetEnv(0);
    clean.resetEnv(0);
    const sz = clean.obsSize;
    const { maskOffset } = clean.observer.layout;
    let maxDiff = 0;
    for (let f = 0; f < sz; f++) {
      const d = Math.abs(noisy.obs[sz + f]! - clean.obs[sz + f]!);
      if (f >= maskOffset) expect(d).toBe(0);
      maxDiff = Math.max(maxDiff, d);
    }
    expect(maxDiff).toBeGreaterThan(0.05);
    expect(maxDiff).toBeLessThanOrEqual(0.2 + 1e-6);
    for (const k of [0, 2, 3, 4, 5]) {
      expect(Array.from(noisy.obs.subarray(k * sz, (k + 1) * sz))).toEqual(Array.from(clean.obs.subarray(k * sz, (k + 1) * sz)));
    }
  });

  it('writes the global state of every environment for the critic', () => {
    const st = settings({ robots: 3 });
    const world = new RendezvousWorld(st, { envs: 2, seed: 1 });
    const out = new Float32Array(2 * world.stateSize);
    world.globalStates(out);
    expect(out[0]).toBeCloseTo((2 * world.truth.x[0]!) / 2 - 1, 6);
    expect(out[world.stateSize + 1]).toBeCloseTo((2 * world.truth.y[3]!) / 2 - 1, 6);
    expect(out[world.stateSize - 1]).toBe(0);
  });
});
