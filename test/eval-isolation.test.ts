// `swarmguard eval-isolation`: the verdict against report from paired differences, and a small real run of the
// command (one variant, two attack rows, two episodes) writing its table and JSON.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIsolationEvaluation, verdictOf, type ModeResult } from '../src/cli/eval-isolation.js';
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

  it('runs report, isolate and isolate-and-stop on the same episodes and writes the tables', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eval-isolation-'));
    const config = join(dir, 'isolation.yaml');
    writeFileSync(config, `variants:\n  - { policy: ${join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous')}, matrix: ${join(PROJECT_ROOT, 'policies/evaluation.yaml')} }\nepisodes: 2\nseed: 11\nout: ${join(dir, 'ISO')}\n`);
    const ev = await runIsolationEvaluation({ config, attack: ['none', 'fault:spin'] }, () => {});
    expect(ev.rows.map((r) => r.attack)).toEqual(['none', 'fault:spin']);
    const [none, spin] = ev.rows as [(typeof ev.rows)[number], (typeof ev.rows)[number]];
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
    expect(JSON.parse(readFileSync(join(dir, 'ISO.json'), 'utf8')).rows).toHaveLength(2);
  }, 120_000);
});
