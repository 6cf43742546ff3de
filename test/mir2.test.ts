import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTraining } from '../src/cli/train.js';
import { resolveSimConfig } from '../sim/config.js';
import { resolveTrainConfig } from '../sim/train/config.js';
import { Mir2Trainer } from '../sim/train/mir2.js';
import { initBackend } from '../sim/train/tf.js';

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
  it("subtracts lambda times each decision's CLUB term from the team reward, and nothing else changes", () => {
    const plain = trainer(0);
    const regularised = trainer(0.5);
    plain.collect();
    regularised.collect();
    const a = (plain as unknown as { buffer: { rewards: Float32Array; actions: Float32Array } }).buffer;
    const b = (regularised as unknown as { buffer: { rewards: Float32Array; actions: Float32Array } }).buffer;
    expect(Array.from(b.actions)).toEqual(Array.from(a.actions)); // same seed, same experience
    let diff = 0;
    for (let i = 0; i < a.rewards.length; i++) diff += a.rewards[i]! - b.rewards[i]!;
    const club = (regularised as unknown as { lastClub: number }).lastClub;
    expect(diff / a.rewards.length).toBeCloseTo(0.5 * club, 4);
    expect(Array.from(a.rewards).some((r, i) => Math.abs(r - b.rewards[i]!) > 1e-6)).toBe(true);
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
    expect((manifest.training.config.mir2 as { lambda: number }).lambda).toBe(0.01);
    expect(() => resolveTrainConfig({ algo: 'mappo', mir2: { lambda: 1 } }, 'cfg')).toThrow(/mir2: only used with algo mir2/);
    expect(() => resolveTrainConfig({ algo: 'mir2', mir2: { lamda: 1 } }, 'cfg')).toThrow(/lamda/);
  });
});
