// BATPAL (Kazari & Dan, ICLR 2026; papers 000-001) on EIR-MAPPO's machinery (eir-mappo.ts).
//
// K severity types. Adversary k is trained to hurt the robust team (MDP1) while its harm to the frozen
// reference team pi_0 (MDP0) stays in its band: severity eta = (V_max - V0) / (V_max - V_min) in
// ((k - 1) / K, k / K], with V_max and V_min the benign and worst-case values of pi_0 (read from a posthoc
// adversary trained against pi_0). Each iteration:
//   1. one severity k* is drawn uniformly (the paper's prior); half of the attacked rollout episodes play
//      it, the rest draw their severity uniformly, so the belief and the defenders see every type;
//   2. the MDP1 rollout: the robust team with its per-pair belief over {benign, 1..K};
//   3. the MDP0 rollout: `referenceEnvs` whole episodes of frozen pi_0 with adversary k* on one robot. They
//      train the reference critic V_0(s, victim, severity) (the paper's phi(0)): the undiscounted value of
//      pi_0's team against each severity, in the units of V_max and V_min (undiscounted returns-to-go as
//      targets, referenceCriticEpochs x minibatches steps: the episode has a fixed length and the state
//      carries its time fraction). V0 = the mean of V_0 over `v0StartStates` fixed start states, each with
//      every robot as the victim in turn: E_{s0}[V_0(s0)], the paper's critic-based estimate of the value at
//      the start states (its Monte Carlo sampling error gone, what is left is the critic's, which averages
//      over every MDP0 episode the severity has played). The team's advantages in MDP0 come from the same
//      critic by GAE(1, gaeLambda);
//   4. the defenders, the type-aware critic and the belief update as in EIR-MAPPO; only adversary k*
//      updates, by EC-PPO (ec-ppo.ts).
// Optimiser steps per iteration (the two timescales, Eq. 16-17 with alpha >= beta): severity k*
// adversaryEpochs x adversaryMinibatches (defaults 20 x 4 = 80); the defenders' actor ppoEpochs x
// minibatches (5 x 4 = 20; every adversaryInterval-th iteration); the critic 20; the reference critic
// referenceCriticEpochs x minibatches (20 x 4 = 80); the belief beliefChunksPerIteration. A severity is trained one iteration in K (uniform draw), so on
// average it gets 80 / K = 20 steps per iteration, as many as the defenders (config.ts checks this).
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readAdversaryManifest } from '../../src/policy/adversary.js';
import { observationMismatch, readManifest, sha256 } from '../../src/policy/folder.js';
import { BATPAL_PURPOSE, deriveSeed, makeStreams, type RandomStream } from '../../src/core/random.js';
import { ConfigError } from '../../src/core/config-file.js';
import { PROJECT_ROOT, resolveSwarmConfig, type SwarmSettings } from '../../src/core/swarm-config.js';
import type { EvalResult } from '../evaluation.js';
import { CommandOverride } from '../../src/attacks/override.js';
import { evaluateTeam } from '../team-eval.js';
import { RendezvousWorld } from '../world.js';
import { RolloutBuffer, ValueNormalizer } from './buffer.js';
import type { TrainerState } from './checkpoint.js';
import { DEFAULT_BATPAL, type BatpalSettings, type TrainConfig } from './config.js';
import { ecPpoLoss, severity, valueBand, type ValueRange } from './ec-ppo.js';
import { EirMappoTrainer, shuffled, writeTypedState, type AttackSamples, type EirIterationStats } from './eir-mappo.js';
import { criticEstimates, setLearningRate } from './mappo.js';
import {
  actorMean, actorMeans, actorVariables, createCritic, criticWeights,
  type ActorParams, type ActorShape, type CriticParams,
} from './networks.js';
import { actorFromOnnx } from './onnx/import-actor.js';
import { adam, clippedAdamStep } from './adam.js';
import { fitCritic, minibatchRange, sampleGaussian } from './ppo.js';
import { TfjsTeam } from './tfjs-policy.js';
import { tf } from './tf.js';

