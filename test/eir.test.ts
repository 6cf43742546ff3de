import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runTraining } from '../src/cli/train.js';
import { loadPolicyFolder } from '../src/policy/folder.js';
import { clampCommand } from '../src/core/kinematics.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { resolveTrainConfig } from '../sim/train/config.js';
import { EirMappoTrainer, typedStateSize, writeTypedState } from '../sim/train/eir-mappo.js';
import { MappoTrainer } from '../sim/train/mappo.js';
import { actorVariables, createActor } from '../sim/train/networks.js';
import { ppoPolicyStep } from '../sim/train/ppo.js';
import { expectDeployedMatchesTraining } from './helpers.js';
import { initBackend, tf } from '../sim/train/tf.js';

beforeAll(async () => {
  await initBackend();
});

function trainer(overrides: Record<string, unknown> = {}) {
  const config = resolveTrainConfig(
    { envs: 8, rolloutSteps: 1, decisionTicks: 1, hidden: 16, env: { robots: 4, noise: 'off', episodeSteps: 20 }, ...overrides },
    'test',
  );
  return new EirMappoTrainer(config, resolveSwarmConfig(config.env));
}

describe('EIR-MAPPO', () => {
  it("draws benign and attacked episodes, and the adversary's command reaches only the victim", () => {
    const t = trainer();
    t.collect();
    const w = t.world;
    const N = w.robots;
    const b = t.buffer;
    let attacked = 0;
    for (let e = 0; e < w.envs; e++) {
      const v = t.victims[e]!;
      if (v >= 0) attacked++;
      for (let i = 0; i < N; i++) {
        const g = e * N + i;
        const executed = [w.truth.command[2 * g], w.truth.command[2 * g + 1]];
        const own = [clampCommand(b.actions[2 * g]!), clampCommand(b.actions[2 * g + 1]!)];
        if (i === v) {
          const adv = [clampCommand(t.override.commands[2 * e]!), clampCommand(t.override.commands[2 * e + 1]!)];
          expect(executed[0]).toBeCloseTo(adv[0]!, 6);
          expect(executed[1]).toBeCloseTo(adv[1]!, 6);
          expect(Math.abs(executed[0]! - own[0]!) + Math.abs(executed[1]! - own[1]!)).toBeGreaterThan(1e-6);
        } else {
          expect(executed[0]).toBeCloseTo(own[0]!, 6);
          expect(executed[1]).toBeCloseTo(own[1]!, 6);
        }
      }
    }
    expect(attacked).toBeGreaterThan(0);
    expect(attacked).toBeLessThan(w.envs);
  });

  it("masks the victim's own transitions out of the defenders' loss", () => {
    const t = trainer();
    t.collect();
    const N = t.world.robots;
    for (let e = 0; e < t.world.envs; e++) {
      for (let i = 0; i < N; i++) expect(t.buffer.lossMask[e * N + i]).toBe(i === t.victims[e] ? 0 : 1);
    }
    // A masked sample does not move the policy, however large its advantage.
    const shape = { maxNeighbours: 3, hidden: 8 };
    const obsSize = 6 + 3 * 8;
    const obs = tf.randomNormal([4, obsSize], 0, 1, 'float32', 3) as tf.Tensor2D;
    const run = (advantages: number[], mask: number[]) => {
      const actor = createActor(shape, 1);
      ppoPolicyStep(
        () => tf.tidy(() => tf.matMul(obs, tf.zeros([obsSize, 2])).add(tf.stack([actor.mean.b, actor.mean.b, actor.mean.b, actor.mean.b]))) as tf.Tensor2D,
        actor.logStd, actorVariables(actor), tf.train.sgd(0.1),
        { actions: Float32Array.from([0.5, -0.2, 0.1, 0.3, -0.4, 0.2, 0.9, 0.9]), oldLogProbs: new Float32Array(4).fill(-1), advantages: Float32Array.from(advantages), mask: Float32Array.from(mask), size: 4 },
        { clip: 0.2, entropyCoef: 0, maxGradNorm: 100 },
      );
      return Array.from(actor.mean.b.dataSync());
    };
    const masked = run([1, -1, 0.5, 1000], [1, 1, 1, 0]);
    const other = run([1, -1, 0.5, -1000], [1, 1, 1, 0]);
    expect(masked[0]).toBeCloseTo(other[0]!, 6);
    expect(masked[1]).toBeCloseTo(other[1]!, 6);
    const unmasked = run([1, -1, 0.5, 1000], [1, 1, 1, 1]);
    expect(Math.abs(unmasked[0]! - masked[0]!)).toBeGreaterThan(1e-4);
  });

  it('runs whole iterations: finite losses, teacher forcing decaying over the first half', () => {
    const t = trainer({ rolloutSteps: 4, decisionTicks: 5, totalEnvSteps: 8 * 4 * 5 * 4 });
    const first = t.iterate();
    expect(first.teacherForcing).toBe(1);
    for (const k of ['policyLoss', 'valueLoss', 'beliefLoss', 'adversaryLoss'] as const) expect(Number.isFinite(first[k])).toBe(true);
    t.iterate();
    expect(t.teacherForcing()).toBe(0); // half of training done
  });

  it('the adversary takes more optimiser steps per iteration than the defenders (counted), and only it steps between adversary intervals', () => {
    const t = trainer({ algo: 'eir-mappo', rolloutSteps: 4, decisionTicks: 5, eir: { adversaryInterval: 2 } });
    type Opts = { actorOpt: tf.Optimizer; criticOpt: tf.Optimizer };
    const { actorOpt, criticOpt } = t as unknown as Opts;
    const defenders = vi.spyOn(actorOpt, 'applyGradients');
    const critic = vi.spyOn(criticOpt, 'applyGradients');
    const adversary = vi.spyOn((t as unknown as { adversaryOpts: tf.Optimizer[] }).adversaryOpts[0]!, 'applyGradients');
    const counts: number[][] = [];
    for (let k = 0; k < 2; k++) {
      defenders.mockClear();
      critic.mockClear();
      adversary.mockClear();
      const st = t.iterate();
      counts.push([defenders.mock.calls.length, adversary.mock.calls.length, critic.mock.calls.length]);
      expect(st.policyLoss === null).toBe(k === 1);
    }
    // Defaults: defenders 5 epochs x 4 minibatches, adversary 10 epochs x 4 minibatches, critic as the defenders.
    expect(counts[0]).toEqual([20, 40, 20]);
    // adversaryInterval 2: the next iteration updates the adversary and the critic, not the defenders.
    expect(counts[1]).toEqual([0, 40, 20]);
    // Settings where the adversary would not be faster are refused, naming the key.
    expect(() => resolveTrainConfig({ algo: 'eir-mappo', eir: { adversaryEpochs: 5 } }, 'cfg')).toThrow(/cfg: eir\.adversaryEpochs: .* must exceed .* 20/);
    expect(() => resolveTrainConfig({ algo: 'eir-mappo', ppoEpochs: 10 }, 'cfg')).toThrow(/eir\.adversaryEpochs/);
    expect(() => resolveTrainConfig({ algo: 'eir-mappo', eir: { adversaryMinibatches: 0 } }, 'cfg')).toThrow(/eir\.adversaryMinibatches/);
  });

  it("the critic sees the true type: its input differs between an attacked and a benign episode with the same state (MAPPO's does not read one)", () => {
    const t = trainer({ envs: 12 });
    t.collect();
    const N = t.world.robots;
    const S = t.world.stateSize;
    const CI = t.criticInputSize;
    expect(CI).toBe(typedStateSize(S, N, 1));
    const e = Array.from({ length: 12 }, (_, k) => k).find((k) => t.victims[k]! >= 0)!;
    const v = t.victims[e]!;
    const row = t.criticStates.subarray(e * CI, (e + 1) * CI);
    expect(Array.from(row.subarray(0, S))).toEqual(Array.from(t.buffer.states.subarray(e * S, (e + 1) * S)));
    expect(Array.from(row.subarray(S))).toEqual([...Array.from({ length: N }, (_, i) => (i === v ? 1 : 0)), 1]);
    // The same state in a benign episode, and with another victim.
    const benign = new Float32Array(CI);
    writeTypedState(benign, 0, t.buffer.states, e * S, S, N, 1, -1, 0);
    const other = new Float32Array(CI);
    writeTypedState(other, 0, t.buffer.states, e * S, S, N, 1, (v + 1) % N, 1);
    expect(Array.from(benign.subarray(S))).toEqual(new Array(N + 1).fill(0));
    const values = t.criticValues(Float32Array.from([...row, ...benign, ...other]), 3);
    expect(values[0]).not.toBeCloseTo(values[1]!, 6);
    expect(values[0]).not.toBeCloseTo(values[2]!, 6);
    // MAPPO's critic reads the global state alone.
    const config = resolveTrainConfig({ envs: 4, rolloutSteps: 1, decisionTicks: 1, hidden: 16, env: { robots: 4, noise: 'off', episodeSteps: 20 } }, 'test');
    const mappo = new MappoTrainer(config, resolveSwarmConfig(config.env));
    expect(mappo.critic.hidden1.w.shape[0]).toBe(S);
    expect(t.critic.hidden1.w.shape[0]).toBe(S + N + 1);
  });

  it('trains through the command into a policy folder with actor, belief and adversary models', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-eir-'));
    const { manifest, policyDir } = await runTraining(
      {
        algo: 'eir-mappo',
        overrides: {
          env: { robots: 3, noise: 'off', episodeSteps: 20 }, totalEnvSteps: 400, envs: 4, rolloutSteps: 4, hidden: 16,
          eval: { every: 1, episodes: 2, seed: 3 }, finalEvalEpisodes: 3,
        },
        out: join(dir, 'eir'),
        runDir: join(dir, 'run'),
        quiet: true,
      },
      () => {},
    );
    expect(Object.keys(manifest.files).sort()).toEqual(['actor.onnx', 'adversary-eir.onnx', 'belief.onnx']);
    expect(manifest.beliefTypes).toEqual(['benign', 'compromised']);
    expect(Object.keys(manifest.evaluation).sort()).toEqual(['benign', 'eir-adversary']);
    const loaded = await loadPolicyFolder(policyDir);
    expect([...loaded.sessions['belief.onnx']!.inputNames]).toEqual(['pair_features', 'h_in']);
    expect([...loaded.sessions['actor.onnx']!.inputNames]).toEqual(['obs', 'beliefs']);
    await Promise.all(Object.values(loaded.sessions).map((x) => x.release()));

    // Deployed through onnxruntime, the folder reproduces the trainer's evaluations, benign and under its adversary.
    await expectDeployedMatchesTraining(policyDir, manifest, ['eir']);
  });
});
