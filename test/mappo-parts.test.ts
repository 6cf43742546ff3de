import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFolder, writePolicyFolder } from '../src/policy/folder.js';
import { RolloutBuffer, ValueNormalizer } from '../sim/train/buffer.js';
import { applyDense, createActor, dense, gaussianLogProb } from '../sim/train/networks.js';
import { actorToOnnx } from '../sim/train/onnx/export-actor.js';
import { initBackend, tf } from '../sim/train/tf.js';

beforeAll(async () => {
  await initBackend();
});

describe('rollout buffer', () => {
  it('computes GAE per environment and stops at episode ends', () => {
    const b = new RolloutBuffer({ steps: 3, envs: 2, robots: 1, obsSize: 1, stateSize: 1 });
    // env 0: rewards 1, 1, 1; values 0.5 each; bootstrap 2. env 1: an episode ends after step 1.
    b.rewards.set([1, 0, 1, 0, 1, 0]);
    b.values.set([0.5, 0, 0.5, 0, 0.5, 0, 2, 5]);
    b.dones.set([0, 0, 0, 1, 0, 0]);
    const g = 0.9;
    const l = 0.8;
    b.computeAdvantages(g, l);
    const d2 = 1 + g * 2 - 0.5;
    const d1 = 1 + g * 0.5 - 0.5;
    const d0 = 1 + g * 0.5 - 0.5;
    const a2 = d2;
    const a1 = d1 + g * l * a2;
    const a0 = d0 + g * l * a1;
    expect(b.advantages[4]).toBeCloseTo(a2, 6);
    expect(b.advantages[2]).toBeCloseTo(a1, 6);
    expect(b.advantages[0]).toBeCloseTo(a0, 6);
    expect(b.returns[0]).toBeCloseTo(a0 + 0.5, 6);
    // env 1: step 1 ends the episode, so step 1 does not bootstrap and step 0 sees only step 1's delta chain.
    const e12 = 0 + g * 5 - 0; // step 2: reward 0, bootstrap 5, value 0
    expect(b.advantages[5]).toBeCloseTo(e12, 6);
    expect(b.advantages[3]).toBeCloseTo(0, 6); // terminal: r=0, no bootstrap, V=0
    expect(b.advantages[1]).toBeCloseTo(0 + g * 0 - 0 + g * l * 0, 6);
  });

  it('normalises values with running statistics and inverts exactly', () => {
    const vn = new ValueNormalizer(0.99);
    vn.update(Float32Array.from([10, 12, 14, 16]));
    expect(vn.denormalize(vn.normalize(13))).toBeCloseTo(13, 9);
    expect(vn.normalize(13)).toBeCloseTo(0, 6);
    expect(vn.normalize(15.236)).toBeCloseTo(1, 2); // std of the batch is sqrt(5)
  });
});

describe('networks', () => {
  it('the hand-written matMul gradient equals the built-in one', () => {
    const p = dense(5, 4, 1, 3);
    const x = tf.randomNormal([7, 5], 0, 1, 'float32', 1);
    const fast = tf.grads((xx: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(applyDense({ w: w as tf.Variable, b: p.b }, xx))));
    const ref = tf.grads((xx: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(xx as tf.Tensor2D, w as tf.Tensor2D), p.b))));
    const [fx, fw] = fast([x, p.w]);
    const [rx, rw] = ref([x, p.w]);
    expect(tf.max(tf.abs(tf.sub(fx!, rx!))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.sub(fw!, rw!))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('computes Gaussian log-densities', () => {
    const lp = gaussianLogProb(tf.tensor2d([[0, 1]]), tf.tensor1d([0, Math.log(2)]), tf.tensor2d([[1, 1]]));
    expect(lp.dataSync()[0]).toBeCloseTo(-0.5 - 0.5 * Math.log(2 * Math.PI) - Math.log(2) - 0.5 * Math.log(2 * Math.PI), 5);
  });
});

describe('policy folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-policy-'));
  const shape = { maxNeighbours: 9, hidden: 8 };
  const obsSize = 6 + 9 * 8;
  const manifest = {
    format: 'swarmguard-policy/1' as const,
    name: 't',
    algorithm: 'mappo' as const,
    environment: { id: 'rendezvous' as const, version: 1 as const, robots: 10 },
    observation: {
      spec: 'rendezvous-v1' as const, size: obsSize, maxNeighbours: 9, sensingRadius: 1.5,
      arenaWidth: 2, arenaHeight: 2, maxSpeed: 0.14, maxTurnRate: 5.3,
    },
    action: { kind: 'normalised-wheel-commands' as const, size: 2 as const, low: -1 as const, high: 1 as const, deployed: 'mean' as const, logStd: [-1, -1] },
    controlPeriod: 0.1,
    beliefTypes: [],
    hiddenSizes: { actor: 8 },
    training: { command: 'test', seed: 1, envSteps: 1, iterations: 1, wallSeconds: 1, commit: 'x', backend: 'wasm', config: {} },
    evaluation: {
      benign: { episodes: 1, seed: 1, noise: 'off', meanReturn: -1, everGatheredRate: 0, meanFinalDistance: 1, meanTimeToGather: null, collisionsPerRobotMinute: 0 },
    },
  };
  const write = (name: string, inputShape: (number | string)[] = ['batch', obsSize]) =>
    writePolicyFolder(join(dir, name), manifest, {
      'actor.onnx': {
        bytes: actorToOnnx(createActor(shape, 1), shape, obsSize, 'test'),
        inputs: [{ name: 'obs', shape: inputShape, dtype: 'float32' }],
        outputs: [{ name: 'action', shape: ['batch', 2], dtype: 'float32' }],
      },
    });

  it('loads a folder whose manifest matches its files', async () => {
    write('ok');
    const p = await loadPolicyFolder(join(dir, 'ok'));
    expect(p.manifest.observation.spec).toBe('rendezvous-v1');
  });

  it('rejects a model file changed after the manifest was written', async () => {
    write('tampered');
    const f = join(dir, 'tampered', 'actor.onnx');
    const bytes = readFileSync(f);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(f, bytes);
    await expect(loadPolicyFolder(join(dir, 'tampered'))).rejects.toThrow(/actor\.onnx: sha256 .* does not match manifest\.json/);
  });

  it('rejects a manifest whose shapes or names differ from the model', async () => {
    write('shape', ['batch', obsSize + 1]);
    await expect(loadPolicyFolder(join(dir, 'shape'))).rejects.toThrow(/input 'obs' has shape \[batch, 78\], manifest says \[batch, 79\]/);
    const m = JSON.parse(readFileSync(join(dir, 'ok', 'manifest.json'), 'utf8'));
    m.files['actor.onnx'].outputs[0].name = 'wheels';
    writeFileSync(join(dir, 'ok', 'manifest.json'), JSON.stringify(m));
    await expect(loadPolicyFolder(join(dir, 'ok'))).rejects.toThrow(/manifest lists output 'wheels' but the model has action/);
    m.observation.spec = 'rendezvous-v0';
    writeFileSync(join(dir, 'ok', 'manifest.json'), JSON.stringify(m));
    await expect(loadPolicyFolder(join(dir, 'ok'))).rejects.toThrow(/manifest\.json: observation\.spec/);
  });

  it('does not replace an existing folder unless forced', () => {
    expect(() => write('ok')).toThrow(/already exists; pass --force/);
  });
});
