// `swarmguard eval-isolation`: the verdict against report from paired differences, and a small real run of the
// command (one variant, two attack rows, two episodes) writing its table and JSON.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { poolAdversaryRows, runIsolationEvaluation, verdictOf, type ModeResult } from '../src/cli/eval-isolation.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const mode = (gathered: [number, number] | null, spread: [number, number] | null): ModeResult =>
  ({ vsReport: { gathered: { mean: 0, ci95: gathered }, spread: { mean: 0, ci95: spread }, largestCluster: { mean: 0, ci95: null } } }) as ModeResult;

describe('eval-isolation', () => {
  it('calls a mode worse only where its paired interval excludes no difference the wrong way, better where it does the right way', () => {
    expect(verdictOf(mode([-0.3, -0.05], [-0.01, 0.01]))).toBe('worse');
    expect(verdictOf(mode([-0.1, 0.1], [0.001, 0.02]))).toBe('worse');
    expect(verdictOf(mode([0.05, 0.4], [-0.01, 0.01]))).toBe('better');
    expect(verdictOf(mode([0, 0], [-0.02, -0.001]))).toBe('better');
    expect(verdictOf(mode([-0.1, 0.1], [-0.01, 0.01]))).toBe('no measurable difference');
    // Better in one, worse in the other: worse.
    expect(verdictOf(mode([0.05, 0.4], [0.001, 0.02]))).toBe('worse');
  });

  it('pools the trained-adversary rows per episode (the mean over rows), leaving out an episode any row could not score', () => {
    const diffs = (gathered: (number | null)[], spread: (number | null)[]) => ({ isolate: { gathered, spread }, 'isolate-and-stop': { gathered: gathered.map((g) => (g === null ? null : -g)), spread } });
    const pooled = poolAdversaryRows('p', [
      { attack: 'a', differences: diffs([1, 0, -1, 1], [0.1, 0, 0, 0.2]) },
      { attack: 'b', differences: diffs([0, 0, null, 1], [0.3, 0, 0.5, 0.2]) },
    ])!;
    expect(pooled.rows).toEqual(['a', 'b']);
    // Episode 2 is left out (row b unscored there): per episode 0.5, 0, 1 -> mean 0.5.
    expect(pooled.episodes).toBe(3);
    expect(pooled.isolate.gathered.mean).toBeCloseTo(0.5, 12);
    expect(pooled['isolate-and-stop'].gathered.mean).toBeCloseTo(-0.5, 12);
    expect(pooled.isolate.spread.mean).toBeCloseTo((0.2 + 0 + 0.2) / 3, 12);
    const [lo, hi] = pooled.isolate.gathered.ci95!;
    expect(lo).toBeLessThan(0.5);
    expect(hi).toBeGreaterThan(0.5);
    expect(poolAdversaryRows('p', [])).toBeNull();
  });

  it('runs report, isolate and isolate-and-stop on the same episodes and writes the tables', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eval-isolation-'));
    const config = join(dir, 'isolation.yaml');
    writeFileSync(config, `variants:\n  - { policy: ${join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous')}, matrix: ${join(PROJECT_ROOT, 'policies/evaluation.yaml')} }\nepisodes: 2\nseed: 11\nout: ${join(dir, 'ISO')}\n`);
    const ev = await runIsolationEvaluation({ config, attack: ['none', 'fault:spin', 'policies/attacks/dyn2-vs-mappo-rendezvous'] }, () => {});
    // Rows in the matrix's order.
    expect(ev.rows.map((r) => r.attack)).toEqual(['none', 'dyn2-vs-mappo-rendezvous', 'fault:spin']);
    const [none, dyn2, spin] = ev.rows as [(typeof ev.rows)[number], (typeof ev.rows)[number], (typeof ev.rows)[number]];
    expect(none.modes.map((m) => m.onFlag)).toEqual(['report', 'isolate', 'isolate-and-stop']);
    // Benign and unflagged: nothing to act on, the report episodes stand for the others.
    expect(none.modes[1]).toMatchObject({ ran: 0, falseIsolations: 0, gatheredAtEndRate: none.modes[0]!.gatheredAtEndRate });
    // A spinning robot is flagged in every episode: rerun, and isolated most of the time.
    expect(spin.modes[1]).toMatchObject({ ran: 2, episodes: 2 });
    expect(spin.modes[1]!.victimIsolations).toBeGreaterThanOrEqual(2);
    expect(spin.modes[1]!.victimIsolatedFraction).toBeGreaterThan(0.9);
    // isolate-and-stop holds it, then releases it on probation without letting it rejoin: one isolation per
    // fault, like isolate (without the probation a held robot was cleared and re-isolated again and again).
    expect(spin.modes[2]).toMatchObject({ ran: 2, episodes: 2 });
    expect(spin.modes[2]!.victimIsolations).toBe(spin.modes[1]!.victimIsolations);
    expect(spin.modes[2]!.victimIsolatedFraction).toBeGreaterThan(0.9);
    expect(existsSync(join(dir, 'ISO.json'))).toBe(true);
    const md = readFileSync(join(dir, 'ISO.md'), 'utf8');
    expect(md).toMatch(/\| eir-mappo-rendezvous \| fault:spin \| \d+% \[\d+%, \d+%\] \/ \d+% \[\d+%, \d+%\] \/ \d+% \[/);
    // Only the trained adversary's row is pooled; its pooled difference is that row's own.
    expect(ev.pooled).toHaveLength(1);
    expect(ev.pooled[0]).toMatchObject({ policy: 'eir-mappo-rendezvous', rows: ['dyn2-vs-mappo-rendezvous'], episodes: 2 });
    expect(ev.pooled[0]!.isolate.gathered.mean).toBeCloseTo(dyn2.modes[1]!.vsReport.gathered.mean, 12);
    expect(ev.pooled[0]!['isolate-and-stop'].spread.mean).toBeCloseTo(dyn2.modes[2]!.vsReport.spread.mean, 12);
    expect(md).toMatch(/## Trained adversaries pooled[\s\S]*\| eir-mappo-rendezvous \| 1 \| 2 \| /);
    const json = JSON.parse(readFileSync(join(dir, 'ISO.json'), 'utf8'));
    expect(json.rows).toHaveLength(3);
    expect(json.pooled).toHaveLength(1);
  }, 120_000);
});
