// EIR-MAPPO (Li et al., ICLR 2024) on the MAPPO core.
//
// Each episode nature draws a type: benign (probability 0.5) or one victim robot chosen uniformly, whose
// commands come from a separately parameterised adversary (it sees the victim's observation). Defenders
// keep a belief p_ij = P(robot j is compromised) per (observer i, neighbour j) pair, a GRU over the pair
// features updated every control tick, trained with binary cross-entropy against the true type. The actor
// reads its neighbours' beliefs, one per neighbour row; early in training the true type is fed instead of
// the belief with a probability that decays to zero over the first half (teacher forcing, as in the
// public code). The adversary is trained with PPO on the negated team advantage, with more epochs per
// iteration than the defenders (the faster timescale). The victim's own transitions are masked out of
// the defenders' loss.
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
  createCritic,
  criticValue,
  criticVariables,
  criticWeights,
  type ActorParams,
  type ActorShape,
  type CriticParams,
} from './networks.js';
import { clipByGlobalNorm, ppoPolicyStep, sampleGaussian, valueStep } from './ppo.js';
import { buildCheckpoint, restoreCheckpoint, type Checkpoint, type TrainerState } from './checkpoint.js';
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
  policyLoss: number;
  valueLoss: number;
  beliefLoss: number;
  adversaryLoss: number;
  teacherForcing: number;
  rolloutMs: number;
  updateMs: number;
};

export class EirMappoTrainer {
  readonly actorShape: ActorShape;
  readonly adversaryShape: ActorShape;
  readonly beliefShape: BeliefShape;
  readonly eir: EirSettings;
  readonly actor: ActorParams;
  readonly adversary: ActorParams;
  readonly critic: CriticParams;
  readonly belief: BeliefParams;
  readonly valueNorm = new ValueNormalizer();
  world: RendezvousWorld;
  readonly override: CommandOverride;
  iteration = 0;
  envSteps = 0;

