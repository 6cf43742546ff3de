// MIR2 (paper 004) on the MAPPO core: no adversary in training; the team maximises
//   sum_t E[ r_t - lambda I(h_t; a_t) + H(pi(. | h_t)) ]
// (Proposition 1 and Eq. 7-9: the mutual information between histories and actions is charged on the
// reward, and the objective keeps the policy's entropy). Implemented here as the paper states it:
//
// - h_t: each robot's own history h_i = its last `history` observations o_i(t-L+1..t) and the commands
//   a_i(t-L+1..t-1) it sampled between them (zeros before its episode's start); decisions, not ticks, as
//   the policy acts once per decision. Not the critic's global state: a robot's action depends only on what
//   it observed. Our actor is feed-forward, so in law I(h_i; a_i) = I(o_i; a_i) (a_i depends on h_i only
//   through o_i); the longer history costs q a few more inputs and keeps the estimator the paper's
//   quantity, whatever the actor reads.
// - I(h_t; a_t) for the joint history and action: with a product policy, I(h; a) <= sum_i I(h_i; a_i)
//   (H(a) <= sum_i H(a_i) and H(a | h) = sum_i H(a_i | h_i)), so the penalty is lambda times the sum over
//   robots of per-robot CLUB terms, an upper bound of the paper's term, as CLUB itself is.
// - CLUB (Cheng et al. 2020, club.ts): q(a_i | h_i), a diagonal Gaussian shared by all robots (the actor is
//   shared too), fitted by maximum likelihood on the rollout's (h_i, a_i) pairs (`clubSteps` full-batch
//   Adam steps, before the penalty is computed); robot i's term at decision t is
//   log q(a_i | h_i) - mean_j log q(a_i | h_j) over every sample j of the rollout (the full CLUB, in closed
//   form). Its mean over the rollout is the logged `club` (nats per robot and decision).
// - The reward of decision t of environment e is lowered by lambda x sum_i term_i(t) before GAE, so the
//   critic learns the regularised return and the advantages carry it; the environment's own return
//   (meanReturn, evaluations) is unchanged.
// - The entropy term: the top-level entropyCoef (0.01 with algo mir2, checked > 0). The actor's log-std is
//   state-independent, so the entropy is the same at every step: adding it to each reward or adding it to
//   the PPO loss differ only by a constant factor on its gradient; the loss form is used.
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import type { TrainerState } from './checkpoint.js';
import { clubFitLoss, clubFullTerms, clubVariables, clubWeights, createClub, type ClubParams } from './club.js';
import { DEFAULT_MIR2, type Mir2Settings, type TrainConfig } from './config.js';
import { MappoTrainer, setLearningRate, type IterationStats } from './mappo.js';
import { adam, clippedAdamStep } from './adam.js';
import { tf } from './tf.js';

/** Size of one robot's history vector: L observations and L - 1 commands. */
export function historySize(obsSize: number, history: number): number {
  return history * obsSize + 2 * (history - 1);
}

/** A rollout's per-agent records, plus the last L - 1 decisions of the rollout before it. */
export interface HistorySource {
  steps: number;
  envs: number;
  robots: number;
  obsSize: number;
  history: number;
  /** [steps][envs x robots][obsSize], [steps][envs x robots][2], [steps][envs] (1: the episode ended in that decision). */
  obs: Float32Array;
  actions: Float32Array;
  dones: Uint8Array;
  /** The same for the previous rollout's last history - 1 decisions (all dones 1 when there is none). */
  prevObs: Float32Array;
  prevActions: Float32Array;
  prevDones: Uint8Array;
}

/**
 * Every agent's history at every decision of the rollout, sample (t, g) at (t * agents + g) x historySize:
 * o(t), o(t-1), ..., o(t-L+1), then a(t-1), ..., a(t-L+1); a lag reaching back past the start of the
 * agent's episode (an episode end in decisions t-lag .. t-1) is zeros.
 */
export function buildHistories(src: HistorySource, out: Float32Array): void {
  const { steps: T, envs: E, robots: N, obsSize, history: L } = src;
  const A = E * N;
  const D = historySize(obsSize, L);
  const P = L - 1;
  const doneAt = (u: number, e: number) => (u >= 0 ? src.dones[u * E + e]! : src.prevDones[(u + P) * E + e]!);
  out.fill(0, 0, T * A * D);
  for (let t = 0; t < T; t++) {
    for (let g = 0; g < A; g++) {
      const e = Math.floor(g / N);
      const base = (t * A + g) * D;
      for (let lag = 0; lag < L; lag++) {
        const u = t - lag;
        if (lag > 0 && doneAt(u, e)) break; // the episode started after decision u
        const o = u >= 0 ? src.obs.subarray((u * A + g) * obsSize, (u * A + g + 1) * obsSize) : src.prevObs.subarray(((u + P) * A + g) * obsSize, ((u + P) * A + g + 1) * obsSize);
        out.set(o, base + lag * obsSize);
        if (lag > 0) {
          const a = u >= 0 ? src.actions.subarray((u * A + g) * 2, (u * A + g + 1) * 2) : src.prevActions.subarray(((u + P) * A + g) * 2, ((u + P) * A + g + 1) * 2);
          out.set(a, base + L * obsSize + 2 * (lag - 1));
        }
      }
    }
  }
}

