import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeStreams } from '../src/core/random.js';
import { RendezvousWorld } from '../sim/world.js';
import { beliefStep, beliefWeights, createBelief } from '../sim/train/belief.js';
import { actorMean, createActor } from '../sim/train/networks.js';
import { beliefToOnnx } from '../sim/train/onnx/export-belief.js';
import { PAIR_DIM } from '../src/core/observation.js';
import { faultByName } from '../src/attacks/faults.js';
import { actorToOnnx } from '../sim/train/onnx/export-actor.js';
import { actorFromOnnx } from '../sim/train/onnx/import-actor.js';
import { initBackend, tf } from '../sim/train/tf.js';
import { settings } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

describe('ONNX export matches the trained tfjs networks', () => {
  it('actor: same actions from tfjs and onnxruntime on real observations', async () => {
    const s = settings({ robots: 6, noise: 'default' });
    const world = new RendezvousWorld(s, { envs: 4, seed: 3 });
    const shape = { maxNeighbours: s.observation.maxNeighbours, hidden: 32 };
    const actor = createActor(shape, 5);
    // Perturb every weight so the parity check exercises non-default LayerNorm gains and biases too.
    const rng = makeStreams(9, 1)[0]!;
    for (const v of [actor.ownNorm.gain, actor.ownNorm.bias, actor.rowNorm.gain, actor.rowNorm.bias, actor.mean.w, actor.mean.b]) {
      const d = Float32Array.from(v.dataSync(), (x) => x + 0.3 * rng.gaussian());
      v.assign(tf.tensor(d, v.shape));
    }
    // Observations from the twin, some robots seeing fewer neighbours than K.
    world.step(new Float32Array(2 * 24).fill(0.3));
    const batch = 24;
    const obs = world.obs.slice(0, batch * world.obsSize);

    const expected = tf.tidy(() => actorMean(actor, shape, tf.tensor2d(obs, [batch, world.obsSize]))).dataSync();
    const session = await ort.InferenceSession.create(actorToOnnx(actor, shape, world.obsSize, 'parity test'));
    const out = await session.run({ obs: new ort.Tensor('float32', obs, [batch, world.obsSize]) });
    const got = out.action!.data as Float32Array;
    expect(out.action!.dims).toEqual([batch, 2]);
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // The check is not vacuous: actions differ between robots.
    expect(Math.abs(expected[0]! - expected[2]!)).toBeGreaterThan(1e-4);
  });

  it.each([1, 4])('belief-reading actor: same actions with %i beliefs per neighbour row', async (R) => {
    const s = settings({ robots: 6, noise: 'default' });
    const world = new RendezvousWorld(s, { envs: 2, seed: 4 });
    const K = s.observation.maxNeighbours * R;
    const shape = { maxNeighbours: s.observation.maxNeighbours, hidden: 16, beliefInputs: true, beliefsPerRow: R };
    const actor = createActor(shape, 6);
    const rng = makeStreams(12, 1)[0]!;
    const w = Float32Array.from(actor.rowEmbed.w.dataSync(), (x) => x + 0.5 * rng.gaussian());
    actor.rowEmbed.w.assign(tf.tensor(w, actor.rowEmbed.w.shape));
    const mw = Float32Array.from(actor.mean.w.dataSync(), (x) => x + 0.5 * rng.gaussian());
    actor.mean.w.assign(tf.tensor(mw, actor.mean.w.shape));
    const batch = 12;
    const obs = world.obs.slice(0, batch * world.obsSize);
    const beliefs = Float32Array.from({ length: batch * K }, (_, i) => (world.rowIds[Math.floor(i / R)]! >= 0 ? rng.uniform() / R : 0));
    const expected = tf.tidy(() => actorMean(actor, shape, tf.tensor2d(obs, [batch, world.obsSize]), tf.tensor2d(beliefs, [batch, K]))).dataSync();
    const session = await ort.InferenceSession.create(actorToOnnx(actor, shape, world.obsSize, 'parity test'));
    expect([...session.inputNames]).toEqual(['obs', 'beliefs']);
    const out = await session.run({
      obs: new ort.Tensor('float32', obs, [batch, world.obsSize]),
      beliefs: new ort.Tensor('float32', beliefs, [batch, K]),
    });
    const got = out.action!.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // Beliefs matter: flipping them changes the actions.
    const flipped = tf.tidy(() =>
      actorMean(actor, shape, tf.tensor2d(obs, [batch, world.obsSize]), tf.tensor2d(beliefs.map((b) => 1 - b), [batch, K])),
    ).dataSync();
    expect(Math.max(...Array.from(flipped, (v, i) => Math.abs(v - expected[i]!)))).toBeGreaterThan(1e-4);
  });

  it.each([1, 4])('belief GRU over %i adversary types: same beliefs and states over a multi-step sequence, feeding h_out back as h_in', async (R) => {
    const s = settings({ robots: 5, noise: 'default' });
    const world = new RendezvousWorld(s, { envs: 1, seed: 8 });
    world.setVictim(0, { robot: 2, override: faultByName('spin') });
    const shape = { hidden: 16, types: R };
    const belief = createBelief(shape, 4);
    // Non-trivial weights everywhere, so every gate matters in the comparison.
    const rng = makeStreams(10, 1)[0]!;
    for (const [, v] of beliefWeights(belief)) {
      const d = Float32Array.from(v.dataSync(), (x) => x + 0.4 * rng.gaussian());
      v.assign(tf.tensor(d, v.shape));
    }
    const session = await ort.InferenceSession.create(beliefToOnnx(belief, shape, 'parity test'));
    const B = 25;
    let hTf = tf.zeros([B, 16]) as tf.Tensor2D;
    let hOrt = new Float32Array(B * 16);
    const features = new Float32Array(B * PAIR_DIM);
    let maxBelief = 0;
    let maxState = 0;
    let spread = 0;
    for (let t = 0; t < 12; t++) {
      world.step(new Float32Array(10).fill(0.4));
      world.pairFeatures(0, features);
      const step = tf.tidy(() => beliefStep(belief, shape, tf.tensor2d(features, [B, PAIR_DIM]), hTf));
      hTf.dispose();
      hTf = step.h;
      const out = await session.run({
        pair_features: new ort.Tensor('float32', features, [B, PAIR_DIM]),
        h_in: new ort.Tensor('float32', hOrt, [B, 16]),
      });
      const bTf = step.belief.dataSync();
      const bOrt = out.belief!.data as Float32Array;
      const hNext = out.h_out!.data as Float32Array;
      const hT = hTf.dataSync();
      expect(bOrt.length).toBe(B * R);
      for (let i = 0; i < B * R; i++) maxBelief = Math.max(maxBelief, Math.abs(bTf[i]! - bOrt[i]!));
      for (let i = 0; i < hT.length; i++) maxState = Math.max(maxState, Math.abs(hT[i]! - hNext[i]!));
      spread = Math.max(spread, Math.max(...bTf) - Math.min(...bTf));
      hOrt = Float32Array.from(hNext);
      step.belief.dispose();
    }
    expect(maxBelief).toBeLessThan(1e-5);
    expect(maxState).toBeLessThan(1e-5);
    expect(spread).toBeGreaterThan(1e-3); // beliefs differ between pairs: the comparison is not vacuous
  });

  it('an exported actor read back into tfjs (BATPAL\'s frozen pi_0) acts exactly as the original', () => {
    const s = settings({ robots: 6, noise: 'default' });
    const world = new RendezvousWorld(s, { envs: 2, seed: 5 });
    const shape = { maxNeighbours: s.observation.maxNeighbours, hidden: 16 };
    const actor = createActor(shape, 7);
    const rng = makeStreams(3, 1)[0]!;
    actor.mean.w.assign(tf.tensor(Float32Array.from(actor.mean.w.dataSync(), (x) => x + 0.5 * rng.gaussian()), actor.mean.w.shape));
    const bytes = actorToOnnx(actor, shape, world.obsSize, 'round trip');
    const back = actorFromOnnx(bytes, shape, [-1, -1], 'round-trip.onnx');
    const obs = tf.tensor2d(world.obs, [12, world.obsSize]);
    const a = actorMean(actor, shape, obs).dataSync();
    const b = actorMean(back, shape, obs).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(1e-3);
    // A network of another size is refused, naming the file and the weight.
    expect(() => actorFromOnnx(bytes, { ...shape, hidden: 8 }, [-1, -1], 'round-trip.onnx')).toThrow(/round-trip\.onnx: weight 'row_embed\.w'/);
  });
});
