// EIR-MAPPO (Li et al., ICLR 2024) on the MAPPO core.
//
// Each episode nature draws a type: benign (probability 0.5) or one victim robot chosen uniformly, whose
// commands come from a separately parameterised adversary (it sees the victim's observation). Defenders
// keep a belief p_ij = P(robot j is compromised) per (observer i, neighbour j) pair, a GRU over the pair
// features updated every control tick, trained with binary cross-entropy against the true type. The actor
// reads its neighbours' beliefs, one per neighbour row; early in training the true type is fed instead of
// the belief with a probability that decays to zero over the first half (teacher forcing, as in the
// public code). The adversary is trained with PPO on the negated team advantage. The victim's own
// transitions are masked out of the defenders' loss.
//
// Two timescales (the paper's Theorem 3.1 and Algorithm 1: the adversary faster, the defenders
// quasi-static). Optimiser steps per iteration, counted exactly:
//   adversary (each trained type)  eir.adversaryEpochs x eir.adversaryMinibatches   (defaults 10 x 4 = 40)
//   defenders' actor               ppoEpochs x minibatches = 5 x 4 = 20, on every eir.adversaryInterval-th
//                                  iteration only (the paper's "adversary interval"; default 1)
//   critic                         ppoEpochs x minibatches = 20, every iteration
//   belief                         eir.beliefChunksPerIteration (10), every iteration
// config.ts refuses settings where the adversary does not take more steps per defender update.
//
// Type-aware critic: the paper's critic sees the true type during training (Algorithm 1 conditions
// A(s, a, b) on the type drawn for the rollout), so ours reads [global state | victim one-hot (N) | type
// one-hot (R)], zeros in the last N + R for a benign episode. The actors never see it.
//
// The same machinery carries several adversary types (BATPAL's severities, batpal.ts): each attacked
// episode draws a type, its victim is driven by that type's adversary, and the belief tells the types
// apart (softmax over benign and the R types; the actor reads R beliefs per neighbour row).
import { PAIR_DIM } from '../../src/core/observation.js';
import { deriveSeed, makeStreams, SAMPLER_PURPOSE, type RandomStream } from '../../src/core/random.js';
import type { RendezvousMetrics } from '../../src/core/rendezvous.js';
import type { SimSettings } from '../config.js';
import { CommandOverride } from '../override.js';
import { RendezvousWorld } from '../world.js';
import { beliefSequenceLoss, beliefStep, beliefWeights, createBelief, type BeliefParams, type BeliefShape } from './belief.js';
import { RolloutBuffer, ValueNormalizer } from './buffer.js';
import { checkDecisionTicks, DEFAULT_EIR, type EirSettings, type TrainConfig } from './config.js';
import {
  actorMean,
  actorVariables,
  actorWeights,
  createActor,
  rowBeliefCount,
  createCritic,
  criticWeights,
  type ActorParams,
  type ActorShape,
  type CriticParams,
} from './networks.js';
import { clipByGlobalNorm, fitCritic, minibatchRange, ppoPolicyStep, sampleGaussian } from './ppo.js';
import { buildCheckpoint, restoreCheckpoint, weightsFingerprint, type Checkpoint, type TrainerState } from './checkpoint.js';
import { summariseEpisodes, type EvalResult } from '../evaluation.js';
import { criticEstimates, rolloutEpisodes, runIdentity, setLearningRate } from './mappo.js';
import { actorToOnnx } from './onnx/export-actor.js';
import { beliefToOnnx } from './onnx/export-belief.js';
import type { ModelFile } from '../../src/policy/folder.js';
import { tf } from './tf.js';


export type EirIterationStats = {
  iteration: number;
  envSteps: number;
  episodes: number;
  meanReturn: number | null;
  gatherRate: number | null;
  /** null on an iteration where the defenders' actor is not updated (adversaryInterval > 1). */
  policyLoss: number | null;
  valueLoss: number;
  beliefLoss: number;
  adversaryLoss: number;
  teacherForcing: number;
  rolloutMs: number;
  updateMs: number;
};

/** An adversary's samples from a rollout, sample q's observation at q * obsSize. */
export interface AttackSamples {
  size: number;
  obs: Float32Array;
  actions: Float32Array;
  oldLogProbs: Float32Array;
  advantages: Float32Array;
}

/** The samples in the order `order` (a permutation of 0..size-1). */
export function shuffled(x: AttackSamples, order: ArrayLike<number>, obsSize: number): AttackSamples {
  const out: AttackSamples = { size: x.size, obs: new Float32Array(x.obs.length), actions: new Float32Array(x.actions.length), oldLogProbs: new Float32Array(x.size), advantages: new Float32Array(x.size) };
  for (let q = 0; q < x.size; q++) {
    const i = order[q]!;
    out.obs.set(x.obs.subarray(i * obsSize, (i + 1) * obsSize), q * obsSize);
    out.actions[2 * q] = x.actions[2 * i]!;
    out.actions[2 * q + 1] = x.actions[2 * i + 1]!;
    out.oldLogProbs[q] = x.oldLogProbs[i]!;
    out.advantages[q] = x.advantages[i]!;
  }
  return out;
}

