// The sim2real noise model: every knob that makes the twin imperfect in the way a real arena is, in one place.
import { z } from 'zod';
import { MAX_LATENCY_TICKS } from './robot-params.js';

export const NoiseSchema = z
  .object({
    /** Each wheel's radius is scaled by 1 + U(-s, s), drawn per robot per episode. */
    wheelRadiusSpread: z.number().min(0).max(0.2),
    /** The wheel distance is scaled by 1 + U(-s, s), drawn per robot per episode. */
    wheelDistanceSpread: z.number().min(0).max(0.2),
    /** Std of Gaussian noise added to each executed normalised wheel command every tick. */
    actuatorNoise: z.number().min(0).max(1),
    /** Command latency in whole control ticks, drawn uniformly per robot per episode from [min, max]. */
    latencyTicks: z
      .object({ min: z.number().int().min(0).max(MAX_LATENCY_TICKS), max: z.number().int().min(0).max(MAX_LATENCY_TICKS) })
      .strict()
      .refine((l) => l.min <= l.max, { message: 'min must not exceed max' }),
    /** Std of the tracker's position error (m) and heading error (rad), fresh every tick. */
    positionNoise: z.number().min(0).max(0.1),
    headingNoise: z.number().min(0).max(0.5),
    /** Probability that a robot misses a tick's command and keeps executing its previous one. */
    dropProbability: z.number().min(0).max(0.5),
  })
  .strict();

export type NoiseModel = z.output<typeof NoiseSchema>;

/** A real arena: overhead tracker of a few mm / about a degree, Wi-Fi latency up to one tick, worn wheels. */
export const DEFAULT_NOISE: NoiseModel = Object.freeze({
  wheelRadiusSpread: 0.02,
  wheelDistanceSpread: 0.03,
  actuatorNoise: 0.03,
  latencyTicks: Object.freeze({ min: 0, max: 1 }),
  positionNoise: 0.003,
  headingNoise: 0.0175,
  dropProbability: 0.02,
});

/** Everything off: the twin is an exact kinematic model (unit tests). */
export const NO_NOISE: NoiseModel = Object.freeze({
  wheelRadiusSpread: 0,
  wheelDistanceSpread: 0,
  actuatorNoise: 0,
  latencyTicks: Object.freeze({ min: 0, max: 0 }),
  positionNoise: 0,
  headingNoise: 0,
  dropProbability: 0,
});
