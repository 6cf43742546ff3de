// EIR-MAPPO (Li et al., ICLR 2024), extending the MAPPO core (mappo.ts): this class is EIR's delta.
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
import type { ModelFile } from '../../src/policy/folder.js';
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import type { EvalResult } from '../evaluation.js';
import { CommandOverride } from '../../src/attacks/override.js';
import { evaluateTeam } from '../team-eval.js';
import { beliefWeights, createBelief, type BeliefParams, type BeliefShape } from './belief.js';
import { BeliefRollout } from './belief-rollout.js';
import type { TrainerState } from './checkpoint.js';
import { DEFAULT_EIR, type RobustSettings, type TrainConfig } from './config.js';
import { MappoTrainer, type CoreLosses, type IterationStats, type MinibatchOrders } from './mappo.js';
import { actorMeans, actorVariables, actorWeights, createActor, type ActorParams, type ActorShape } from './networks.js';
import { beliefToOnnx } from './onnx/export-belief.js';
import { actorToOnnx } from './onnx/export-actor.js';
import { actorMeanBackprop } from './network-grads.js';
import { minibatchRange, ppoPolicyStep, sampleGaussian } from './ppo.js';
import { TfjsAdversary, TfjsTeam } from './tfjs-policy.js';
import { adam } from './adam.js';
import { tf } from './tf.js';

/** What EIR's update adds to the core's losses. */
export type EirLosses = {
  beliefLoss: number;
  adversaryLoss: number;
};

/** The core's statistics (policyLoss and co. null on an iteration where the defenders' actor is not updated), plus EIR's. */
export type EirIterationStats = IterationStats & EirLosses & { teacherForcing: number };

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

export class EirMappoTrainer extends MappoTrainer {
  readonly adversaryShape: ActorShape;
  readonly beliefShape: BeliefShape;
  readonly robust: RobustSettings;
  /** Adversary types R (1 for EIR-MAPPO); type k (1..R) is driven by adversaries[k - 1]. */
  readonly types: number;
  readonly adversaries: ActorParams[];
  readonly belief: BeliefParams;
  readonly override: CommandOverride;

  private readonly beliefOpt: tf.Optimizer;
  protected readonly adversaryOpts: tf.Optimizer[];
  /** Per decision step and environment: the victim (-1 benign), its type (0 benign, 1..R), and the adversary's samples. */
  readonly victims: Int32Array;
  readonly stepTypes: Int32Array;
  protected readonly advObs: Float32Array;
  protected readonly advActions: Float32Array;
  protected readonly advLogProbs: Float32Array;
  /** Adversary type of each environment's current episode (0 benign). */
  private readonly envTypes: Int32Array;
  /** Every pair's belief over the rollout, and what it is trained on. */
  private readonly beliefs: BeliefRollout;
  /** The type-aware critic's inputs of every environment now. */
  private readonly typedScratch: Float32Array;

  constructor(config: TrainConfig, settings: SwarmSettings, robust: RobustSettings = config.eir ?? DEFAULT_EIR, types = 1) {
    // The actor reads R beliefs per neighbour row; the critic the victim one-hot (N) and the type one-hot (R).
    super(config, settings, { beliefsPerRow: types, criticExtraInputs: settings.robots.length + types });
    const s = (this.robust = robust);
    this.types = types;
    const K = settings.observation.maxNeighbours;
    const { envs: E, rolloutSteps: T, decisionTicks: k } = config;
    const N = this.world.robots;
    this.override = new CommandOverride(E);
    this.adversaryShape = { maxNeighbours: K, hidden: config.hidden };
    this.beliefShape = { hidden: s.beliefHidden, types };
    // EIR's single adversary keeps seed + 2; further types follow at distinct seeds.
    this.adversaries = Array.from({ length: types }, (_, k) => createActor(this.adversaryShape, k === 0 ? config.seed + 2 : config.seed + 100 + k, config.initialLogStd));
    this.belief = createBelief(this.beliefShape, config.seed + 3);
    this.beliefOpt = adam(s.beliefLr, config.adamEpsilon);
    this.adversaryOpts = this.adversaries.map(() => adam(s.adversaryLr, config.adamEpsilon));
    this.victims = new Int32Array(T * E);
    this.stepTypes = new Int32Array(T * E);
    this.envTypes = new Int32Array(E);
    this.advObs = new Float32Array(T * E * this.world.obsSize);
    this.advActions = new Float32Array(T * E * 2);
    this.advLogProbs = new Float32Array(T * E);
    this.beliefs = new BeliefRollout(this.belief, this.beliefShape, { envs: E, robots: N, ticks: T * k, chunk: s.beliefChunk });
    this.typedScratch = new Float32Array(E * this.criticInputSize);
    // The world's first episodes started before this class was set up: draw their types now.
    this.redrawTypes();
  }

