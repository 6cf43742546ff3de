import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runTraining } from '../src/cli/train.js';
import { runAdversaryTraining } from '../src/cli/train-adversary.js';
import { OnnxAdversary } from '../src/policy/adversary.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { BatpalTrainer, loadReference } from '../sim/train/batpal.js';
import { resolveTrainConfig } from '../sim/train/config.js';
import { severity } from '../sim/train/ec-ppo.js';
import { actorWeights } from '../sim/train/networks.js';
import { initBackend, tf } from '../sim/train/tf.js';
import { expectDeployedMatchesTraining } from './helpers.js';

// A small twin (short episodes, noise off) with its own pi_0 and worst-case adversary, both trained by the
// project's commands in a few seconds: V_max / V_min must come from pi_0's own twin.
const ENV = { robots: 6, noise: 'off', episodeSteps: 20 };
const fixture = { reference: '', worstCase: '' };

beforeAll(async () => {
  await initBackend();
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-batpal-ref-'));
  fixture.reference = join(dir, 'mappo');
  fixture.worstCase = join(dir, 'worst');
  await runTraining(
    { algo: 'mappo', overrides: { env: ENV, totalEnvSteps: 2000, envs: 4, rolloutSteps: 4, hidden: 16, eval: { every: 100, episodes: 2, seed: 3 }, finalEvalEpisodes: 4 }, out: fixture.reference, runDir: join(dir, 'run'), quiet: true },
    () => {},
  );
  await runAdversaryTraining({ against: fixture.reference, overrides: { envs: 4, rolloutSteps: 4, hidden: 16, finalEvalEpisodes: 20 }, totalSteps: 2000, out: fixture.worstCase, quiet: true }, () => {});
  // A 2000-step adversary barely hurts a 2000-step team; these tests exercise the mechanics, not the
  // numbers, so the fixture's attacked return is set 3 below the benign one to give the bands some width.
  const path = join(fixture.worstCase, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8'));
  m.evaluation.attacked.meanReturn = m.evaluation.benign.meanReturn - 3;
  writeFileSync(path, JSON.stringify(m));
}, 120_000);

function batpalBlock(extra: Record<string, unknown> = {}) {
  return { referenceEnvs: 3, reference: fixture.reference, worstCase: fixture.worstCase, ...extra };
}

function trainer(overrides: Record<string, unknown> = {}) {
  const config = resolveTrainConfig(
    { algo: 'batpal', envs: 6, rolloutSteps: 4, decisionTicks: 5, hidden: 16, env: ENV, batpal: batpalBlock(), totalEnvSteps: 10_000, ...overrides },
    'test',
  );
  return new BatpalTrainer(config, resolveSwarmConfig(config.env));
}

const snapshot = (weights: [string, { dataSync(): ArrayLike<number> }][]) => weights.map(([, v]) => Array.from(v.dataSync()));

describe('BATPAL', () => {
  it('draws a severity per attacked episode; teacher forcing feeds the victim row its severity one-hot', () => {
    const t = trainer({ envs: 24 });
    expect(t.teacherForcing()).toBe(1);
    t.collect();
    const w = t.world;
    const N = w.robots;
    const K = t.actorShape.maxNeighbours;
    const R = t.types;
    const seen = new Set<number>();
    let checked = 0;
    for (let e = 0; e < w.envs; e++) {
      const v = t.victims[e]!;
      const type = t.stepTypes[e]!;
      expect(type === 0).toBe(v < 0);
      if (v < 0) continue;
      seen.add(type);
      // Step 0's rows: a row that sees the victim carries its severity one-hot, every other row zeros.
      let victimRows = 0;
      for (let g = e * N; g < (e + 1) * N; g++) {
        let own = 0;
        for (let k = 0; k < K; k++) {
          const row = Array.from(t.rowBeliefs.subarray((g * K + k) * R, (g * K + k + 1) * R));
          const hot = row.some((x) => x !== 0);
          if (hot) expect(row).toEqual(Array.from({ length: R }, (_, r) => (r === type - 1 ? 1 : 0)));
          own += hot ? 1 : 0;
        }
        expect(own).toBeLessThanOrEqual(1);
        victimRows += own;
      }
      expect(victimRows).toBeLessThanOrEqual(N - 1);
      checked += victimRows;
    }
    expect(checked).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThan(1);
  });

  it('keeps pi_0 frozen and updates only the severity drawn for the iteration; MDP0 steps count', () => {
    const t = trainer();
    const trained = t.trainedType;
    const before = t.adversaries.map((a) => snapshot(actorWeights(a)));
    const reference = snapshot(actorWeights(t.reference.actor));
    const stats = t.iterate();
    expect(stats.adversaryType).toBe(trained);
    expect(Number.isFinite(stats.referenceSeverity)).toBe(true);
    t.adversaries.forEach((a, k) => {
      const changed = snapshot(actorWeights(a)).some((w, i) => w.some((x, j) => x !== before[k]![i]![j]));
      expect(changed).toBe(k + 1 === trained);
    });
    expect(snapshot(actorWeights(t.reference.actor))).toEqual(reference);
    // The MDP1 rollout plus referenceEnvs whole episodes of MDP0.
    expect(t.envSteps).toBe(6 * 4 * 5 + 3 * 20);
  });

  it("the severity trained in an iteration takes K times the defenders' optimiser steps (counted): as many per severity", () => {
    const t = trainer();
    const k = t.trainedType;
    const opts = t as unknown as { actorOpt: tf.Optimizer; adversaryOpts: tf.Optimizer[] };
    const defenders = vi.spyOn(opts.actorOpt, 'applyGradients');
    const adversaries = opts.adversaryOpts.map((o) => vi.spyOn(o, 'applyGradients'));
    t.iterate();
    expect(defenders.mock.calls.length).toBe(5 * 4);
    expect(adversaries.map((a) => a.mock.calls.length)).toEqual([1, 2, 3, 4].map((j) => (j === k ? 4 * 5 * 4 : 0)));
    expect(() => resolveTrainConfig({ algo: 'batpal', batpal: { adversaryEpochs: 10 } }, 'cfg')).toThrow(/cfg: batpal\.adversaryEpochs: .* at least severities x ppoEpochs x minibatches = 4 x 5 x 4 = 80/);
  });

  it('V0 is the reference critic averaged over start states; the critic sees victim and severity, and tracks the Monte Carlo value of pi_0 against a frozen adversary', () => {
    const t = trainer({ batpal: batpalBlock({ referenceEnvs: 32, v0StartStates: 64 }) });
    const N = t.world.robots;
    // V0 is read from the critic: with a constant output c it is exactly c in return units.
    const saved = [Array.from(t.referenceCritic.value.w.dataSync()), Array.from(t.referenceCritic.value.b.dataSync())];
    t.referenceCritic.value.w.assign(tf.zerosLike(t.referenceCritic.value.w));
    t.referenceCritic.value.b.assign(tf.tensor1d([0.7]));
    expect(t.estimateV0(2)).toBeCloseTo(t.referenceNorm.denormalize(0.7), 5);
    t.referenceCritic.value.w.assign(tf.tensor(saved[0]!, t.referenceCritic.value.w.shape));
    t.referenceCritic.value.b.assign(tf.tensor1d(saved[1]!));
    // It is type-aware: another severity is another value.
    expect(t.estimateV0(1)).not.toBeCloseTo(t.estimateV0(2), 6);
    expect(t.referenceCritic.hidden1.w.shape[0]).toBe(t.world.stateSize + N + 4);

    // Frozen pi_0 and adversary 1: the critic, fitted on MDP0 rollouts alone, converges to the value a large
    // Monte Carlo sample gives (fresh start states each rollout, as across iterations); when the adversary
    // changes, it follows.
    const band = (t.reference.range.vMax - t.reference.range.vMin) / 4;
    const track = (rollouts: number) => {
      let mc = 0;
      const v0: number[] = [];
      const each: number[] = [];
      for (let r = 0; r < rollouts; r++) {
        const ref = t.referenceRollout(1);
        t.iteration++;
        expect(ref.v0).toBe(t.estimateV0(1));
        mc += ref.monteCarlo;
        v0.push(ref.v0);
        each.push(ref.monteCarlo);
      }
      mc /= rollouts;
      const meanError = (xs: number[]) => xs.reduce((s, v) => s + Math.abs(v - mc), 0) / xs.length;
      // last: the critic's V0 over the last 10 rollouts; single: one rollout's own Monte Carlo mean (the old V0).
      return { first: Math.abs(v0[0]! - mc), last: meanError(v0.slice(-10)), single: meanError(each), mc };
    };
    const before = track(25);
    expect(before.last).toBeLessThan(0.4 * band);
    expect(before.last).toBeLessThan(before.first);
    // Another adversary 1: the victim now drives its wheels at fixed commands.
    t.adversaries[0]!.mean.w.assign(tf.zerosLike(t.adversaries[0]!.mean.w));
    t.adversaries[0]!.mean.b.assign(tf.tensor1d([1, 0.6]));
    const after = track(25);
    expect(after.last).toBeLessThan(0.4 * band);
    // In training, the iteration's severity is V0's.
    const st = t.iterate();
    expect(st.referenceSeverity).toBeCloseTo(severity(t.estimateV0(st.adversaryType), t.reference.range), 10);
  });

  it('checkpoints the reference critic and its value normalisation: a restored run has the same V0', async () => {
    const t = trainer();
    t.iterate();
    const ck = await t.checkpoint(0, []);
    expect(Object.keys(ck.valueNorms ?? {})).toEqual(['reference']);
    const again = trainer();
    expect(again.estimateV0(2)).not.toBe(t.estimateV0(2));
    await again.restore(ck, 'checkpoint');
    for (let k = 1; k <= 4; k++) expect(again.estimateV0(k)).toBe(t.estimateV0(k));
    delete ck.valueNorms;
    await expect(trainer().restore(ck, 'checkpoint')).rejects.toThrow(/missing value normalisation 'reference'/);
  });

  it('refuses a worst-case adversary trained against another actor than pi_0, a pi_0 from another twin, a margin wider than half a band', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-batpal-'));
    cpSync(fixture.worstCase, dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.target.actorSha256 = '0'.repeat(64);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const config = resolveTrainConfig({ algo: 'batpal', env: ENV, batpal: batpalBlock({ worstCase: dir }) }, 'test');
    expect(() => loadReference(config.batpal!, resolveSwarmConfig(config.env))).toThrow(/another actor/);
    // The shipped pi_0 was trained on 300-step episodes with noise: its V_max / V_min do not apply here.
    const shipped = resolveTrainConfig({ algo: 'batpal', env: { ...ENV, robots: 10 } }, 'test');
    expect(() => loadReference(shipped.batpal!, resolveSwarmConfig(shipped.env))).toThrow(/another twin/);
    expect(() => resolveTrainConfig({ algo: 'batpal', batpal: { severities: 8, margin: 0.07 } }, 'test')).toThrow(/batpal\.margin/);
  });

  it('trains through the command into a folder with K severity adversaries and their measured severities', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-batpal-'));
    const { manifest, policyDir, runDir } = await runTraining(
      {
        algo: 'batpal',
        overrides: {
          env: ENV, totalEnvSteps: 500, envs: 4, rolloutSteps: 4, hidden: 16, batpal: batpalBlock({ referenceEnvs: 2 }),
          eval: { every: 1, episodes: 2, seed: 3 }, finalEvalEpisodes: 3,
        },
        out: join(dir, 'batpal'),
        runDir: join(dir, 'run'),
        quiet: true,
      },
      () => {},
    );
    const severities = [1, 2, 3, 4].map((k) => `severity-${k}`);
    expect(manifest.beliefTypes).toEqual(['benign', ...severities]);
    expect(Object.keys(manifest.files).sort()).toEqual(['actor.onnx', ...severities.map((s) => `adversary-${s}.onnx`), 'belief.onnx'].sort());
    expect(manifest.files['belief.onnx']!.outputs[0]!.shape).toEqual(['batch', 4]);
    for (const s of severities) expect(Object.keys(manifest.evaluation)).toContain(`${s}-vs-reference`);
    // Every evaluation logs each adversary's severity against pi_0 (the paper's Figure 4).
    const header = readFileSync(join(runDir, 'curve.csv'), 'utf8').split('\n')[0]!.split(',');
    for (let k = 1; k <= 4; k++) expect(header).toContain(`severity${k}`);
    const report = JSON.parse(readFileSync(join(policyDir, 'severity.json'), 'utf8'));
    expect(report.types).toHaveLength(4);
    expect(report.vMax).toBeGreaterThan(report.vMin);

    // Through onnxruntime (four beliefs per pair), the folder reproduces the trainer's own evaluations.
    await expectDeployedMatchesTraining(policyDir, manifest, ['severity-2', 'severity-4']);
    // A folder with several adversaries needs one picked, and only an existing one is accepted.
    const settings = resolveSwarmConfig({ ...(manifest.training.config.env as object) });
    await expect(OnnxAdversary.load(policyDir, settings.observation)).rejects.toThrow(/severity-1, severity-2, severity-3, severity-4/);
    await expect(OnnxAdversary.load(policyDir, settings.observation, 'severity-9')).rejects.toThrow(/no adversary 'severity-9'/);
  });
});
