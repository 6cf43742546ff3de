import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalise, outcomeTable, runEvaluation, teamReturnTable } from '../src/cli/evaluate.js';
import { PROJECT_ROOT } from '../sim/config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const quiet = () => {};
const base = { quiet: true } as const;

describe('eval', () => {
  it('runs a policy under faults, observation noise and a trained adversary on the same seeded episodes', async () => {
    const attacks = ['none', 'fault:spin', 'obs-noise:0.5', join(PROJECT_ROOT, 'policies', 'attacks', 'posthoc-vs-mappo-rendezvous')];
    const { cells } = await runEvaluation({ ...base, policy: [MAPPO], attack: attacks, episodes: 4, seed: 5 }, quiet);
    expect(cells.map((c) => c.attack)).toEqual(['none', 'fault:spin', 'obs-noise:0.5', 'posthoc-vs-mappo-rendezvous']);
    for (const c of cells) {
      expect(c.result.episodes).toBe(4);
      expect(c.result.returnCi95[0]).toBeLessThanOrEqual(c.result.meanReturn);
      expect(c.result.returnCi95[1]).toBeGreaterThanOrEqual(c.result.meanReturn);
    }
    // Same seeds, same policy: the same benign result twice; an attack changes it.
    const again = await runEvaluation({ ...base, policy: [MAPPO], attack: ['none'], episodes: 4, seed: 5 }, quiet);
    expect(again.cells[0]!.result.meanReturn).toBe(cells[0]!.result.meanReturn);
    expect(cells[1]!.result.meanReturn).not.toBe(cells[0]!.result.meanReturn);
  }, 120_000);

  it('normalises against random wheels (0) and the reference policy unattacked (1), and writes tables, heatmap and JSON', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'swarmguard-eval-')), 'EVALUATION');
    const ev = await runEvaluation({ ...base, policy: [MAPPO, 'consensus'], attack: ['none', 'fault:stuck'], episodes: 3, seed: 5, out }, quiet);
    // The random controller's benign cell is measured for the normalisation even when not asked for.
    expect(ev.cells.map((c) => c.policy)).toEqual(['mappo-rendezvous', 'consensus', 'mappo-rendezvous', 'consensus']);
    const mappoBenign = ev.cells[0]!.result.meanReturn;
    expect(ev.normalisation.vMax).toBe(mappoBenign);
    expect(ev.normalisation.reference).toBe('mappo-rendezvous');
    expect(ev.normalisation.vRandom).toBeLessThan(mappoBenign);
    expect(normalise(mappoBenign, ev.normalisation)).toBeCloseTo(1, 12);
    expect(normalise(ev.normalisation.vRandom, ev.normalisation)).toBeCloseTo(0, 12);
    const returns = teamReturnTable(ev);
    expect(returns.split('\n')).toHaveLength(2 + 2 + 1); // header, rule, two attacks, mean over attacks
    expect(returns).toContain('| fault:stuck |');
    expect(returns).toMatch(/\| none \| 1\.00 \[/);
    // The headline: the uncompromised robots at the end, gathered % [interval] · spread · largest cluster.
    const outcome = outcomeTable(ev);
    expect(outcome.split('\n')).toHaveLength(2 + 2 + 1);
    const r = ev.cells[0]!.result;
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    expect(outcome).toContain(
      `| none | ${pct(r.gatheredAtEndRate)} [${pct(r.gatheredAtEndCi95[0])}, ${pct(r.gatheredAtEndCi95[1])}] · ${r.meanFinalDistance.toFixed(2)} m · ${r.meanLargestClusterFraction.toFixed(2)} |`,
    );
    const md = readFileSync(`${out}.md`, 'utf8');
    expect(md.indexOf('## Uncompromised robots at the end')).toBeLessThan(md.indexOf("## Team return (papers' protocol)"));
    expect(md).toContain(outcome);
    expect(md).toContain(returns);
    expect(md).toContain('V_random');
    expect(readFileSync(`${out}.svg`, 'utf8')).toContain('gathered at end');
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { cells: { result: Record<string, unknown> }[] };
    expect(json.cells).toHaveLength(4);
    for (const c of json.cells) {
      expect(c.result).toHaveProperty('gatheredAtEndRate');
      expect(c.result).toHaveProperty('gatheredAtEndCi95');
      expect(c.result).toHaveProperty('meanLargestClusterFraction');
      expect(c.result).toHaveProperty('meanFinalDistance');
      expect(c.result).toHaveProperty('meanReturn');
    }
  });

  it('puts the reference controllers in columns next to the trained policies; their cells do not depend on the others', async () => {
    const { cells } = await runEvaluation({ ...base, policy: [MAPPO, 'consensus', 'random'], attack: ['fault:stuck'], episodes: 2, seed: 5 }, quiet);
    expect(cells.map((c) => c.policy)).toEqual(['mappo-rendezvous', 'consensus', 'random']);
    // Random wheels never gather; both others do better than them.
    expect(cells[2]!.result.gatherRate).toBe(0);
    expect(cells[0]!.result.meanReturn).toBeGreaterThan(cells[2]!.result.meanReturn);
    expect(cells[1]!.result.meanReturn).toBeGreaterThan(cells[2]!.result.meanReturn);
    const alone = await runEvaluation({ ...base, policy: ['random', MAPPO], attack: ['fault:stuck'], episodes: 2, seed: 5, jobs: 1 }, quiet);
    expect(alone.cells[0]!.result.meanReturn).toBe(cells[2]!.result.meanReturn);
  });

  it('reads a matrix file; flags given on the command line win', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eval-'));
    const file = join(dir, 'matrix.yaml');
    writeFileSync(file, `policy: [${MAPPO}]\nattack: [none, 'fault:spin']\nepisodes: 2\nseed: 9\n`);
    const ev = await runEvaluation({ ...base, config: file, policy: [], attack: [], seed: 7 }, quiet);
    expect(ev.cells.map((c) => c.attack)).toEqual(['none', 'fault:spin']);
    expect(ev.episodes).toBe(2);
    expect(ev.seed).toBe(7);
    writeFileSync(file, `policy: [${MAPPO}]\nattack: [none]\nepisode: 2\n`);
    await expect(runEvaluation({ ...base, config: file, policy: [], attack: [], episodes: 2, seed: 1 }, quiet)).rejects.toThrow(/episode/);
  });

  it('rejects an unknown fault, a bad noise bound, a missing folder or adversary before any episode runs', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'swarmguard-eval-')), 'E');
    const run = (attack: string) => runEvaluation({ ...base, policy: [MAPPO], attack: ['none', attack], episodes: 2, seed: 1, out }, quiet);
    await expect(run('fault:wobble')).rejects.toThrow(/unknown fault 'wobble'/);
    await expect(run('obs-noise:-1')).rejects.toThrow(/obs-noise:-1/);
    await expect(run(join(PROJECT_ROOT, 'policies', 'nope'))).rejects.toThrow(/nope/);
    await expect(run(`${MAPPO}@severity-9`)).rejects.toThrow(/ships no adversary/);
    await expect(runEvaluation({ ...base, policy: [], attack: [], episodes: 2, seed: 1 }, quiet)).rejects.toThrow(/at least one --policy/);
    expect(existsSync(`${out}.md`)).toBe(false);
  });
});
