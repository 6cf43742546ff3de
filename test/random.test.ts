import { describe, expect, it } from 'vitest';
import { deriveSeed, makeStreams } from '../src/core/random.js';

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf approximation, error < 1.5e-7). */
function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp((-x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('seeded random streams', () => {
  it('draws standard normals: moments, tails and the whole distribution', () => {
    const rng = makeStreams(11, 1)[0]!;
    const n = 400_000;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = rng.gaussian();
    let m = 0;
    let v = 0;
    for (const x of xs) {
      m += x;
      v += x * x;
    }
    expect(Math.abs(m / n)).toBeLessThan(0.01);
    expect(v / n).toBeGreaterThan(0.99);
    expect(v / n).toBeLessThan(1.01);
    xs.sort();
    // Kolmogorov-Smirnov distance against the normal CDF; 0.003 is far above chance at this n.
    let ks = 0;
    for (let i = 0; i < n; i += 97) ks = Math.max(ks, Math.abs((i + 0.5) / n - normalCdf(xs[i]!)));
    expect(ks).toBeLessThan(0.003);
    const beyond3 = xs.filter((x) => Math.abs(x) > 3).length / n;
    expect(beyond3).toBeGreaterThan(0.0027 * 0.8);
    expect(beyond3).toBeLessThan(0.0027 * 1.2);
    expect(xs[n - 1]).toBeGreaterThan(3.45); // the tail beyond the ziggurat base is sampled too
  });

  it('draws uniforms and integers in range', () => {
    const rng = makeStreams(5, 1)[0]!;
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) {
      const u = rng.uniform();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      counts[rng.int(0, 2)]!++;
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('gives the same numbers for the same seed and independent streams per index', () => {
    const a = makeStreams(3, 3);
    const b = makeStreams(3, 2);
    const draw = (s: (typeof a)[number]) => Array.from({ length: 5 }, () => s.gaussian());
    expect(draw(a[1]!)).toEqual(draw(b[1]!));
    expect(draw(a[0]!)).not.toEqual(draw(a[2]!));
    expect(() => makeStreams(1.5, 1)).toThrow(/seed must be an integer/);
    expect(() => makeStreams(2 ** 31, 1)).toThrow(/seed must be an integer in/);
  });

  it('starts different seeds from different places (no shared first outputs)', () => {
    const firsts = [1, 2, 7, 42, 999].map((seed) => makeStreams(seed, 1)[0]!.uniform());
    expect(new Set(firsts.map((u) => u.toFixed(3))).size).toBe(5);
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(0.2);
  });

  it('derives independent seeds per purpose', () => {
    const a = makeStreams(deriveSeed(3, 1), 1)[0]!;
    const env = makeStreams(3, 4);
    const draws = Array.from({ length: 4 }, () => a.uniform());
    for (const s of env) expect(Array.from({ length: 4 }, () => s.uniform())).not.toEqual(draws);
    expect(deriveSeed(3, 1)).not.toBe(deriveSeed(3, 2));
    expect(deriveSeed(3, 1)).toBeLessThan(2 ** 31);
  });
});
