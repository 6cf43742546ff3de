import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTraining } from '../src/cli/train.js';
import { resolveSimConfig } from '../sim/config.js';
import { DEFAULT_MIR2, resolveTrainConfig } from '../sim/train/config.js';
import { Mir2Trainer } from '../sim/train/mir2.js';
import { clubEstimate } from '../sim/train/club.js';
import { actorMean } from '../sim/train/networks.js';
import { initBackend, tf } from '../sim/train/tf.js';

beforeAll(async () => {
  await initBackend();
});

function trainer(lambda: number) {
  const config = resolveTrainConfig(
    { algo: 'mir2', envs: 4, rolloutSteps: 6, decisionTicks: 2, hidden: 16, env: { robots: 3, noise: 'off', episodeSteps: 12 }, mir2: { lambda } },
    'test',
  );
  return new Mir2Trainer(config, resolveSimConfig(config.env));
}

describe('MIR2', () => {
  it('the regulariser in the actor loss lowers the CLUB estimate at the mean joint actions; rewards and experience untouched', () => {
    const plain = trainer(0);
    const regularised = trainer(10);
    plain.collect();
    regularised.collect();
    type Inside = { buffer: { rewards: Float32Array; actions: Float32Array; obs: Float32Array; states: Float32Array; shape: { steps: number; envs: number; robots: number; obsSize: number; stateSize: number } } };
    const a = (plain as unknown as Inside).buffer;
    const b = (regularised as unknown as Inside).buffer;
    expect(Array.from(b.actions)).toEqual(Array.from(a.actions)); // same seed, same experience
    expect(Array.from(b.rewards)).toEqual(Array.from(a.rewards)); // the regulariser is not in the reward
    plain.update();
    regularised.update();
    // Same data, same PPO minibatches, same q: only the regulariser term in the actor's loss differs.
    const { steps: T, envs: E, robots: N, obsSize, stateSize } = a.shape;
    const S = T * E;
    // The full CLUB (every mismatched pair): the average over all cyclic shifts.
    const clubAtMeans = (t: Mir2Trainer) =>
      tf.tidy(() => {
        const joint = actorMean(t.actor, t.actorShape, tf.tensor2d(a.obs, [S * N, obsSize])).reshape([S, 2 * N]) as tf.Tensor2D;
        const states = tf.tensor2d(a.states, [S, stateSize]);
        let sum = 0;
        for (let k = 1; k < S; k++) sum += clubEstimate(t.club, states, joint, Int32Array.from({ length: S }, (_, i) => (i + k) % S)).dataSync()[0]!;
        return sum / (S - 1);
      });
    expect(clubAtMeans(regularised)).toBeLessThan(clubAtMeans(plain));
  });

  it('trains through the command into a policy folder, and refuses a mir2 block for another algorithm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-mir2-'));
    const { manifest } = await runTraining(
      {
        algo: 'mir2',
        overrides: {
          env: { robots: 3, noise: 'off', episodeSteps: 20 }, totalEnvSteps: 400, envs: 4, rolloutSteps: 4, hidden: 16,
          eval: { every: 1, episodes: 2, seed: 3 }, finalEvalEpisodes: 3,
        },
        out: join(dir, 'mir2'),
        runDir: join(dir, 'run'),
        quiet: true,
      },
      () => {},
    );
    expect(manifest.algorithm).toBe('mir2');
    expect(Object.keys(manifest.files)).toEqual(['actor.onnx']);
    expect((manifest.training.config.mir2 as { lambda: number }).lambda).toBe(DEFAULT_MIR2.lambda);
    expect(() => resolveTrainConfig({ algo: 'mappo', mir2: { lambda: 1 } }, 'cfg')).toThrow(/mir2: only used with algo mir2/);
    expect(() => resolveTrainConfig({ algo: 'mir2', mir2: { lamda: 1 } }, 'cfg')).toThrow(/lamda/);
    expect(() => resolveTrainConfig({ algo: 'mir2', mir2: 3 }, 'cfg')).toThrow(/mir2: expected a block of settings, got number/);
    expect(() => resolveTrainConfig({ algo: 'eir-mappo', eir: null }, 'cfg')).toThrow(/eir: expected a block of settings, got null/);
  });
});
