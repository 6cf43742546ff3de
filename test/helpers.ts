import { expect } from 'vitest';
import type { PolicyManifest } from '../src/core/policy-manifest.js';
import { OnnxAdversary } from '../src/policy/adversary.js';
import { OnnxTeam } from '../src/policy/team.js';
import { resolveSimConfig, type SimConfig, type SimSettings } from '../sim/config.js';
import { evaluateTeam } from '../sim/team-eval.js';

/** Twin settings for tests: exact kinematics (noise off) unless a test asks otherwise. */
export function settings(overrides: Partial<Record<keyof SimConfig, unknown>> = {}): SimSettings {
  return resolveSimConfig({ noise: 'off', ...overrides }, 'test config');
}

/**
 * A freshly trained policy folder, deployed through onnxruntime (beliefs per pair, advanced every tick),
 * reproduces the trainer's own tfjs evaluations in its manifest: benign, and under each named adversary
 * the folder ships (manifest key '<name>-adversary').
 */
export async function expectDeployedMatchesTraining(policyDir: string, manifest: PolicyManifest, adversaries: string[]): Promise<void> {
  const settings = resolveSimConfig({ ...(manifest.training.config.env as object) });
  const team = await OnnxTeam.load(policyDir, settings.observation);
  try {
    for (const name of [null, ...adversaries]) {
      const want = manifest.evaluation[name === null ? 'benign' : `${name}-adversary`]!;
      const adversary = name === null ? null : await OnnxAdversary.load(policyDir, settings.observation, name);
      try {
        const got = await evaluateTeam(settings, team, { episodes: want.episodes, seed: want.seed, attack: adversary ? { kind: 'adversary', adversary } : undefined });
        // Different matMul summation orders in onnxruntime and tfjs: equal up to float rounding carried through the episode.
        expect(Math.abs(got.meanReturn - want.meanReturn)).toBeLessThan(1e-3 * Math.abs(want.meanReturn));
      } finally {
        await adversary?.release();
      }
    }
  } finally {
    await team.release();
  }
}