/** The frozen reference team and the value range it defines. */
export interface Reference {
  actor: ActorParams;
  shape: ActorShape;
  range: ValueRange;
}

function projectPath(p: string): string {
  return isAbsolute(p) ? p : resolve(PROJECT_ROOT, p);
}

/**
 * Loads pi_0 (a MAPPO policy folder without beliefs) and V_max / V_min from a posthoc adversary trained
 * against exactly that actor; errors name the folder and what does not fit.
 */
export function loadReference(s: BatpalSettings, settings: SwarmSettings): Reference {
  const dir = projectPath(s.reference);
  const m = readManifest(dir);
  const where = `batpal.reference ${dir}`;
  if (m.beliefTypes.length > 0) throw new ConfigError(`${where}: pi_0 must be a policy without beliefs (this one is ${m.algorithm})`);
  const mismatch = observationMismatch(m.observation, settings.observation);
  if (mismatch) throw new ConfigError(`${where}: ${mismatch}`);
  if (m.environment.robots !== settings.robots.length) throw new ConfigError(`${where}: trained for ${m.environment.robots} robots, the twin has ${settings.robots.length}`);
  // V_max and V_min were measured on pi_0's own twin (episode length, noise, reward...): the bands mean
  // nothing on another one.
  const own = resolveSwarmConfig({ ...(m.training.config.env as Record<string, unknown>) }, `${where}: training.config.env`);
  if (JSON.stringify(own) !== JSON.stringify(settings)) {
    throw new ConfigError(`${where}: trained on another twin than this run's env (${JSON.stringify(m.training.config.env)}); V_max and V_min would not apply`);
  }
  const file = join(dir, 'actor.onnx');
  const bytes = readFileSync(file);
  const actorSha = sha256(bytes);
  if (m.files['actor.onnx']?.sha256 !== actorSha) throw new ConfigError(`${file}: sha256 does not match its manifest`);
  const worst = readAdversaryManifest(projectPath(s.worstCase));
  if (worst.target.actorSha256 !== actorSha) {
    throw new ConfigError(`batpal.worstCase ${projectPath(s.worstCase)}: trained against ${worst.target.policy} (another actor than ${dir})`);
  }
  const range = { vMax: worst.evaluation.benign.meanReturn, vMin: worst.evaluation.attacked.meanReturn };
  if (!(range.vMax > range.vMin)) throw new ConfigError(`batpal.worstCase: V_max ${range.vMax} must exceed V_min ${range.vMin}`);
  const shape: ActorShape = { maxNeighbours: m.observation.maxNeighbours, hidden: m.hiddenSizes.actor ?? 0 };
  return { actor: actorFromOnnx(bytes, shape, m.action.logStd, file), shape, range };
}

/** What the MDP0 rollout of one iteration yields for adversary k*. */
export interface ReferenceRollout {
  /** V0: the reference critic's mean value at the start states, fitted on this rollout too. */
  v0: number;
  /** The rollout's own Monte Carlo mean return (logged beside V0, not used). */
  monteCarlo: number;
  /** k*'s samples, with the team's advantages in MDP0 (GAE(1, gaeLambda) on the reference critic, return units). */
  samples: AttackSamples;
  /** Mean Huber loss of the reference critic's fit. */
  criticLoss: number;
}

export type BatpalIterationStats = EirIterationStats & {
  adversaryType: number;
  /** k*'s severity against pi_0 from V0 (the reference critic), and whether V0 was inside its band. */
  referenceSeverity: number;
  /** The same from the MDP0 episodes' Monte Carlo mean (a check on the critic; not used by EC-PPO). */
  referenceSeverityMc: number;
  referenceValueLoss: number;
  insideBand: number | null;
};

