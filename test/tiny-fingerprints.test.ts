// Tiny runs of every trainer, pinned: the weights' fingerprint (weightsFingerprint) after the first
// FINGERPRINT_ITERATIONS iterations of small seeded configurations. A refactor of the trainers must leave
// every one unchanged (the shipped policies' fingerprints cover only their own long configurations). A
// change that alters training on purpose updates the pins here and says why in its commit. Measured on the
// wasm backend, stable from run to run; BATPAL's and the posthoc adversary's runs read the shipped
// policies/mappo-rendezvous (and BATPAL its worst-case adversary), so retraining those changes their pins.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingIteration } from '../src/cli/train.js';
import { OnnxTeam } from '../src/policy/team.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';
import { PosthocAdversaryTrainer, resolveAdversaryConfig } from '../sim/train/adversary.js';
import { weightsFingerprint } from '../sim/train/checkpoint.js';
import { resolveTrainConfig } from '../sim/train/config.js';
import { actorWeights, criticWeights } from '../sim/train/networks.js';
import { initBackend } from '../sim/train/tf.js';
import { createTrainer, FINGERPRINT_ITERATIONS } from '../sim/train/trainer.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const SMALL = { seed: 1, env: { robots: 4, noise: 'default', episodeSteps: 20 }, envs: 4, rolloutSteps: 4, hidden: 16, totalEnvSteps: 2000 };
const THREE = { robots: 3, noise: 'default', episodeSteps: 20 };

const RUNS: { name: string; config: Record<string, unknown>; sha256: string }[] = [
  { name: 'mappo', config: { ...SMALL, algo: 'mappo' }, sha256: '8372f9c11ca9084a3ab874b552877026d587b6bedcb28c03e8b7b9711cf4426b' },
  { name: 'mappo, lrDecay', config: { ...SMALL, algo: 'mappo', lrDecay: true, env: THREE }, sha256: '26ba5b62e4de34b2e5341854fc5f75f51c3ecaedca8b94d9ff61ec72f45fa349' },
  { name: 'eir-mappo', config: { ...SMALL, algo: 'eir-mappo' }, sha256: '196e321e2ab4a764b30f44b1455e952c9dd61d3b2d1538ebba18b73090ae7dc6' },
  {
    name: 'eir-mappo, adversaryInterval 2, lrDecay',
    config: { ...SMALL, algo: 'eir-mappo', lrDecay: true, eir: { adversaryInterval: 2 } },
    sha256: '84d2a523f76cb3e5477ba7a6127f0bd5d145a4f63ee5312d5669f39fb02d5b98',
  },
  { name: 'eir-mappo, oracle', config: { ...SMALL, algo: 'eir-mappo', env: THREE, eir: { oracle: true } }, sha256: '6bd62304b7effe31c5f22aece788839fdfc22b81300c91688c420209206d3cad' },
  { name: 'mir2', config: { ...SMALL, algo: 'mir2' }, sha256: '5b3a29710d74cdf4c1ca841a0d20e4cd2c6fbf65c9d86063259de4b985847561' },
  {
    name: 'batpal (the shipped reference and worst case)',
    config: { ...SMALL, algo: 'batpal', env: { robots: 10, noise: 'default' }, totalEnvSteps: 100_000, batpal: { referenceEnvs: 2, v0StartStates: 8 } },
    sha256: '4e5a031a0845563620ef9c2c25e431c942abfa04d6c6c03a1a7f8e493aad69f0',
  },
];

describe('tiny-run training fingerprints', () => {
  for (const run of RUNS) {
    it(`${run.name}: the weights after ${FINGERPRINT_ITERATIONS} iterations are as pinned`, () => {
      const config = resolveTrainConfig(run.config, run.name);
      const trainer = createTrainer(config, resolveSwarmConfig(config.env));
      for (let i = 0; i < FINGERPRINT_ITERATIONS; i++) trainer.iterate();
      expect(trainer.fingerprint()).toBe(run.sha256);
    }, 120_000);
  }

  it('evaluations between iterations (through the evaluation loop) leave training untouched', async () => {
    const config = resolveTrainConfig({ ...SMALL, algo: 'eir-mappo', eval: { every: 1, episodes: 2, seed: 3 } }, 'test');
    const trainer = createTrainer(config, resolveSwarmConfig(config.env));
    for (let i = 0; i < FINGERPRINT_ITERATIONS; i++) await trainingIteration(trainer, config);
    await trainer.extraEvaluations(2, 5);
    expect(trainer.fingerprint()).toBe(RUNS[2]!.sha256);
  }, 120_000);

  it('posthoc adversary against the shipped MAPPO team: its actor and critic after 3 iterations are as pinned', async () => {
    const settings = resolveSwarmConfig({ robots: 10, noise: 'default', episodeSteps: 20 });
    const team = await OnnxTeam.load(join(PROJECT_ROOT, 'policies', 'mappo-rendezvous'), settings.observation);
    try {
      const trainer = new PosthocAdversaryTrainer(resolveAdversaryConfig({ envs: 4, rolloutSteps: 4, hidden: 16 }, 'test'), settings, team);
      for (let i = 0; i < 3; i++) await trainer.iterate();
      expect(weightsFingerprint({ actor: actorWeights(trainer.actor), critic: criticWeights(trainer.critic) })).toBe('06b77d24b9bb9a5bbdf6b309231c763d5c8b949a0a7883fba985be28e11a6424');
    } finally {
      await team.release();
    }
  }, 120_000);
});
