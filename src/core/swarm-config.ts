// The swarm and its arena, for the twin and a real deployment alike (a launch file's `swarm:`, a training config's
// `env:`): validated from YAML (or built in code), resolved into SwarmSettings.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, loadYamlFile, parseWithSchema } from './config-file.js';
import { speedLimits } from './kinematics.js';
import { GLOBAL_SPEC_ID, LOCAL_SPEC_ID, type ObservationSpec } from './observation.js';
import { DEFAULT_REWARD_WEIGHTS, type RewardWeights } from './rendezvous.js';
import {
  defaultRobotIds,
  loadRobotsFile,
  resolveRobotParams,
  type RobotParams,
} from './robot-params.js';
import { DEFAULT_NOISE, NO_NOISE, NoiseSchema, type NoiseModel } from './noise.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_ROBOTS_FILE = resolve(PROJECT_ROOT, 'robots/epuck2.yaml');
/**
 * The largest swarm a configuration may describe. The twin's contact passes, the observation and a deployed
 * team's beliefs grow as N x neighbours (src/core/spatial-grid.ts); docs/performance.md measures how many
 * robots one core serves at 10 Hz.
 */
export const MAX_ROBOTS = 10_000;

export const SwarmConfigSchema = z
  .object({
    /** Number of robots, or their ids in index order. */
    robots: z.union([
      z.number().int().min(2, 'a swarm needs at least 2 robots').max(MAX_ROBOTS),
      z
        .array(z.string().min(1))
        .min(2, 'a swarm needs at least 2 robots')
        .max(MAX_ROBOTS)
        .refine((ids) => new Set(ids).size === ids.length, 'robot ids must be unique'),
    ]),
    /** Robots file with default and per-id parameters; relative paths resolve against the config file. */
    robotsFile: z.string().optional(),
    arena: z.object({ width: z.number().positive(), height: z.number().positive() }).strict(),
    /** Seconds per control tick, and physics sub-steps per tick. */
    controlPeriod: z.number().positive().max(1),
    subSteps: z.number().int().min(1).max(100),
    episodeSteps: z.number().int().min(1),
    /**
     * Observation variant: `global` (rendezvous-v1: everyone within sensingRadius, own position over the arena)
     * or `local` (rendezvous-local-v1: the maxNeighbours nearest within sensingRadius, walls as local features;
     * independent of the arena's size and of N).
     */
    observation: z.enum(['global', 'local']),
    /** Sensing radius, m: robots farther apart do not observe each other (the unit of relative distances). */
    /**
     * How far a robot perceives its neighbours, m: a sensing radius of the tracker's view (nothing is
     * communicated). Called commRadius before; an old file gets an error naming the new key.
     */
    sensingRadius: z.number().positive(),
    maxNeighbours: z.number().int().min(1).max(MAX_ROBOTS),
    /**
     * Where robots start: `arena` (uniform over the whole arena) or `{ square: side }` (uniform in a square of
     * that side, m, placed uniformly at random inside the arena: a swarm dropped in one area).
     */
    spawn: z.union([z.literal('arena'), z.object({ square: z.number().positive() }).strict()]),
    /** All robots inside a circle of this diameter around their centroid counts as gathered. */
    gatherDiameter: z.number().positive(),
    noise: z.union([z.enum(['default', 'off']), NoiseSchema.partial()]),
    reward: z
      .object({ actionPenalty: z.number().min(0), collisionPenalty: z.number().min(0) })
      .strict(),
  })
  .strict();

export type SwarmConfig = z.input<typeof SwarmConfigSchema>;

export const DEFAULT_SWARM_CONFIG = {
  robots: 10,
  arena: { width: 2, height: 2 },
  controlPeriod: 0.1,
  subSteps: 10,
  episodeSteps: 300,
  observation: 'global',
  sensingRadius: 1.5,
  maxNeighbours: 9,
  spawn: 'arena',
  gatherDiameter: 0.3,
  noise: 'default',
  reward: { ...DEFAULT_REWARD_WEIGHTS },
} as const satisfies SwarmConfig;

/** A swarm resolved and checked: its robots, arena, observation, noise and episode, as the twin and the runtime use it. */
export interface SwarmSettings {
  readonly robotIds: readonly string[];
  readonly robots: readonly RobotParams[];
  readonly arenaWidth: number;
  readonly arenaHeight: number;
  readonly controlPeriod: number;
  readonly subSteps: number;
  readonly episodeSteps: number;
  /** Side of the square robots start in (m), or null for the whole arena. */
  readonly spawnSquare: number | null;
  readonly gatherDiameter: number;
  readonly noise: NoiseModel;
  readonly reward: RewardWeights;
  readonly observation: ObservationSpec;
}