export class BatpalTrainer extends EirMappoTrainer {
  readonly batpal: BatpalSettings;
  readonly reference: Reference;
  private batpalRng: RandomStream;
  /** The severity trained this iteration, and the one drawn for episodes that start during this rollout. */
  trainedType = 1;
  private nextType = 1;
  private lastReference: ReferenceRollout | null = null;
  /** The reference critic V_0(s, victim, severity) of MDP0 (the paper's phi(0)), its value normalisation and optimiser. */
  readonly referenceCritic: CriticParams;
  readonly referenceNorm = new ValueNormalizer();
  private readonly referenceCriticOpt: tf.Optimizer;
  /** MDP0's rollout storage: states are the reference critic's typed inputs. */
  private readonly referenceBuffer: RolloutBuffer;
  /** The fixed start states at which V0 averages the reference critic, v0StartStates x stateSize. */
  private readonly startStates: Float32Array;
  private readonly referenceCache = new Map<string, Promise<EvalResult>>();
  /** Whether the last EC-PPO update found V0 inside its band (null: no update this iteration). */
  private lastInside: boolean | null = null;

  constructor(config: TrainConfig, settings: SwarmSettings, reference?: Reference) {
    const batpal = config.batpal ?? DEFAULT_BATPAL;
    super(config, settings, batpal, batpal.severities);
    this.batpal = batpal;
    this.reference = reference ?? loadReference(batpal, settings);
    this.batpalRng = makeStreams(deriveSeed(config.seed, BATPAL_PURPOSE), 1)[0]!;
    this.trainedType = this.nextType = this.batpalRng.int(1, this.types);
    this.redrawTypes();
    const N = this.world.robots;
    this.referenceCritic = createCritic(this.criticInputSize, config.hidden, config.seed + 4);
    this.referenceCriticOpt = adam(config.criticLr, config.adamEpsilon);
    const steps = settings.episodeSteps / config.decisionTicks;
    this.referenceBuffer = new RolloutBuffer({ steps, envs: batpal.referenceEnvs, robots: N, obsSize: 0, stateSize: this.criticInputSize });
    const starts = new RendezvousWorld(settings, { envs: batpal.v0StartStates, seed: deriveSeed(config.seed + 104_729, BATPAL_PURPOSE), autoReset: false });
    this.startStates = new Float32Array(batpal.v0StartStates * starts.stateSize);
    starts.globalStates(this.startStates);
  }

  /**
   * A share `trainedShare` of the attacked episodes play the severity trained next; the rest draw any
   * severity (so at the defaults 62.5% play it). Drawn for episodes starting during this rollout, which with
   * rolloutSteps x decisionTicks = episodeSteps are exactly the next iteration's episodes; otherwise the
   * episodes that straddle iterations simply do not enter the update of a severity they did not play.
   */
  protected override drawAttackType(): number {
    // While the base constructor draws the first episodes this class is not set up yet: they are drawn again.
    if (!this.batpal) return 1;
    return this.rng.uniform() < this.batpal.trainedShare ? this.nextType : this.rng.int(1, this.types);
  }

  /** A resumed run: fresh severity draws and MDP0 episodes too, from the iteration's own seed. */
  override reseedFor(iteration: number): void {
    this.batpalRng = makeStreams(deriveSeed((this.config.seed + 7919 * iteration) % 2 ** 31, BATPAL_PURPOSE), 1)[0]!;
    this.trainedType = this.nextType = this.batpalRng.int(1, this.types);
    super.reseedFor(iteration);
  }

  protected override adversaryName(type: number): string {
    return `severity-${type}`;
  }

  override get beliefTypes(): string[] {
    return ['benign', ...Array.from({ length: this.types }, (_, k) => this.adversaryName(k + 1))];
  }

  /** The value band [l, h] of severity type k against pi_0. */
  band(type: number): { l: number; h: number } {
    return valueBand(type, this.types, this.reference.range);
  }

  override collect(): void {
    this.nextType = this.batpalRng.int(1, this.types);
    super.collect();
    this.lastReference = this.referenceRollout(this.trainedType);
  }

