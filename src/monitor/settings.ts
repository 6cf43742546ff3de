// The monitor's settings: one zod schema per block, each field with its default and what it means beside it,
// and DEFAULT_MONITOR derived from them. The launch file's `monitor:` block is this schema (plus onFlag,
// src/launch/launch.ts), and the ROS 2 node declares the live ones as its parameters
// (src/links/ros2/params.ts). The docs are `.describe()` texts rather than comments (as sim/train/config.ts
// has them) because the ROS 2 node reads them as its parameters' descriptions.
//
// Defaults measured on the twin with its noise model (policies/MONITOR.md; src/runtime/README.md says how):
// the displacement sigmas are the benign residuals' standard deviations, so benign scores average about 2,
// and a drift of 6 keeps their CUSUM near 0 while a robot acting on corrupted observations (scores averaging
// about 9) climbs. One tick adds at most 16 - 6 and two bad intervals enter the scores of three ticks (at
// most 3 x 10 = 30), below the flag level (0.75 x 60 = 45). Every number has finite bounds: the ROS 2
// parameters' declared ranges are these, so a value the launch file accepts is never refused at declaration.
import { z } from 'zod';

/** The policy-consistency detector (consistency.ts says how each setting enters it). */
export const ConsistencySettingsSchema = z
  .object({
    sigmaLinear: z.number().positive().max(10).default(0.045).describe('noise on the measured speed of one tick at the nominal period, m/s (scales the bias clipping)'),
    sigmaAngular: z.number().positive().max(100).default(0.3).describe('noise on the measured turn rate of one tick at the nominal period, rad/s (scales the bias clipping)'),
    sigmaDisplacement: z.number().positive().max(1).default(0.0027).describe("benign spread of one interval's residual displacement along the heading, m"),
    sigmaRotation: z.number().positive().max(10).default(0.021).describe("benign spread of one interval's residual rotation, rad"),
    sigmaDisplacement2: z.number().positive().max(1).default(0.0032).describe('benign spread of the residual displacement over two consecutive intervals, m'),
    sigmaRotation2: z.number().positive().max(10).default(0.024).describe('benign spread of the residual rotation over two consecutive intervals, rad'),
    latencyTicks: z.number().int().min(0).max(5).default(2).describe('command latency tolerated, ticks (fixed when the run starts)'),
    drift: z.number().min(0).max(1e6).default(6).describe("subtracted from every tick's score (the CUSUM's reference value)"),
    threshold: z.number().min(1e-6).max(1e6).default(60).describe('CUSUM value at which the consistency suspicion reaches 1'),
    maxTickScore: z.number().positive().max(1e6).default(16).describe('largest score one tick adds to the CUSUM (before the drift is subtracted)'),
    biasWeight: z.number().positive().max(1).default(0.1).describe('weight of the newest tick in the persistent-bias means (about 1 / window in ticks)'),
    biasClip: z.number().positive().max(1000).default(2).describe("each tick's speed residual enters the bias means clipped to this many tick sigmas"),
    biasSigmaLinear: z.number().positive().max(10).default(0.006).describe('standard deviation of the speed bias mean under benign noise, m/s'),
    biasSigmaAngular: z.number().positive().max(100).default(0.05).describe('standard deviation of the turn-rate bias mean under benign noise, rad/s'),
    biasTolerance: z.number().min(0).max(1).default(0.1).describe('share of the commanded motion a benign robot may persistently miss by (worn wheels)'),
    wheelMismatch: z
      .number()
      .min(0)
      .max(1)
      .default(0.06)
      .describe("relative mismatch of a benign robot's two wheels: at speed v it may turn by up to wheelMismatch x v / wheel distance more or less than commanded"),
    biasThreshold: z.number().positive().max(1e6).default(5).describe('squared normalised bias at which the bias suspicion reaches 1'),
    contactHoldTicks: z.number().int().min(0).max(1_000_000).default(10).describe('ticks after a contact during which the speed bias is not accumulated (contact flickers with tracker noise)'),
  })
  .strict();

export type ConsistencySettings = z.output<typeof ConsistencySettingsSchema>;

/** The belief networks' evidence, accumulated in a CUSUM (monitor.ts). */
export const BeliefSettingsSchema = z
  .object({
    // Weight 0: on the twin the fused detector flags the same episodes within 5 s at every belief weight, and at
    // weight 1 adds false alarms (policies/MONITOR.md, "What the belief earns"); still computed, shown, recorded.
    weight: z.number().min(0).max(1).default(0).describe('weight of the belief in the fused suspicion (0: the belief is shown but never flags)'),
    drift: z.number().min(0).max(1e6).default(2).describe('log-likelihood ratio subtracted from the belief CUSUM every tick (its reference value)'),
    maxTickEvidence: z.number().positive().max(1e6).default(6).describe('most belief evidence (log-likelihood ratio) one tick adds'),
    threshold: z.number().positive().max(1e6).default(30).describe('belief CUSUM value at which the belief suspicion reaches 1'),
    contactHoldTicks: z.number().int().min(0).max(1_000_000).default(20).describe('ticks after a contact during which a robot gives no belief evidence (the recurrent belief remembers the push)'),
  })
  .strict();

export type BeliefSettings = z.output<typeof BeliefSettingsSchema>;

export const MonitorSettingsSchema = z
  .object({
    consistency: ConsistencySettingsSchema.prefault({}).describe('the policy-consistency detector'),
    belief: BeliefSettingsSchema.prefault({}).describe("the belief networks' evidence"),
    // 0.75 and 0.28 (clear at 3/8 of flag, as before): the ROC sweep on held-out seeds (policies/README.md,
    // "Monitor thresholds"), the lowest level whose benign false alarms stay well inside 0.5 per robot-hour in
    // both variants with the bias taken against each robot's own command lag.
    flagAt: z.number().min(0).max(1).default(0.75).describe('suspicion at or above which a robot is flagged (after flagTicks ticks); above clearAt'),
    clearAt: z.number().min(0).max(1).default(0.28).describe('suspicion at or below which a flag is cleared (after clearTicks ticks); below flagAt'),
    flagTicks: z.number().int().min(1).max(1_000_000).default(3).describe('ticks at or above flagAt before a flag'),
    clearTicks: z.number().int().min(1).max(1_000_000).default(20).describe('ticks at or below clearAt before a flag is cleared'),
  })
  .strict();

export type MonitorSettings = z.output<typeof MonitorSettingsSchema>;

/** Every field's default. */
export const DEFAULT_MONITOR: MonitorSettings = MonitorSettingsSchema.parse({});
