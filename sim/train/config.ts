// Training configuration: one YAML file (all keys optional) plus command-line flags, validated with the
// path of any bad key named.
import { z } from 'zod';
import { ConfigError, parseWithSchema } from '../../src/core/config-file.js';
import type { SimSettings } from '../config.js';

/** Algorithms the training command runs, all on the same MAPPO core. */
export const ALGORITHMS = ['mappo', 'eir-mappo', 'mir2', 'batpal'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** EIR-MAPPO's own settings (the `eir` block of a training config; only with algo eir-mappo). */
export const EirSettingsSchema = z
  .object({
    /** Probability that an episode has no adversary (nature's prior). */
    benignProbability: z.number().min(0).max(1),
    beliefHidden: z.number().int().min(2).max(512),
    beliefLr: z.number().positive(),
    /** Ticks per truncated back-propagation chunk of the belief GRU. */
    beliefChunk: z.number().int().min(1).max(1000),
    /**
     * Chunks of the rollout the belief is trained on per iteration, drawn at random (each from the state the
     * rollout reached): the belief learns fast and its full BPTT over every tick costs more than the rest of
     * the update together.
     */
    beliefChunksPerIteration: z.number().int().min(1),
    adversaryLr: z.number().positive(),
    /** PPO epochs of the adversary per iteration (defenders use ppoEpochs): the faster timescale. */
    adversaryEpochs: z.number().int().min(1).max(100),
    /** Teacher forcing decays linearly from 1 to 0 over this fraction of training. */
    teacherForcingUntil: z.number().positive().max(1),
    /**
     * The known-type oracle: the actor reads the true type throughout (teacher forcing held at 1), in
     * training and wherever it is evaluated. An upper bound on what a belief can give (the headroom check);
     * it cannot be deployed, since no real swarm knows which robot is compromised.
     */
    oracle: z.boolean(),
  })
  .strict();

export type EirSettings = z.output<typeof EirSettingsSchema>;

export const DEFAULT_EIR: EirSettings = {
  benignProbability: 0.5,
  beliefHidden: 32,
  beliefLr: 1e-3,
  beliefChunk: 10,
  beliefChunksPerIteration: 10,
  adversaryLr: 1e-3,
  adversaryEpochs: 10,
  teacherForcingUntil: 0.5,
  oracle: false,
};

/** MIR2's own settings (the `mir2` block of a training config; only with algo mir2). */
export const Mir2SettingsSchema = z
  .object({
    /** Weight of the CLUB estimate of I(state; joint action) at the mean joint actions, added to the actor's PPO loss. */
    lambda: z.number().min(0),
    /** Hidden units of the variational network q(joint action | state). */
    clubHidden: z.number().int().min(2).max(1024),
    clubLr: z.number().positive(),
    /** Full-batch maximum-likelihood steps of q per iteration, on that iteration's rollout. */
    clubSteps: z.number().int().min(1).max(1000),
  })
  .strict();

export type Mir2Settings = z.output<typeof Mir2SettingsSchema>;

/**
 * BATPAL's own settings (the `batpal` block; only with algo batpal): EIR's belief and adversary machinery
 * with K severity types, plus the reference team pi_0 and EC-PPO's constraint.
 */
export const BatpalSettingsSchema = EirSettingsSchema.extend({
  /** Severity types K: type k owns severity in ((k - 1) / K, k / K]. */
  severities: z.number().int().min(2).max(8),
  /** The frozen reference team pi_0: a MAPPO policy folder (relative paths from the project root). */
  reference: z.string().min(1),
  /**
   * A posthoc adversary trained against pi_0 (`npm run train:adversary -- --against <reference>`): its
   * manifest's benign and attacked returns are V_max and V_min.
   */
  worstCase: z.string().min(1),
  /** EC-PPO's barrier weight lambda (0.2 in the paper outside SMAC). */
  barrierWeight: z.number().positive(),
  /** Margin inside each band's edges, as a fraction of V_max - V_min (1e-3 in the paper's code). */
  margin: z.number().min(0).max(0.1),
  /** Environments of the second rollout group, where frozen pi_0 plays the trained adversary (MDP0). */
  referenceEnvs: z.number().int().min(2).max(1024),
  /** Share of the attacked episodes that play the severity trained this iteration (the rest draw one uniformly). */
  trainedShare: z.number().min(0).max(1),
}).strict();

export type BatpalSettings = z.output<typeof BatpalSettingsSchema>;

export const DEFAULT_BATPAL: BatpalSettings = {
  ...DEFAULT_EIR,
  // The paper attacks 80% of rollout environments.
  benignProbability: 0.2,
  severities: 4,
  reference: 'policies/mappo-rendezvous',
  worstCase: 'policies/attacks/posthoc-vs-mappo-rendezvous',
  barrierWeight: 0.2,
  margin: 1e-3,
  referenceEnvs: 16,
  trainedShare: 0.5,
};

export const DEFAULT_MIR2: Mir2Settings = { lambda: 0.005, clubHidden: 64, clubLr: 1e-3, clubSteps: 5 };

export const TrainConfigSchema = z
  .object({
    algo: z.enum(ALGORITHMS),
    /** Seed of the networks' initialisation, the rollout environments and the action sampling. */
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    /** Twin settings (see sim/config.ts); the default noise model is on so policies transfer. */
    env: z.record(z.string(), z.unknown()),
    /** Stop after this many environment steps (summed over rollout environments). */
    totalEnvSteps: z.number().int().positive(),
    /** Rollout environments stepped together, and steps per environment per iteration. */
    envs: z.number().int().min(1).max(4096),
    rolloutSteps: z.number().int().min(1).max(10_000),
    /**
     * Control ticks a sampled command is held during training rollouts (frame skip); the policy is still
     * evaluated and deployed every tick. A single 0.1 s tick moves a robot about 1 cm, too little for its
     * effect on the team return to stand out of the noise of everyone's exploration; holding the sampled
     * command for a few ticks makes each decision count. The episode length must be a multiple of it.
     */
    decisionTicks: z.number().int().min(1).max(50),
    hidden: z.number().int().min(4).max(1024),
    actorLr: z.number().positive(),
    criticLr: z.number().positive(),
    /** Decay both learning rates linearly to zero over totalEnvSteps (as the MAPPO code's option). */
    lrDecay: z.boolean(),
    adamEpsilon: z.number().positive(),
    gamma: z.number().min(0).max(1),
    gaeLambda: z.number().min(0).max(1),
    ppoEpochs: z.number().int().min(1).max(100),
    /** Minibatches per epoch (agent samples for the actor, environment samples for the critic). */
    minibatches: z.number().int().min(1).max(1024),
    clip: z.number().positive().max(1),
    entropyCoef: z.number().min(0),
    maxGradNorm: z.number().positive(),
    huberDelta: z.number().positive(),
    initialLogStd: z.number().min(-5).max(1),
    /** Held-out evaluation: every `every` iterations, `episodes` deterministic episodes from seed `seed`. */
    eval: z
      .object({
        every: z.number().int().min(1),
        episodes: z.number().int().min(1).max(10_000),
        seed: z.number().int().min(0).max(2 ** 31 - 1),
      })
      .strict(),
    /** Deterministic episodes of the final evaluation written into the policy manifest. */
    finalEvalEpisodes: z.number().int().min(1).max(10_000),
    /** Write a checkpoint every this many iterations (and on Ctrl-C). */
    checkpointEvery: z.number().int().min(1),
    backend: z.enum(['wasm', 'cpu']),
    /** EIR-MAPPO settings (filled with DEFAULT_EIR for algo eir-mappo; refused for other algorithms). */
    eir: EirSettingsSchema.optional(),
    /** MIR2 settings (filled with DEFAULT_MIR2 for algo mir2; refused for other algorithms). */
    mir2: Mir2SettingsSchema.optional(),
    /** BATPAL settings (filled with DEFAULT_BATPAL for algo batpal; refused for other algorithms). */
    batpal: BatpalSettingsSchema.optional(),
  })
  .strict();

export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** Settings from the papers' code as starting points (docs: algorithms.md), tuned for the 2-core machine. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  algo: 'mappo',
  seed: 1,
  env: { robots: 10, noise: 'default' },
  totalEnvSteps: 3_000_000,
  envs: 16,
  rolloutSteps: 60,
  decisionTicks: 5,
  hidden: 64,
  actorLr: 1e-3,
  criticLr: 5e-4,
  lrDecay: false,
  adamEpsilon: 1e-5,
  gamma: 0.99,
  gaeLambda: 0.95,
  ppoEpochs: 5,
  minibatches: 4,
  clip: 0.2,
  // No entropy bonus: with continuous wheel commands it only inflated the spread (tried 0.01).
  entropyCoef: 0,
  maxGradNorm: 10,
  huberDelta: 10,
  // std 0.3: wider exploration mostly spins the robots (a unit of differential command turns an e-puck2 at
  // 5.3 rad/s, while a unit of common command drives it at only 0.14 m/s).
  initialLogStd: -1.2,
  eval: { every: 10, episodes: 20, seed: 1_000_000 },
  finalEvalEpisodes: 100,
  checkpointEvery: 5,
  backend: 'wasm',
};