/** Deep-merges partial settings over the defaults (objects merged key by key, everything else replaced). */
function mergeOver(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? mergeOver(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function resolveNoise(noise: z.output<typeof SwarmConfigSchema>['noise']): NoiseModel {
  if (noise === 'off') return NO_NOISE;
  if (noise === 'default') return DEFAULT_NOISE;
  const merged = { ...DEFAULT_NOISE, ...noise };
  return parseWithSchema('noise', NoiseSchema, merged);
}

/** The robots file a configuration's `robotsFile` names (relative to baseDir), else the default one. */
export function robotsFilePath(robotsFile: string | undefined, baseDir: string): string {
  return robotsFile ? resolve(baseDir, robotsFile) : DEFAULT_ROBOTS_FILE;
}

/** Keys renamed since files were written with them: old name -> new name and why. */
export const RENAMED_SWARM_KEYS: Readonly<Record<string, { to: string; why: string }>> = {
  commRadius: { to: 'sensingRadius', why: 'it is a sensing radius: nothing is communicated' },
};

/** A file that still uses a renamed key gets an error naming the new key (not a bare "unrecognized key"). */
function refuseRenamedKeys(partial: Record<string, unknown>, source: string): void {
  for (const [old, { to, why }] of Object.entries(RENAMED_SWARM_KEYS)) {
    if (old in partial) throw new ConfigError(`${source}: ${old}: renamed ${to} (${why}); write ${to}: ${JSON.stringify(partial[old])}`);
  }
}

/**
 * Validates a configuration (any keys left out take their defaults) and resolves robot parameters.
 * `source` names the config in error messages; `baseDir` resolves a relative robotsFile.
 */
export function resolveSwarmConfig(partial: unknown = {}, source = 'swarm config', baseDir = process.cwd()): SwarmSettings {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) {
    throw new ConfigError(`${source}: expected a mapping of settings`);
  }
  refuseRenamedKeys(partial as Record<string, unknown>, source);
  const merged = mergeOver(DEFAULT_SWARM_CONFIG as unknown as Record<string, unknown>, partial as Record<string, unknown>);
  const cfg = parseWithSchema(source, SwarmConfigSchema, merged);
  const robotIds = typeof cfg.robots === 'number' ? defaultRobotIds(cfg.robots) : cfg.robots;
  const robotsPath = robotsFilePath(cfg.robotsFile, baseDir);
  const robotsFile = loadRobotsFile(robotsPath);
  const robots = resolveRobotParams(robotsFile, robotIds, robotsPath);
  const maxRadius = Math.max(...robots.map((r) => r.bodyRadius));
  const { width, height } = cfg.arena;
  // Robots must fit: their discs may cover at most half of the arena's area.
  const discArea = robots.reduce((s, r) => s + Math.PI * r.bodyRadius * r.bodyRadius, 0);
  if (discArea > 0.5 * width * height || 2 * maxRadius >= Math.min(width, height)) {
    throw new ConfigError(`${source}: arena: ${width} m x ${height} m is too small for ${robots.length} robots`);
  }
  const spawnSquare = cfg.spawn === 'arena' ? null : cfg.spawn.square;
  if (spawnSquare !== null && spawnSquare > Math.min(width, height)) {
    throw new ConfigError(`${source}: spawn.square: ${spawnSquare} m does not fit in the ${width} m x ${height} m arena`);
  }
  // Normalisers come from the nominal robot so every robot's features share one scale.
  const limits = speedLimits(robotsFile.defaults);
  return {
    robotIds,
    robots,
    arenaWidth: width,
    arenaHeight: height,
    controlPeriod: cfg.controlPeriod,
    subSteps: cfg.subSteps,
    episodeSteps: cfg.episodeSteps,
    spawnSquare,
    gatherDiameter: cfg.gatherDiameter,
    noise: resolveNoise(cfg.noise),
    reward: cfg.reward,
    observation: {
      id: cfg.observation === 'local' ? LOCAL_SPEC_ID : GLOBAL_SPEC_ID,
      maxNeighbours: cfg.maxNeighbours,
      sensingRadius: cfg.sensingRadius,
      arenaWidth: width,
      arenaHeight: height,
      maxSpeed: limits.maxLinear,
      maxTurnRate: limits.maxAngular,
    },
  };
}

/** Loads a sim config YAML file (keys left out take their defaults). */
export function loadSwarmConfig(path: string): SwarmSettings {
  const raw = loadYamlFile(path, z.record(z.string(), z.unknown()));
  return resolveSwarmConfig(raw, path, dirname(resolve(path)));
}
