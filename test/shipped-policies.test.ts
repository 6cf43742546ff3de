import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxAdversary } from '../src/policy/adversary.js';
import { readManifest } from '../src/policy/folder.js';
import { OnnxTeam } from '../src/policy/team.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';
import type { EvalResult } from '../sim/evaluation.js';
import { evaluateTeam } from '../sim/team-eval.js';

const SHIPPED = ['mappo-rendezvous', 'eir-mappo-rendezvous', 'mir2-rendezvous', 'batpal-rendezvous'];

/** The deployed ONNX team must do as well as the manifest says, within the sampling error of its episodes. */
function expectAsManifest(got: EvalResult, want: { everGatheredRate: number; meanReturn: number }) {
  expect(got.everGatheredRate).toBeGreaterThanOrEqual(want.everGatheredRate - 0.08);
  expect(Math.abs(got.meanReturn - want.meanReturn)).toBeLessThan(0.05 * Math.abs(want.meanReturn));
}

describe('shipped policies', () => {
  for (const name of SHIPPED) {
    const dir = join(PROJECT_ROOT, 'policies', name);
    it(`policies/${name}, run through onnxruntime as deployed, reproduces its manifest evaluation`, async () => {
      const m = readManifest(dir);
      const settings = resolveSwarmConfig({ ...(m.training.config.env as object) });
      expect(m.observation.spec).toBe('rendezvous-v1');
      const team = await OnnxTeam.load(dir, settings.observation);
      try {
        // The manifest's held-out episodes on today's twin (its episodes may be drawn differently than at training time).
        const ev = m.evaluation.benign;
        const benign = await evaluateTeam(settings, team, { episodes: ev.episodes, seed: ev.seed });
        expectAsManifest(benign, ev);
        if (name === 'mappo-rendezvous') expect(benign.everGatheredRate).toBeGreaterThanOrEqual(0.9);
        // A policy that ships its training adversaries: the same under each (manifest key '<name>-adversary').
        for (const [key, attacked] of Object.entries(m.evaluation)) {
          if (!key.endsWith('-adversary')) continue;
          const adversary = await OnnxAdversary.load(dir, settings.observation, key.slice(0, -'-adversary'.length));
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

describe('shipped BATPAL severity adversaries', () => {
  it("severity.json holds what the adversaries really do to pi_0: each one's recorded return against it reproduced through onnxruntime", async () => {
    const dir = join(PROJECT_ROOT, 'policies', 'batpal-rendezvous');
    const report = JSON.parse(readFileSync(join(dir, 'severity.json'), 'utf8')) as {
      reference: string;
      vMax: number;
      vMin: number;
      episodes: number;
      seed: number;
      types: { type: string; severity: number; referenceReturn: number }[];
    };
    expect(report.types.map((t) => t.type)).toEqual(['severity-1', 'severity-2', 'severity-3', 'severity-4']);
    const piDir = join(PROJECT_ROOT, report.reference);
    const settings = resolveSwarmConfig({ ...(readManifest(piDir).training.config.env as object) });
    const pi0 = await OnnxTeam.load(piDir, settings.observation);
    try {
      for (const t of report.types) {
        const adversary = await OnnxAdversary.load(dir, settings.observation, t.type);
        try {
          const got = await evaluateTeam(settings, pi0, { episodes: report.episodes, seed: report.seed, attack: { kind: 'adversary', adversary } });
          expect(Math.abs(got.meanReturn - t.referenceReturn)).toBeLessThan(0.02 * Math.abs(t.referenceReturn));
          expect(t.severity).toBeCloseTo((report.vMax - t.referenceReturn) / (report.vMax - report.vMin), 9);
        } finally {
          await adversary.release();
        }
      }
    } finally {
      await pi0.release();
    }
  }, 300_000);
});