/** Inputs of the type-aware critic: the global state, then the victim one-hot (N) and the type one-hot (R). */
export function typedStateSize(stateSize: number, robots: number, types: number): number {
  return stateSize + robots + types;
}

/**
 * Writes one type-aware critic input at out[offset]: `state` (stateSize values from stateOffset), a one-hot
 * of the victim robot and a one-hot of its adversary type 1..R (for EIR, R = 1: "attacked"); a benign
 * episode (victim -1, type 0) leaves both zero.
 */
export function writeTypedState(
  out: Float32Array, offset: number, state: Float32Array, stateOffset: number, stateSize: number,
  robots: number, types: number, victim: number, type: number,
): void {
  out.set(state.subarray(stateOffset, stateOffset + stateSize), offset);
  out.fill(0, offset + stateSize, offset + stateSize + robots + types);
  if (victim < 0) return;
  if (victim >= robots || type < 1 || type > types) throw new RangeError(`victim ${victim} of type ${type} (robots 0..${robots - 1}, types 1..${types})`);
  out[offset + stateSize + victim] = 1;
  out[offset + stateSize + robots + type - 1] = 1;
}

/** Mean and standard deviation (plus 1e-8) of the non-null values pick(0..count-1). */
export function meanStd(pick: (i: number) => number | null, count: number): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let i = 0; i < count; i++) {
    const v = pick(i);
    if (v === null) continue;
    s += v;
    s2 += v * v;
    n++;
  }
  const mean = s / Math.max(n, 1);
  return { mean, std: Math.sqrt(Math.max(s2 / Math.max(n, 1) - mean * mean, 0)) + 1e-8 };
}

export class EirMappoTrainer {
  readonly actorShape: ActorShape;
  readonly adversaryShape: ActorShape;
  readonly beliefShape: BeliefShape;
  readonly eir: EirSettings;
  /** Adversary types R (1 for EIR-MAPPO); type k (1..R) is driven by adversaries[k - 1]. */
  readonly types: number;
  readonly actor: ActorParams;
  readonly adversaries: ActorParams[];
  /** The type-aware critic, on criticInputSize = typedStateSize(stateSize, N, R) inputs. */
  readonly critic: CriticParams;
  readonly criticInputSize: number;
  readonly belief: BeliefParams;
  readonly valueNorm = new ValueNormalizer();
  world: RendezvousWorld;
  readonly override: CommandOverride;
  iteration = 0;
  envSteps = 0;

  private readonly actorOpt: tf.Optimizer;
  private readonly criticOpt: tf.Optimizer;
  private readonly beliefOpt: tf.Optimizer;
  protected readonly adversaryOpts: tf.Optimizer[];
  protected rng: RandomStream;
  readonly buffer: RolloutBuffer;
  /** Per decision step and environment: the critic's input (global state with the true type). */
  readonly criticStates: Float32Array;
  private readonly finished: RendezvousMetrics[] = [];
  /** Per decision step and agent: the R beliefs (or forced true type) of each neighbour row the actor read. */
  readonly rowBeliefs: Float32Array;
  /** Per decision step and environment: the victim (-1 benign), its type (0 benign, 1..R), and the adversary's samples. */
  readonly victims: Int32Array;
  readonly stepTypes: Int32Array;
  protected readonly advObs: Float32Array;
  protected readonly advActions: Float32Array;
  protected readonly advLogProbs: Float32Array;
  /** Adversary type of each environment's current episode (0 benign). */
  private readonly envTypes: Int32Array;
  /** Per tick: pair features, true types and loss masks of every (env, i, j) pair. */
  private readonly pairFeatures: Float32Array;
  private readonly pairLabels: Float32Array;
  private readonly pairMasks: Float32Array;
  /** Per tick and pair: 1 if the pair's environment started a new episode just before this tick's belief step. */
  private readonly pairResets: Float32Array;
  /** Belief state of every pair now, and at the start of each chunk of ticks. */
  private beliefState: Float32Array;
  private readonly chunkStates: Float32Array[];
  private readonly latestBelief: Float32Array;
  private readonly pairScratch: Float32Array;

