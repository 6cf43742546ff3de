// A posthoc adversary: PPO for one compromised robot against a frozen, deployed team (its ONNX files run
// exactly as the runtime runs them, beliefs included). Each episode a uniformly chosen robot is the victim;
// the adversary drives it from its own observation and is rewarded with the negated team reward. Its
// critic sees the global state and the victim's observation (so it knows which robot it drives).
//
// Dynamic adversaries (BATPAL's DYN-1 / DYN-2) trade impact against detectability: with `stealth` beta > 0
// each tick also costs beta * |a - a_team|^2, the squared distance between the executed command and the
// command the deployed policy would have given the victim from the same observation (what a
// policy-consistency detector checks). beta = 0 is the pure-impact adversary (ACT).
import { z } from 'zod';
import { ConfigError, parseWithSchema } from '../../src/core/config-file.js';
import { deriveSeed, makeStreams, SAMPLER_PURPOSE, type RandomStream } from '../../src/core/random.js';
import type { RendezvousMetrics } from '../../src/core/rendezvous.js';
import type { ModelFile } from '../../src/policy/folder.js';
import type { OnnxTeam } from '../../src/policy/team.js';
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import { CommandOverride } from '../../src/attacks/override.js';
import { RendezvousWorld } from '../world.js';
import { clampCommand } from '../../src/core/kinematics.js';
import { RolloutBuffer, ValueNormalizer } from './buffer.js';
import { DEFAULT_TRAIN_CONFIG, TrainConfigSchema } from './config.js';
import { criticEstimates, rolloutEpisodes, setLearningRate } from './mappo.js';
import { actorMean, actorVariables, createActor, createCritic, criticVariables, standardise, type ActorParams, type ActorShape, type CriticParams } from './networks.js';
import { actorToOnnx } from './onnx/export-actor.js';
import { actorMeanBackprop, criticValueBackprop } from './network-grads.js';
import { ppoPolicyStep, sampleGaussian, valueStep } from './ppo.js';
import { adam } from './adam.js';
import { tf } from './tf.js';
import type { RolloutStats } from './iteration-stats.js';

/** The PPO settings of the training config that apply to a single adversary (same meanings and checks). */
export const AdversaryConfigSchema = TrainConfigSchema.pick({
  seed: true,
  totalEnvSteps: true,
  envs: true,
  rolloutSteps: true,
  decisionTicks: true,
  hidden: true,
  actorLr: true,
  criticLr: true,
  lrDecay: true,
  adamEpsilon: true,
  gamma: true,
  gaeLambda: true,
  ppoEpochs: true,
  minibatches: true,
  clip: true,
  entropyCoef: true,
  maxGradNorm: true,
  huberDelta: true,
  initialLogStd: true,
  finalEvalEpisodes: true,
})
  .extend({
    /** Weight beta of the detectability cost |a - a_team|^2 per tick (0: pure impact). */
    stealth: z.number().min(0),
  })
  .strict();

export type AdversaryConfig = z.output<typeof AdversaryConfigSchema>;

export const DEFAULT_ADVERSARY_CONFIG: AdversaryConfig = {
  ...Object.fromEntries(Object.keys(AdversaryConfigSchema.shape).map((k) => [k, DEFAULT_TRAIN_CONFIG[k as keyof typeof DEFAULT_TRAIN_CONFIG]])),
  totalEnvSteps: 1_000_000,
  lrDecay: true,
  stealth: 0,
} as AdversaryConfig;

export function resolveAdversaryConfig(partial: Record<string, unknown>, source: string): AdversaryConfig {
  return parseWithSchema(source, AdversaryConfigSchema, { ...DEFAULT_ADVERSARY_CONFIG, ...partial });
}

/** The base stats (meanReturn: the papers' team return, the victim included), and the adversary's own. */
export interface AdversaryIterationStats extends RolloutStats {
  /** The defenders' mean return (the victim left out) over those episodes: what the adversary pushes down. */
  meanDefenderReturn: number | null;
  policyLoss: number;
  valueLoss: number;
  /** Mean |a - a_team|^2 per tick of the victim's executed command against the deployed policy's. */
  deviation: number;
}

export class PosthocAdversaryTrainer {
  readonly shape: ActorShape;
  readonly actor: ActorParams;
  readonly critic: CriticParams;
  readonly world: RendezvousWorld;
  readonly buffer: RolloutBuffer;
  iteration = 0;
  envSteps = 0;
  private readonly valueNorm = new ValueNormalizer();
  private readonly actorOpt: tf.Optimizer;
  private readonly criticOpt: tf.Optimizer;
  private readonly rng: RandomStream;
  private readonly override: CommandOverride;
  private readonly finished: RendezvousMetrics[] = [];
  private readonly criticSize: number;
  private deviationSum = 0;
  private deviationCount = 0;