  protected override episodeStarted(e: number): void {
    this.drawType(e);
  }

  /** Fresh episodes, types and sampling for a resumed run (it does not replay the first iterations). */
  override reseedFor(iteration: number): void {
    super.reseedFor(iteration);
    this.redrawTypes();
  }

  /** Nature's draw at an episode start: benign, or a uniformly chosen victim driven by an adversary type. */
  private drawType(e: number): void {
    if (!this.world || !this.beliefs) return; // the world's constructor resets before set-up ends; drawn again after
    const N = this.world.robots;
    if (this.rng.uniform() < this.robust.benignProbability) {
      this.world.setVictim(e, null);
      this.envTypes[e] = 0;
    } else {
      const robot = this.rng.int(0, N - 1);
      this.world.setVictim(e, { robot, override: this.override });
      this.envTypes[e] = this.drawAttackType();
      this.drawIsolation(e, robot);
    }
    this.beliefs.resetEnv(e);
  }

  /**
   * With `isolation` set, whether this attacked episode meets the monitor's isolate reaction, and from which
   * step: the victim is then left out of the others' observations and belief pairs to the episode's end.
   */
  private drawIsolation(e: number, victim: number): void {
    const isolation = this.robust.isolation;
    if (!isolation || !(this.rng.uniform() < isolation.probability)) return;
    const { min, max } = isolation.delaySeconds;
    this.world.isolate(e, victim, Math.round(this.rng.range(min, max) / this.settings.controlPeriod));
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
    if (this.robust.oracle) return 1;
    const progress = this.envSteps / this.config.totalEnvSteps;
    return Math.max(0, 1 - progress / this.robust.teacherForcingUntil);
  }

  /** After every rollout tick: the pairs observed and every pair's belief advanced by one tick. */
  protected override afterTick(tick: number): void {
    this.beliefs.observe(this.world, this.envTypes, tick);
  }