  /**
   * MDP0: whole episodes of frozen pi_0 with adversary `type` driving one uniformly drawn robot (sampled
   * actions), then the reference critic's fit on them and V0 from it.
   */
  referenceRollout(type: number): ReferenceRollout {
    const M = this.batpal.referenceEnvs;
    const ticks = this.config.decisionTicks;
    const steps = this.settings.episodeSteps / ticks;
    const world = new RendezvousWorld(this.settings, { envs: M, seed: deriveSeed(this.config.seed + 7919 * this.iteration, BATPAL_PURPOSE), autoReset: false });
    const N = world.robots;
    const size = world.obsSize;
    const CI = this.criticInputSize;
    const override = new CommandOverride(M);
    const victims = Array.from({ length: M }, () => this.batpalRng.int(0, N - 1));
    victims.forEach((robot, e) => world.setVictim(e, { robot, override }));
    const adversary = this.adversaries[type - 1]!;
    const logStd = Float32Array.from(adversary.logStd.dataSync());
    const samples: AttackSamples = {
      size: steps * M,
      obs: new Float32Array(steps * M * size),
      actions: new Float32Array(steps * M * 2),
      oldLogProbs: new Float32Array(steps * M),
      advantages: new Float32Array(steps * M),
    };
    const b = this.referenceBuffer;
    b.rewards.fill(0);
    b.dones.fill(0);
    const state = new Float32Array(M * world.stateSize);
    const victimObs = new Float32Array(M * size);
    for (let t = 0; t < steps; t++) {
      world.globalStates(state);
      victims.forEach((v, e) => writeTypedState(b.states, (t * M + e) * CI, state, e * world.stateSize, world.stateSize, N, this.types, v, type));
      b.values.set(criticEstimates(this.referenceCritic, this.referenceNorm, b.states.subarray(t * M * CI, (t + 1) * M * CI), M, CI), t * M);
      victims.forEach((v, e) => victimObs.set(world.obs.subarray((e * N + v) * size, (e * N + v + 1) * size), e * size));
      const mean = actorMeans(adversary, this.adversaryShape, victimObs, size, M);
      const act = samples.actions.subarray(t * M * 2, (t + 1) * M * 2);
      sampleGaussian(this.batpalRng, mean, logStd, act, samples.oldLogProbs.subarray(t * M, (t + 1) * M), M);
      samples.obs.set(victimObs, t * M * size);
      override.commands.set(act);
      // pi_0 acts every tick, as deployed and as V_max / V_min were measured; the adversary's command is held.
      for (let tick = 0; tick < ticks; tick++) {
        world.step(actorMeans(this.reference.actor, this.reference.shape, world.obs, size, M * N));
        for (let e = 0; e < M; e++) b.rewards[t * M + e]! += world.rewards[e]!;
      }
    }
    // Every episode ends with the rollout: a true terminal (the time fraction is in the state).
    b.dones.fill(1, (steps - 1) * M, steps * M);
    b.values.fill(0, steps * M, (steps + 1) * M);
    this.envSteps += M * this.settings.episodeSteps;
    // Undiscounted, like V_max and V_min: the band is in episode-return units. The critic's targets are
    // the returns-to-go themselves (lambda = 1: V0 is read at the start states, the far end of the
    // bootstrap chain, where TD targets would lean most on the critic's own lagging values); the policy
    // gradient's advantages are GAE(1, gaeLambda).
    b.computeAdvantages(1, this.config.gaeLambda);
    samples.advantages.set(b.advantages);
    b.computeAdvantages(1, 1);
    let monteCarlo = 0;
    for (let s = 0; s < steps * M; s++) monteCarlo += b.rewards[s]!;
    const criticLoss = this.fitReferenceCritic();
    return { v0: this.estimateV0(type), monteCarlo: monteCarlo / M, samples, criticLoss };
  }

  /** referenceCriticEpochs x minibatches Huber steps of the reference critic towards the MDP0 rollout's returns-to-go. */
  private fitReferenceCritic(): number {
    const c = this.config;
    const b = this.referenceBuffer;
    if (c.lrDecay) setLearningRate(this.referenceCriticOpt, c.criticLr * Math.max(0, 1 - this.envSteps / c.totalEnvSteps));
    this.referenceNorm.update(b.returns);
    return fitCritic(
      this.referenceCritic, this.referenceCriticOpt,
      { inputs: b.states, inputSize: this.criticInputSize, targets: Float32Array.from(b.returns, (r) => this.referenceNorm.normalize(r)), count: b.shape.steps * b.shape.envs },
      { epochs: this.batpal.referenceCriticEpochs, minibatches: c.minibatches, huberDelta: c.huberDelta, maxGradNorm: c.maxGradNorm },
      this.batpalRng,
    );
  }

