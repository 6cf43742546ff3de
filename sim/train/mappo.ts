// The MAPPO core: a shared Gaussian actor over rendezvous-v1 observations, a centralised critic over the
// global state, GAE, PPO-clip, value normalisation, Huber value loss, gradient clipping. Rollouts step the
// vectorised twin directly. One iteration = collect `rolloutSteps` steps of `envs` environments, then
// `ppoEpochs` epochs of minibatch updates.
import { summariseEpisodes, type EvalResult } from '../evaluation.js';
import { deriveSeed, makeStreams, SAMPLER_PURPOSE, type RandomStream } from '../../src/core/random.js';
import type { RendezvousMetrics } from '../../src/core/rendezvous.js';
import type { SimSettings } from '../config.js';
import { RendezvousWorld } from '../world.js';
import { RolloutBuffer, ValueNormalizer } from './buffer.js';
import { buildCheckpoint, restoreCheckpoint, weightsFingerprint, type Checkpoint, type TrainerState } from './checkpoint.js';
import type { ModelFile } from '../../src/policy/folder.js';
import { actorToOnnx } from './onnx/export-actor.js';
import { checkDecisionTicks, type TrainConfig } from './config.js';
import {
  actorMean,
  actorVariables,
  actorWeights,
  createActor,
  createCritic,
  criticValue,
  criticVariables,
  criticWeights,
  type ActorParams,
  type ActorShape,
  type CriticParams,
} from './networks.js';
import { ppoPolicyStep, valueStep } from './ppo.js';
import { tf } from './tf.js';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