  /** Row beliefs of decision t for every agent from the latest beliefs, or the true type (one-hot) under teacher forcing. */
  protected override decisionRowBeliefs(t: number): Float32Array {
    const forcing = this.teacherForcing();
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
          } else out.set(this.beliefs.latest.subarray(((e * N + i) * N + j) * R, ((e * N + i) * N + j + 1) * R), row);
        }
      }
    }
    return out;
  }

  /** The type-aware critic's inputs for every environment now: the global states with each episode's true type. */
  protected override criticInputsOf(state: Float32Array): Float32Array {
    const w = this.world;
    for (let e = 0; e < w.envs; e++) {
      const v = w.victim[e]!;
      writeTypedState(this.typedScratch, e * this.criticInputSize, state, e * w.stateSize, w.stateSize, w.robots, this.types, v, v < 0 ? 0 : this.envTypes[e]!);
    }
    return this.typedScratch;
  }

  /** Before decision t's ticks: the victims' own transitions masked out, and the adversaries act for them, each type with its own network. */
  protected override beforeTicks(t: number): void {
    const w = this.world;
    const { envs: E, robots: N, obsSize: size } = w;
    const A = E * N;
    const b = this.buffer;
    for (let e = 0; e < E; e++) {
      const v = w.victim[e]!;
      this.victims[t * E + e] = v;
      this.stepTypes[t * E + e] = v < 0 ? 0 : this.envTypes[e]!;
      for (let i = 0; i < N; i++) b.lossMask[t * A + e * N + i] = i === v ? 0 : 1;
    }
    const victimObs = new Float32Array(E * size);
    for (let type = 1; type <= this.types; type++) {
      const envOf: number[] = [];
      for (let e = 0; e < E; e++) {
        const v = w.victim[e]!;
        if (v < 0 || this.envTypes[e] !== type) continue;
        victimObs.set(w.obs.subarray((e * N + v) * size, (e * N + v + 1) * size), envOf.length * size);
        envOf.push(e);
      }
      const attacked = envOf.length;
      if (attacked === 0) continue;
      const adversary = this.adversaries[type - 1]!;
      const advMean = actorMeans(adversary, this.adversaryShape, victimObs, size, attacked);
      const advAct = new Float32Array(2 * attacked);
      const advLogp = new Float32Array(attacked);
      sampleGaussian(this.rng, advMean, Float32Array.from(adversary.logStd.dataSync()), advAct, advLogp, attacked);
      envOf.forEach((e, a) => {
        this.override.commands[2 * e] = advAct[2 * a]!;
        this.override.commands[2 * e + 1] = advAct[2 * a + 1]!;
        this.advObs.set(victimObs.subarray(a * size, (a + 1) * size), (t * E + e) * size);
        this.advActions[2 * (t * E + e)] = advAct[2 * a]!;
        this.advActions[2 * (t * E + e) + 1] = advAct[2 * a + 1]!;
        this.advLogProbs[t * E + e] = advLogp[a]!;
      });
    }
  }

  /** The defenders' actor is updated on every adversaryInterval-th iteration only (the critic every iteration). */
  override defendersUpdateNow(): boolean {
    return this.iteration % this.robust.adversaryInterval === 0;
  }

  /**
   * Every epoch's agent order first, then every epoch's environment order: the order EIR's stream has always
   * been drawn in (its critic used to be fitted after the actor's epochs), so its runs stay as they were.
   */
  protected override minibatchOrders(actor: boolean): MinibatchOrders {
    const { steps: T, envs: E } = this.buffer.shape;
    const epochs = this.config.ppoEpochs;
    const actorOrders = actor ? Array.from({ length: epochs }, () => this.rng.permutation(T * this.buffer.agents)) : [];
    return { actor: actorOrders, critic: Array.from({ length: epochs }, () => this.rng.permutation(T * E)) };
  }

  /** The core's update (defenders on their iterations, the type-aware critic), then the adversaries and the belief. */
  override update(): CoreLosses & EirLosses {
    const core = super.update();
    // Adversaries before the belief: the order the random stream has always been drawn in.
    const adversaryLoss = this.updateAdversaries();
    return { ...core, beliefLoss: this.beliefs.train(this.beliefOpt, this.rng, this.robust.beliefChunksPerIteration, this.config.maxGradNorm), adversaryLoss };
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
    const parts = this.robust.adversaryMinibatches;
    let loss = 0;
    for (let epoch = 0; epoch < this.robust.adversaryEpochs; epoch++) {
      const batch = shuffled(attack, this.rng.permutation(n), obsSize);
      for (let j = 0; j < parts; j++) {
        const [start, stop] = minibatchRange(n, parts, j);
        const M = stop - start;
        loss += ppoPolicyStep(
          { backprop: () => actorMeanBackprop(adversary, this.adversaryShape, tf.tensor2d(batch.obs.subarray(start * obsSize, stop * obsSize), [M, obsSize])) },
          adversary.logStd, vars, this.adversaryOpts[0]!,
          {
            actions: batch.actions.subarray(2 * start, 2 * stop), oldLogProbs: batch.oldLogProbs.subarray(start, stop),
            advantages: batch.advantages.subarray(start, stop), mask: new Float32Array(M).fill(1), size: M,
          },
          this.config,
        ).loss;
      }
    }
    return loss / (this.robust.adversaryEpochs * parts);
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

  /** Name of adversary type k (1..R) in checkpoints, file names and evaluations. */
  protected adversaryName(_type: number): string {
    return 'eir';
  }

  /** Checkpoint key of adversary type k (EIR's single adversary keeps the plain 'adversary'). */
  private adversaryKey(type: number): string {
    return this.types === 1 ? 'adversary' : `adversary-${this.adversaryName(type)}`;
  }

  protected override scheduledOptimisers(): [tf.Optimizer, number][] {
    return [...super.scheduledOptimisers(), [this.beliefOpt, this.robust.beliefLr], ...this.adversaryOpts.map((o): [tf.Optimizer, number] => [o, this.robust.adversaryLr])];
  }

  override iterate(): EirIterationStats {
    const teacherForcing = this.teacherForcing();
    // update() above adds the belief's and the adversaries' losses to the core's.
    const stats = super.iterate() as IterationStats & EirLosses;
    return { ...stats, teacherForcing };
  }

  protected override state(): TrainerState {
    const base = super.state();
    return {
      ...base,
      networks: { ...base.networks, belief: beliefWeights(this.belief), ...Object.fromEntries(this.adversaries.map((a, k) => [this.adversaryKey(k + 1), actorWeights(a)])) },
      optimizers: { ...base.optimizers, belief: this.beliefOpt, ...Object.fromEntries(this.adversaryOpts.map((o, k) => [this.adversaryKey(k + 1), o])) },
    };
  }

  /** actor.onnx (obs + row beliefs), belief.onnx (pair features + h), adversary-<name>.onnx (victim obs) per type. */
  override exportModels(doc: string): Record<string, ModelFile> {
    const obsSize = this.world.obsSize;
    const R = this.types;
    const H = this.robust.beliefHidden;
    const action = [{ name: 'action', shape: ['batch', 2], dtype: 'float32' as const }];
    const obs = { name: 'obs', shape: ['batch', obsSize], dtype: 'float32' as const };
    return {
      ...super.exportModels(doc),
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
  override get beliefTypes(): string[] {
    return ['benign', 'compromised'];
  }

  override get hiddenSizes(): Record<string, number> {
    return { ...super.hiddenSizes, belief: this.robust.beliefHidden, adversary: this.config.hidden };
  }

  /**
   * The team as deployed: the actor on the beliefs of its per-pair GRU, advanced every tick. A known-type
   * oracle (eir.oracle) reads, for a compromised neighbour, the one-hot of `oracleType` (the evaluation's
   * adversary type, 1..R) from the twin's truth instead.
   */
  override team(oracleType = 1): TfjsTeam {
    return new TfjsTeam({
      name: this.config.algo,
      actor: this.actor,
      shape: this.actorShape,
      obsSize: this.world.obsSize,
      belief: { params: this.belief, shape: this.beliefShape },
      ...(this.robust.oracle ? { oracleType } : {}),
    });
  }

  /** Adversary type k (1..R) as the evaluation loop drives a victim with it (its mean command). */
  adversary(type: number): TfjsAdversary {
    const params = this.adversaries[type - 1];
    if (!params) throw new RangeError(`no adversary type ${type} (types are 1..${this.types})`);
    return new TfjsAdversary(this.adversaryName(type), params, this.adversaryShape, this.world.obsSize);
  }

  /** Deterministic episodes with robot e mod N of episode e driven by adversary type k's mean command. */
  evaluateUnder(type: number, episodes: number, seed: number): Promise<EvalResult> {
    return evaluateTeam(this.settings, this.team(type), { episodes, seed, attack: { kind: 'adversary', adversary: this.adversary(type) } });
  }

  /** The manifest also records the team under each of its own trained adversaries. */
  override async extraEvaluations(episodes: number, seed: number): Promise<Record<string, EvalResult>> {
    const out: Record<string, EvalResult> = {};
    for (let k = 1; k <= this.types; k++) out[`${this.adversaryName(k)}-adversary`] = await this.evaluateUnder(k, episodes, seed);
    return out;
  }
}