  /**
   * V0 of severity `type`: the reference critic's value (return units) averaged over the fixed start states,
   * each with every robot as the victim in turn (the victim is uniform in MDP0).
   */
  estimateV0(type: number): number {
    const N = this.world.robots;
    const S = this.batpal.v0StartStates;
    const stateSize = this.world.stateSize;
    const CI = this.criticInputSize;
    const inputs = new Float32Array(S * N * CI);
    for (let s = 0; s < S; s++) {
      for (let v = 0; v < N; v++) writeTypedState(inputs, (s * N + v) * CI, this.startStates, s * stateSize, stateSize, N, this.types, v, type);
    }
    const values = criticEstimates(this.referenceCritic, this.referenceNorm, inputs, S * N, CI);
    let sum = 0;
    for (const v of values) sum += v;
    return sum / values.length;
  }

  /**
   * EC-PPO for the severity trained this iteration; the other adversaries wait for their turn.
   * adversaryEpochs x adversaryMinibatches optimiser steps, each on one minibatch of k*'s MDP1 samples and
   * one of its MDP0 samples.
   */
  protected override updateAdversaries(): number {
    const k = this.trainedType;
    const mdp1 = this.attackSamples(k);
    const mdp0 = this.lastReference;
    this.lastInside = null;
    if (!mdp1 || !mdp0) return 0;
    const adversary = this.adversaries[k - 1]!;
    const vars = actorVariables(adversary);
    const obsSize = this.world.obsSize;
    const band = this.band(k);
    const settings = {
      clip: this.config.clip,
      lambda: this.batpal.barrierWeight,
      margin: this.batpal.margin * (this.reference.range.vMax - this.reference.range.vMin),
    };
    const parts = this.robust.adversaryMinibatches;
    let total = 0;
    for (let epoch = 0; epoch < this.robust.adversaryEpochs; epoch++) {
      const one = shuffled(mdp1, this.rng.permutation(mdp1.size), obsSize);
      const zero = shuffled(mdp0.samples, this.rng.permutation(mdp0.samples.size), obsSize);
      for (let j = 0; j < parts; j++) {
        const [a1, b1] = minibatchRange(one.size, parts, j);
        const [a0, b0] = minibatchRange(zero.size, parts, j);
        total += tf.tidy(() => {
          const batch = {
            actions1: tf.tensor2d(one.actions.subarray(2 * a1, 2 * b1), [b1 - a1, 2]),
            oldLogProbs1: tf.tensor1d(one.oldLogProbs.subarray(a1, b1)),
            advantages1: tf.tensor1d(one.advantages.subarray(a1, b1)),
            actions0: tf.tensor2d(zero.actions.subarray(2 * a0, 2 * b0), [b0 - a0, 2]),
            oldLogProbs0: tf.tensor1d(zero.oldLogProbs.subarray(a0, b0)),
            teamAdvantages0: tf.tensor1d(zero.advantages.subarray(a0, b0)),
          };
          let inside = true;
          const { value, grads } = tf.variableGrads(() => {
            const terms = ecPpoLoss(
              actorMean(adversary, this.adversaryShape, tf.tensor2d(one.obs.subarray(a1 * obsSize, b1 * obsSize), [b1 - a1, obsSize])),
              actorMean(adversary, this.adversaryShape, tf.tensor2d(zero.obs.subarray(a0 * obsSize, b0 * obsSize), [b0 - a0, obsSize])),
              adversary.logStd as unknown as tf.Tensor1D,
              batch, mdp0.v0, band, settings,
            );
            inside = terms.inside;
            return terms.loss;
          }, vars);
          clippedAdamStep(this.adversaryOpts[k - 1]!, grads, this.config.maxGradNorm);
          this.lastInside = inside;
          return value.dataSync()[0]!;
        });
      }
    }
    return total / (this.robust.adversaryEpochs * parts);
  }

