import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxAdversary } from '../src/policy/adversary.js';
import { readManifest } from '../src/policy/folder.js';
import { OnnxTeam } from '../src/policy/team.js';
import { PROJECT_ROOT, resolveSimConfig } from '../sim/config.js';
import type { EvalResult } from '../sim/evaluation.js';
import { evaluateTeam } from '../sim/team-eval.js';

const SHIPPED = ['mappo-rendezvous', 'eir-mappo-rendezvous'];

/** The deployed ONNX team must do as well as the manifest says, within the sampling error of its episodes. */
function expectAsManifest(got: EvalResult, want: { gatherRate: number; meanReturn: number }) {
  expect(got.gatherRate).toBeGreaterThanOrEqual(want.gatherRate - 0.08);
  expect(Math.abs(got.meanReturn - want.meanReturn)).toBeLessThan(0.05 * Math.abs(want.meanReturn));
}

describe('shipped policies', () => {
  for (const name of SHIPPED) {
    const dir = join(PROJECT_ROOT, 'policies', name);
    it.runIf(existsSync(dir))(`policies/${name}, run through onnxruntime as deployed, reproduces its manifest evaluation`, async () => {
      const m = readManifest(dir);
      const settings = resolveSimConfig({ ...(m.training.config.env as object) });
      expect(m.observation.spec).toBe('rendezvous-v1');
      const team = await OnnxTeam.load(dir, settings.observation);
      try {
        // The manifest's held-out episodes on today's twin (its episodes may be drawn differently than at training time).
        const ev = m.evaluation.benign;
        const benign = await evaluateTeam(settings, team, { episodes: ev.episodes, seed: ev.seed });
        expectAsManifest(benign, ev);
        if (name === 'mappo-rendezvous') expect(benign.gatherRate).toBeGreaterThanOrEqual(0.9);
        // A policy that ships its training adversary: the same under that adversary.
        const attacked = m.evaluation['eir-adversary'];
        if (attacked) {
          const adversary = await OnnxAdversary.load(dir, settings.observation);
          try {
            expectAsManifest(await evaluateTeam(settings, team, { episodes: attacked.episodes, seed: attacked.seed, attack: { kind: 'adversary', adversary } }), attacked);
          } finally {
            await adversary.release();
          }
        }
      } finally {
        await team.release();
      }
    }, 300_000);
  }
});
