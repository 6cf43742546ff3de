import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMonitorEvaluation, score, poissonCi95, reweighted } from '../src/cli/eval-monitor.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const thresholds = { flagAt: 0.8, clearAt: 0.3, flagTicks: 2, clearTicks: 3 };

/** 2 robots, 20 ticks; robot 1 compromised in [5, 15). */
function episode(sig: (t: number, j: number) => number) {
  const s = new Float64Array(40);
  for (let t = 0; t < 20; t++) for (let j = 0; j < 2; j++) s[t * 2 + j] = sig(t, j);
  return { attack: 'x', victim: 1, fromTick: 5, toTick: 15, ticks: 20, robots: 2, signals: { belief: s, consistency: s, fused: s } };
}

describe('monitor evaluation', () => {
  it('counts a detection with its delay, and a flag on a clean robot as a false alarm', () => {
    // Robot 1 rises at tick 7 (flagged at 8: two ticks above); robot 0 spikes for 3 ticks at 2..4.
    const ep = episode((t, j) => (j === 1 ? (t >= 7 && t < 15 ? 0.9 : 0) : t >= 2 && t < 5 ? 0.95 : 0));
    const r = score([ep], 'fused', thresholds, 0.1);
    expect(r.detectionRate).toBe(1);
    expect(r.meanTimeToDetectS).toBeCloseTo(0.3, 9);
    expect(r.detectionInTimeRate).toBe(1);
    // 1 false alarm over (20 x 2 - 10) clean robot-ticks of 0.1 s, with its exact Poisson interval.
    const hours = (30 * 0.1) / 3600;
    expect(r.cleanRobotHours).toBeCloseTo(hours, 12);
    expect(r.falseAlarms).toBe(1);
    expect(r.falseAlarmsPerRobotHour).toBeCloseTo(1 / hours, 6);
    expect(r.falseAlarmsCi95[0]).toBeCloseTo(0.0253 / hours, 0);
    expect(r.falseAlarmsCi95[1] * hours).toBeCloseTo(5.572, 2);
  });

  it('counts a detection later than 5 s after the attack started as detected, but not in time', () => {
    // 100 ticks of 0.1 s, robot 1 attacked from tick 5 to 95, flagged from tick 70 on (6.6 s in).
    const s = new Float64Array(200);
    for (let t = 70; t < 95; t++) s[t * 2 + 1] = 0.9;
    const ep = { attack: 'x', victim: 1, fromTick: 5, toTick: 95, ticks: 100, robots: 2, signals: { belief: s, consistency: s, fused: s } };
    const r = score([ep], 'fused', thresholds, 0.1);
    expect(r.detectionRate).toBe(1);
    expect(r.detectionInTimeRate).toBe(0);
    expect(r.detectionInTimeCi95![1]).toBeGreaterThan(0);
  });

  it('exact Poisson intervals: none seen still bounds the rate; ten seen', () => {
    const [lo0, hi0] = poissonCi95(0);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(3.689, 3);
    const [lo10, hi10] = poissonCi95(10);
    expect(lo10).toBeCloseTo(4.795, 3);
    expect(hi10).toBeCloseTo(18.39, 2);
    expect(() => poissonCi95(-1)).toThrow(/event count/);
  });

  it('rescoring with another belief weight: weight 0 is the consistency signal alone', () => {
    const ep = episode((t, j) => (j === 1 && t >= 7 ? 0.5 : 0));
    const b = Float64Array.from({ length: 40 }, (_, k) => (k % 2 ? 1 : 0));
    const mixed = { ...ep, signals: { belief: b, consistency: ep.signals.consistency, fused: ep.signals.consistency } };
    expect(Array.from(reweighted([mixed], 0)[0]!.signals.fused)).toEqual(Array.from(ep.signals.consistency));
    // Weight 1: noisy-OR, 1 - (1 - b)(1 - c).
    expect(reweighted([mixed], 1)[0]!.signals.fused[15]).toBe(1);
    expect(reweighted([mixed], 0.5)[0]!.signals.fused[15]).toBeCloseTo(1 - 0.5 * 0.5, 12);
  });

  it('a flag raised only after the attack ended is a false alarm, not a detection', () => {
    const ep = episode((t, j) => (j === 1 && t >= 15 ? 0.9 : 0));
    const r = score([ep], 'fused', thresholds, 0.1);
    expect(r.detectionRate).toBe(0);
    expect(r.meanTimeToDetectS).toBeNull();
    expect(r.falseAlarmsPerRobotHour).toBeGreaterThan(0);
  });

  it('runs seeded batch trials and writes the table, JSON and ROC picture', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'swarmguard-mon-')), 'monitor');
    const { detectors: results, rendezvous } = await runMonitorEvaluation(
      { policy: join(PROJECT_ROOT, 'policies', 'mappo-rendezvous'), attack: ['none', 'fault:spin'], episodes: 1, seed: 9, at: 2, duration: 3, length: 8, out, quiet: true },
      () => {},
    );
    const spin = results.find((r) => r.attack === 'fault:spin' && r.detector === 'consistency')!;
    expect(spin.detectionRate).toBe(1);
    expect(results.find((r) => r.attack === 'none' && r.detector === 'fused')!.falseAlarmsPerRobotHour).toBe(0);
    expect(readFileSync(`${out}.md`, 'utf8')).toContain('| fault:spin | consistency | 100% [');
    expect(readFileSync(`${out}.md`, 'utf8')).toContain('| belief weight |');
    expect(readFileSync(`${out}-roc.svg`, 'utf8')).toContain('<polyline');
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(json.roc.fused).toHaveLength(19);
    // The uncompromised robots' outcome per attack (robot e mod N left out in benign episodes too).
    expect(rendezvous.map((r) => r.attack)).toEqual(['none', 'fault:spin']);
    for (const r of rendezvous) {
      expect(r.episodes).toBe(1);
      expect([0, 1]).toContain(r.gatheredAtEndRate);
      expect(r.gatheredAtEndCi95[0]).toBeLessThanOrEqual(r.gatheredAtEndRate);
      expect(r.meanLargestClusterFraction).toBeGreaterThan(0);
      expect(r.meanLargestClusterFraction).toBeLessThanOrEqual(1);
    }
    expect(json.rendezvous).toEqual(rendezvous);
    expect(readFileSync(`${out}.md`, 'utf8')).toMatch(/\| fault:spin \| 1 \| (0|100)% \[/);
  });
});
