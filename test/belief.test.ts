import { beforeAll, describe, expect, it } from 'vitest';
import { PAIR_DIM } from '../src/core/observation.js';
import { makeController } from '../sim/episode.js';
import { faultByName } from '../sim/faults.js';
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

describe('belief network', () => {
  it('learns from pair features to single out a robot with random wheels', () => {
    const shape = { hidden: 16 };
    const belief = createBelief(shape, 2);
    const train = sequences(1, 8, 30);
    const vars = beliefWeights(belief).map(([, v]) => v);
    const opt = tf.train.adam(0.02);
    const tensors = () => ({
      f: train.features.map((f) => tf.tensor2d(f, [train.B, PAIR_DIM])),
      y: train.features.map(() => tf.tensor1d(train.labels)),
      m: train.masks.map((m) => tf.tensor1d(m)),
    });
    const data = tensors();
    const h0 = tf.zeros([train.B, shape.hidden]) as tf.Tensor2D;
    const lossAt = () => tf.tidy(() => beliefSequenceLoss(belief, shape, h0, data.f, data.y, data.m).dataSync()[0]!);
    const before = lossAt();
    for (let it = 0; it < 60; it++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => beliefSequenceLoss(belief, shape, h0, data.f, data.y, data.m), vars);
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
