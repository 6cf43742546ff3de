// The MAPPO core, and MAPPO itself: a shared Gaussian actor over rendezvous-v1 observations, a centralised
// critic over the global state, GAE, PPO-clip, value normalisation, Huber value loss, gradient clipping.
// Rollouts step the vectorised twin directly. One iteration = collect `rolloutSteps` decisions of `envs`
// environments, then `ppoEpochs` epochs of minibatch updates.
//
// Every algorithm extends this class (EIR-MAPPO and through it BATPAL, MIR2) and is its delta: the rollout
// storage, the decision/tick loop, the PPO update (balanced minibatches, the critic's epochs, the
// learning-rate schedule), checkpoints, export and evaluation are written here once. The hooks an
// algorithm overrides: what the actor reads beside the observation (row beliefs) and the critic beside the
// global state (CoreExtensions), episode starts, what happens before and after each decision's ticks,
// whether the defenders update this iteration, the order the update's minibatches are drawn in, the
// optimisers the schedule decays, and the team the evaluations run.
import { deriveSeed, makeStreams, SAMPLER_PURPOSE, type RandomStream } from '../../src/core/random.js';
import type { RendezvousMetrics } from '../../src/core/rendezvous.js';
import type { ModelFile } from '../../src/policy/folder.js';
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import type { EvalResult } from '../evaluation.js';
import { evaluateTeam } from '../team-eval.js';
import { RendezvousWorld } from '../world.js';
import { RolloutBuffer, ValueNormalizer } from './buffer.js';
import { buildCheckpoint, restoreCheckpoint, weightsFingerprint, type Checkpoint, type TrainerState } from './checkpoint.js';
import { checkDecisionTicks, type TrainConfig } from './config.js';
import { actorMeans, actorWeights, createActor, createCritic, criticValue, criticWeights, rowBeliefCount, type ActorParams, type ActorShape, type CriticParams } from './networks.js';
import { actorToOnnx } from './onnx/export-actor.js';
import { CriticMinibatches, sampleGaussian } from './ppo.js';
import { PolicyMinibatches } from './policy-minibatches.js';
import { TfjsTeam } from './tfjs-policy.js';
import { adam } from './adam.js';
import { tf } from './tf.js';
import type { RolloutStats } from './iteration-stats.js';

/** The core update's losses; the policy's are null on an iteration where the defenders' actor is not updated. */
export type CoreLosses = {
  policyLoss: number | null;
  valueLoss: number;
  entropy: number | null;
  approxKl: number | null;
  clipFraction: number | null;
};

export type IterationStats = RolloutStats & CoreLosses & {
  rolloutMs: number;
  updateMs: number;
  /** MIR2: mean CLUB estimate of I(h_i; a_i) per robot and decision on the rollout (nats). */
  club?: number;
};

/** What an algorithm on the core adds to the networks it builds (EIR-MAPPO, BATPAL); nothing for MAPPO. */
export interface CoreExtensions {
  /** Beliefs the actor reads per neighbour row, appended to the row's features (0: the observation alone). */
  beliefsPerRow?: number;
  /** Inputs the critic reads after the global state (the type-aware critic's victim and type one-hots). */
  criticExtraInputs?: number;
}

/** Minibatch orders of one update: one permutation per epoch of the agent samples (actor) and of the environment samples (critic). */
export interface MinibatchOrders {
  actor: Int32Array[];
  critic: Int32Array[];
}

/**
 * The settings that define a run's learning dynamics: a checkpoint resumes only a run with the same ones.
 * How long to train, how often to evaluate or checkpoint may change between resumes.
 */
export function runIdentity(config: TrainConfig): Record<string, unknown> {
  const { totalEnvSteps, checkpointEvery: _c, finalEvalEpisodes: _f, eval: _e, ...identity } = config;
  // Schedules over the run's length (learning-rate decay, EIR's teacher forcing) tie it to its horizon.
  return config.lrDecay || config.algo === 'eir-mappo' || config.algo === 'batpal' ? { ...identity, totalEnvSteps } : identity;
}