  private readonly actorOpt: tf.Optimizer;
  private readonly criticOpt: tf.Optimizer;
  private readonly beliefOpt: tf.Optimizer;
  private readonly adversaryOpt: tf.Optimizer;
  private rng: RandomStream;
  readonly buffer: RolloutBuffer;
  private readonly finished: RendezvousMetrics[] = [];
  /** Per decision step and agent: the belief (or forced true type) of each neighbour row the actor read. */
  readonly rowBeliefs: Float32Array;
  /** Per decision step and environment: the victim (-1 benign), and the adversary's samples. */
  readonly victims: Int32Array;
  private readonly advObs: Float32Array;
  private readonly advActions: Float32Array;
  private readonly advLogProbs: Float32Array;
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
  ) {
    const eir = (this.eir = config.eir ?? DEFAULT_EIR);
    checkDecisionTicks(config, settings);
    const K = settings.observation.maxNeighbours;
    const { envs: E, rolloutSteps: T, decisionTicks: k } = config;
    this.rng = makeStreams(deriveSeed(config.seed, SAMPLER_PURPOSE), 1)[0]!;
    this.override = new CommandOverride(E);
    this.world = this.makeWorld(config.seed);
    const N = this.world.robots;
    this.actorShape = { maxNeighbours: K, hidden: config.hidden, beliefInputs: true };
    this.adversaryShape = { maxNeighbours: K, hidden: config.hidden };
    this.beliefShape = { hidden: eir.beliefHidden };
    this.actor = createActor(this.actorShape, config.seed, config.initialLogStd);
    this.adversary = createActor(this.adversaryShape, config.seed + 2, config.initialLogStd);
    this.critic = createCritic(this.world.stateSize, config.hidden, config.seed + 1);
    this.belief = createBelief(this.beliefShape, config.seed + 3);
    this.actorOpt = tf.train.adam(config.actorLr, 0.9, 0.999, config.adamEpsilon);
    this.criticOpt = tf.train.adam(config.criticLr, 0.9, 0.999, config.adamEpsilon);
    this.beliefOpt = tf.train.adam(eir.beliefLr, 0.9, 0.999, config.adamEpsilon);
    this.adversaryOpt = tf.train.adam(eir.adversaryLr, 0.9, 0.999, config.adamEpsilon);
    this.buffer = new RolloutBuffer({ steps: T, envs: E, robots: N, obsSize: this.world.obsSize, stateSize: this.world.stateSize });
    this.rowBeliefs = new Float32Array(T * E * N * K);
    this.victims = new Int32Array(T * E);
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
    this.latestBelief = new Float32Array(pairs);
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
  private reseedFor(iteration: number): void {
    const seed = (this.config.seed + 7919 * iteration) % 2 ** 31;
    this.rng = makeStreams(deriveSeed(seed, SAMPLER_PURPOSE), 1)[0]!;
    this.world = this.makeWorld(seed);
    for (let e = 0; e < this.config.envs; e++) this.drawType(e);
  }

  /** Nature's draw at an episode start: benign, or a uniformly chosen victim driven by the adversary. */
  private drawType(e: number): void {
    if (!this.world || !this.beliefState) return; // the world's constructor resets before set-up ends; drawn again after
    const N = this.world.robots;
    if (this.rng.uniform() < this.eir.benignProbability) this.world.setVictim(e, null);
    else this.world.setVictim(e, { robot: this.rng.int(0, N - 1), override: this.override });
    // A new episode starts from fresh beliefs.
    this.beliefState.fill(0, e * N * N * this.eir.beliefHidden, (e + 1) * N * N * this.eir.beliefHidden);
    this.latestBelief.fill(0, e * N * N, (e + 1) * N * N);
  }

  /** Probability of feeding the true type instead of the belief at the current point of training. */
  teacherForcing(): number {
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
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const p = (e * N + i) * N + j;
          this.pairLabels[tick * pairs + p] = j === v ? 1 : 0;
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

  /** Row beliefs for every agent from the latest beliefs, or the true type under teacher forcing. */
  private fillRowBeliefs(t: number, forcing: number): void {
    const w = this.world;
    const N = w.robots;
    const K = this.actorShape.maxNeighbours;
    const A = w.envs * N;
    const out = this.rowBeliefs.subarray(t * A * K, (t + 1) * A * K);
    for (let e = 0; e < w.envs; e++) {
      const forced = forcing > 0 && this.rng.uniform() < forcing;
      const v = w.victim[e]!;
      for (let i = 0; i < N; i++) {
        for (let k = 0; k < K; k++) {
          const g = e * N + i;
          const j = w.rowIds[g * K + k]!;
          out[g * K + k] = j < 0 ? 0 : forced ? (j === v ? 1 : 0) : this.latestBelief[(e * N + i) * N + j]!;
        }
      }
    }
  }

  private forward(params: ActorParams, shape: ActorShape, obs: Float32Array, rows: number, beliefs?: Float32Array): Float32Array {
    const size = this.world.obsSize;
    const K = shape.maxNeighbours;
    const m = tf.tidy(() =>
      actorMean(params, shape, tf.tensor2d(obs.subarray(0, rows * size), [rows, size]), beliefs ? tf.tensor2d(beliefs.subarray(0, rows * K), [rows, K]) : undefined),
    );
    const out = Float32Array.from(m.dataSync());
    m.dispose();
    return out;
  }

  private criticValues(states: Float32Array, count: number): Float32Array {
    return criticEstimates(this.critic, this.valueNorm, states, count, this.world.stateSize);
  }

  /** One iteration of experience: defenders, adversaries and beliefs all act. */
  collect(): void {
    const { rolloutSteps: T, envs: E, decisionTicks: ticks } = this.config;
    const w = this.world;
    const N = w.robots;
    const A = E * N;
    const K = this.actorShape.maxNeighbours;
    const size = w.obsSize;
    const b = this.buffer;
    const forcing = this.teacherForcing();
    const actLogStd = Float32Array.from(this.actor.logStd.dataSync());
    const advLogStd = Float32Array.from(this.adversary.logStd.dataSync());
    const actions = new Float32Array(2 * A);
    const stepLogp = new Float32Array(A);
    const state = new Float32Array(E * w.stateSize);
    const victimObs = new Float32Array(E * size);
    for (let t = 0; t < T; t++) {
      b.obs.set(w.obs, t * A * size);
      w.globalStates(state);
      b.states.set(state, t * E * w.stateSize);
      b.values.set(this.criticValues(state, E), t * E);
      this.fillRowBeliefs(t, forcing);
      const mean = this.forward(this.actor, this.actorShape, w.obs, A, this.rowBeliefs.subarray(t * A * K, (t + 1) * A * K));
      sampleGaussian(this.rng, mean, actLogStd, actions, stepLogp, A);
      b.actions.set(actions, t * 2 * A);
      b.logProbs.set(stepLogp, t * A);
      // Adversaries act for the victims, from the victims' observations.
      let attacked = 0;
      const envOf: number[] = [];
      for (let e = 0; e < E; e++) {
        const v = w.victim[e]!;
        this.victims[t * E + e] = v;
        for (let i = 0; i < N; i++) b.lossMask[t * A + e * N + i] = i === v ? 0 : 1;
        if (v < 0) continue;
        victimObs.set(w.obs.subarray((e * N + v) * size, (e * N + v + 1) * size), attacked * size);
        envOf.push(e);
        attacked++;
      }
      if (attacked > 0) {
        const advMean = this.forward(this.adversary, this.adversaryShape, victimObs, attacked);
        const advAct = new Float32Array(2 * attacked);
        const advLogp = new Float32Array(attacked);
        sampleGaussian(this.rng, advMean, advLogStd, advAct, advLogp, attacked);
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
    b.values.set(this.criticValues(state, E), T * E);
    this.envSteps += T * E * ticks;
  }

  /** Defenders, critic, adversary and belief updates from the last rollout. */
  update(): Pick<EirIterationStats, 'policyLoss' | 'valueLoss' | 'beliefLoss' | 'adversaryLoss'> {
    const c = this.config;
    const b = this.buffer;
    const { steps: T, envs: E, robots: N, obsSize, stateSize } = b.shape;
    const A = E * N;
    const K = this.actorShape.maxNeighbours;
    b.computeAdvantages(c.gamma, c.gaeLambda);
    this.valueNorm.update(b.returns);
    const norm = (pick: (i: number) => number | null, count: number) => {
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
    };
    const teamAdv = (s: number) => b.advantages[Math.floor(s / A) * E + Math.floor((s % A) / N)]!;
    const defStats = norm((s) => (b.lossMask[s] ? teamAdv(s) : null), T * A);

    // Defenders: masked PPO on the team advantage, the actor reading the row beliefs it acted on.
    const actorVars = actorVariables(this.actor);
    const mb = Math.ceil((T * A) / c.minibatches);
    const obsBuf = new Float32Array(mb * obsSize);
    const rowBuf = new Float32Array(mb * K);
    const actBuf = new Float32Array(mb * 2);
    const oldBuf = new Float32Array(mb);
    const advBuf = new Float32Array(mb);
    const maskBuf = new Float32Array(mb);
    let policyLoss = 0;
    let batches = 0;
    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      const order = this.rng.permutation(T * A);
      for (let start = 0; start < T * A; start += mb) {
        const M = Math.min(mb, T * A - start);
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
        policyLoss += st.loss;
        batches++;
      }
    }

    // Critic on all environment samples.
    const criticVars = criticVariables(this.critic);
    let valueLoss = 0;
    let vBatches = 0;
    const cmb = Math.ceil((T * E) / c.minibatches);
    const stBuf = new Float32Array(cmb * stateSize);
    const tgBuf = new Float32Array(cmb);
    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      const order = this.rng.permutation(T * E);
      for (let start = 0; start < T * E; start += cmb) {
        const C = Math.min(cmb, T * E - start);
        for (let q = 0; q < C; q++) {
          const s = order[start + q]!;
          stBuf.set(b.states.subarray(s * stateSize, (s + 1) * stateSize), q * stateSize);
          tgBuf[q] = this.valueNorm.normalize(b.returns[s]!);
        }
        valueLoss += valueStep(
          () => criticValue(this.critic, tf.tensor2d(stBuf.subarray(0, C * stateSize), [C, stateSize])),
          tgBuf, C, criticVars, this.criticOpt, c.huberDelta, c.maxGradNorm,
        );
        vBatches++;
      }
    }

    // Adversary: PPO on the negated team advantage, over the attacked environment samples, more epochs.
    const attacked: number[] = [];
    for (let s = 0; s < T * E; s++) if (this.victims[s]! >= 0) attacked.push(s);
    let adversaryLoss = 0;
    if (attacked.length > 0) {
      const advStats = norm((i) => -b.advantages[attacked[i]!]!, attacked.length);
      const n = attacked.length;
      const aObs = new Float32Array(n * obsSize);
      const aAct = new Float32Array(n * 2);
      const aOld = new Float32Array(n);
      const aAdv = new Float32Array(n);
      const aMask = new Float32Array(n).fill(1);
      const advVars = actorVariables(this.adversary);
      for (let epoch = 0; epoch < this.eir.adversaryEpochs; epoch++) {
        const order = this.rng.permutation(n);
        order.forEach((i, q) => {
          const s = attacked[i]!;
          aObs.set(this.advObs.subarray(s * obsSize, (s + 1) * obsSize), q * obsSize);
          aAct[2 * q] = this.advActions[2 * s]!;
          aAct[2 * q + 1] = this.advActions[2 * s + 1]!;
          aOld[q] = this.advLogProbs[s]!;
          aAdv[q] = (-b.advantages[s]! - advStats.mean) / advStats.std;
        });
        adversaryLoss += ppoPolicyStep(
          () => actorMean(this.adversary, this.adversaryShape, tf.tensor2d(aObs, [n, obsSize])),
          this.adversary.logStd, advVars, this.adversaryOpt,
          { actions: aAct, oldLogProbs: aOld, advantages: aAdv, mask: aMask, size: n }, c,
        ).loss;
      }
      adversaryLoss /= this.eir.adversaryEpochs;
    }

    return { policyLoss: policyLoss / batches, valueLoss: valueLoss / vBatches, beliefLoss: this.updateBelief(), adversaryLoss };
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

  private state(): TrainerState {
    return {
      identity: runIdentity(this.config),
      config: this.config as unknown as Record<string, unknown>,
      iteration: this.iteration,
      envSteps: this.envSteps,
      valueNorm: this.valueNorm,
      networks: {
        actor: actorWeights(this.actor), critic: criticWeights(this.critic),
        belief: beliefWeights(this.belief), adversary: actorWeights(this.adversary),
      },
      optimizers: { actor: this.actorOpt, critic: this.criticOpt, belief: this.beliefOpt, adversary: this.adversaryOpt },
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

  /** actor.onnx (obs + row beliefs), belief.onnx (pair features + h), adversary-eir.onnx (victim obs). */
  exportModels(doc: string): Record<string, ModelFile> {
    const obsSize = this.world.obsSize;
    const K = this.actorShape.maxNeighbours;
    const H = this.eir.beliefHidden;
    const action = [{ name: 'action', shape: ['batch', 2], dtype: 'float32' as const }];
    const obs = { name: 'obs', shape: ['batch', obsSize], dtype: 'float32' as const };
    return {
      'actor.onnx': {
        bytes: actorToOnnx(this.actor, this.actorShape, obsSize, doc),
        inputs: [obs, { name: 'beliefs', shape: ['batch', K], dtype: 'float32' }],
        outputs: action,
      },
      'belief.onnx': {
        bytes: beliefToOnnx(this.belief, this.beliefShape, doc),
        inputs: [{ name: 'pair_features', shape: ['batch', PAIR_DIM], dtype: 'float32' }, { name: 'h_in', shape: ['batch', H], dtype: 'float32' }],
        outputs: [{ name: 'belief', shape: ['batch', 1], dtype: 'float32' }, { name: 'h_out', shape: ['batch', H], dtype: 'float32' }],
      },
      'adversary-eir.onnx': { bytes: actorToOnnx(this.adversary, this.adversaryShape, obsSize, `${doc} (EIR adversary)`), inputs: [obs], outputs: action },
    };
  }

  readonly beliefTypes = ['benign', 'compromised'];

  get hiddenSizes(): Record<string, number> {
    return { actor: this.config.hidden, critic: this.config.hidden, belief: this.eir.beliefHidden, adversary: this.config.hidden };
  }

  /** The manifest also records the team under its own trained adversary. */
  extraEvaluations(episodes: number, seed: number): Record<string, EvalResult> {
    return { 'eir-adversary': this.evaluate(episodes, seed, 'adversary') };
  }

  /**
   * Deterministic episodes: defenders act on the mean with beliefs updated every tick, as deployed. With
   * attack 'adversary' robot e mod N of episode e is driven by the trained adversary's mean command.
   */
  evaluate(episodes: number, seed: number, attack: 'none' | 'adversary' = 'none'): EvalResult {
    const world = new RendezvousWorld(this.settings, { envs: episodes, seed, autoReset: false });
    const N = world.robots;
    const K = this.actorShape.maxNeighbours;
    const H = this.eir.beliefHidden;
    const size = world.obsSize;
    const pairs = episodes * N * N;
    const override = new CommandOverride(episodes);
    if (attack === 'adversary') for (let e = 0; e < episodes; e++) world.setVictim(e, { robot: e % N, override });
    let h = new Float32Array(pairs * H);
    const belief = new Float32Array(pairs);
    const features = new Float32Array(pairs * PAIR_DIM);
    const scratch = new Float32Array(N * N * PAIR_DIM);
    const rows = new Float32Array(episodes * N * K);
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
          rows[g * K + k] = j < 0 ? 0 : belief[(e * N + i) * N + j]!;
        }
      }
      actions.set(this.forward(this.actor, this.actorShape, world.obs, episodes * N, rows));
      if (attack === 'adversary') {
        for (let e = 0; e < episodes; e++) victimObs.set(world.obs.subarray((e * N + (e % N)) * size, (e * N + (e % N) + 1) * size), e * size);
        override.commands.set(this.forward(this.adversary, this.adversaryShape, victimObs, episodes));
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
      setLearningRate(this.adversaryOpt, this.eir.adversaryLr * left);
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