/** Merges a partial configuration over the defaults and validates the result. */
export function resolveTrainConfig(partial: Record<string, unknown>, source: string): TrainConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_TRAIN_CONFIG, ...partial };
  if (partial.eval && typeof partial.eval === 'object') merged.eval = { ...DEFAULT_TRAIN_CONFIG.eval, ...partial.eval };
  if (partial.env && typeof partial.env === 'object') merged.env = { ...DEFAULT_TRAIN_CONFIG.env, ...partial.env };
  for (const block of ['eir', 'mir2', 'batpal'] as const) {
    const v = partial[block];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      throw new ConfigError(`${source}: ${block}: expected a block of settings, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
    }
  }
  if (merged.algo === 'eir-mappo') merged.eir = { ...DEFAULT_EIR, ...(partial.eir as object | undefined) };
  else if (partial.eir !== undefined) throw new ConfigError(`${source}: eir: only used with algo eir-mappo (algo is ${String(merged.algo)})`);
  if (merged.algo === 'mir2') merged.mir2 = { ...DEFAULT_MIR2, ...(partial.mir2 as object | undefined) };
  else if (partial.mir2 !== undefined) throw new ConfigError(`${source}: mir2: only used with algo mir2 (algo is ${String(merged.algo)})`);
  if (merged.algo === 'batpal') merged.batpal = { ...DEFAULT_BATPAL, ...(partial.batpal as object | undefined) };
  else if (partial.batpal !== undefined) throw new ConfigError(`${source}: batpal: only used with algo batpal (algo is ${String(merged.algo)})`);
  const config = parseWithSchema(source, TrainConfigSchema, merged);
  const b = config.batpal;
  // EC-PPO needs room inside every band: each is 1/K of the range wide.
  if (b && !(b.margin < 1 / (2 * b.severities))) {
    throw new ConfigError(`${source}: batpal.margin: ${b.margin} must be below half a band, 1 / (2 x severities) = ${1 / (2 * b.severities)}`);
  }
  return config;
}

/** Held commands must not straddle an episode end: decisionTicks has to divide the episode length. */
export function checkDecisionTicks(config: TrainConfig, settings: SimSettings, source = 'training config'): void {
  if (settings.episodeSteps % config.decisionTicks !== 0) {
    throw new ConfigError(`${source}: decisionTicks: ${config.decisionTicks} must divide env.episodeSteps (${settings.episodeSteps})`);
  }
  if (config.minibatches > config.envs * config.rolloutSteps) {
    throw new ConfigError(`${source}: minibatches: ${config.minibatches} exceeds the ${config.envs * config.rolloutSteps} environment samples per iteration`);
  }
}