  protected override state(): TrainerState {
    const base = super.state();
    return {
      ...base,
      networks: { ...base.networks, 'reference-critic': criticWeights(this.referenceCritic) },
      optimizers: { ...base.optimizers, 'reference-critic': this.referenceCriticOpt },
      valueNorms: { reference: this.referenceNorm },
    };
  }

  override iterate(): BatpalIterationStats {
    const k = this.trainedType;
    const stats = super.iterate();
    const ref = this.lastReference;
    this.trainedType = this.nextType;
    return {
      ...stats,
      adversaryType: k,
      referenceSeverity: severity(ref?.v0 ?? Number.NaN, this.reference.range),
      referenceSeverityMc: severity(ref?.monteCarlo ?? Number.NaN, this.reference.range),
      referenceValueLoss: ref?.criticLoss ?? Number.NaN,
      insideBand: this.lastInside === null ? null : this.lastInside ? 1 : 0,
    };
  }

  /** pi_0 as the evaluation loop runs it: the frozen reference actor's mean command every tick. */
  referenceTeam(): TfjsTeam {
    return new TfjsTeam({ name: 'reference', actor: this.reference.actor, shape: this.reference.shape, obsSize: this.world.obsSize });
  }

  /** Deterministic episodes of pi_0 with adversary `type`'s mean command on robot e mod N (evaluateTeam). */
  evaluateReference(type: number, episodes: number, seed: number): Promise<EvalResult> {
    return evaluateTeam(this.settings, this.referenceTeam(), { episodes, seed, attack: { kind: 'adversary', adversary: this.adversary(type) } });
  }

  /** evaluateReference, remembered for the current weights (the final evaluations and severity.json share it). */
  private referenceResult(type: number, episodes: number, seed: number): Promise<EvalResult> {
    const key = `${this.iteration}/${type}/${episodes}/${seed}`;
    let ev = this.referenceCache.get(key);
    if (!ev) {
      ev = this.evaluateReference(type, episodes, seed);
      this.referenceCache.set(key, ev);
    }
    return ev;
  }

  /** Every adversary's severity against pi_0 on held-out episodes: the paper's Figure 4, one column each. */
  async evaluationColumns(episodes: number, seed: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (let k = 1; k <= this.types; k++) out[`severity${k}`] = severity((await this.evaluateReference(k, episodes, seed)).meanReturn, this.reference.range);
    return out;
  }

  /** The robust team under each severity adversary, and pi_0 under each (its measured severity). */
  override async extraEvaluations(episodes: number, seed: number): Promise<Record<string, EvalResult>> {
    const out = await super.extraEvaluations(episodes, seed);
    for (let k = 1; k <= this.types; k++) out[`${this.adversaryName(k)}-vs-reference`] = await this.referenceResult(k, episodes, seed);
    return out;
  }

  /** severity.json: V_max, V_min, each band and each adversary's final measured severity against pi_0. */
  async extraFiles(episodes: number, seed: number): Promise<Record<string, string>> {
    const { vMax, vMin } = this.reference.range;
    const results = await Promise.all(Array.from({ length: this.types }, (_, i) => this.referenceResult(i + 1, episodes, seed)));
    const types = results.map((ev, i) => {
      const k = i + 1;
      const eta = severity(ev.meanReturn, this.reference.range);
      return {
        type: this.adversaryName(k),
        band: { severity: [i / this.types, k / this.types], value: this.band(k) },
        referenceReturn: ev.meanReturn,
        referenceReturnCi95: ev.returnCi95,
        severity: eta,
        inside: eta > i / this.types && eta <= k / this.types,
      };
    });
    return { 'severity.json': `${JSON.stringify({ reference: this.batpal.reference, worstCase: this.batpal.worstCase, vMax, vMin, episodes, seed, types }, null, 2)}\n` };
  }
}
