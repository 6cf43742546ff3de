// The training fingerprint: a shipped policy's manifest records a hash of the weights after the first few
// iterations of the command that trained it; rerunning that prefix at today's code must give the same hash,
// so a change that silently alters training is caught while refactors that keep behaviour pass.
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rerunFingerprint, runTraining } from '../src/cli/train.js';
import { readManifest } from '../src/policy/folder.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { FINGERPRINT_ITERATIONS } from '../sim/train/trainer.js';

const POLICIES = join(PROJECT_ROOT, 'policies');
const fingerprinted = readdirSync(POLICIES)
  .filter((name) => existsSync(join(POLICIES, name, 'manifest.json')))
  .map((name) => ({ name, manifest: readManifest(join(POLICIES, name)) }))
  .filter((p) => p.manifest.training.fingerprint !== undefined);

describe('training fingerprint', () => {
  it('is recorded by the training command and reproduced by rerunning its first iterations; another seed differs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-fingerprint-'));
    const overrides = { env: { robots: 3, noise: 'default', episodeSteps: 20 }, totalEnvSteps: 1200, envs: 4, rolloutSteps: 4, hidden: 16, eval: { every: 2, episodes: 2, seed: 3 }, finalEvalEpisodes: 2 };
    const { manifest } = await runTraining({ overrides, out: join(dir, 'p'), runDir: join(dir, 'run'), quiet: true }, () => {});
    expect(manifest.training.fingerprint?.iterations).toBe(FINGERPRINT_ITERATIONS);
    expect(await rerunFingerprint(manifest)).toEqual(manifest.training.fingerprint);
    const otherSeed = { ...manifest, training: { ...manifest.training, config: { ...manifest.training.config, seed: 2 } } };
    expect((await rerunFingerprint(otherSeed))?.sha256).not.toBe(manifest.training.fingerprint?.sha256);
  }, 120_000);

  for (const { name, manifest } of fingerprinted) {
    it(`policies/${name}: today's code trains its first ${manifest.training.fingerprint!.iterations} iterations exactly as recorded`, async () => {
      expect(await rerunFingerprint(manifest)).toEqual(manifest.training.fingerprint);
    }, 300_000);
  }
});