export type IterationStats = {
  iteration: number;
  envSteps: number;
  /** Episodes that ended during this iteration's rollout, and their mean metrics. */
  episodes: number;
  meanReturn: number | null;
  gatherRate: number | null;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  rolloutMs: number;
  updateMs: number;
  /** MIR2: mean CLUB estimate of I(h_i; a_i) per robot and decision on the rollout (nats). */
  club?: number;
};

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
  readonly valueNorm = new ValueNormalizer();
  iteration = 0;
  envSteps = 0;

  protected readonly actorOpt: tf.AdamOptimizer;
  private readonly criticOpt: tf.AdamOptimizer;
  private world: RendezvousWorld;
  readonly buffer: RolloutBuffer;
  protected sampler: RandomStream;
  private readonly finished: RendezvousMetrics[] = [];

  constructor(
    readonly config: TrainConfig,
    readonly settings: SimSettings,
  ) {
    checkDecisionTicks(config, settings);
    this.actorShape = { maxNeighbours: settings.observation.maxNeighbours, hidden: config.hidden };
    this.world = this.makeWorld(config.seed);
    this.actor = createActor(this.actorShape, config.seed, config.initialLogStd);
    this.critic = createCritic(this.world.stateSize, config.hidden, config.seed + 1);
    this.actorOpt = tf.train.adam(config.actorLr, 0.9, 0.999, config.adamEpsilon);
    this.criticOpt = tf.train.adam(config.criticLr, 0.9, 0.999, config.adamEpsilon);
    this.buffer = new RolloutBuffer({
      steps: config.rolloutSteps,
      envs: config.envs,
      robots: this.world.robots,
      obsSize: this.world.obsSize,
      stateSize: this.world.stateSize,
    });
    this.sampler = makeStreams(deriveSeed(config.seed, SAMPLER_PURPOSE), 1)[0]!;
  }

  private makeWorld(seed: number): RendezvousWorld {
    return new RendezvousWorld(this.settings, {
      envs: this.config.envs,
      seed,
      onEpisodeEnd: (_e, m) => this.finished.push(m),
    });
  }

  /**
   * Starts fresh rollout episodes and sampling streams for iteration `iteration`; used when resuming from a
   * checkpoint, so a resumed run continues from new episodes rather than replaying the first ones.
   */
  reseedFor(iteration: number): void {
    const seed = (this.config.seed + 7919 * iteration) % 2 ** 31;
    this.world = this.makeWorld(seed);
    this.sampler = makeStreams(deriveSeed(seed, SAMPLER_PURPOSE), 1)[0]!;
  }

  /** Deterministic mean commands for a batch of observations (robot g at g * obsSize). */
  meanActions(obs: Float32Array, robots: number, out: Float32Array): void {
    const size = this.world.obsSize;
    const mean = tf.tidy(() => actorMean(this.actor, this.actorShape, tf.tensor2d(obs.subarray(0, robots * size), [robots, size])));
    out.set(mean.dataSync() as Float32Array);
    mean.dispose();
  }

  private criticValues(states: Float32Array, count: number): Float32Array {
    return criticEstimates(this.critic, this.valueNorm, states, count, this.world.stateSize);
  }

  /** Fills the buffer with one iteration of experience. */
  collect(): void {
    const { rolloutSteps: T, envs: E, decisionTicks: k } = this.config;
    const w = this.world;
    const A = E * w.robots;
    const b = this.buffer;
    const logStd = this.actor.logStd.dataSync();
    const std = [Math.exp(logStd[0]!), Math.exp(logStd[1]!)];
    const logStdSum = logStd[0]! + logStd[1]!;
    const mean = new Float32Array(2 * A);
    const actions = new Float32Array(2 * A);
    const state = new Float32Array(E * w.stateSize);
    for (let t = 0; t < T; t++) {
      b.obs.set(w.obs, t * A * w.obsSize);
      w.globalStates(state);
      b.states.set(state, t * E * w.stateSize);
      b.values.set(this.criticValues(state, E), t * E);
      this.meanActions(w.obs, A, mean);
      for (let a = 0; a < A; a++) {
        let logp = -logStdSum - 2 * LOG_SQRT_2PI;
        for (let d = 0; d < 2; d++) {
          const z = this.sampler.gaussian();
          actions[2 * a + d] = mean[2 * a + d]! + std[d]! * z;
          logp -= 0.5 * z * z;
        }
        b.logProbs[t * A + a] = logp;
      }
      b.actions.set(actions, t * 2 * A);
      // The sampled command is held for `decisionTicks` control ticks (see TrainConfig.decisionTicks).
      for (let e = 0; e < E; e++) {
        b.rewards[t * E + e] = 0;
        b.dones[t * E + e] = 0;
      }
      for (let tick = 0; tick < k; tick++) {
        w.step(actions);
        for (let e = 0; e < E; e++) {
          b.rewards[t * E + e] += w.rewards[e]!;
          b.dones[t * E + e] |= w.dones[e]!;
        }
      }
    }
    w.globalStates(state);
    b.values.set(this.criticValues(state, E), T * E);
    this.envSteps += T * E * k;
  }

  /** PPO epochs over the buffer; returns mean losses. */
  update(): Pick<IterationStats, 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl' | 'clipFraction'> {
    const c = this.config;
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, obsSize, stateSize } = b.shape;
    const A = E * N;
    b.computeAdvantages(c.gamma, c.gaeLambda);
    this.valueNorm.update(b.returns);

    // Advantages normalised over the agent samples that enter the loss.
    let sum = 0;
    let sumSq = 0;
    let count = 0;
    for (let t = 0; t < T; t++) {
      for (let a = 0; a < A; a++) {
        const m = b.lossMask[t * A + a]!;
        const adv = b.advantages[t * E + Math.floor(a / N)]!;
        sum += m * adv;
        sumSq += m * adv * adv;
        count += m;
      }
    }
    const advMean = sum / Math.max(count, 1);
    const advStd = Math.sqrt(Math.max(sumSq / Math.max(count, 1) - advMean * advMean, 0)) + 1e-8;

    const agentSamples = T * A;
    const envSamples = T * E;
    const actorBatch = Math.ceil(agentSamples / c.minibatches);
    const criticBatch = Math.ceil(envSamples / c.minibatches);
    const obsBuf = new Float32Array(actorBatch * obsSize);
    const actBuf = new Float32Array(actorBatch * 2);
    const oldLogp = new Float32Array(actorBatch);
    const advBuf = new Float32Array(actorBatch);
    const maskBuf = new Float32Array(actorBatch);
    const stateBuf = new Float32Array(criticBatch * stateSize);
    const targetBuf = new Float32Array(criticBatch);
    const actorVars = actorVariables(this.actor);
    const criticVars = criticVariables(this.critic);
    let policyLoss = 0;
    let valueLoss = 0;
    let entropy = 0;
    let kl = 0;
    let clipped = 0;
    let batches = 0;

    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      const agentOrder = this.sampler.permutation(agentSamples);
      const envOrder = this.sampler.permutation(envSamples);
      for (let mb = 0; mb < c.minibatches; mb++) {
        // Actor minibatch: balanced ranges, so no minibatch is empty (minibatches <= samples, checked at start).
        const start = Math.floor((mb * agentSamples) / c.minibatches);
        const M = Math.floor(((mb + 1) * agentSamples) / c.minibatches) - start;
        for (let k = 0; k < M; k++) {
          const s = agentOrder[start + k]!;
          const t = Math.floor(s / A);
          const a = s - t * A;
          obsBuf.set(b.obs.subarray(s * obsSize, (s + 1) * obsSize), k * obsSize);
          actBuf[2 * k] = b.actions[2 * s]!;
          actBuf[2 * k + 1] = b.actions[2 * s + 1]!;
          oldLogp[k] = b.logProbs[s]!;
          advBuf[k] = (b.advantages[t * E + Math.floor(a / N)]! - advMean) / advStd;
          maskBuf[k] = b.lossMask[s]!;
        }
        const step = ppoPolicyStep(
          () => actorMean(this.actor, this.actorShape, tf.tensor2d(obsBuf.subarray(0, M * obsSize), [M, obsSize])),
          this.actor.logStd,
          actorVars,
          this.actorOpt,
          { actions: actBuf, oldLogProbs: oldLogp, advantages: advBuf, mask: maskBuf, size: M },
          c,
        );

        // Critic minibatch.
        const cStart = Math.floor((mb * envSamples) / c.minibatches);
        const C = Math.floor(((mb + 1) * envSamples) / c.minibatches) - cStart;
        let vl = 0;
        if (C > 0) {
          for (let k = 0; k < C; k++) {
            const s = envOrder[cStart + k]!;
            stateBuf.set(b.states.subarray(s * stateSize, (s + 1) * stateSize), k * stateSize);
            targetBuf[k] = this.valueNorm.normalize(b.returns[s]!);
          }
          vl = valueStep(
            () => criticValue(this.critic, tf.tensor2d(stateBuf.subarray(0, C * stateSize), [C, stateSize])),
            targetBuf,
            C,
            criticVars,
            this.criticOpt,
            c.huberDelta,
            c.maxGradNorm,
          );
        }
        policyLoss += step.loss;
        entropy += step.entropy;
        kl += step.approxKl;
        clipped += step.clipFraction;
        valueLoss += vl;
        batches++;
      }
    }
    return {
      policyLoss: policyLoss / batches,
      valueLoss: valueLoss / batches,
      entropy: entropy / batches,
      approxKl: kl / batches,
      clipFraction: clipped / batches,
    };
  }

  /** One training iteration: rollout then update. */
  iterate(): IterationStats {
    this.finished.length = 0;
    const t0 = performance.now();
    this.collect();
    const t1 = performance.now();
    if (this.config.lrDecay) {
      const left = Math.max(0, 1 - this.envSteps / this.config.totalEnvSteps);
      setLearningRate(this.actorOpt, this.config.actorLr * left);
      setLearningRate(this.criticOpt, this.config.criticLr * left);
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

  /** The deployable models of this policy (ONNX) with their signatures. */
  exportModels(doc: string): Record<string, ModelFile> {
    const obsSize = this.world.obsSize;
    return {
      'actor.onnx': {
        bytes: actorToOnnx(this.actor, this.actorShape, obsSize, doc),
        inputs: [{ name: 'obs', shape: ['batch', obsSize], dtype: 'float32' }],
        outputs: [{ name: 'action', shape: ['batch', 2], dtype: 'float32' }],
      },
    };
  }

  /** No belief network and no training adversary: nothing but the benign evaluation goes into the manifest. */
  readonly beliefTypes: string[] = [];

  get hiddenSizes(): Record<string, number> {
    return { actor: this.config.hidden, critic: this.config.hidden };
  }

  extraEvaluations(): Record<string, EvalResult> {
    return {};
  }

  /** Deterministic (mean-action) episodes on held-out seeds, all run side by side. */
  evaluate(episodes: number, seed: number): EvalResult {
    return evaluatePolicy(this.settings, episodes, seed, (obs, robots, out) => this.meanActions(obs, robots, out));
  }
}

/** Value estimates in return units for a batch of global states. */
export function criticEstimates(critic: CriticParams, norm: ValueNormalizer, states: Float32Array, count: number, stateSize: number): Float32Array {
  const v = tf.tidy(() => criticValue(critic, tf.tensor2d(states.subarray(0, count * stateSize), [count, stateSize])));
  const out = Float32Array.from(v.dataSync());
  v.dispose();
  for (let i = 0; i < out.length; i++) out[i] = norm.denormalize(out[i]!);
  return out;
}

/** Episodes that ended during a rollout: how many, their mean return and the fraction that gathered. */
export function rolloutEpisodes(done: readonly RendezvousMetrics[]): { episodes: number; meanReturn: number | null; gatherRate: number | null } {
  const mean = (f: (m: RendezvousMetrics) => number) => (done.length ? done.reduce((s, m) => s + f(m), 0) / done.length : null);
  return { episodes: done.length, meanReturn: mean((m) => m.episodeReturn), gatherRate: mean((m) => (m.timeToGather === null ? 0 : 1)) };
}

/** Runs `episodes` seeded episodes with a batched controller and summarises the rendezvous metrics. */
export function evaluatePolicy(
  settings: SimSettings,
  episodes: number,
  seed: number,
  act: (obs: Float32Array, robots: number, out: Float32Array) => void,
): EvalResult {
  const world = new RendezvousWorld(settings, { envs: episodes, seed, autoReset: false });
  const robots = episodes * world.robots;
  const actions = new Float32Array(2 * robots);
  for (let t = 0; t < settings.episodeSteps; t++) {
    act(world.obs, robots, actions);
    world.step(actions);
  }
  return summariseEpisodes(Array.from({ length: episodes }, (_, e) => world.metrics(e)));
}

