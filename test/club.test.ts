import { beforeAll, describe, expect, it } from 'vitest';
import { makeStreams } from '../src/core/random.js';
import { clubEstimate, clubFitLoss, clubFullTerms, clubTerms, clubVariables, createClub, shuffledOrder } from '../sim/train/club.js';
import { initBackend, tf } from '../sim/train/tf.js';

beforeAll(async () => {
  await initBackend();
});

/** Fits q(a | s) on n samples and returns the CLUB estimate on fresh samples of the same law. */
function fitAndEstimate(sample: (n: number, seed: number) => { s: Float32Array; a: Float32Array }, S: number, A: number): number {
  const rng = makeStreams(11, 1)[0]!;
  const club = createClub(S, A, 32, 3);
  const opt = tf.train.adam(0.01);
  const train = sample(2048, 1);
  const s = tf.tensor2d(train.s, [2048, S]);
  const a = tf.tensor2d(train.a, [2048, A]);
  for (let it = 0; it < 150; it++) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => clubFitLoss(club, s, a), clubVariables(club));
      opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    });
  }
  const test = sample(4096, 2);
  return tf.tidy(() => clubEstimate(club, tf.tensor2d(test.s, [4096, S]), tf.tensor2d(test.a, [4096, A]), shuffledOrder(rng, 4096)).dataSync()[0]!);
}

function gaussians(seed: number, n: number): Float32Array {
  const rng = makeStreams(seed, 1)[0]!;
  return Float32Array.from({ length: n }, () => rng.gaussian());
}

describe('CLUB mutual-information estimator', () => {
  it('is near zero for independent states and actions', () => {
    const est = fitAndEstimate((n, seed) => ({ s: gaussians(seed, n * 4), a: gaussians(seed + 100, n * 2) }), 4, 2);
    expect(Math.abs(est)).toBeLessThan(0.1);
  });

  it('is clearly positive when the actions depend on the states', () => {
    // a = (s0 + s1, s2 - s3) / sqrt 2 * 0.9 + 0.3 noise: I(s; a) = 2 * 0.5 * log(1 + 0.81 / 0.09) ~ 2.3 nats.
    const est = fitAndEstimate((n, seed) => {
      const s = gaussians(seed, n * 4);
      const noise = gaussians(seed + 100, n * 2);
      const a = new Float32Array(n * 2);
      for (let i = 0; i < n; i++) {
        a[2 * i] = (0.9 * (s[4 * i]! + s[4 * i + 1]!)) / Math.SQRT2 + 0.3 * noise[2 * i]!;
        a[2 * i + 1] = (0.9 * (s[4 * i + 2]! - s[4 * i + 3]!)) / Math.SQRT2 + 0.3 * noise[2 * i + 1]!;
      }
      return { s, a };
    }, 4, 2);
    expect(est).toBeGreaterThan(1);
  });

  it('the full estimator (every mismatched pair, closed form) equals the mean over all pairings of the sampled one', () => {
    const n = 12;
    const club = createClub(3, 2, 8, 5);
    // Give q some spread of means and variances.
    club.mean.w.assign(tf.mul(club.mean.w, 100));
    club.logVar.w.assign(tf.mul(club.logVar.w, 50));
    const x = tf.tensor2d(gaussians(3, n * 3), [n, 3]);
    const a = tf.tensor2d(gaussians(4, n * 2), [n, 2]);
    const full = Array.from(clubFullTerms(club, x, a).dataSync());
    // Brute force: log q(a_i | x_i) - mean_j log q(a_i | x_j), from the sampled terms of every cyclic shift.
    const shifts = Array.from({ length: n }, (_, k) => Array.from(clubTerms(club, x, a, Int32Array.from({ length: n }, (_, i) => (i + k) % n)).dataSync()));
    for (let i = 0; i < n; i++) {
      const brute = shifts.reduce((s, terms) => s + terms[i]!, 0) / n;
      expect(full[i]).toBeCloseTo(brute, 4);
    }
  });

  it('is larger when the actions depend on an older part of the history than when they are independent of it', () => {
    // x = (h_t, h_t-1) stacked; the action follows h_t-1 only, or nothing.
    const full = (dependent: boolean) => {
      const club = createClub(4, 2, 32, 3);
      const opt = tf.train.adam(0.01);
      const sample = (seed: number, n: number) => {
        const x = gaussians(seed, n * 4);
        const noise = gaussians(seed + 100, n * 2);
        const a = Float32Array.from({ length: n * 2 }, (_, k) => (dependent ? 0.9 * x[4 * Math.floor(k / 2) + 2 + (k % 2)]! : 0) + 0.3 * noise[k]!);
        return { x: tf.tensor2d(x, [n, 4]), a: tf.tensor2d(a, [n, 2]) };
      };
      const train = sample(1, 2048);
      for (let it = 0; it < 150; it++) {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => clubFitLoss(club, train.x, train.a), clubVariables(club));
          opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        });
      }
      const test = sample(2, 2048);
      return tf.tidy(() => tf.mean(clubFullTerms(club, test.x, test.a)).dataSync()[0]!);
    };
    const independent = full(false);
    const dependent = full(true);
    expect(Math.abs(independent)).toBeLessThan(0.1);
    // I = 2 x 0.5 log(1 + 0.81 / 0.09) ~ 2.3 nats.
    expect(dependent).toBeGreaterThan(1.5);
  });
});