  constructor(
    readonly config: TrainConfig,
    readonly settings: SimSettings,
    robust: EirSettings = config.eir ?? DEFAULT_EIR,
    types = 1,
  ) {
    const eir = (this.eir = robust);
    this.types = types;
    checkDecisionTicks(config, settings);
    const K = settings.observation.maxNeighbours;
    const { envs: E, rolloutSteps: T, decisionTicks: k } = config;
    this.rng = makeStreams(deriveSeed(config.seed, SAMPLER_PURPOSE), 1)[0]!;
    this.override = new CommandOverride(E);
    this.world = this.makeWorld(config.seed);
    const N = this.world.robots;
    this.actorShape = { maxNeighbours: K, hidden: config.hidden, beliefInputs: true, beliefsPerRow: types };
    this.adversaryShape = { maxNeighbours: K, hidden: config.hidden };
    this.beliefShape = { hidden: eir.beliefHidden, types };
    this.actor = createActor(this.actorShape, config.seed, config.initialLogStd);
    // EIR's single adversary keeps seed + 2; further types follow at distinct seeds.
    this.adversaries = Array.from({ length: types }, (_, k) => createActor(this.adversaryShape, k === 0 ? config.seed + 2 : config.seed + 100 + k, config.initialLogStd));
    this.criticInputSize = typedStateSize(this.world.stateSize, N, types);
    this.critic = createCritic(this.criticInputSize, config.hidden, config.seed + 1);
    this.belief = createBelief(this.beliefShape, config.seed + 3);
    this.actorOpt = tf.train.adam(config.actorLr, 0.9, 0.999, config.adamEpsilon);
    this.criticOpt = tf.train.adam(config.criticLr, 0.9, 0.999, config.adamEpsilon);
    this.beliefOpt = tf.train.adam(eir.beliefLr, 0.9, 0.999, config.adamEpsilon);
    this.adversaryOpts = this.adversaries.map(() => tf.train.adam(eir.adversaryLr, 0.9, 0.999, config.adamEpsilon));
    this.buffer = new RolloutBuffer({ steps: T, envs: E, robots: N, obsSize: this.world.obsSize, stateSize: this.world.stateSize });
    this.criticStates = new Float32Array(T * E * this.criticInputSize);
    this.rowBeliefs = new Float32Array(T * E * N * K * types);
    this.victims = new Int32Array(T * E);
    this.stepTypes = new Int32Array(T * E);
    this.envTypes = new Int32Array(E);
    this.advObs = new Float32Array(T * E * this.world.obsSize);
    this.advActions = new Float32Array(T * E * 2);
    this.advLogProbs = new Float32Array(T * E);
    const pairs = E * N * N;
    const ticks = T * k;
    this.pairFeatures = new Float32Array(ticks * pairs * PAIR_DIM);
    this.pairLabels = new Float32Array(ticks * pairs);
    this.pairMasks = new Float32Array(ticks * pairs);
    this.pairResets = new Float32Array(ticks * pairs);
    this.beliefState = new Float32Array(pairs * eir.beliefHidden);
    this.chunkStates = Array.from({ length: Math.ceil(ticks / eir.beliefChunk) }, () => new Float32Array(pairs * eir.beliefHidden));
    this.latestBelief = new Float32Array(pairs * types);
    this.pairScratch = new Float32Array(N * N * PAIR_DIM);
    // The constructor's resets drew types before the override existed; draw them again now.
    for (let e = 0; e < E; e++) this.drawType(e);
  }

  private makeWorld(seed: number): RendezvousWorld {
    return new RendezvousWorld(this.settings, {
      envs: this.config.envs,
      seed,
      onEpisodeEnd: (_e, m) => this.finished.push(m),
      onEpisodeStart: (e) => this.drawType(e),
    });
  }

  /** Fresh episodes, types and sampling for a resumed run (it does not replay the first iterations). */
  protected reseedFor(iteration: number): void {
    const seed = (this.config.seed + 7919 * iteration) % 2 ** 31;
    this.rng = makeStreams(deriveSeed(seed, SAMPLER_PURPOSE), 1)[0]!;
    this.world = this.makeWorld(seed);
    for (let e = 0; e < this.config.envs; e++) this.drawType(e);
  }

  /** Nature's draw at an episode start: benign, or a uniformly chosen victim driven by an adversary type. */
  private drawType(e: number): void {
    if (!this.world || !this.beliefState) return; // the world's constructor resets before set-up ends; drawn again after
    const N = this.world.robots;
    if (this.rng.uniform() < this.eir.benignProbability) {
      this.world.setVictim(e, null);
      this.envTypes[e] = 0;
    } else {
      this.world.setVictim(e, { robot: this.rng.int(0, N - 1), override: this.override });
      this.envTypes[e] = this.drawAttackType();
    }
    // A new episode starts from fresh beliefs.
    this.beliefState.fill(0, e * N * N * this.eir.beliefHidden, (e + 1) * N * N * this.eir.beliefHidden);
    this.latestBelief.fill(0, e * N * N * this.types, (e + 1) * N * N * this.types);
  }

  /** Draws every environment's type again (a subclass whose draw needs its own set-up calls this after it). */
  protected redrawTypes(): void {
    for (let e = 0; e < this.config.envs; e++) this.drawType(e);
  }

  /** The adversary type (1..R) of an attacked episode starting now. */
  protected drawAttackType(): number {
    return 1;
  }

  /** Probability of feeding the true type instead of the belief at the current point of training. */
  teacherForcing(): number {
    if (this.eir.oracle) return 1;
    const progress = this.envSteps / this.config.totalEnvSteps;
    return Math.max(0, 1 - progress / this.eir.teacherForcingUntil);
  }

