import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluationTable, runEvaluation } from '../src/cli/evaluate.js';
import { PROJECT_ROOT } from '../sim/config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const quiet = () => {};

describe('evaluate', () => {
  it('runs a policy under faults, observation noise and a trained adversary on the same seeded episodes', async () => {
    const attacks = ['none', 'fault:spin', 'obs-noise:0.5', join(PROJECT_ROOT, 'policies', 'attacks', 'posthoc-vs-mappo-rendezvous')];
    const cells = await runEvaluation({ policy: [MAPPO], attack: attacks, episodes: 4, seed: 5 }, quiet);
    expect(cells.map((c) => c.attack)).toEqual(['none', 'fault:spin', 'obs-noise:0.5', 'posthoc-vs-mappo-rendezvous']);
    for (const c of cells) {
      expect(c.result.episodes).toBe(4);
      expect(c.result.returnCi95[0]).toBeLessThanOrEqual(c.result.meanReturn);
      expect(c.result.returnCi95[1]).toBeGreaterThanOrEqual(c.result.meanReturn);
    }
    // Same seeds, same policy: the same benign result twice; an attack changes it.
    const again = await runEvaluation({ policy: [MAPPO], attack: ['none'], episodes: 4, seed: 5 }, quiet);
    expect(again[0]!.result.meanReturn).toBe(cells[0]!.result.meanReturn);
    expect(cells[1]!.result.meanReturn).not.toBe(cells[0]!.result.meanReturn);
    const table = evaluationTable(cells);
    expect(table.split('\n')).toHaveLength(2 + attacks.length);
    expect(table).toContain('| fault:spin |');
  }, 120_000);

  it('puts the reference controllers in columns next to the trained policies', async () => {
    const cells = await runEvaluation({ policy: [MAPPO, 'consensus', 'random'], attack: ['fault:stuck'], episodes: 2, seed: 5 }, quiet);
    expect(cells.map((c) => c.policy)).toEqual(['mappo-rendezvous', 'consensus', 'random']);
    // Random wheels never gather; both others do better than them.
    expect(cells[2]!.result.gatherRate).toBe(0);
    expect(cells[0]!.result.meanReturn).toBeGreaterThan(cells[2]!.result.meanReturn);
    expect(cells[1]!.result.meanReturn).toBeGreaterThan(cells[2]!.result.meanReturn);
    // A controller's cell does not depend on the cells before it (its random stream starts afresh).
    const alone = await runEvaluation({ policy: ['random', MAPPO], attack: ['fault:stuck'], episodes: 2, seed: 5 }, quiet);
    expect(alone[0]!.result.meanReturn).toBe(cells[2]!.result.meanReturn);
    const after = await runEvaluation({ policy: [MAPPO, 'random'], attack: ['none', 'fault:stuck'], episodes: 2, seed: 5 }, quiet);
    expect(after[3]!.result.meanReturn).toBe(cells[2]!.result.meanReturn);
  });

  it('rejects an unknown fault, a bad noise bound or a missing folder before any episode runs', async () => {
    const run = (attack: string) => runEvaluation({ policy: [MAPPO], attack: ['none', attack], episodes: 2, seed: 1 }, quiet);
    await expect(run('fault:wobble')).rejects.toThrow(/unknown fault 'wobble'/);
    await expect(run('obs-noise:-1')).rejects.toThrow(/obs-noise:-1/);
    await expect(run(join(PROJECT_ROOT, 'policies', 'nope'))).rejects.toThrow(/nope/);
    await expect(runEvaluation({ policy: [], attack: [], episodes: 2, seed: 1 }, quiet)).rejects.toThrow(/at least one --policy/);
  });
});
