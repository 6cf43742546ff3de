// Physical parameters of one robot, and the robots file that supplies them (defaults + per-id overrides).
import { z } from 'zod';
import { ConfigError, loadYamlFile } from './config-file.js';

/** Largest command latency, in whole control ticks, a robot may have (the twin's delay line holds this many). */
export const MAX_LATENCY_TICKS = 2;

export const RobotParamsSchema = z
  .object({
    /** Wheel radius, m. */
    wheelRadius: z.number().positive().max(0.5),
    /** Distance between the wheel contact points (axle length), m. */
    wheelDistance: z.number().positive().max(1),
    /** Motor steps per wheel revolution. */
    stepsPerRevolution: z.number().int().positive(),
    /** Firmware speed clamp, steps/s; a normalised command of 1 maps to this. */
    maxStepsPerSecond: z.number().positive(),
    /** Radius of the robot's body disc used for collisions, m. */
    bodyRadius: z.number().positive().max(0.5),
    /**
     * Command latency in whole control ticks (what `swarmguard calibrate` measures). Left out: the twin
     * draws it per episode from its noise model's latencyTicks range.
     */
    latencyTicks: z.number().int().min(0).max(MAX_LATENCY_TICKS).optional(),
  })
  .strict();

export type RobotParams = z.output<typeof RobotParamsSchema>;

export const RobotsFileSchema = z
  .object({
    model: z.string().min(1),
    defaults: RobotParamsSchema,
    /** Calibrated values per robot id; each entry overrides only the keys it names. */
    overrides: z.record(z.string(), RobotParamsSchema.partial()).default({}),
  })
  .strict();

export type RobotsFile = z.output<typeof RobotsFileSchema>;

export function loadRobotsFile(path: string): RobotsFile {
  return loadYamlFile(path, RobotsFileSchema);
}

/** Parameters for each id in order; an override naming a robot that is not in the swarm is an error. */
export function resolveRobotParams(file: RobotsFile, ids: readonly string[], source = 'robots file'): RobotParams[] {
  const known = new Set(ids);
  for (const id of Object.keys(file.overrides)) {
    if (!known.has(id)) {
      throw new ConfigError(`${source}: overrides.${id}: unknown robot id '${id}' (swarm ids: ${ids.join(', ')})`);
    }
  }
  return ids.map((id) => ({ ...file.defaults, ...file.overrides[id] }));
}

/** Ground speed of a wheel for a normalised command of 1, m/s. */
export function maxWheelSpeed(p: RobotParams): number {
  return (p.maxStepsPerSecond / p.stepsPerRevolution) * 2 * Math.PI * p.wheelRadius;
}

/** Default robot ids for a swarm of n robots. */
export function defaultRobotIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `epuck-${i}`);
}