export class Mir2Trainer extends MappoTrainer {
  readonly mir2: Mir2Settings;
  /** q(a_i | h_i), shared by the robots. */
  readonly club: ClubParams;
  readonly historySize: number;
  private readonly clubOpt: tf.AdamOptimizer;
  /** The last rollout's histories, (t, agent) at (t * agents + agent) x historySize. */
  readonly histories: Float32Array;
  /** The last L - 1 decisions of the previous rollout (observations, commands, episode ends). */
  private prevObs: Float32Array;
  private prevActions: Float32Array;
  private prevDones: Uint8Array;
  /** Per-robot CLUB terms of the last rollout, (t, agent), and the penalty taken off each decision's reward. */
  readonly clubTerms: Float32Array;
  readonly penalties: Float32Array;
  /** Mean CLUB estimate (nats per robot and decision) on the last rollout. */
  lastClub = 0;

  constructor(config: TrainConfig, settings: SwarmSettings) {
    super(config, settings);
    this.mir2 = config.mir2 ?? DEFAULT_MIR2;
    const { steps: T, envs: E, robots: N, obsSize } = this.buffer.shape;
    const L = this.mir2.history;
    this.historySize = historySize(obsSize, L);
    this.club = createClub(this.historySize, 2, this.mir2.clubHidden, config.seed + 5);
    this.clubOpt = adam(this.mir2.clubLr, config.adamEpsilon);
    this.histories = new Float32Array(T * E * N * this.historySize);
    this.prevObs = new Float32Array((L - 1) * E * N * obsSize);
    this.prevActions = new Float32Array((L - 1) * E * N * 2);
    this.prevDones = new Uint8Array((L - 1) * E).fill(1);
    this.clubTerms = new Float32Array(T * E * N);
    this.penalties = new Float32Array(T * E);
  }

  /** A resumed run starts fresh episodes: no history carries over. */
  override reseedFor(iteration: number): void {
    super.reseedFor(iteration);
    this.prevDones?.fill(1);
  }

  /**
   * The rollout; every decision's reward lowered by lambda x sum_i CLUB_i under q as it stands; then q
   * fitted on the rollout's (h_i, a_i) pairs for the next iterations.
   */
  override collect(): void {
    super.collect();
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, obsSize } = b.shape;
    const L = this.mir2.history;
    const src: HistorySource = {
      steps: T, envs: E, robots: N, obsSize, history: L,
      obs: b.obs, actions: b.actions, dones: b.dones, prevObs: this.prevObs, prevActions: this.prevActions, prevDones: this.prevDones,
    };
    buildHistories(src, this.histories);
    this.carryHistory(src);

    // The estimate comes first, from q as fitted on the previous rollouts: out of sample (q fitted on the
    // very pairs it scores overfits them, and CLUB then reports information that is not there).
    const n = T * E * N;
    const h = tf.tensor2d(this.histories, [n, this.historySize]);
    const a = tf.tensor2d(b.actions, [n, 2]);
    const terms = tf.tidy(() => clubFullTerms(this.club, h, a));
    this.clubTerms.set(terms.dataSync());
    const vars = clubVariables(this.club);
    for (let k = 0; k < this.mir2.clubSteps; k++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => clubFitLoss(this.club, h, a), vars);
        clippedAdamStep(this.clubOpt, grads, this.config.maxGradNorm);
      });
    }
    tf.dispose([h, a, terms]);

    let sum = 0;
    for (let s = 0; s < T * E; s++) {
      let c = 0;
      for (let i = 0; i < N; i++) c += this.clubTerms[s * N + i]!;
      sum += c;
      this.penalties[s] = this.mir2.lambda * c;
      b.rewards[s]! -= this.penalties[s]!;
    }
    this.lastClub = sum / n;
  }

  /** Keeps the rollout's last L - 1 decisions for the histories of the next one. */
  private carryHistory(src: HistorySource): void {
    const { steps: T, envs: E, robots: N, obsSize, history: L } = src;
    const P = L - 1;
    if (P === 0) return;
    const A = E * N;
    const obs = new Float32Array(P * A * obsSize);
    const actions = new Float32Array(P * A * 2);
    const dones = new Uint8Array(P * E);
    for (let k = 0; k < P; k++) {
      const u = T - P + k;
      if (u >= 0) {
        obs.set(src.obs.subarray(u * A * obsSize, (u + 1) * A * obsSize), k * A * obsSize);
        actions.set(src.actions.subarray(u * A * 2, (u + 1) * A * 2), k * A * 2);
        dones.set(src.dones.subarray(u * E, (u + 1) * E), k * E);
      } else {
        obs.set(src.prevObs.subarray((u + P) * A * obsSize, (u + P + 1) * A * obsSize), k * A * obsSize);
        actions.set(src.prevActions.subarray((u + P) * A * 2, (u + P + 1) * A * 2), k * A * 2);
        dones.set(src.prevDones.subarray((u + P) * E, (u + P + 1) * E), k * E);
      }
    }
    this.prevObs = obs;
    this.prevActions = actions;
    this.prevDones = dones;
  }

  override iterate(): IterationStats {
    if (this.config.lrDecay) setLearningRate(this.clubOpt, this.mir2.clubLr * Math.max(0, 1 - this.envSteps / this.config.totalEnvSteps));
    return { ...super.iterate(), club: this.lastClub };
  }

  override get hiddenSizes(): Record<string, number> {
    return { ...super.hiddenSizes, club: this.mir2.clubHidden };
  }

  protected override state(): TrainerState {
    const base = super.state();
    return {
      ...base,
      networks: { ...base.networks, club: clubWeights(this.club) },
      optimizers: { ...base.optimizers, club: this.clubOpt },
    };
  }
}