  constructor(
    readonly config: AdversaryConfig,
    readonly settings: SwarmSettings,
    private readonly team: OnnxTeam,
  ) {
    if (settings.episodeSteps % config.decisionTicks !== 0) {
      throw new ConfigError(`adversary config: decisionTicks: ${config.decisionTicks} must divide env.episodeSteps (${settings.episodeSteps})`);
    }
    const E = config.envs;
    this.rng = makeStreams(deriveSeed(config.seed, SAMPLER_PURPOSE), 1)[0]!;
    this.override = new CommandOverride(E);
    this.world = new RendezvousWorld(settings, {
      envs: E,
      seed: config.seed,
      onEpisodeEnd: (_e, m) => this.finished.push(m),
      onEpisodeStart: (e) => this.drawVictim(e),
    });
    for (let e = 0; e < E; e++) this.drawVictim(e);
    this.shape = { maxNeighbours: settings.observation.maxNeighbours, hidden: config.hidden };
    this.actor = createActor(this.shape, config.seed + 2, config.initialLogStd);
    this.criticSize = this.world.stateSize + this.world.obsSize;
    this.critic = createCritic(this.criticSize, config.hidden, config.seed + 1);
    this.actorOpt = adam(config.actorLr, config.adamEpsilon);
    this.criticOpt = adam(config.criticLr, config.adamEpsilon);
    // One agent per environment: the victim.
    this.buffer = new RolloutBuffer({ steps: config.rolloutSteps, envs: E, robots: 1, obsSize: this.world.obsSize, stateSize: this.criticSize });
  }

  /** Each episode: a uniformly chosen victim, and the frozen team's beliefs start fresh. */
  private drawVictim(e: number): void {
    if (!this.world || !this.override) return; // the world's constructor resets before set-up ends; drawn again after
    this.world.setVictim(e, { robot: this.rng.int(0, this.world.robots - 1), override: this.override });
    this.team.resetEnv(e);
  }

  private victimObservations(out: Float32Array): void {
    const w = this.world;
    const size = w.obsSize;
    for (let e = 0; e < w.envs; e++) {
      const g = e * w.robots + w.victim[e]!;
      out.set(w.obs.subarray(g * size, (g + 1) * size), e * size);
    }
  }

  private criticInputs(victimObs: Float32Array, out: Float32Array): void {
    const w = this.world;
    const state = new Float32Array(w.envs * w.stateSize);
    w.globalStates(state);
    for (let e = 0; e < w.envs; e++) {
      out.set(state.subarray(e * w.stateSize, (e + 1) * w.stateSize), e * this.criticSize);
      out.set(victimObs.subarray(e * w.obsSize, (e + 1) * w.obsSize), e * this.criticSize + w.stateSize);
    }
  }

  /** One rollout: the adversary samples a command per decision, held `decisionTicks` ticks; the team acts every tick. */
  async collect(): Promise<void> {
    const { rolloutSteps: T, envs: E, decisionTicks } = this.config;
    const w = this.world;
    const b = this.buffer;
    const size = w.obsSize;
    const victimObs = new Float32Array(E * size);
    const critic = new Float32Array(E * this.criticSize);
    const logStd = Float32Array.from(this.actor.logStd.dataSync());
    const teamActions = new Float32Array(2 * E * w.robots);
    const advActions = new Float32Array(2 * E);
    const logProbs = new Float32Array(E);
    for (let t = 0; t < T; t++) {
      this.victimObservations(victimObs);
      this.criticInputs(victimObs, critic);
      b.obs.set(victimObs, t * E * size);
      b.states.set(critic, t * E * this.criticSize);
      b.values.set(criticEstimates(this.critic, this.valueNorm, critic, E, this.criticSize), t * E);
      const mean = tf.tidy(() => actorMean(this.actor, this.shape, tf.tensor2d(victimObs, [E, size])));
      sampleGaussian(this.rng, mean.dataSync() as Float32Array, logStd, advActions, logProbs, E);
      mean.dispose();
      b.actions.set(advActions, t * 2 * E);
      b.logProbs.set(logProbs, t * E);
      this.override.commands.set(advActions);
      b.rewards.fill(0, t * E, (t + 1) * E);
      b.dones.fill(0, t * E, (t + 1) * E);
      for (let tick = 0; tick < decisionTicks; tick++) {
        await this.team.act(w, teamActions);
        // What the deployed policy would have commanded the victim, before the world overrides it.
        const deviation = Array.from({ length: E }, (_, e) => {
          const g = e * w.robots + w.victim[e]!;
          return (clampCommand(advActions[2 * e]!) - clampCommand(teamActions[2 * g]!)) ** 2 + (clampCommand(advActions[2 * e + 1]!) - clampCommand(teamActions[2 * g + 1]!)) ** 2;
        });
        w.step(teamActions);
        for (let e = 0; e < E; e++) {
          // Zero-sum: the adversary earns what the team loses, less its detectability cost.
          b.rewards[t * E + e]! -= w.rewards[e]! + this.config.stealth * deviation[e]!;
          b.dones[t * E + e]! |= w.dones[e]!;
          this.deviationSum += deviation[e]!;
          this.deviationCount++;
        }
      }
    }
    this.victimObservations(victimObs);
    this.criticInputs(victimObs, critic);
    b.values.set(criticEstimates(this.critic, this.valueNorm, critic, E, this.criticSize), T * E);
    this.envSteps += T * E * decisionTicks;
  }