  /** Pair features of every environment for the current tick, the true types and the loss masks. */
  private observePairs(tick: number): void {
    const w = this.world;
    const N = w.robots;
    const pairs = w.envs * N * N;
    const f = this.pairFeatures.subarray(tick * pairs * PAIR_DIM, (tick + 1) * pairs * PAIR_DIM);
    const scratch = this.pairScratch;
    for (let e = 0; e < w.envs; e++) {
      w.pairFeatures(e, scratch);
      f.set(scratch, e * N * N * PAIR_DIM);
      this.pairResets.fill(w.dones[e]!, tick * pairs + e * N * N, tick * pairs + (e + 1) * N * N);
      const v = w.victim[e]!;
      const type = this.envTypes[e]!;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const p = (e * N + i) * N + j;
          this.pairLabels[tick * pairs + p] = j === v ? type : 0;
          // A pair counts when j is in i's range and i is a defender.
          this.pairMasks[tick * pairs + p] = scratch[(i * N + j) * PAIR_DIM] === 1 && i !== v ? 1 : 0;
        }
      }
    }
  }

  /** Advances every pair's belief by one tick. */
  private updateBeliefs(tick: number): void {
    const N = this.world.robots;
    const pairs = this.world.envs * N * N;
    if (tick % this.eir.beliefChunk === 0) this.chunkStates[tick / this.eir.beliefChunk]!.set(this.beliefState);
    const f = this.pairFeatures.subarray(tick * pairs * PAIR_DIM, (tick + 1) * pairs * PAIR_DIM);
    this.beliefState = this.stepBeliefs(f, this.beliefState, pairs, this.latestBelief);
  }

  /** One belief-GRU step for `pairs` pairs on the JS side: writes beliefs into `beliefs`, returns the new state. */
  private stepBeliefs(features: Float32Array, h: Float32Array, pairs: number, beliefs: Float32Array): Float32Array<ArrayBuffer> {
    const H = this.eir.beliefHidden;
    const out = tf.tidy(() => {
      const step = beliefStep(this.belief, this.beliefShape, tf.tensor2d(features, [pairs, PAIR_DIM]), tf.tensor2d(h, [pairs, H]));
      return [step.belief, step.h];
    });
    beliefs.set(out[0]!.dataSync());
    const next = Float32Array.from(out[1]!.dataSync());
    tf.dispose(out);
    return next;
  }

  /** Row beliefs for every agent from the latest beliefs, or the true type (one-hot) under teacher forcing. */
  private fillRowBeliefs(t: number, forcing: number): void {
    const w = this.world;
    const N = w.robots;
    const K = this.actorShape.maxNeighbours;
    const R = this.types;
    const A = w.envs * N;
    const out = this.rowBeliefs.subarray(t * A * K * R, (t + 1) * A * K * R);
    out.fill(0);
    for (let e = 0; e < w.envs; e++) {
      const forced = forcing > 0 && this.rng.uniform() < forcing;
      const v = w.victim[e]!;
      const type = this.envTypes[e]!;
      for (let i = 0; i < N; i++) {
        const g = e * N + i;
        for (let k = 0; k < K; k++) {
          const j = w.rowIds[g * K + k]!;
          if (j < 0) continue;
          const row = (g * K + k) * R;
          if (forced) {
            if (j === v) out[row + type - 1] = 1;
          } else out.set(this.latestBelief.subarray(((e * N + i) * N + j) * R, ((e * N + i) * N + j + 1) * R), row);
        }
      }
    }
  }

  protected forward(params: ActorParams, shape: ActorShape, obs: Float32Array, rows: number, beliefs?: Float32Array): Float32Array {
    const size = this.world.obsSize;
    const KR = shape.maxNeighbours * rowBeliefCount(shape);
    const m = tf.tidy(() =>
      actorMean(params, shape, tf.tensor2d(obs.subarray(0, rows * size), [rows, size]), beliefs ? tf.tensor2d(beliefs.subarray(0, rows * KR), [rows, KR]) : undefined),
    );
    const out = Float32Array.from(m.dataSync());
    m.dispose();
    return out;
  }

  /** Value estimates in return units for `count` type-aware critic inputs. */
  criticValues(inputs: Float32Array, count: number): Float32Array {
    return criticEstimates(this.critic, this.valueNorm, inputs, count, this.criticInputSize);
  }

  /** The critic's inputs for every environment now: the global states with each episode's true type. */
  private typedStates(state: Float32Array, out: Float32Array): void {
    const w = this.world;
    for (let e = 0; e < w.envs; e++) {
      const v = w.victim[e]!;
      writeTypedState(out, e * this.criticInputSize, state, e * w.stateSize, w.stateSize, w.robots, this.types, v, v < 0 ? 0 : this.envTypes[e]!);
    }
  }

  /** One iteration of experience: defenders, adversaries and beliefs all act. */
  collect(): void {
    const { rolloutSteps: T, envs: E, decisionTicks: ticks } = this.config;
    const w = this.world;
    const N = w.robots;
    const A = E * N;
    const KR = this.actorShape.maxNeighbours * this.types;
    const size = w.obsSize;
    const b = this.buffer;
    const forcing = this.teacherForcing();
    const actLogStd = Float32Array.from(this.actor.logStd.dataSync());
    const advLogStd = this.adversaries.map((a) => Float32Array.from(a.logStd.dataSync()));
    const actions = new Float32Array(2 * A);
    const stepLogp = new Float32Array(A);
    const state = new Float32Array(E * w.stateSize);
    const typed = new Float32Array(E * this.criticInputSize);
    const victimObs = new Float32Array(E * size);
    for (let t = 0; t < T; t++) {
      b.obs.set(w.obs, t * A * size);
      w.globalStates(state);
      b.states.set(state, t * E * w.stateSize);
      this.typedStates(state, typed);
      this.criticStates.set(typed, t * E * this.criticInputSize);
      b.values.set(this.criticValues(typed, E), t * E);
      this.fillRowBeliefs(t, forcing);
      const mean = this.forward(this.actor, this.actorShape, w.obs, A, this.rowBeliefs.subarray(t * A * KR, (t + 1) * A * KR));
      sampleGaussian(this.rng, mean, actLogStd, actions, stepLogp, A);
      b.actions.set(actions, t * 2 * A);
      b.logProbs.set(stepLogp, t * A);
      // Adversaries act for the victims, from the victims' observations, each type with its own network.
      for (let e = 0; e < E; e++) {
        const v = w.victim[e]!;
        this.victims[t * E + e] = v;
        this.stepTypes[t * E + e] = v < 0 ? 0 : this.envTypes[e]!;
        for (let i = 0; i < N; i++) b.lossMask[t * A + e * N + i] = i === v ? 0 : 1;
      }
      for (let type = 1; type <= this.types; type++) {
        let attacked = 0;
        const envOf: number[] = [];
        for (let e = 0; e < E; e++) {
          const v = w.victim[e]!;
          if (v < 0 || this.envTypes[e] !== type) continue;
          victimObs.set(w.obs.subarray((e * N + v) * size, (e * N + v + 1) * size), attacked * size);
          envOf.push(e);
          attacked++;
        }
        if (attacked === 0) continue;
        const advMean = this.forward(this.adversaries[type - 1]!, this.adversaryShape, victimObs, attacked);
        const advAct = new Float32Array(2 * attacked);
        const advLogp = new Float32Array(attacked);
        sampleGaussian(this.rng, advMean, advLogStd[type - 1]!, advAct, advLogp, attacked);
        envOf.forEach((e, a) => {
          this.override.commands[2 * e] = advAct[2 * a]!;
          this.override.commands[2 * e + 1] = advAct[2 * a + 1]!;
          this.advObs.set(victimObs.subarray(a * size, (a + 1) * size), (t * E + e) * size);
          this.advActions[2 * (t * E + e)] = advAct[2 * a]!;
          this.advActions[2 * (t * E + e) + 1] = advAct[2 * a + 1]!;
          this.advLogProbs[t * E + e] = advLogp[a]!;
        });
      }
      for (let e = 0; e < E; e++) {
        b.rewards[t * E + e] = 0;
        b.dones[t * E + e] = 0;
      }
      for (let tick = 0; tick < ticks; tick++) {
        w.step(actions);
        for (let e = 0; e < E; e++) {
          b.rewards[t * E + e] += w.rewards[e]!;
          b.dones[t * E + e] |= w.dones[e]!;
        }
        this.observePairs(t * ticks + tick);
        this.updateBeliefs(t * ticks + tick);
      }
    }
    w.globalStates(state);
    this.typedStates(state, typed);
    b.values.set(this.criticValues(typed, E), T * E);
    this.envSteps += T * E * ticks;
  }

  /** Whether the defenders' actor is updated this iteration: every adversaryInterval-th iteration. */
  defendersUpdateNow(): boolean {
    return this.iteration % this.eir.adversaryInterval === 0;
  }

  /** Defenders (on their iterations), critic, adversary and belief updates from the last rollout. */
  update(): Pick<EirIterationStats, 'policyLoss' | 'valueLoss' | 'beliefLoss' | 'adversaryLoss'> {
    const c = this.config;
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, obsSize } = b.shape;
    const A = E * N;
    const K = this.actorShape.maxNeighbours * this.types;
    b.computeAdvantages(c.gamma, c.gaeLambda);
    this.valueNorm.update(b.returns);
    const teamAdv = (s: number) => b.advantages[Math.floor(s / A) * E + Math.floor((s % A) / N)]!;

    // Defenders: masked PPO on the team advantage, the actor reading the row beliefs it acted on;
    // ppoEpochs x minibatches optimiser steps, on every adversaryInterval-th iteration.
    let policyLoss: number | null = null;
    if (this.defendersUpdateNow()) {
      const defStats = meanStd((s) => (b.lossMask[s] ? teamAdv(s) : null), T * A);
      const actorVars = actorVariables(this.actor);
      const mb = Math.ceil((T * A) / c.minibatches);
      const obsBuf = new Float32Array(mb * obsSize);
      const rowBuf = new Float32Array(mb * K);
      const actBuf = new Float32Array(mb * 2);
      const oldBuf = new Float32Array(mb);
      const advBuf = new Float32Array(mb);
      const maskBuf = new Float32Array(mb);
      let total = 0;
      let batches = 0;
      for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
        const order = this.rng.permutation(T * A);
        for (let j = 0; j < c.minibatches; j++) {
          const [start, stop] = minibatchRange(T * A, c.minibatches, j);
          const M = stop - start;
          for (let q = 0; q < M; q++) {
            const s = order[start + q]!;
            obsBuf.set(b.obs.subarray(s * obsSize, (s + 1) * obsSize), q * obsSize);
            rowBuf.set(this.rowBeliefs.subarray(s * K, (s + 1) * K), q * K);
            actBuf[2 * q] = b.actions[2 * s]!;
            actBuf[2 * q + 1] = b.actions[2 * s + 1]!;
            oldBuf[q] = b.logProbs[s]!;
            advBuf[q] = (teamAdv(s) - defStats.mean) / defStats.std;
            maskBuf[q] = b.lossMask[s]!;
          }
          const st = ppoPolicyStep(
            () => actorMean(this.actor, this.actorShape, tf.tensor2d(obsBuf.subarray(0, M * obsSize), [M, obsSize]), tf.tensor2d(rowBuf.subarray(0, M * K), [M, K])),
            this.actor.logStd, actorVars, this.actorOpt,
            { actions: actBuf, oldLogProbs: oldBuf, advantages: advBuf, mask: maskBuf, size: M }, c,
          );
          total += st.loss;
          batches++;
        }
      }
      policyLoss = total / batches;
    }

    // The type-aware critic on all environment samples, every iteration: ppoEpochs x minibatches steps.
    const valueLoss = fitCritic(
      this.critic, this.criticOpt,
      { inputs: this.criticStates, inputSize: this.criticInputSize, targets: Float32Array.from(b.returns, (r) => this.valueNorm.normalize(r)), count: T * E },
      { epochs: c.ppoEpochs, minibatches: c.minibatches, huberDelta: c.huberDelta, maxGradNorm: c.maxGradNorm },
      this.rng,
    );

    // Adversaries before the belief: the order the random stream has always been drawn in.
    const adversaryLoss = this.updateAdversaries();
    return { policyLoss, valueLoss, beliefLoss: this.updateBelief(), adversaryLoss };
  }

  /**
   * EIR: the adversary learns by PPO on the negated team advantage over the attacked samples,
   * adversaryEpochs x adversaryMinibatches optimiser steps every iteration (the faster timescale).
   */
  protected updateAdversaries(): number {
    const attack = this.attackSamples(1);
    if (!attack) return 0;
    const adversary = this.adversaries[0]!;
    const n = attack.size;
    const vars = actorVariables(adversary);
    const obsSize = this.world.obsSize;
    const parts = this.eir.adversaryMinibatches;
    let loss = 0;
    for (let epoch = 0; epoch < this.eir.adversaryEpochs; epoch++) {
      const batch = shuffled(attack, this.rng.permutation(n), obsSize);
      for (let j = 0; j < parts; j++) {
        const [start, stop] = minibatchRange(n, parts, j);
        const M = stop - start;
        loss += ppoPolicyStep(
          () => actorMean(adversary, this.adversaryShape, tf.tensor2d(batch.obs.subarray(start * obsSize, stop * obsSize), [M, obsSize])),
          adversary.logStd, vars, this.adversaryOpts[0]!,
          {
            actions: batch.actions.subarray(2 * start, 2 * stop), oldLogProbs: batch.oldLogProbs.subarray(start, stop),
            advantages: batch.advantages.subarray(start, stop), mask: new Float32Array(M).fill(1), size: M,
          },
          this.config,
        ).loss;
      }
    }
    return loss / (this.eir.adversaryEpochs * parts);
  }

  /**
   * The last rollout's samples of adversary type k: victim observations, actions, log-probabilities and the
   * adversary's advantages (the negated team advantages, normalised); null if no episode had that type.
   */
  protected attackSamples(type: number): AttackSamples | null {
    const b = this.buffer;
    const picked: number[] = [];
    for (let s = 0; s < this.stepTypes.length; s++) if (this.stepTypes[s] === type) picked.push(s);
    if (picked.length === 0) return null;
    const n = picked.length;
    const obsSize = this.world.obsSize;
    const stats = meanStd((i) => -b.advantages[picked[i]!]!, n);
    const out: AttackSamples = { size: n, obs: new Float32Array(n * obsSize), actions: new Float32Array(2 * n), oldLogProbs: new Float32Array(n), advantages: new Float32Array(n) };
    picked.forEach((s, q) => {
      out.obs.set(this.advObs.subarray(s * obsSize, (s + 1) * obsSize), q * obsSize);
      out.actions[2 * q] = this.advActions[2 * s]!;
      out.actions[2 * q + 1] = this.advActions[2 * s + 1]!;
      out.oldLogProbs[q] = this.advLogProbs[s]!;
      out.advantages[q] = (-b.advantages[s]! - stats.mean) / stats.std;
    });
    return out;
  }

  /** Binary cross-entropy of the beliefs over the rollout's ticks, truncated BPTT in chunks. */
  private updateBelief(): number {
    const N = this.world.robots;
    const pairs = this.world.envs * N * N;
    const H = this.eir.beliefHidden;
    const L = this.eir.beliefChunk;
    const ticks = this.config.rolloutSteps * this.config.decisionTicks;
    const vars = beliefWeights(this.belief).map(([, v]) => v);
    let total = 0;
    let chunks = 0;
    const all = Math.ceil(ticks / L);
    const picked = this.rng.permutation(all).slice(0, Math.min(all, this.eir.beliefChunksPerIteration));
    for (const chunk of picked) {
      const start = chunk * L;
      const len = Math.min(L, ticks - start);
      const loss = tf.tidy(() => {
        const h0 = tf.tensor2d(this.chunkStates[start / L]!, [pairs, H]);
        const steps = Array.from({ length: len }, (_, k) => start + k);
        const seq = {
          features: steps.map((t) => tf.tensor2d(this.pairFeatures.subarray(t * pairs * PAIR_DIM, (t + 1) * pairs * PAIR_DIM), [pairs, PAIR_DIM])),
          labels: steps.map((t) => tf.tensor1d(this.pairLabels.subarray(t * pairs, (t + 1) * pairs))),
          masks: steps.map((t) => tf.tensor1d(this.pairMasks.subarray(t * pairs, (t + 1) * pairs))),
          resets: steps.map((t) => tf.tensor1d(this.pairResets.subarray(t * pairs, (t + 1) * pairs))),
        };
        const { value, grads } = tf.variableGrads(() => beliefSequenceLoss(this.belief, this.beliefShape, h0, seq), vars);
        this.beliefOpt.applyGradients(clipByGlobalNorm(grads, this.config.maxGradNorm));
        return value;
      });
      total += loss.dataSync()[0]!;
      loss.dispose();
      chunks++;
    }
    return total / chunks;
  }

  /** Name of adversary type k (1..R) in checkpoints, file names and evaluations. */
  protected adversaryName(_type: number): string {
    return 'eir';
  }

  /** Checkpoint key of adversary type k (EIR's single adversary keeps the plain 'adversary'). */
  private adversaryKey(type: number): string {
    return this.types === 1 ? 'adversary' : `adversary-${this.adversaryName(type)}`;
  }

  /** Hash of every network's weights now (see weightsFingerprint). */
  fingerprint(): string {
    return weightsFingerprint(this.state().networks);
  }

  protected state(): TrainerState {
    return {
      identity: runIdentity(this.config),
      config: this.config as unknown as Record<string, unknown>,
      iteration: this.iteration,
      envSteps: this.envSteps,
      valueNorm: this.valueNorm,
      networks: {
        actor: actorWeights(this.actor), critic: criticWeights(this.critic), belief: beliefWeights(this.belief),
        ...Object.fromEntries(this.adversaries.map((a, k) => [this.adversaryKey(k + 1), actorWeights(a)])),
      },
      optimizers: {
        actor: this.actorOpt, critic: this.criticOpt, belief: this.beliefOpt,
        ...Object.fromEntries(this.adversaryOpts.map((o, k) => [this.adversaryKey(k + 1), o])),
      },
    };
  }

  checkpoint(wallSeconds: number, curve: Checkpoint['curve']): Promise<Checkpoint> {
    return buildCheckpoint(this.state(), wallSeconds, curve);
  }

  async restore(ck: Checkpoint, source: string): Promise<void> {
    await restoreCheckpoint(ck, source, this.state());
    this.iteration = ck.iteration;
    this.envSteps = ck.envSteps;
    this.reseedFor(ck.iteration);
  }

  /** actor.onnx (obs + row beliefs), belief.onnx (pair features + h), adversary-<name>.onnx (victim obs) per type. */
  exportModels(doc: string): Record<string, ModelFile> {
    const obsSize = this.world.obsSize;
    const K = this.actorShape.maxNeighbours;
    const R = this.types;
    const H = this.eir.beliefHidden;
    const action = [{ name: 'action', shape: ['batch', 2], dtype: 'float32' as const }];
    const obs = { name: 'obs', shape: ['batch', obsSize], dtype: 'float32' as const };
    return {
      'actor.onnx': {
        bytes: actorToOnnx(this.actor, this.actorShape, obsSize, doc),
        inputs: [obs, { name: 'beliefs', shape: ['batch', K * R], dtype: 'float32' }],
        outputs: action,
      },
      'belief.onnx': {
        bytes: beliefToOnnx(this.belief, this.beliefShape, doc),
        inputs: [{ name: 'pair_features', shape: ['batch', PAIR_DIM], dtype: 'float32' }, { name: 'h_in', shape: ['batch', H], dtype: 'float32' }],
        outputs: [{ name: 'belief', shape: ['batch', R], dtype: 'float32' }, { name: 'h_out', shape: ['batch', H], dtype: 'float32' }],
      },
      ...Object.fromEntries(
        this.adversaries.map((a, k) => {
          const name = this.adversaryName(k + 1);
          const what = this.types === 1 ? 'EIR adversary' : `adversary ${name}`;
          return [`adversary-${name}.onnx`, { bytes: actorToOnnx(a, this.adversaryShape, obsSize, `${doc} (${what})`), inputs: [obs], outputs: action }];
        }),
      ),
    };
  }

  /** The belief's classes: benign, then the adversary types in order. */
  get beliefTypes(): string[] {
    return ['benign', 'compromised'];
  }

  get hiddenSizes(): Record<string, number> {
    return { actor: this.config.hidden, critic: this.config.hidden, belief: this.eir.beliefHidden, adversary: this.config.hidden };
  }

  /** The manifest also records the team under each of its own trained adversaries. */
  extraEvaluations(episodes: number, seed: number): Record<string, EvalResult> {
    return Object.fromEntries(this.adversaries.map((_, k) => [`${this.adversaryName(k + 1)}-adversary`, this.evaluate(episodes, seed, k + 1)]));
  }

  /**
   * Deterministic episodes: defenders act on the mean with beliefs updated every tick, as deployed. With
   * attack type k > 0, robot e mod N of episode e is driven by adversary k's mean command.
   */
  evaluate(episodes: number, seed: number, attack = 0): EvalResult {
    const world = new RendezvousWorld(this.settings, { envs: episodes, seed, autoReset: false });
    const N = world.robots;
    const K = this.actorShape.maxNeighbours;
    const R = this.types;
    const H = this.eir.beliefHidden;
    const size = world.obsSize;
    const pairs = episodes * N * N;
    const override = new CommandOverride(episodes);
    const adversary = attack > 0 ? this.adversaries[attack - 1] : undefined;
    if (attack !== 0 && !adversary) throw new RangeError(`no adversary type ${attack} (types are 1..${R})`);
    if (adversary) for (let e = 0; e < episodes; e++) world.setVictim(e, { robot: e % N, override });
    let h = new Float32Array(pairs * H);
    const belief = new Float32Array(pairs * R);
    const features = new Float32Array(pairs * PAIR_DIM);
    const scratch = new Float32Array(N * N * PAIR_DIM);
    const rows = new Float32Array(episodes * N * K * R);
    const victimObs = new Float32Array(episodes * size);
    const actions = new Float32Array(2 * episodes * N);
    for (let t = 0; t < this.settings.episodeSteps; t++) {
      for (let e = 0; e < episodes; e++) {
        world.pairFeatures(e, scratch);
        features.set(scratch, e * N * N * PAIR_DIM);
      }
      h = this.stepBeliefs(features, h, pairs, belief);
      for (let g = 0; g < episodes * N; g++) {
        const e = Math.floor(g / N);
        const i = g % N;
        for (let k = 0; k < K; k++) {
          const j = world.rowIds[g * K + k]!;
          const pair = (e * N + i) * N + j;
          if (j < 0 || this.eir.oracle) rows.fill(0, (g * K + k) * R, (g * K + k + 1) * R);
          // The oracle reads the true type: this episode's attack type on the victim's rows.
          if (j >= 0 && this.eir.oracle && j === world.victim[e]) rows[(g * K + k) * R + attack - 1] = 1;
          else if (j >= 0 && !this.eir.oracle) rows.set(belief.subarray(pair * R, (pair + 1) * R), (g * K + k) * R);
        }
      }
      actions.set(this.forward(this.actor, this.actorShape, world.obs, episodes * N, rows));
      if (adversary) {
        for (let e = 0; e < episodes; e++) victimObs.set(world.obs.subarray((e * N + (e % N)) * size, (e * N + (e % N) + 1) * size), e * size);
        override.commands.set(this.forward(adversary, this.adversaryShape, victimObs, episodes));
      }
      world.step(actions);
    }
    return summariseEpisodes(Array.from({ length: episodes }, (_, e) => world.metrics(e)));
  }

  iterate(): EirIterationStats {
    this.finished.length = 0;
    const forcing = this.teacherForcing();
    const t0 = performance.now();
    this.collect();
    const t1 = performance.now();
    if (this.config.lrDecay) {
      const left = Math.max(0, 1 - this.envSteps / this.config.totalEnvSteps);
      setLearningRate(this.actorOpt, this.config.actorLr * left);
      setLearningRate(this.criticOpt, this.config.criticLr * left);
      setLearningRate(this.beliefOpt, this.eir.beliefLr * left);
      for (const o of this.adversaryOpts) setLearningRate(o, this.eir.adversaryLr * left);
    }
    const losses = this.update();
    const t2 = performance.now();
    this.iteration++;
    return {
      iteration: this.iteration,
      envSteps: this.envSteps,
      ...rolloutEpisodes(this.finished),
      ...losses,
      teacherForcing: forcing,
      rolloutMs: t1 - t0,
      updateMs: t2 - t1,
    };
  }
}
