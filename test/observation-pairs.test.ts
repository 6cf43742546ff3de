// observeAll computes each pair's distance and directions once for both observers (src/core/observation.ts).
// This pins it, bit for bit, to each observer computing its own view from the frame: the plain definition.
import { describe, expect, it } from 'vitest';
import { GLOBAL_SPEC_ID, LOCAL_SPEC_ID, ROW_DIM, RendezvousObserver, type ObservationSpec, type SwarmFrame } from '../src/core/observation.js';
import { makeStreams } from '../src/core/random.js';

/** Robot i's neighbour rows, row ids and observed pairs as i alone computes them: everyone in range, nearest first, index order on ties. */
function reference(spec: ObservationSpec, f: SwarmFrame, n: number, isolated: Uint8Array | undefined) {
  const K = spec.maxNeighbours;
  const rows = new Float32Array(n * K * ROW_DIM);
  const mask = new Float32Array(n * K);
  const ids = new Int32Array(n * K).fill(-1);
  const pairs: number[][] = [];
  for (let i = 0; i < n; i++) {
    const ci = Math.cos(f.heading[i]!);
    const si = Math.sin(f.heading[i]!);
    const seen: { j: number; d: number; ux: number; uy: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i || (isolated && isolated[j])) continue;
      const dx = f.x[j]! - f.x[i]!;
      const dy = f.y[j]! - f.y[i]!;
      if (dx * dx + dy * dy > spec.sensingRadius * spec.sensingRadius) continue;
      const d = Math.sqrt(dx * dx + dy * dy);
      seen.push({ j, d, ux: d > 0 ? dx / d : NaN, uy: d > 0 ? dy / d : NaN });
    }
    const kept = [...seen].sort((a, b) => a.d - b.d || a.j - b.j).slice(0, K);
    pairs.push((spec.id === LOCAL_SPEC_ID ? kept : seen).map((c) => c.j).sort((a, b) => a - b));
    kept.forEach((c, k) => {
      const r = (i * K + k) * ROW_DIM;
      const cj = Math.cos(f.heading[c.j]!);
      const sj = Math.sin(f.heading[c.j]!);
      rows.set([
        c.d * (1 / spec.sensingRadius),
        c.ux === c.ux ? c.ux * ci + c.uy * si : 1,
        c.ux === c.ux ? c.uy * ci - c.ux * si : 0,
        cj * ci + sj * si,
        sj * ci - cj * si,
        f.speed[c.j]! * (1 / spec.maxSpeed),
        f.turnRate[c.j]! * (1 / spec.maxTurnRate),
      ], r);
      mask[i * K + k] = 1;
      ids[i * K + k] = c.j;
    });
  }
  return { rows, mask, ids, pairs };
}

/** A frame with the awkward cases: coincident robots, equal x or y (a zero difference), exact distance ties. */
function awkwardFrame(n: number, side: number, seed: number): SwarmFrame {
  const rng = makeStreams(seed, 1)[0]!;
  const f = {
    x: new Float64Array(n), y: new Float64Array(n), heading: new Float64Array(n),
    speed: new Float64Array(n), turnRate: new Float64Array(n), command: new Float64Array(2 * n),
  };
  for (let k = 0; k < n; k++) {
    f.x[k] = rng.range(0, side);
    f.y[k] = rng.range(0, side);
    f.heading[k] = rng.range(-Math.PI, Math.PI);
    f.speed[k] = rng.range(-0.15, 0.15);
    f.turnRate[k] = rng.range(-5, 5);
    const u = rng.uniform();
    if (k > 0 && u < 0.1) f.x[k] = f.x[k - 1]!; // a shared x: +0 difference both ways
    else if (k > 0 && u < 0.2) f.y[k] = f.y[k - 1]!;
    else if (k > 0 && u < 0.25) [f.x[k], f.y[k]] = [f.x[k - 1]!, f.y[k - 1]!]; // coincident: no bearing
  }
  // Four robots at the same distance from robot 0, two of them on its x; headings of exactly 0 keep the
  // sign of a zero bearing term in the sums.
  [[1, 1], [1.25, 1], [0.75, 1], [1, 1.25], [1, 0.75]].forEach(([px, py], k) => {
    f.x[k] = px!;
    f.y[k] = py!;
    f.heading[k] = 0;
  });
  return f;
}

describe('observations: pairs shared between their two observers', () => {
  for (const id of [GLOBAL_SPEC_ID, LOCAL_SPEC_ID] as const) {
    it(`${id}: rows, row ids and observed pairs are bit-identical to each observer's own computation`, () => {
      for (const [n, side, K, radius, gridFrom] of [[12, 2, 9, 1.5, Infinity], [40, 3, 5, 0.8, Infinity], [70, 6, 6, 1, 0]] as const) {
        const spec: ObservationSpec = { id, maxNeighbours: K, sensingRadius: radius, arenaWidth: side, arenaHeight: side, maxSpeed: 0.15, maxTurnRate: 5 };
        for (const isolate of [false, true]) {
          const f = awkwardFrame(n, side, n + (isolate ? 1 : 0));
          const isolated = isolate ? Uint8Array.from({ length: n }, (_, k) => (k % 7 === 3 ? 1 : 0)) : undefined;
          const o = new RendezvousObserver(spec);
          o.gridFrom = gridFrom;
          const out = new Float32Array(n * o.size);
          const ids = new Int32Array(n * K);
          o.observeAll(f, 0, n, out, 0, ids, 0, isolated);
          const want = reference(spec, f, n, isolated);
          const { rowsOffset, maskOffset, size } = o.layout;
          const rows = new Float32Array(n * K * ROW_DIM);
          const mask = new Float32Array(n * K);
          for (let i = 0; i < n; i++) {
            rows.set(out.subarray(i * size + rowsOffset, i * size + maskOffset), i * K * ROW_DIM);
            mask.set(out.subarray(i * size + maskOffset, (i + 1) * size), i * K);
          }
          // Bytes, so that -0 and +0 differ.
          expect(new Uint8Array(rows.buffer)).toEqual(new Uint8Array(want.rows.buffer));
          expect(mask).toEqual(want.mask);
          expect(ids).toEqual(want.ids);
          const { start, neighbour } = o.observedPairs;
          expect(Array.from({ length: n }, (_, i) => Array.from(neighbour.subarray(start[i], start[i + 1])))).toEqual(want.pairs);
        }
      }
    });
  }
});