  /** PPO on the adversary's own advantage; the critic on its returns. */
  update(): { policyLoss: number; valueLoss: number } {
    const c = this.config;
    const b = this.buffer;
    const { steps: T, envs: E, obsSize } = b.shape;
    const S = T * E;
    b.computeAdvantages(c.gamma, c.gaeLambda);
    this.valueNorm.update(b.returns);
    let mean = 0;
    for (let i = 0; i < S; i++) mean += b.advantages[i]!;
    mean /= S;
    let variance = 0;
    for (let i = 0; i < S; i++) variance += (b.advantages[i]! - mean) ** 2;
    const std = Math.sqrt(variance / S) + 1e-8;
    const mb = Math.ceil(S / c.minibatches);
    const obs = new Float32Array(mb * obsSize);
    const states = new Float32Array(mb * this.criticSize);
    const actions = new Float32Array(mb * 2);
    const old = new Float32Array(mb);
    const adv = new Float32Array(mb);
    const targets = new Float32Array(mb);
    const mask = new Float32Array(mb).fill(1);
    const actorVars = actorVariables(this.actor);
    const criticVars = criticVariables(this.critic);
    let policyLoss = 0;
    let valueLoss = 0;
    let batches = 0;
    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      const order = this.rng.permutation(S);
      for (let start = 0; start < S; start += mb) {
        const M = Math.min(mb, S - start);
        for (let q = 0; q < M; q++) {
          const s = order[start + q]!;
          obs.set(b.obs.subarray(s * obsSize, (s + 1) * obsSize), q * obsSize);
          states.set(b.states.subarray(s * this.criticSize, (s + 1) * this.criticSize), q * this.criticSize);
          actions[2 * q] = b.actions[2 * s]!;
          actions[2 * q + 1] = b.actions[2 * s + 1]!;
          old[q] = b.logProbs[s]!;
          adv[q] = (b.advantages[s]! - mean) / std;
          targets[q] = this.valueNorm.normalize(b.returns[s]!);
        }
        policyLoss += ppoPolicyStep(
          { backprop: () => actorMeanBackprop(this.actor, this.shape, tf.tensor2d(obs.subarray(0, M * obsSize), [M, obsSize])) },
          this.actor.logStd, actorVars, this.actorOpt,
          { actions, oldLogProbs: old, advantages: adv, mask, size: M }, c,
        ).loss;
        valueLoss += valueStep(
          { backprop: () => criticValueBackprop(this.critic, standardise(tf.tensor2d(states.subarray(0, M * this.criticSize), [M, this.criticSize])) as tf.Tensor2D) },
          targets, M, criticVars, this.criticOpt, c.huberDelta, c.maxGradNorm,
        );
        batches++;
      }
    }
    return { policyLoss: policyLoss / batches, valueLoss: valueLoss / batches };
  }

  async iterate(): Promise<AdversaryIterationStats> {
    this.finished.length = 0;
    this.deviationSum = this.deviationCount = 0;
    await this.collect();
    if (this.config.lrDecay) {
      const left = Math.max(0, 1 - this.envSteps / this.config.totalEnvSteps);
      setLearningRate(this.actorOpt, this.config.actorLr * left);
      setLearningRate(this.criticOpt, this.config.criticLr * left);
    }
    const losses = this.update();
    this.iteration++;
    return { iteration: this.iteration, envSteps: this.envSteps, ...rolloutEpisodes(this.finished), ...losses, deviation: this.deviationSum / Math.max(1, this.deviationCount) };
  }

  /** adversary.onnx: the victim's observation in, the mean command out. */
  exportModel(doc: string): ModelFile {
    const size = this.world.obsSize;
    return {
      bytes: actorToOnnx(this.actor, this.shape, size, doc),
      inputs: [{ name: 'obs', shape: ['batch', size], dtype: 'float32' }],
      outputs: [{ name: 'action', shape: ['batch', 2], dtype: 'float32' }],
    };
  }
}
