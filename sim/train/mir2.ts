// MIR2 (paper 004) on the MAPPO core: no adversary in training; the team is discouraged from actions that
// carry much information about the state, I(state; joint action), so that one robot acting against it
// has less to exploit. The mutual information is estimated with CLUB (club.ts): a variational Gaussian
// q(joint action | global state) fitted alongside by maximum likelihood on each rollout. MAPPO version
// chosen here: each decision's team reward is reduced by lambda times that decision's CLUB term
// log q(a | s) - log q(a' | s) (a' = another decision's joint action from the same rollout), before GAE;
// the public code subtracts 0.01 * CLUB from its TD target in the same way.
import type { SimSettings } from '../config.js';
import type { TrainerState } from './checkpoint.js';
import { clubFitLoss, clubTerms, clubVariables, clubWeights, createClub, type ClubParams } from './club.js';
import { DEFAULT_MIR2, type Mir2Settings, type TrainConfig } from './config.js';
import { clipByGlobalNorm } from './ppo.js';
import { MappoTrainer, setLearningRate, type IterationStats } from './mappo.js';
import { tf } from './tf.js';

export class Mir2Trainer extends MappoTrainer {
  readonly mir2: Mir2Settings;
  readonly club: ClubParams;
  private readonly clubOpt: tf.AdamOptimizer;
  private lastClub = 0;

  constructor(config: TrainConfig, settings: SimSettings) {
    super(config, settings);
    this.mir2 = config.mir2 ?? DEFAULT_MIR2;
    const N = this.buffer.shape.robots;
    this.club = createClub(this.buffer.shape.stateSize, 2 * N, this.mir2.clubHidden, config.seed + 5);
    this.clubOpt = tf.train.adam(this.mir2.clubLr, 0.9, 0.999, config.adamEpsilon);
  }

  /** The rollout, then q fitted on its (state, joint action) pairs and the rewards regularised. */
  override collect(): void {
    super.collect();
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, stateSize } = b.shape;
    const S = T * E;
    // Joint action of decision (t, e): robots e*N .. e*N+N-1 of step t, contiguous in the buffer.
    const states = tf.tensor2d(b.states, [S, stateSize]);
    const joint = tf.tensor2d(b.actions, [S, 2 * N]);
    const vars = clubVariables(this.club);
    for (let k = 0; k < this.mir2.clubSteps; k++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => clubFitLoss(this.club, states, joint), vars);
        this.clubOpt.applyGradients(clipByGlobalNorm(grads, this.config.maxGradNorm));
      });
    }
    const terms = tf.tidy(() => clubTerms(this.club, states, joint, Int32Array.from(this.sampler.permutation(S))));
    const c = terms.dataSync();
    let sum = 0;
    for (let i = 0; i < S; i++) {
      b.rewards[i]! -= this.mir2.lambda * c[i]!;
      sum += c[i]!;
    }
    this.lastClub = sum / S;
    tf.dispose([states, joint, terms]);
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
