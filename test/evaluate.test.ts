import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { normalise, outcomeTable, pairedDifference, pairedTable, runEvaluation, teamReturnTable, type Evaluation } from '../src/cli/evaluate.js';
import { sha256 } from '../src/policy/folder.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { studentT95 } from '../sim/evaluation.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const POSTHOC = join(PROJECT_ROOT, 'policies', 'attacks', 'posthoc-vs-mappo-rendezvous');
const quiet = () => {};
const base = { quiet: true } as const;

/**
 * A copy of the shipped MAPPO folder standing in for another training seed: its manifest says `seed`, and its
 * first hidden layer's weights are scaled by `scale` (1: the very same team), so its episodes differ.
 */
function mappoSeed(dir: string, name: string, seed: number, scale: number): string {
  const to = join(dir, name);
  cpSync(MAPPO, to, { recursive: true });
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(join(to, 'actor.onnx')));
  const layer = model.graph!.initializer!.find((t) => t.name === 'hidden1.w')!;
  const weights = new Float32Array(Uint8Array.from(layer.rawData!).buffer);
  for (let i = 0; i < weights.length; i++) weights[i]! *= scale;
  layer.rawData = new Uint8Array(weights.buffer);
  const bytes = onnxProto.onnx.ModelProto.encode(model).finish();
  writeFileSync(join(to, 'actor.onnx'), bytes);
  const manifest = JSON.parse(readFileSync(join(to, 'manifest.json'), 'utf8'));
  manifest.files['actor.onnx'].sha256 = sha256(bytes);
  manifest.training.seed = seed;
  writeFileSync(join(to, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return to;
}

const cell = (ev: Evaluation, policy: string, attack: string) => ev.cells.find((c) => c.policy === policy && c.attack === attack)!;

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
    expect(cells[2]!.result.everGatheredRate).toBe(0);
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

  it('compromises two robots per episode in 2x rows, scored against the 2x:none row over the same N - 2 robots', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'swarmguard-eval-')), 'E');
    const ev = await runEvaluation({ ...base, policy: [MAPPO], attack: ['none', '2x:none', '2x:fault:spin', `2x:${POSTHOC}`], episodes: 2, seed: 5, out }, quiet);
    expect(ev.cells.map((c) => [c.attack, c.victims])).toEqual([['none', 1], ['2x:none', 2], ['2x:fault:spin', 2], ['2x:posthoc-vs-mappo-rendezvous', 2]]);
    // Benign with one or two robots left out: the same team return (nobody attacked), other robots scored.
    expect(cell(ev, 'mappo-rendezvous', '2x:none').result.meanReturn).toBe(cell(ev, 'mappo-rendezvous', 'none').result.meanReturn);
    expect(cell(ev, 'mappo-rendezvous', '2x:none').result.meanFinalDistance).not.toBe(cell(ev, 'mappo-rendezvous', 'none').result.meanFinalDistance);
    expect(cell(ev, 'mappo-rendezvous', `2x:posthoc-vs-mappo-rendezvous`).result.meanReturn).toBeLessThan(cell(ev, 'mappo-rendezvous', '2x:none').result.meanReturn);
    const md = readFileSync(`${out}.md`, 'utf8');
    expect(md).toContain('(e + floor(N/2)) mod N');
    expect(md).toContain('| 2x:fault:spin |');
    // Benign rows stay out of the means over attacks.
    expect(outcomeTable(ev)).toMatch(/\*\*mean over attacks\*\*/);
  });

  it('a paired difference of a team against itself is exactly 0 with a zero-width interval; against another, the per-episode mean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eval-'));
    const copy = join(dir, 'mappo-copy');
    cpSync(MAPPO, copy, { recursive: true });
    const ev = await runEvaluation({ ...base, policy: [MAPPO, copy, 'consensus'], attack: ['none', 'fault:spin', '2x:fault:spin'], episodes: 3, seed: 5 }, quiet);
    expect(ev.normalisation.reference).toBe('mappo-rendezvous');
    for (const attack of ['none', 'fault:spin', '2x:fault:spin']) {
      for (const policy of ['mappo-rendezvous', 'mappo-copy']) expect(cell(ev, policy, attack).pairedVsReference).toEqual({ meanDifference: 0, ci95: [0, 0] });
      const consensus = cell(ev, 'consensus', attack);
      expect(consensus.pairedVsReference.meanDifference).toBeCloseTo(consensus.result.gatheredAtEndRate - cell(ev, 'mappo-rendezvous', attack).result.gatheredAtEndRate, 12);
    }
    expect(pairedTable(ev)).toContain('| none | 0.0 pp [0.0, 0.0] | 0.0 pp [0.0, 0.0] |');
    // Differences (0, -1, 1, 1): mean 0.25, s = sqrt(2.75 / 3), interval 0.25 +- t(3) s / 2 with t(3) = 3.1824.
    const d = pairedDifference([1, 0, 1, 1], [1, 1, 0, 0]);
    expect(d.meanDifference).toBe(0.25);
    expect(studentT95(3)).toBeCloseTo(3.18245, 5);
    const half = (studentT95(3) * Math.sqrt(2.75 / 3)) / 2;
    expect(d.ci95![0]).toBeCloseTo(0.25 - half, 12);
    expect(d.ci95![1]).toBeCloseTo(0.25 + half, 12);
    expect(pairedDifference([1], [0])).toEqual({ meanDifference: 1, ci95: null });
  });

  it('a method over seeds: the mean gathered-at-end rate over seeds with a t-interval (n - 1 dof) from the per-seed rates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eval-'));
    // Seed 1 is the shipped team itself; seeds 2 and 3 are other teams (seed 3's first layer nearly zeroed: it
    // cannot gather, so the seeds' rates differ whatever the shipped team's robustness to its weights' scale).
    const seeds = [mappoSeed(dir, 'm-s1', 1, 1), mappoSeed(dir, 'm-s2', 2, 0.6), mappoSeed(dir, 'm-s3', 3, 0.05)];
    const file = join(dir, 'matrix.yaml');
    writeFileSync(file, `policy:\n  - ${MAPPO}\n  - mappo-seeds: [${seeds.join(', ')}]\nattack: [none, '2x:fault:spin']\nepisodes: 6\nseed: 5\nout: ${join(dir, 'E')}\n`);
    const ev = await runEvaluation({ ...base, config: file, policy: [], attack: [] }, quiet);
    expect(ev.cells.map((c) => c.policy)).toEqual(['mappo-rendezvous', 'mappo-seeds', 'mappo-rendezvous', 'mappo-seeds']);
    const t2 = 4.302653; // Student's t, 2 degrees of freedom, two-sided 95%
    expect(studentT95(2)).toBeCloseTo(t2, 6);
    let rateSpread = 0;
    for (const attack of ['none', '2x:fault:spin']) {
      const c = cell(ev, 'mappo-seeds', attack);
      const s = c.seeds!;
      expect(s.folders).toEqual(['m-s1', 'm-s2', 'm-s3']);
      // Each seed is evaluated on its own: seed 1, the same weights as the shipped folder, gives its result.
      expect(s.results[0]).toEqual(cell(ev, 'mappo-rendezvous', attack).result);
      const rates = s.results.map((r) => r.gatheredAtEndRate);
      const mean = (rates[0]! + rates[1]! + rates[2]!) / 3;
      const sd = Math.sqrt(rates.reduce((a, r) => a + (r - mean) ** 2, 0) / 2);
      expect(s.gatheredAtEndRate).toBeCloseTo(mean, 12);
      expect(s.gatheredAtEndCi95[0]).toBeCloseTo(mean - (t2 * sd) / Math.sqrt(3), 5);
      expect(s.gatheredAtEndCi95[1]).toBeCloseTo(mean + (t2 * sd) / Math.sqrt(3), 5);
      rateSpread = Math.max(rateSpread, sd);
      // The pooled cell holds every seed's episodes; its rate is the same mean.
      expect(c.result.episodes).toBe(18);
      expect(c.result.gatheredAtEndRate).toBeCloseTo(mean, 12);
      // Paired against the reference: an episode counts the fraction of seeds gathered, so the mean is the difference of rates.
      expect(c.pairedVsReference.meanDifference).toBeCloseTo(mean - cell(ev, 'mappo-rendezvous', attack).result.gatheredAtEndRate, 12);
    }
    expect(rateSpread).toBeGreaterThan(0); // the seeds do differ, so the interval is a real one
    const md = readFileSync(join(dir, 'E.md'), 'utf8');
    expect(md).toContain('| attack | mappo-rendezvous | mappo-seeds (3 seeds) |');
    expect(md).toContain('t-interval over seeds');
    const json = JSON.parse(readFileSync(join(dir, 'E.json'), 'utf8')) as Evaluation;
    expect(json.cells[1]!.seeds!.gatheredAtEndCi95).toEqual(cell(ev, 'mappo-seeds', 'none').seeds!.gatheredAtEndCi95);
    expect(json.cells[1]!.pairedVsReference).toEqual(cell(ev, 'mappo-seeds', 'none').pairedVsReference);
  }, 120_000);

  it('refuses a bad method over seeds or matrix key, naming the key, before any episode runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eval-'));
    const file = join(dir, 'matrix.yaml');
    const out = join(dir, 'E');
    const MIR2 = join(PROJECT_ROOT, 'policies', 'mir2-rendezvous');
    const s2 = mappoSeed(dir, 'm-s2', 2, 1);
    const run = (policy: string, extra = '') => {
      writeFileSync(file, `policy:\n${policy}\nattack: [none]\nepisodes: 1\nout: ${out}\n${extra}`);
      return runEvaluation({ ...base, config: file, policy: [], attack: [] }, quiet);
    };
    await expect(run(`  - mappo-seeds: [${MAPPO}]`)).rejects.toThrow(/matrix\.yaml: policy\.0\.mappo-seeds: a method over seeds lists at least 2 policy folders/);
    await expect(run(`  - { a: [${MAPPO}, ${s2}], b: [${MIR2}, ${s2}] }`)).rejects.toThrow(/matrix\.yaml: policy\.0: a method over seeds is one key.*got 2 keys \(a, b\)/);
    await expect(run(`  - mappo-seeds: ${MAPPO}`)).rejects.toThrow(/policy\.0\.mappo-seeds: a list of policy folders/);
    await expect(run('  - 3')).rejects.toThrow(/matrix\.yaml: policy\.0: expected a string or a mapping, received 3/);
    await expect(run(`  - consensus: [${MAPPO}, ${s2}]`)).rejects.toThrow(/policy\.0\.consensus: 'consensus' is a reference controller's name/);
    await expect(run(`  - mixed: [${MAPPO}, ${MIR2}]`)).rejects.toThrow(/policy\.0\.mixed: .*mir2-rendezvous was trained with mir2, .*mappo-rendezvous with mappo/);
    await expect(run(`  - same: [${MAPPO}, ${mappoSeed(dir, 'm-s1', 1, 1)}]`)).rejects.toThrow(/policy\.0\.same: .*both trained with seed 1/);
    await expect(run(`  - ${MAPPO}\n  - m: [${MAPPO}, ${s2}]`)).rejects.toThrow(/mappo-rendezvous is listed twice/);
    await expect(run(`  - ${MAPPO}\n  - mappo-rendezvous: [${join(dir, 'm-s1')}, ${s2}]`)).rejects.toThrow(/two columns are named 'mappo-rendezvous'/);
    await expect(run(`  - m: [${MAPPO}, ${s2}]`, `reference: ${s2}\n`)).rejects.toThrow(/the reference .*m-s2 is one seed of method 'm'; name the method/);
    await expect(run(`  - ${MAPPO}`, `seeds: { m: [${MAPPO}, ${s2}] }\n`)).rejects.toThrow(/matrix\.yaml: \(root\): Unrecognized key: "seeds"/);
    await expect(runEvaluation({ ...base, policy: [`m=${MAPPO}`], attack: ['none'], episodes: 1 }, quiet)).rejects.toThrow(/--policy m=.*at least 2 policy folders/);
    expect(existsSync(`${out}.md`)).toBe(false);
  });
});
