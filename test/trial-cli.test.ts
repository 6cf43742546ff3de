import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPictureName, formatTrial, runTrial, type TrialOptions } from '../src/cli/trial.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-trial-'));

describe('swarmguard trial', () => {
  it('runs a seeded episode with a fault and draws the attacked robot', async () => {
    const out = join(dir, 'spin.svg');
    const o = { controller: 'consensus', seed: 3, fault: 'spin', victim: 'epuck-4', out, json: false } as const;
    const r = await runTrial(o);
    expect(r.victim).toBe('epuck-4');
    expect(r.metrics.steps).toBe(300);
    // The outcome is over the uncompromised robots; the papers' team return has its own row.
    const text = formatTrial(o, r);
    expect(text).toContain('the uncompromised ones (all but epuck-4)');
    expect(text).toMatch(/gathered at end \(0\.3 m circle\)\s+(yes|no)/);
    expect(text).toMatch(/largest-cluster fraction\s+[01]\.\d\d/);
    expect(text).toMatch(/team return \(papers' protocol\)\s+-\d/);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toContain('epuck-4 (attacked)');
    expect(svg).toContain('fault: spin');
    expect(svg.match(/<polyline/g)).toHaveLength(10);
  });

  it('is reproducible and accepts a victim index', async () => {
    const a = await runTrial({ controller: 'random', seed: 8, fault: 'stuck', victim: '2', out: join(dir, 'a.svg'), json: false });
    const b = await runTrial({ controller: 'random', seed: 8, fault: 'stuck', victim: 'epuck-2', out: join(dir, 'b.svg'), json: false });
    expect(a.metrics).toEqual(b.metrics);
    expect(readFileSync(join(dir, 'a.svg'), 'utf8')).toBe(readFileSync(join(dir, 'b.svg'), 'utf8'));
  });

  it('prints metrics from the command line and fails cleanly on bad input', () => {
    const bin = join(import.meta.dirname, '..', 'src', 'bin', 'swarmguard.js');
    const json = execFileSync('node', [bin, 'trial', '--robots', '4', '--seed', '2', '--json', '-o', join(dir, 'c.svg')], {
      encoding: 'utf8',
    });
    const metrics = JSON.parse(json);
    expect(metrics).toMatchObject({ steps: 300, victim: null });
    expect(typeof metrics.gatheredAtEnd).toBe('boolean');
    expect(metrics.largestClusterFraction).toBeGreaterThan(0);
    expect(metrics.largestClusterFraction).toBeLessThanOrEqual(1);
    expect(metrics.finalMeanPairwiseDistance).toBeGreaterThan(0);
    expect(metrics).toHaveProperty('timeToGather');
    expect(metrics).toHaveProperty('episodeReturn');
    let stderr = '';
    try {
      execFileSync('node', [bin, 'trial', '--fault', 'stuck', '--victim', 'epuck-99', '-o', join(dir, 'd.svg')], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (err) {
      stderr = String((err as { stderr: string }).stderr);
      expect((err as { status: number }).status).toBe(2);
    }
    expect(stderr).toContain("unknown robot id 'epuck-99'");
  });

  it('names the default picture after everything that sets a trial apart, so different trials do not overwrite each other', () => {
    const base: TrialOptions = { controller: 'consensus', seed: 3, json: false };
    const trials: [TrialOptions, string | null][] = [
      [base, null],
      [{ ...base, fault: 'spin' }, 'epuck-0'],
      [{ ...base, fault: 'spin' }, 'epuck-4'],
      [{ ...base, observationNoise: 0.2 }, 'epuck-0'],
      [{ ...base, observationNoise: 0.5 }, 'epuck-0'],
      [{ ...base, fault: 'spin', observationNoise: 0.5 }, 'epuck-0'],
      [{ ...base, noise: 'off' }, null],
      [{ ...base, robots: 4 }, null],
      [{ ...base, controller: 'wmsr', wmsrF: 2 }, null],
      [{ ...base, config: 'launch/arena-small.yaml' }, null],
      [{ ...base, seed: 4 }, null],
    ];
    const names = trials.map(([o, victim]) => defaultPictureName(o, victim));
    expect(new Set(names).size).toBe(names.length);
    expect(names[2]).toBe('runs/trial-consensus-seed3-fault-spin-victim-epuck-4.svg');
    expect(names[4]).toBe('runs/trial-consensus-seed3-obsnoise0.5-victim-epuck-0.svg');
  });
});
