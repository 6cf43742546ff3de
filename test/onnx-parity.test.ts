import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeStreams } from '../src/core/random.js';
import { RendezvousWorld } from '../sim/world.js';
import { actorMean, createActor } from '../sim/train/networks.js';
import { actorToOnnx } from '../sim/train/onnx/export-actor.js';
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
});
