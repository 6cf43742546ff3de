// MIR2 (paper 004) on the MAPPO core: no adversary in training; the team is discouraged from joint actions
// that carry much information about the state, I(state; joint action), so that one robot acting against it
// has less to exploit. The mutual information is estimated with CLUB (club.ts): a variational Gaussian
// q(joint action | global state) fitted by maximum likelihood on each rollout's sampled joint actions.
//
// MAPPO version chosen here: lambda * CLUB evaluated at the actor's MEAN joint actions (what is deployed)
// is added to the loss of every PPO actor step, differentiated through the actor in the same gradient (so
// lambda weighs it against the PPO loss under one optimiser). Two other forms were ruled out: subtracting the CLUB term from the reward of the sampled action rewards noisy actions (with a
// trainable log-std the policy can lower log q(a|s) by widening its spread rather than by changing what it
// deploys) and charges decision i with another decision's action through the negative pair.
import { deriveSeed, makeStreams, MIR2_PURPOSE, type RandomStream } from '../../src/core/random.js';
import type { SimSettings } from '../config.js';
import type { TrainerState } from './checkpoint.js';
import { clubEstimate, clubFitLoss, clubVariables, clubWeights, createClub, type ClubParams } from './club.js';
import { DEFAULT_MIR2, type Mir2Settings, type TrainConfig } from './config.js';
import { MappoTrainer, setLearningRate, type IterationStats } from './mappo.js';
import { actorMean } from './networks.js';
import { clipByGlobalNorm } from './ppo.js';
import { tf } from './tf.js';

export class Mir2Trainer extends MappoTrainer {
  readonly mir2: Mir2Settings;
  readonly club: ClubParams;
  private readonly clubOpt: tf.AdamOptimizer;
  /** Its own stream: the regulariser's batches leave MAPPO's minibatch order as it would be without it. */
  private readonly clubRng: RandomStream;
  /** CLUB estimate on the last rollout's sampled joint actions. */
  lastClub = 0;

  constructor(config: TrainConfig, settings: SimSettings) {
    super(config, settings);
    this.mir2 = config.mir2 ?? DEFAULT_MIR2;
    const N = this.buffer.shape.robots;
    this.club = createClub(this.buffer.shape.stateSize, 2 * N, this.mir2.clubHidden, config.seed + 5);
    this.clubOpt = tf.train.adam(this.mir2.clubLr, 0.9, 0.999, config.adamEpsilon);
    this.clubRng = makeStreams(deriveSeed(config.seed, MIR2_PURPOSE), 1)[0]!;
  }

  /** The rollout, then q fitted on its (state, sampled joint action) pairs. */
  override collect(): void {
    super.collect();
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, stateSize } = b.shape;
    const S = T * E;
    // The joint action of decision (t, e) is robots e*N .. e*N+N-1 of step t: contiguous in the buffer.
    const states = tf.tensor2d(b.states, [S, stateSize]);
    const joint = tf.tensor2d(b.actions, [S, 2 * N]);
    const vars = clubVariables(this.club);
    for (let k = 0; k < this.mir2.clubSteps; k++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => clubFitLoss(this.club, states, joint), vars);
        this.clubOpt.applyGradients(clipByGlobalNorm(grads, this.config.maxGradNorm));
      });
    }
    this.lastClub = tf.tidy(() => clubEstimate(this.club, states, joint, this.clubRng.permutation(S)).dataSync()[0]!);
    tf.dispose([states, joint]);
  }

  /**
   * Added to every PPO actor step, in the same gradient: lambda * CLUB at the actor's mean joint actions on a
   * random batch of the rollout's decisions (as many as an actor minibatch holds agent samples, over N).
   */
  protected override policyRegulariser(): (() => tf.Scalar) | undefined {
    if (this.mir2.lambda === 0) return undefined;
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, obsSize, stateSize } = b.shape;
    const S = T * E;
    const D = Math.max(2, Math.min(S, Math.ceil(S / this.config.minibatches)));
    const pick = this.clubRng.permutation(S).subarray(0, D);
    const obs = new Float32Array(D * N * obsSize);
    const states = new Float32Array(D * stateSize);
    pick.forEach((d, q) => {
      obs.set(b.obs.subarray(d * N * obsSize, (d + 1) * N * obsSize), q * N * obsSize);
      states.set(b.states.subarray(d * stateSize, (d + 1) * stateSize), q * stateSize);
    });
    const perm = this.clubRng.permutation(D);
    return () => {
      const joint = actorMean(this.actor, this.actorShape, tf.tensor2d(obs, [D * N, obsSize])).reshape([D, 2 * N]) as tf.Tensor2D;
      return tf.mul(this.mir2.lambda, clubEstimate(this.club, tf.tensor2d(states, [D, stateSize]), joint, perm)) as tf.Scalar;
    };
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
