// gatherRate, the share of episodes gathered at some step, is everGatheredRate in the code (issue 18): writers
// write the new name, and manifests, EVALUATION*.json files and curve.csv files written under the old name
// (the shipped ones under policies/, never edited by hand) are read under the new one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { MetricsSchema } from '../src/core/policy-manifest.js';
import { readManifest } from '../src/policy/folder.js';
import { readAdversaryManifest } from '../src/policy/adversary.js';
import { readEvaluation } from '../src/cli/evaluate.js';
import { currentCurveRow, curveCsv, parseCurveCsv } from '../sim/train/curves.js';
import { evaluationMetrics, summariseEpisodes } from '../sim/evaluation.js';

const shipped = (...p: string[]) => join(PROJECT_ROOT, 'policies', ...p);
const rawJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('everGatheredRate (gatherRate before)', () => {
  it('a shipped policy manifest and adversary manifest written with gatherRate are read with everGatheredRate', () => {
    const raw = rawJson(shipped('mappo-rendezvous', 'manifest.json'));
    expect(raw.evaluation.benign).toHaveProperty('gatherRate');
    const manifest = readManifest(shipped('mappo-rendezvous'));
    expect(manifest.evaluation.benign.everGatheredRate).toBe(raw.evaluation.benign.gatherRate);
    expect(manifest.evaluation.benign).not.toHaveProperty('gatherRate');
    const adversaryRaw = rawJson(shipped('attacks', 'posthoc-vs-mappo-rendezvous', 'manifest.json'));
    const adversary = readAdversaryManifest(shipped('attacks', 'posthoc-vs-mappo-rendezvous'));
    expect(adversary.evaluation.attacked.everGatheredRate).toBe(adversaryRaw.evaluation.attacked.gatherRate);
    expect(adversary.evaluation.benign.everGatheredRate).toBe(adversaryRaw.evaluation.benign.gatherRate);
  });

  it('metrics holding both names, or neither, are refused', () => {
    const metrics = { episodes: 1, seed: 1, noise: 'off', meanReturn: -1, meanFinalDistance: 1, meanTimeToGather: null, collisionsPerRobotMinute: 0 };
    expect(MetricsSchema.parse({ ...metrics, gatherRate: 0.5 })).toEqual({ ...metrics, everGatheredRate: 0.5 });
    expect(MetricsSchema.safeParse({ ...metrics, gatherRate: 0.5, everGatheredRate: 0.5 }).success).toBe(false);
    expect(MetricsSchema.safeParse(metrics).success).toBe(false);
  });

  it('the shipped EVALUATION*.json files are read with everGatheredRate in every cell', () => {
    for (const file of ['EVALUATION.json', 'EVALUATION-local.json']) {
      const raw = rawJson(shipped(file));
      const ev = readEvaluation(shipped(file));
      expect(ev.cells).toHaveLength(raw.cells.length);
      ev.cells.forEach((c, k) => {
        expect(c.result.everGatheredRate).toBe(raw.cells[k].result.gatherRate);
        expect(c.result).not.toHaveProperty('gatherRate');
      });
    }
  });

  it('shipped curve.csv files and checkpoint rows are read with the new column names', () => {
    const text = readFileSync(shipped('mappo-rendezvous', 'curve.csv'), 'utf8');
    expect(text.split('\n')[0]!.split(',')).toContain('gatherRate');
    const rows = parseCurveCsv(text);
    expect(rows[0]).toHaveProperty('everGatheredRate');
    expect(rows.some((r) => 'gatherRate' in r)).toBe(false);
    expect(rows.some((r) => typeof r.evalEverGatheredRate === 'number')).toBe(true);
    expect(currentCurveRow({ iteration: 1, gatherRate: 0.5, evalGatherRate: 0.25 })).toEqual({ iteration: 1, everGatheredRate: 0.5, evalEverGatheredRate: 0.25 });
    const adversaryCurve = parseCurveCsv(readFileSync(shipped('attacks', 'posthoc-vs-mappo-rendezvous', 'curve.csv'), 'utf8'));
    expect(adversaryCurve[0]).toHaveProperty('teamEverGatheredRate');
  });

  it('writers write only the new name', () => {
    const episode = { episodeReturn: -1, defenderReturn: -1, steps: 10, finalMeanPairwiseDistance: 0.2, timeToGather: 1, collisionsPerRobotMinute: 0, wallHitsPerRobotMinute: 0, gatheredAtEnd: false, largestClusterFraction: 0.5 };
    const written = evaluationMetrics(summariseEpisodes([episode, { ...episode, timeToGather: null }]), 1, 'off');
    expect(written.everGatheredRate).toBe(0.5);
    expect(JSON.stringify(written)).not.toContain('gatherRate');
    const header = curveCsv([{ iteration: 1, everGatheredRate: 1, evalEverGatheredRate: 1 }]).split('\n')[0]!.split(',');
    expect(header).toEqual(expect.arrayContaining(['everGatheredRate', 'evalEverGatheredRate']));
    expect(header).not.toContain('gatherRate');
    expect(header).not.toContain('evalGatherRate');
  });
});
