// The manifest of a policy folder (policies/<name>/manifest.json): what the runtime needs to load and
// check a trained policy before anything starts, and where it came from.
import { z } from 'zod';
import { renameKeys } from './renamed-keys.js';
import { OBSERVATION_SPEC_IDS, type ObservationSpec } from './observation.js';
import { RENAMED_SWARM_KEYS } from './swarm-config.js';

export const MANIFEST_FORMAT = 'swarmguard-policy/1';

const TensorSpecSchema = z
  .object({
    name: z.string().min(1),
    /** Dimensions; a string is a symbolic dimension such as 'batch'. */
    shape: z.array(z.union([z.number().int().positive(), z.string().min(1)])),
    dtype: z.literal('float32'),
  })
  .strict();

export type TensorSpec = z.output<typeof TensorSpecSchema>;

export const ModelFileSchema = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256'),
    inputs: z.array(TensorSpecSchema).min(1),
    outputs: z.array(TensorSpecSchema).min(1),
  })
  .strict();

/**
 * The observation a trained network reads (policy and adversary manifests record it): the spec id names the
 * variant (global or local), the rest its parameters. The local variant's arena size is where it was
 * trained, not a requirement.
 */
/**
 * Records are read as they were written: a manifest from before a key was renamed (RENAMED_SWARM_KEYS) has its
 * observation record and its training config's swarm (`env`) read under the new names.
 */
function renamedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [old, { to }] of Object.entries(RENAMED_SWARM_KEYS)) {
    if (old in out && !(to in out)) {
      out[to] = out[old];
      delete out[old];
    }
  }
  return out;
}

export const ObservationRecordSchema = z.preprocess(renamedKeys, z
  .object({
    spec: z.enum(OBSERVATION_SPEC_IDS),
    size: z.number().int().positive(),
    maxNeighbours: z.number().int().positive(),
    sensingRadius: z.number().positive(),
    arenaWidth: z.number().positive(),
    arenaHeight: z.number().positive(),
    maxSpeed: z.number().positive(),
    maxTurnRate: z.number().positive(),
  })
  .strict());

export type ObservationRecord = z.output<typeof ObservationRecordSchema>;

/** The observation record of a network trained on a swarm with this observation, arena and input size. */
export function observationRecord(spec: ObservationSpec, arena: { arenaWidth: number; arenaHeight: number }, size: number): ObservationRecord {
  return {
    spec: spec.id,
    size,
    maxNeighbours: spec.maxNeighbours,
    sensingRadius: spec.sensingRadius,
    arenaWidth: arena.arenaWidth,
    arenaHeight: arena.arenaHeight,
    maxSpeed: spec.maxSpeed,
    maxTurnRate: spec.maxTurnRate,
  };
}

/** How a network was trained (policy and adversary manifests): the command, its seed, size, time, commit and resolved config. */
export const TrainingRecordSchema = z
  .object({
    command: z.string(),
    seed: z.number().int().min(0),
    envSteps: z.number().int().positive(),
    iterations: z.number().int().positive(),
    wallSeconds: z.number().positive(),
    commit: z.string(),
    /** The resolved training config; its swarm (`env`) read under today's key names (renamedKeys). */
    config: z.preprocess(
      (c) => (c !== null && typeof c === 'object' && 'env' in c ? { ...c, env: renamedKeys((c as { env: unknown }).env) } : c),
      z.record(z.string(), z.unknown()),
    ),
  })
  .strict();

/**
 * Metrics renamed since manifests were written with them: old name -> new name. A manifest is read under
 * either name (the shipped ones keep the old) and written under the new.
 */
export const RENAMED_METRICS: Readonly<Record<string, string>> = {
  /** It counts episodes gathered at any step, not at the end (that is gatheredAtEndRate). */
  gatherRate: 'everGatheredRate',
};

const MetricsObjectSchema = z
  .object({
    episodes: z.number().int().positive(),
    seed: z.number().int().min(0),
    noise: z.string(),
    meanReturn: z.number(),
    /** 95% interval of the mean return over the episodes (absent in manifests written before it was recorded). */
    returnCi95: z.tuple([z.number(), z.number()]).optional(),
    /** Episodes in which the scored robots were inside the gather circle at some step (ever gathered; gatherRate in older manifests). */
    everGatheredRate: z.number().min(0).max(1),
    // The outcome at the end over the scored (uncompromised) robots; absent in manifests written before it was recorded.
    gatheredAtEndRate: z.number().min(0).max(1).optional(),
    gatheredAtEndCi95: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).optional(),
    meanFinalDistance: z.number().min(0),
    meanLargestClusterFraction: z.number().min(0).max(1).optional(),
    meanTimeToGather: z.number().nullable(),
    collisionsPerRobotMinute: z.number().min(0),
  })
  .strict();

export const MetricsSchema = z.preprocess((v) => renameKeys(v, RENAMED_METRICS), MetricsObjectSchema);

export const PolicyManifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    name: z.string().min(1),
    algorithm: z.enum(['mappo', 'eir-mappo', 'batpal', 'mir2']),
    environment: z
      .object({ id: z.literal('rendezvous'), version: z.literal(1), robots: z.number().int().min(2) })
      .strict(),
    observation: ObservationRecordSchema,
    action: z
      .object({
        kind: z.literal('normalised-wheel-commands'),
        size: z.literal(2),
        low: z.literal(-1),
        high: z.literal(1),
        /** Deployed deterministically: the Gaussian mean, clamped by the runtime. */
        deployed: z.literal('mean'),
        logStd: z.array(z.number()).length(2),
      })
      .strict(),
    controlPeriod: z.number().positive(),
    /** Types a belief network distinguishes (empty for algorithms without one). */
    beliefTypes: z.array(z.string()),
    hiddenSizes: z.record(z.string(), z.number().int().positive()),
    files: z.record(z.string().regex(/^[\w.-]+\.onnx$/, 'must be an .onnx file name'), ModelFileSchema),
    training: TrainingRecordSchema.extend({
        backend: z.string(),
        /**
         * sha256 of every network's weights after the first `iterations` training iterations of this command:
         * a rerun of that prefix at another commit tells whether the code still trains the same way.
         * (Absent in manifests written before it was recorded.)
         */
        fingerprint: z.object({ iterations: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict().optional(),
      }).strict(),
    evaluation: z.object({ benign: MetricsSchema }).catchall(MetricsSchema),
  })
  .strict();

export type PolicyManifest = z.output<typeof PolicyManifestSchema>;
export type EvaluationMetrics = z.output<typeof MetricsSchema>;

/**
 * True for a policy trained as a known-type oracle (`oracle` in its training config's eir block, or its
 * batpal block, which extends it): never deployable.
 */
export function isOracle(m: PolicyManifest): boolean {
  const { eir, batpal } = m.training.config as { eir?: { oracle?: unknown }; batpal?: { oracle?: unknown } };
  return eir?.oracle === true || batpal?.oracle === true;
}