/** tfjs optimisers read their learning rate from this field on every step; it has no public setter. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

export class MappoTrainer {
  readonly actor: ActorParams;
  readonly critic: CriticParams;
  readonly actorShape: ActorShape;
  /** The critic's inputs: the global state, then CoreExtensions.criticExtraInputs more. */
  readonly criticInputSize: number;
  readonly valueNorm = new ValueNormalizer();
  iteration = 0;
  envSteps = 0;
  world: RendezvousWorld;
  readonly buffer: RolloutBuffer;
  /** Per decision and environment: the critic's input (the buffer's global states themselves when it reads nothing more). */
  readonly criticStates: Float32Array;
  /** Per decision and agent: the maxNeighbours x beliefsPerRow row beliefs the actor read (empty without beliefs). */
  readonly rowBeliefs: Float32Array;

  protected readonly actorOpt: tf.AdamOptimizer;
  protected readonly criticOpt: tf.AdamOptimizer;
  /** The sampling stream: actions, minibatch orders and every algorithm's own draws, in a fixed order. */
  protected rng: RandomStream;
  protected readonly finished: RendezvousMetrics[] = [];

  constructor(
    readonly config: TrainConfig,
    readonly settings: SwarmSettings,
    extensions: CoreExtensions = {},
  ) {
    checkDecisionTicks(config, settings);
    const { rolloutSteps: T, envs: E } = config;
    const K = settings.observation.maxNeighbours;
    const R = extensions.beliefsPerRow ?? 0;
    this.actorShape = R > 0 ? { maxNeighbours: K, hidden: config.hidden, beliefInputs: true, beliefsPerRow: R } : { maxNeighbours: K, hidden: config.hidden };
    this.rng = makeStreams(deriveSeed(config.seed, SAMPLER_PURPOSE), 1)[0]!;
    this.world = this.makeWorld(config.seed);
    const { robots: N, obsSize, stateSize } = this.world;
    this.actor = createActor(this.actorShape, config.seed, config.initialLogStd);
    this.criticInputSize = stateSize + (extensions.criticExtraInputs ?? 0);
    this.critic = createCritic(this.criticInputSize, config.hidden, config.seed + 1);
    this.actorOpt = adam(config.actorLr, config.adamEpsilon);
    this.criticOpt = adam(config.criticLr, config.adamEpsilon);
    this.buffer = new RolloutBuffer({ steps: T, envs: E, robots: N, obsSize, stateSize });
    this.criticStates = this.criticInputSize === stateSize ? this.buffer.states : new Float32Array(T * E * this.criticInputSize);
    this.rowBeliefs = new Float32Array(T * E * N * K * R);
  }

  private makeWorld(seed: number): RendezvousWorld {
    return new RendezvousWorld(this.settings, {
      envs: this.config.envs,
      seed,
      onEpisodeEnd: (_e, m) => this.finished.push(m),
      onEpisodeStart: (e) => this.episodeStarted(e),
    });
  }

  /**
   * Starts fresh rollout episodes and sampling streams for iteration `iteration`; used when resuming from a
   * checkpoint, so a resumed run continues from new episodes rather than replaying the first ones.
   */
  reseedFor(iteration: number): void {
    const seed = (this.config.seed + 7919 * iteration) % 2 ** 31;
    this.rng = makeStreams(deriveSeed(seed, SAMPLER_PURPOSE), 1)[0]!;
    this.world = this.makeWorld(seed);
  }

  /** Hook: environment e starts an episode (also while the world is being built, before a subclass is set up). */
  protected episodeStarted(_e: number): void {}

  /** Hook: the critic's inputs for every environment now, from their global states (MAPPO: the states themselves). */
  protected criticInputsOf(states: Float32Array): Float32Array {
    return states;
  }

  /** Hook: the row beliefs the actor reads at decision t, written into rowBeliefs (MAPPO: none). */
  protected decisionRowBeliefs(_t: number): Float32Array | undefined {
    return undefined;
  }

  /** Hook: decision t's actions are in the buffer, its ticks come next (EIR: the adversaries act). */
  protected beforeTicks(_t: number): void {}

  /** Hook: the world has just taken rollout tick `tick` (EIR: the beliefs step). */
  protected afterTick(_tick: number): void {}

  /** Deterministic mean commands for a batch of observations (robot g at g * obsSize), with row beliefs for a belief actor. */
  meanActions(obs: Float32Array, robots: number, out: Float32Array, beliefs?: Float32Array): void {
    out.set(actorMeans(this.actor, this.actorShape, obs, this.world.obsSize, robots, beliefs));
  }

  /** Value estimates in return units for `count` critic inputs. */
  criticValues(inputs: Float32Array, count: number): Float32Array {
    return criticEstimates(this.critic, this.valueNorm, inputs, count, this.criticInputSize);
  }

  /** Fills the buffer with one iteration of experience. */
  collect(): void {
    const { rolloutSteps: T, envs: E, decisionTicks: k } = this.config;
    const w = this.world;
    const A = E * w.robots;
    const b = this.buffer;
    const CI = this.criticInputSize;
    const logStd = Float32Array.from(this.actor.logStd.dataSync());
    const mean = new Float32Array(2 * A);
    const actions = new Float32Array(2 * A);
    const logProbs = new Float32Array(A);
    const state = new Float32Array(E * w.stateSize);
    // The critic's input and value at decision t (t = T: the bootstrap value after the last decision).
    const value = (t: number) => {
      const inputs = this.criticInputsOf(state);
      if (t < T && this.criticStates !== b.states) this.criticStates.set(inputs, t * E * CI);
      b.values.set(this.criticValues(inputs, E), t * E);
    };
    for (let t = 0; t < T; t++) {
      b.obs.set(w.obs, t * A * w.obsSize);
      w.globalStates(state);
      b.states.set(state, t * E * w.stateSize);
      value(t);
      this.meanActions(w.obs, A, mean, this.decisionRowBeliefs(t));
      sampleGaussian(this.rng, mean, logStd, actions, logProbs, A);
      b.actions.set(actions, t * 2 * A);
      b.logProbs.set(logProbs, t * A);
      this.beforeTicks(t);
      // The sampled command is held for `decisionTicks` control ticks (see TrainConfig.decisionTicks).
      b.rewards.fill(0, t * E, (t + 1) * E);
      b.dones.fill(0, t * E, (t + 1) * E);
      for (let tick = 0; tick < k; tick++) {
        w.step(actions);
        for (let e = 0; e < E; e++) {
          b.rewards[t * E + e]! += w.rewards[e]!;
          b.dones[t * E + e]! |= w.dones[e]!;
        }
        this.afterTick(t * k + tick);
      }
    }
    w.globalStates(state);
    value(T);
    this.envSteps += T * E * k;
  }

  /** Hook: whether the defenders' actor is updated this iteration (MAPPO: always). */
  defendersUpdateNow(): boolean {
    return true;
  }

  /**
   * Hook: the update's minibatch orders, drawn from the sampling stream. MAPPO draws, epoch by epoch, the
   * agents' order then the environments'.
   */
  protected minibatchOrders(actor: boolean): MinibatchOrders {
    const { steps: T, envs: E } = this.buffer.shape;
    const orders: MinibatchOrders = { actor: [], critic: [] };
    for (let epoch = 0; epoch < this.config.ppoEpochs; epoch++) {
      if (actor) orders.actor.push(this.rng.permutation(T * this.buffer.agents));
      orders.critic.push(this.rng.permutation(T * E));
    }
    return orders;
  }

  /**
   * GAE, then `ppoEpochs` epochs of `minibatches` balanced minibatches: PPO-clip steps of the defenders'
   * actor on the agent samples (on iterations where defendersUpdateNow(); the loss mask drops a victim's
   * own transitions) and Huber steps of the critic on the environment samples. Returns mean losses.
   */
  update(): CoreLosses {
    const c = this.config;
    const b = this.buffer;
    const { steps: T, envs: E } = b.shape;
    b.computeAdvantages(c.gamma, c.gaeLambda);
    this.valueNorm.update(b.returns);
    const actorNow = this.defendersUpdateNow();
    const orders = this.minibatchOrders(actorNow);
    const policy = actorNow ? new PolicyMinibatches(this.actor, this.actorShape, this.actorOpt, b, this.rowBeliefs, c) : null;
    const critic = new CriticMinibatches(
      this.critic, this.criticOpt,
      { inputs: this.criticStates, inputSize: this.criticInputSize, targets: Float32Array.from(b.returns, (r) => this.valueNorm.normalize(r)), count: T * E },
      c,
    );
    const sums = { loss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
    let valueLoss = 0;
    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      for (let j = 0; j < c.minibatches; j++) {
        if (policy) {
          const st = policy.step(orders.actor[epoch]!, j);
          for (const key of ['loss', 'entropy', 'approxKl', 'clipFraction'] as const) sums[key] += st[key];
        }
        valueLoss += critic.step(orders.critic[epoch]!, j);
      }
    }
    const batches = c.ppoEpochs * c.minibatches;
    const mean = (x: number) => (policy ? x / batches : null);
    return { policyLoss: mean(sums.loss), valueLoss: valueLoss / batches, entropy: mean(sums.entropy), approxKl: mean(sums.approxKl), clipFraction: mean(sums.clipFraction) };
  }

  /** Hook: the optimisers the learning-rate schedule decays (lrDecay), each with its base rate. */
  protected scheduledOptimisers(): [tf.Optimizer, number][] {
    return [
      [this.actorOpt, this.config.actorLr],
      [this.criticOpt, this.config.criticLr],
    ];
  }

  /** One training iteration: rollout, learning rates, update. */
  iterate(): IterationStats {
    this.finished.length = 0;
    const t0 = performance.now();
    this.collect();
    const t1 = performance.now();
    if (this.config.lrDecay) {
      const left = Math.max(0, 1 - this.envSteps / this.config.totalEnvSteps);
      for (const [optimizer, lr] of this.scheduledOptimisers()) setLearningRate(optimizer, lr * left);
    }
    const losses = this.update();
    const t2 = performance.now();
    this.iteration++;
    return {
      iteration: this.iteration,
      envSteps: this.envSteps,
      ...rolloutEpisodes(this.finished),
      ...losses,
      rolloutMs: t1 - t0,
      updateMs: t2 - t1,
    };
  }

  protected state(): TrainerState {
    return {
      identity: runIdentity(this.config),
      config: this.config as unknown as Record<string, unknown>,
      iteration: this.iteration,
      envSteps: this.envSteps,
      valueNorm: this.valueNorm,
      networks: { actor: actorWeights(this.actor), critic: criticWeights(this.critic) },
      optimizers: { actor: this.actorOpt, critic: this.criticOpt },
    };
  }

  /** Hash of every network's weights now (see weightsFingerprint). */
  fingerprint(): string {
    return weightsFingerprint(this.state().networks);
  }

  /** Everything needed to continue this run later. */
  checkpoint(wallSeconds: number, curve: Checkpoint['curve']): Promise<Checkpoint> {
    return buildCheckpoint(this.state(), wallSeconds, curve);
  }

  /** Continues from a checkpoint of the same configuration; fresh episodes start at its iteration. */
  async restore(ck: Checkpoint, source: string): Promise<void> {
    await restoreCheckpoint(ck, source, this.state());
    this.iteration = ck.iteration;
    this.envSteps = ck.envSteps;
    this.reseedFor(ck.iteration);
  }

  /** The deployable models of this policy (ONNX) with their signatures: actor.onnx (obs, and row beliefs if it reads them). */
  exportModels(doc: string): Record<string, ModelFile> {
    const obsSize = this.world.obsSize;
    const KR = this.actorShape.maxNeighbours * rowBeliefCount(this.actorShape);
    return {
      'actor.onnx': {
        bytes: actorToOnnx(this.actor, this.actorShape, obsSize, doc),
        inputs: [{ name: 'obs', shape: ['batch', obsSize], dtype: 'float32' }, ...(KR > 0 ? [{ name: 'beliefs', shape: ['batch', KR], dtype: 'float32' as const }] : [])],
        outputs: [{ name: 'action', shape: ['batch', 2], dtype: 'float32' }],
      },
    };
  }

  /** The belief's classes (none: MAPPO reads no beliefs). */
  get beliefTypes(): string[] {
    return [];
  }

  get hiddenSizes(): Record<string, number> {
    return { actor: this.config.hidden, critic: this.config.hidden };
  }

  /**
   * The team as the evaluation protocol runs it (sim/team-eval.ts), on the current weights: every robot's
   * mean command every tick, as the exported actor.onnx gives it. `oracleType`: see EirMappoTrainer.team.
   */
  team(_oracleType?: number): TfjsTeam {
    return new TfjsTeam({ name: this.config.algo, actor: this.actor, shape: this.actorShape, obsSize: this.world.obsSize });
  }

  /**
   * Deterministic benign episodes on held-out seeds, through the evaluation protocol's loop (evaluateTeam):
   * robot e mod N of episode e is left out of the outcome metrics, as in every benign row of the matrix.
   */
  evaluate(episodes: number, seed: number): Promise<EvalResult> {
    return evaluateTeam(this.settings, this.team(), { episodes, seed });
  }

  /** No training adversary: nothing but the benign evaluation goes into the manifest. */
  async extraEvaluations(_episodes: number, _seed: number): Promise<Record<string, EvalResult>> {
    return {};
  }
}

/** Value estimates in return units for a batch of critic inputs. */
export function criticEstimates(critic: CriticParams, norm: ValueNormalizer, states: Float32Array, count: number, stateSize: number): Float32Array {
  const v = tf.tidy(() => criticValue(critic, tf.tensor2d(states.subarray(0, count * stateSize), [count, stateSize])));
  const out = Float32Array.from(v.dataSync());
  v.dispose();
  for (let i = 0; i < out.length; i++) out[i] = norm.denormalize(out[i]!);
  return out;
}

/** Episodes that ended during a rollout: how many, their mean return and the fraction that gathered. */
export function rolloutEpisodes(done: readonly RendezvousMetrics[]): { episodes: number; meanReturn: number | null; meanDefenderReturn: number | null; everGatheredRate: number | null } {
  const mean = (f: (m: RendezvousMetrics) => number) => (done.length ? done.reduce((s, m) => s + f(m), 0) / done.length : null);
  return {
    episodes: done.length,
    meanReturn: mean((m) => m.episodeReturn),
    meanDefenderReturn: mean((m) => m.defenderReturn),
    everGatheredRate: mean((m) => (m.timeToGather === null ? 0 : 1)),
  };
}
