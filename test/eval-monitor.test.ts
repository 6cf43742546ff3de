import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMonitorEvaluation, score } from '../src/cli/eval-monitor.js';
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
    // 1 false alarm over (20 x 2 - 10) clean robot-ticks of 0.1 s.
    expect(r.falseAlarmsPerRobotHour).toBeCloseTo(1 / ((30 * 0.1) / 3600), 6);
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
    expect(readFileSync(`${out}.md`, 'utf8')).toContain('| fault:spin | consistency | 100% |');
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
