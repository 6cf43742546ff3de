import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTraining } from '../src/cli/train.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { DEFAULT_MIR2, DEFAULT_MIR2_ENTROPY, resolveTrainConfig } from '../sim/train/config.js';
import { buildHistories, historySize, Mir2Trainer } from '../sim/train/mir2.js';
import { clubFullTerms, clubWeights, createClub } from '../sim/train/club.js';
import { initBackend, tf } from '../sim/train/tf.js';

beforeAll(async () => {
  await initBackend();
});

function trainer(mir2: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const config = resolveTrainConfig(
    { algo: 'mir2', envs: 4, rolloutSteps: 6, decisionTicks: 2, hidden: 16, env: { robots: 3, noise: 'off', episodeSteps: 12 }, mir2, ...overrides },
    'test',
  );
  return new Mir2Trainer(config, resolveSwarmConfig(config.env));
}

describe('MIR2', () => {
  it('lowers each decision\'s reward by lambda x the sum over robots of their CLUB terms of I(h_i; a_i); the rest of the experience is untouched', () => {
    const lambda = 0.3;
    const plain = trainer({ lambda: 0 });
    const regularised = trainer({ lambda });
    // A first rollout fits q; the second is charged under that q (then fits it further).
    plain.collect();
    regularised.collect();
    const q = createClub(regularised.historySize, 2, DEFAULT_MIR2.clubHidden, 99);
    clubWeights(q).forEach(([, v], i) => v.assign(clubWeights(regularised.club)[i]![1]));
    plain.collect();
    regularised.collect();
    const a = plain.buffer;
    const b = regularised.buffer;
    const { steps: T, envs: E, robots: N } = a.shape;
    expect(Array.from(b.actions)).toEqual(Array.from(a.actions)); // same seed, same experience
    // Same data and the same fit of q: the same CLUB terms; lambda 0 leaves the environment's reward.
    expect(Array.from(regularised.clubTerms)).toEqual(Array.from(plain.clubTerms));
    // The terms are the CLUB estimator on the robots' (history, action) pairs under q as fitted before ...
    const terms = tf.tidy(() =>
      Array.from(clubFullTerms(q, tf.tensor2d(regularised.histories, [T * E * N, regularised.historySize]), tf.tensor2d(b.actions, [T * E * N, 2])).dataSync()),
    );
    terms.forEach((x, i) => expect(regularised.clubTerms[i]).toBeCloseTo(x, 5));
    expect(regularised.lastClub).toBeCloseTo(terms.reduce((s, x) => s + x, 0) / terms.length, 5);
    // ... and each decision's reward is the environment's minus lambda x their sum over the robots.
    let charged = 0;
    for (let s = 0; s < T * E; s++) {
      let c = 0;
      for (let i = 0; i < N; i++) c += terms[s * N + i]!;
      expect(b.rewards[s]).toBeCloseTo(a.rewards[s]! - lambda * c, 4);
      charged += Math.abs(c);
    }
    expect(charged).toBeGreaterThan(0);
    // The critic is trained on the regularised return, the update runs.
    expect(Number.isFinite(regularised.update().policyLoss)).toBe(true);
  });

  it('the CLUB estimate on a rollout is larger when the actions depend on the robots\' histories than when they do not', () => {
    const estimate = (gain: number) => {
      const t = trainer({ lambda: 0, clubSteps: 30, clubLr: 0.01, history: 2 }, { envs: 16, rolloutSteps: 12, env: { robots: 3, noise: 'off', episodeSteps: 24 } });
      // gain 0: a constant mean, actions independent of the history; gain 50: the mean follows the observation.
      t.actor.mean.w.assign(tf.mul(t.actor.mean.w, gain));
      // q learns over rollouts; each rollout's estimate comes from q fitted on the earlier ones.
      for (let k = 0; k < 10; k++) t.collect();
      return t.lastClub;
    };
    const independent = estimate(0);
    const dependent = estimate(50);
    expect(dependent).toBeGreaterThan(independent + 0.5);
    expect(Math.abs(independent)).toBeLessThan(0.5);
  });

  it("builds each robot's history from its own last observations and commands, zeros before its episode's start, across rollouts", () => {
    // One environment, one robot, observations of one feature: o(t) = 10 t, a(t) = (t, -t); the episode ends in decision 1.
    const L = 3;
    const D = historySize(1, L);
    expect(D).toBe(3 + 4);
    const src = {
      steps: 4, envs: 1, robots: 1, obsSize: 1, history: L,
      obs: Float32Array.from([0, 10, 20, 30]), actions: Float32Array.from([0, 0, 1, -1, 2, -2, 3, -3]), dones: Uint8Array.from([0, 1, 0, 0]),
      // The previous rollout's last two decisions: o = -20, -10, no episode end.
      prevObs: Float32Array.from([-20, -10]), prevActions: Float32Array.from([-2, 2, -1, 1]), prevDones: Uint8Array.from([0, 0]),
    };
    const out = new Float32Array(4 * D);
    buildHistories(src, out);
    const row = (t: number) => Array.from(out.subarray(t * D, (t + 1) * D));
    // [o(t), o(t-1), o(t-2), a(t-1), a(t-2)]
    expect(row(0)).toEqual([0, -10, -20, -1, 1, -2, 2]);
    expect(row(1)).toEqual([10, 0, -10, 0, 0, -1, 1]);
    expect(row(2)).toEqual([20, 0, 0, 0, 0, 0, 0]); // a new episode started at decision 2
    expect(row(3)).toEqual([30, 20, 0, 2, -2, 0, 0]);
  });

  it('keeps the entropy term of its objective: entropyCoef 0.01 by default with algo mir2, and never 0', () => {
    expect(resolveTrainConfig({ algo: 'mir2' }, 'cfg').entropyCoef).toBe(DEFAULT_MIR2_ENTROPY);
    expect(resolveTrainConfig({ algo: 'mappo' }, 'cfg').entropyCoef).toBe(0);
    expect(resolveTrainConfig({ algo: 'mir2', entropyCoef: 0.02, mir2: { lambda: 1 } }, 'cfg').entropyCoef).toBe(0.02);
    expect(() => resolveTrainConfig({ algo: 'mappo', entropyCoef: 0.02, mir2: { lambda: 1 } }, 'cfg')).toThrow(/mir2: only used with algo mir2/);
    expect(() => resolveTrainConfig({ algo: 'mir2', entropyCoef: 0 }, 'cfg')).toThrow(/cfg: entropyCoef: must be > 0 with algo mir2/);
    expect(() => resolveTrainConfig({ algo: 'mir2', mir2: { history: 0 } }, 'cfg')).toThrow(/mir2\.history/);
  });

  it('trains through the command into a policy folder, and refuses a mir2 block for another algorithm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-mir2-'));
    const { manifest } = await runTraining(
      {
        algo: 'mir2',
        overrides: {
          env: { robots: 3, noise: 'off', episodeSteps: 20 }, totalEnvSteps: 400, envs: 4, rolloutSteps: 4, hidden: 16,
          eval: { every: 1, episodes: 2, seed: 3 }, finalEvalEpisodes: 3,
        },
        out: join(dir, 'mir2'),
        runDir: join(dir, 'run'),
        quiet: true,
      },
      () => {},
    );
    expect(manifest.algorithm).toBe('mir2');
    expect(Object.keys(manifest.files)).toEqual(['actor.onnx']);
    expect((manifest.training.config.mir2 as { lambda: number }).lambda).toBe(DEFAULT_MIR2.lambda);
    expect(() => resolveTrainConfig({ algo: 'mappo', mir2: { lambda: 1 } }, 'cfg')).toThrow(/mir2: only used with algo mir2/);
    expect(() => resolveTrainConfig({ algo: 'mir2', mir2: { lamda: 1 } }, 'cfg')).toThrow(/lamda/);
    expect(() => resolveTrainConfig({ algo: 'mir2', mir2: 3 }, 'cfg')).toThrow(/mir2: expected a block of settings, got number/);
    expect(() => resolveTrainConfig({ algo: 'eir-mappo', eir: null }, 'cfg')).toThrow(/eir: expected a block of settings, got null/);
  });
});
