// Training configuration: one YAML file (all keys optional) plus command-line flags, validated with the
// path of any bad key named.
import { z } from 'zod';
import { ConfigError, parseWithSchema } from '../../src/core/config-file.js';
import type { SwarmSettings } from '../../src/core/swarm-config.js';

/** Algorithms the training command runs, all on the same MAPPO core. */
export const ALGORITHMS = ['mappo', 'eir-mappo', 'mir2', 'batpal'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * The belief and adversary machinery of robust training, shared by EIR-MAPPO (its `eir` block; only with algo
 * eir-mappo) and BATPAL (whose `batpal` block extends it with severities and the reference team).
 */
export const RobustSettingsSchema = z
  .object({
    /** Probability that an episode has no adversary (nature's prior). */
    benignProbability: z.number().min(0).max(1).default(0.5),
    /** Hidden units of the belief GRU (one per (observer, neighbour) pair, shared weights). */
    beliefHidden: z.number().int().min(2).max(512).default(32),
    /** Adam learning rate of the belief network. */
    beliefLr: z.number().positive().default(1e-3),
    /** Ticks per truncated back-propagation chunk of the belief GRU. */
    beliefChunk: z.number().int().min(1).max(1000).default(10),
    /**
     * Chunks of the rollout the belief is trained on per iteration, drawn at random (each from the state the
     * rollout reached): the belief learns fast and its full BPTT over every tick costs more than the rest of
     * the update together.
     */
    beliefChunksPerIteration: z.number().int().min(1).default(10),
    /** Adam learning rate of the adversary (of each severity's in BATPAL). */
    adversaryLr: z.number().positive().default(1e-3),
    /**
     * PPO epochs of the adversary per iteration over its samples of the rollout (the attacked episodes).
     * With `adversaryMinibatches` and `adversaryInterval` it sets the two timescales: the adversary takes
     * adversaryEpochs x adversaryMinibatches optimiser steps every iteration, the defenders' actor
     * ppoEpochs x minibatches steps every adversaryInterval-th iteration. The adversary must take more
     * steps per defender update (EIR-MAPPO) or, in BATPAL, where one of K severities is trained per
     * iteration, at least K times the defenders' steps (checked; errors name this key). The default 10 x 4 =
     * 40 adversary optimiser steps per iteration against the defenders' 5 x 4 = 20.
     */
    adversaryEpochs: z.number().int().min(1).max(200).default(10),
    /** Minibatches per adversary epoch (each at least one sample; BATPAL: of MDP1 and of MDP0 samples alike). */
    adversaryMinibatches: z.number().int().min(1).max(1024).default(4),
    /**
     * The paper's "adversary interval" (EIR-MAPPO, Algorithm 1): the defenders' actor is updated on every
     * adversaryInterval-th iteration only, the adversary on every iteration, the critic and the belief on
     * every iteration (the critic on the fastest timescale, as the paper's convergence argument assumes).
     * 1 = every iteration, the faster timescale then coming from the adversary's extra optimiser steps.
     */
    adversaryInterval: z.number().int().min(1).max(100).default(1),
    /** Teacher forcing decays linearly from 1 to 0 over this fraction of training. */
    teacherForcingUntil: z.number().positive().max(1).default(0.5),
    /**
     * The known-type oracle: the actor reads the true type throughout (teacher forcing held at 1), in
     * training and wherever it is evaluated. An upper bound on what a belief can give (the headroom check);
     * it cannot be deployed, since no real swarm knows which robot is compromised.
     */
    oracle: z.boolean().default(false),
    /**
     * Training for the monitor's `onFlag: isolate`: in this share of the attacked episodes the victim is left
     * out of every other robot's observation, centroid and belief pairs from a delay drawn uniformly in
     * delaySeconds (the monitor's time to flag) to the episode's end, as the runtime does once it is flagged.
     * The defenders then learn to gather with a robot they cannot see, which isolation makes them meet. Off
     * when absent.
     */
    isolation: z
      .object({
        probability: z.number().min(0).max(1),
        delaySeconds: z.object({ min: z.number().min(0), max: z.number().min(0) }).strict(),
      })
      .strict()
      .refine((i) => i.delaySeconds.min <= i.delaySeconds.max, { message: 'delaySeconds.min must not exceed delaySeconds.max', path: ['delaySeconds'] })
      .optional(),
  })
  .strict();

export type RobustSettings = z.output<typeof RobustSettingsSchema>;

export const DEFAULT_EIR: RobustSettings = RobustSettingsSchema.parse({});

/**
 * MIR2's own settings (the `mir2` block of a training config; only with algo mir2). Its objective also keeps
 * the policy entropy term: the top-level `entropyCoef` (0.01 by default with algo mir2, and it must be > 0).
 */
export const Mir2SettingsSchema = z
  .object({
    /**
     * Weight of the regulariser: every decision's reward is lowered by lambda x the sum over robots of the
     * CLUB estimate of I(h_i; a_i), robot i's history and action (paper 004: r_t - lambda I(h_t; a_t)).
     */
    lambda: z.number().min(0).default(5e-4),
    /**
     * Decisions in a robot's history h_i: its own last `history` observations and the `history - 1` commands
     * it sampled between them (zeros before its episode's start). 1 = the current observation only.
     */
    history: z.number().int().min(1).max(32).default(4),
    /** Hidden units of the variational network q(a_i | h_i). */
    clubHidden: z.number().int().min(2).max(1024).default(64),
    /** Adam learning rate of q. */
    clubLr: z.number().positive().default(1e-3),
    /** Full-batch maximum-likelihood steps of q per iteration, on that iteration's rollout (before the penalty is computed). */
    clubSteps: z.number().int().min(1).max(1000).default(5),
  })
  .strict();

export type Mir2Settings = z.output<typeof Mir2SettingsSchema>;

/**
 * BATPAL's own settings (the `batpal` block; only with algo batpal): EIR's belief and adversary machinery
 * with K severity types, plus the reference team pi_0 and EC-PPO's constraint.
 */
export const BatpalSettingsSchema = RobustSettingsSchema.extend({
  /** Probability that an episode has no adversary (nature's prior): the paper attacks 80% of rollout environments. */
  benignProbability: z.number().min(0).max(1).default(0.2),
  /**
   * As EIR's; one of K = 4 severities is trained per iteration: 20 x 4 = 80 EC-PPO steps for it, K = 4 times
   * the defenders' 5 x 4 = 20, so each severity gets as many steps as the defenders over the K iterations.
   */
  adversaryEpochs: z.number().int().min(1).max(200).default(20),
  /** Severity types K: type k owns severity in ((k - 1) / K, k / K]. */
  severities: z.number().int().min(2).max(8).default(4),
  /** The frozen reference team pi_0: a MAPPO policy folder (relative paths from the project root). */
  reference: z.string().min(1).default('policies/mappo-rendezvous'),
  /**
   * A posthoc adversary trained against pi_0 (`npm run train:adversary -- --against <reference>`): its
   * manifest's benign and attacked returns are V_max and V_min.
   */
  worstCase: z.string().min(1).default('policies/attacks/posthoc-vs-mappo-rendezvous'),
  /** EC-PPO's barrier weight lambda (0.2 in the paper outside SMAC). */
  barrierWeight: z.number().positive().default(0.2),
  /** Margin inside each band's edges, as a fraction of V_max - V_min (1e-3 in the paper's code). */
  margin: z.number().min(0).max(0.1).default(1e-3),
  /**
   * Whole episodes per iteration of the second rollout group, where frozen pi_0 plays the severity trained
   * this iteration (MDP0). Their steps train the reference critic (the value of pi_0 against each severity,
   * which gives V0) and give EC-PPO's MDP0 policy gradient.
   */
  referenceEnvs: z.number().int().min(2).max(1024).default(16),
  /**
   * Start states at which the reference critic is averaged for V0 = E_{s0}[V_0(s0, victim, severity)]: drawn
   * once from the run's seed, each with every robot as the victim in turn. Free of rollouts, so many.
   */
  v0StartStates: z.number().int().min(1).max(100_000).default(256),
  /**
   * Epochs of the reference critic over each MDP0 rollout (`minibatches` Huber steps each). More than the
   * critic's ppoEpochs: V0 is read from it, at the start states where its values are the most extreme, and
   * each severity's data comes one iteration in K.
   */
  referenceCriticEpochs: z.number().int().min(1).max(200).default(20),
  /** Share of the attacked episodes that play the severity trained this iteration (the rest draw one uniformly). */
  trainedShare: z.number().min(0).max(1).default(0.5),
}).strict();

export type BatpalSettings = z.output<typeof BatpalSettingsSchema>;

export const DEFAULT_BATPAL: BatpalSettings = BatpalSettingsSchema.parse({});

export const DEFAULT_MIR2: Mir2Settings = Mir2SettingsSchema.parse({});

/** MIR2's entropy weight when the config does not set `entropyCoef` (the papers' code: 0.01). */
export const DEFAULT_MIR2_ENTROPY = 0.01;

export const TrainConfigSchema = z
  .object({
    /** The algorithm: mappo, eir-mappo, mir2 or batpal. */
    algo: z.enum(ALGORITHMS).default('mappo'),
    /** Seed of the networks' initialisation, the rollout environments and the action sampling. */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    /** Twin settings (see src/core/swarm-config.ts); the default noise model is on so policies transfer. */
    env: z
      .record(z.string(), z.unknown())
      .optional()
      .transform((env) => ({ robots: 10, noise: 'default', ...env })),
    /** Stop after this many environment steps (summed over rollout environments). */
    totalEnvSteps: z.number().int().positive().default(3_000_000),
    /** Rollout environments stepped together, and steps per environment per iteration. */
    envs: z.number().int().min(1).max(4096).default(16),
    rolloutSteps: z.number().int().min(1).max(10_000).default(60),
    /**
     * Control ticks a sampled command is held during training rollouts (frame skip); the policy is still
     * evaluated and deployed every tick. A single 0.1 s tick moves a robot about 1 cm, too little for its
     * effect on the team return to stand out of the noise of everyone's exploration; holding the sampled
     * command for a few ticks makes each decision count. The episode length must be a multiple of it.
     */
    decisionTicks: z.number().int().min(1).max(50).default(5),
    /** Hidden units of the actor's and critics' layers (and of the adversaries'). */
    hidden: z.number().int().min(4).max(1024).default(64),
    /** Adam learning rate of the defenders' actor. */
    actorLr: z.number().positive().default(1e-3),
    /** Adam learning rate of the critic (and of BATPAL's reference critic). */
    criticLr: z.number().positive().default(5e-4),
    /** Decay both learning rates linearly to zero over totalEnvSteps (as the MAPPO code's option). */
    lrDecay: z.boolean().default(false),
    /** Adam's epsilon for every optimiser. */
    adamEpsilon: z.number().positive().default(1e-5),
    /** Discount factor of the team return (BATPAL's reference critic uses 1: V_max and V_min are undiscounted). */
    gamma: z.number().min(0).max(1).default(0.99),
    /** GAE's lambda (also the TD(lambda) of BATPAL's reference critic). */
    gaeLambda: z.number().min(0).max(1).default(0.95),
    /** PPO epochs of the defenders' actor and of the critics per update. */
    ppoEpochs: z.number().int().min(1).max(100).default(5),
    /** Minibatches per epoch (agent samples for the actor, environment samples for the critic). */
    minibatches: z.number().int().min(1).max(1024).default(4),
    /** PPO's clip range of the probability ratio (defenders and adversaries). */
    clip: z.number().positive().max(1).default(0.2),
    /**
     * Weight of the policy entropy bonus in the actors' PPO loss (defenders and adversaries). Default 0 (with
     * continuous wheel commands it only inflated the spread; tried 0.01), but 0.01 with algo mir2, whose
     * objective keeps the entropy term (it must be > 0 there).
     */
    entropyCoef: z.number().min(0).default(0),
    /** Global-norm gradient clipping of every network. */
    maxGradNorm: z.number().positive().default(10),
    /** Huber delta of the value losses (on normalised targets). */
    huberDelta: z.number().positive().default(10),
    /**
     * Initial log standard deviation of the Gaussian policies (trainable, state-independent). Default std 0.3:
     * wider exploration mostly spins the robots (a unit of differential command turns an e-puck2 at 5.3 rad/s,
     * while a unit of common command drives it at only 0.14 m/s).
     */
    initialLogStd: z.number().min(-5).max(1).default(-1.2),
    /** Held-out evaluation: every `every` iterations, `episodes` deterministic episodes from seed `seed`. */
    eval: z
      .object({
        every: z.number().int().min(1).default(10),
        episodes: z.number().int().min(1).max(10_000).default(20),
        seed: z.number().int().min(0).max(2 ** 31 - 1).default(1_000_000),
      })
      .strict()
      .prefault({}),
    /** Deterministic episodes of the final evaluation written into the policy manifest. */
    finalEvalEpisodes: z.number().int().min(1).max(10_000).default(100),
    /** Write a checkpoint every this many iterations (and on Ctrl-C). */
    checkpointEvery: z.number().int().min(1).default(5),
    /** TensorFlow.js backend: wasm (SIMD), or the pure-JS cpu one. */
    backend: z.enum(['wasm', 'cpu']).default('wasm'),
    /** EIR-MAPPO settings (filled with DEFAULT_EIR for algo eir-mappo; refused for other algorithms). */
    eir: RobustSettingsSchema.optional(),
    /** MIR2 settings (filled with DEFAULT_MIR2 for algo mir2; refused for other algorithms). */
    mir2: Mir2SettingsSchema.optional(),
    /** BATPAL settings (filled with DEFAULT_BATPAL for algo batpal; refused for other algorithms). */
    batpal: BatpalSettingsSchema.optional(),
  })
  .strict();

export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** Settings from the papers' published code as starting points, tuned for the 2-core machine: each field's default. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = TrainConfigSchema.parse({});

/** Validates a partial configuration, each missing key taking its default (an algorithm's block only with that algorithm). */
export function resolveTrainConfig(partial: Record<string, unknown>, source: string): TrainConfig {
  const algo = partial.algo ?? DEFAULT_TRAIN_CONFIG.algo;
  const merged: Record<string, unknown> = { ...partial };
  for (const [block, owner] of [['eir', 'eir-mappo'], ['mir2', 'mir2'], ['batpal', 'batpal']] as const) {
    const v = partial[block];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      throw new ConfigError(`${source}: ${block}: expected a block of settings, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
    }
    if (algo === owner) merged[block] = v ?? {};
    else if (v !== undefined) throw new ConfigError(`${source}: ${block}: only used with algo ${owner} (algo is ${String(algo)})`);
  }
  // MIR2's objective keeps the entropy term: its own default weight when the config gives none.
  if (algo === 'mir2' && partial.entropyCoef === undefined) merged.entropyCoef = DEFAULT_MIR2_ENTROPY;
  const config = parseWithSchema(source, TrainConfigSchema, merged);
  if (config.algo === 'mir2' && !(config.entropyCoef > 0)) {
    throw new ConfigError(`${source}: entropyCoef: must be > 0 with algo mir2 (MIR2's objective keeps the policy entropy term, paper 004 Eq. 7-9)`);
  }
  const b = config.batpal;
  // EC-PPO needs room inside every band: each is 1/K of the range wide.
  if (b && !(b.margin < 1 / (2 * b.severities))) {
    throw new ConfigError(`${source}: batpal.margin: ${b.margin} must be below half a band, 1 / (2 x severities) = ${1 / (2 * b.severities)}`);
  }
  checkTimescales(config, source);
  return config;
}

/** Optimiser steps per iteration of the defenders' actor (the critic takes as many) when it is updated. */
export function defenderStepsPerUpdate(config: TrainConfig): number {
  return config.ppoEpochs * config.minibatches;
}

/** Optimiser steps per iteration of the adversary trained in that iteration (EIR's one, BATPAL's drawn severity). */
export function adversaryStepsPerIteration(s: RobustSettings): number {
  return s.adversaryEpochs * s.adversaryMinibatches;
}

/**
 * The two timescales (EIR-MAPPO Theorem 3.1, BATPAL Eq. 16-17: the adversary faster). Per defender update
 * (every adversaryInterval iterations) the adversary takes adversaryInterval x adversaryEpochs x
 * adversaryMinibatches steps; in BATPAL one of K severities is trained per iteration, so each severity gets
 * 1/K of them on average. EIR: they must exceed the defenders' ppoEpochs x minibatches; BATPAL: each
 * severity's share must be at least the defenders' steps.
 */
function checkTimescales(config: TrainConfig, source: string): void {
  const robust = config.batpal ?? config.eir;
  if (!robust) return;
  const block = config.batpal ? 'batpal' : 'eir';
  const adversary = robust.adversaryInterval * adversaryStepsPerIteration(robust);
  const defenders = defenderStepsPerUpdate(config);
  const what = `adversaryInterval x adversaryEpochs x adversaryMinibatches = ${robust.adversaryInterval} x ${robust.adversaryEpochs} x ${robust.adversaryMinibatches} = ${adversary} adversary optimiser steps per defender update`;
  if (config.batpal) {
    const K = config.batpal.severities;
    if (adversary < K * defenders) {
      throw new ConfigError(
        `${source}: ${block}.adversaryEpochs: ${what} must be at least severities x ppoEpochs x minibatches = ${K} x ${config.ppoEpochs} x ${config.minibatches} = ${K * defenders} (one severity of ${K} is trained per iteration, each on the faster timescale)`,
      );
    }
  } else if (adversary <= defenders) {
    throw new ConfigError(
      `${source}: ${block}.adversaryEpochs: ${what} must exceed the defenders' ppoEpochs x minibatches = ${config.ppoEpochs} x ${config.minibatches} = ${defenders} (the adversary learns on the faster timescale)`,
    );
  }
}

/** Held commands must not straddle an episode end: decisionTicks has to divide the episode length. */
export function checkDecisionTicks(config: TrainConfig, settings: SwarmSettings, source = 'training config'): void {
  if (settings.episodeSteps % config.decisionTicks !== 0) {
    throw new ConfigError(`${source}: decisionTicks: ${config.decisionTicks} must divide env.episodeSteps (${settings.episodeSteps})`);
  }
  if (config.minibatches > config.envs * config.rolloutSteps) {
    throw new ConfigError(`${source}: minibatches: ${config.minibatches} exceeds the ${config.envs * config.rolloutSteps} environment samples per iteration`);
  }
  const isolation = (config.batpal ?? config.eir)?.isolation;
  const episodeSeconds = settings.episodeSteps * settings.controlPeriod;
  if (isolation && isolation.delaySeconds.max >= episodeSeconds) {
    const block = config.batpal ? 'batpal' : 'eir';
    throw new ConfigError(`${source}: ${block}.isolation.delaySeconds.max: ${isolation.delaySeconds.max} s must be shorter than an episode (${episodeSeconds} s)`);
  }
}
