import { beforeAll, describe, expect, it } from 'vitest';
import { PAIR_DIM } from '../src/core/observation.js';
import { makeController } from '../sim/episode.js';
import { faultByName } from '../src/attacks/faults.js';
import { RendezvousWorld } from '../sim/world.js';
import { beliefSequenceLoss, beliefStep, beliefWeights, createBelief } from '../sim/train/belief.js';
import { initBackend, tf } from '../sim/train/tf.js';
import { settings } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

/** Pair-feature sequences from the twin: consensus robots, a random-wheels victim in half the environments. */
function sequences(seed: number, envs: number, steps: number) {
  const s = settings({ robots: 5, noise: 'default' });
  const N = 5;
  const world = new RendezvousWorld(s, { envs, seed, autoReset: false });
  const victims = Array.from({ length: envs }, (_, e) => (e % 2 === 0 ? (e / 2) % N : -1));
  victims.forEach((v, e) => v >= 0 && world.setVictim(e, { robot: v, override: faultByName('random') }));
  const controller = makeController('consensus', s, 0);
  const actions = new Float32Array(2 * envs * N);
  const B = envs * N * N;
  const features: Float32Array[] = [];
  const labels = new Float32Array(B);
  const masks: Float32Array[] = [];
  for (let e = 0; e < envs; e++) for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) labels[(e * N + i) * N + j] = j === victims[e] ? 1 : 0;
  const pair = new Float32Array(N * N * PAIR_DIM);
  for (let t = 0; t < steps; t++) {
    controller.act(world.obs, envs * N, actions);
    world.step(actions);
    const f = new Float32Array(B * PAIR_DIM);
    const m = new Float32Array(B);
    for (let e = 0; e < envs; e++) {
      world.pairFeatures(e, pair);
      f.set(pair, e * N * N * PAIR_DIM);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const p = (i * N + j) * PAIR_DIM;
          // Count pairs whose neighbour is in range, observed by a robot that is not itself the victim.
          m[(e * N + i) * N + j] = pair[p] === 1 && i !== victims[e] ? 1 : 0;
        }
      }
    }
    features.push(f);
    masks.push(m);
  }
  return { B, features, labels, masks };
}

/** A whole sequence as tensors, one per step. */
function tensors(seq: ReturnType<typeof sequences>, resets?: Float32Array) {
  return {
    features: seq.features.map((f) => tf.tensor2d(f, [seq.B, PAIR_DIM])),
    labels: seq.features.map(() => tf.tensor1d(seq.labels)),
    masks: seq.masks.map((m) => tf.tensor1d(m)),
    resets: resets ? seq.features.map((_, t) => tf.tensor1d(resets.subarray(t * seq.B, (t + 1) * seq.B))) : undefined,
  };
}

describe('belief network', () => {
  it('sequence loss equals the step-by-step unroll, with resets zeroing the state', () => {
    const shape = { hidden: 8 };
    const belief = createBelief(shape, 5);
    const seq = sequences(3, 3, 6);
    const L = seq.features.length;
    const resets = new Float32Array(L * seq.B);
    resets.fill(1, 3 * seq.B, 3 * seq.B + seq.B / 2); // half of the pairs restart at step 3
    const h0 = tf.randomNormal([seq.B, shape.hidden], 0, 0.5, 'float32', 7) as tf.Tensor2D;
    const batched = tf.tidy(() => beliefSequenceLoss(belief, shape, h0, tensors(seq, resets)).dataSync()[0]!);
    let h = h0.arraySync();
    let total = 0;
    let count = 0;
    for (let t = 0; t < L; t++) {
      h = h.map((row, k) => (resets[t * seq.B + k] ? row.map(() => 0) : row));
      const step = tf.tidy(() => beliefStep(belief, shape, tf.tensor2d(seq.features[t]!, [seq.B, PAIR_DIM]), tf.tensor2d(h)));
      const b = step.belief.dataSync();
      h = step.h.arraySync();
      tf.dispose([step.belief, step.h]);
      for (let k = 0; k < seq.B; k++) {
        if (!seq.masks[t]![k]) continue;
        const p = Math.min(Math.max(b[k]!, 1e-6), 1 - 1e-6);
        total -= seq.labels[k] ? Math.log(p) : Math.log(1 - p);
        count++;
      }
    }
    expect(count).toBeGreaterThan(0);
    expect(batched).toBeCloseTo(total / count, 5);
  });

  it('learns from pair features to single out a robot with random wheels', () => {
    const shape = { hidden: 16 };
    const belief = createBelief(shape, 2);
    const train = sequences(1, 8, 30);
    const vars = beliefWeights(belief).map(([, v]) => v);
    const opt = tf.train.adam(0.02);
    const data = tensors(train);
    const h0 = tf.zeros([train.B, shape.hidden]) as tf.Tensor2D;
    const lossAt = () => tf.tidy(() => beliefSequenceLoss(belief, shape, h0, data).dataSync()[0]!);
    const before = lossAt();
    for (let it = 0; it < 60; it++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => beliefSequenceLoss(belief, shape, h0, data), vars);
        opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      });
    }
    expect(lossAt()).toBeLessThan(0.6 * before);

    // Held-out episodes: at the end, pairs pointing at the victim carry clearly higher beliefs.
    const test = sequences(2, 8, 30);
    let h = tf.zeros([test.B, shape.hidden]) as tf.Tensor2D;
    let last = new Float32Array(test.B);
    for (const f of test.features) {
      const step = tf.tidy(() => beliefStep(belief, shape, tf.tensor2d(f, [test.B, PAIR_DIM]), h));
      h.dispose();
      h = step.h;
      last = Float32Array.from(step.belief.dataSync());
      step.belief.dispose();
    }
    // Ranking quality (AUC) of the final beliefs: the chance that a pair pointing at the victim scores above a
    // benign pair. 0.5 would be guessing.
    const mask = test.masks[test.masks.length - 1]!;
    const pos: number[] = [];
    const neg: number[] = [];
    for (let k = 0; k < test.B; k++) if (mask[k]) (test.labels[k] === 1 ? pos : neg).push(last[k]!);
    let wins = 0;
    for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
    expect(pos.length).toBeGreaterThan(5);
    expect(wins / (pos.length * neg.length)).toBeGreaterThan(0.9);
    expect(pos.reduce((a, b) => a + b, 0) / pos.length).toBeGreaterThan(4 * (neg.reduce((a, b) => a + b, 0) / neg.length));
  });
});
