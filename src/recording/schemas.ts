// The channels of a swarmguard recording (run.mcap): one zod schema per message, which gives both the JSON
// Schema written into the file (MCAP `jsonschema` encoding, so Foxglove can open and plot it) and the check
// the reader applies to every message. The Log channel uses Foxglove's well-known foxglove.Log layout; the 3D
// panel's scene and transforms are in foxglove-scene.ts, with @foxglove/schemas' own JSON Schemas.
import { z } from 'zod';
import { STOP_REASONS } from '../runtime/safety.js';

/** Written into the run metadata; the reader refuses any other. */
export const RECORDING_FORMAT = 'swarmguard.run/1';
export const MCAP_PROFILE = 'swarmguard';

/** JSON has no NaN: a pose not known (a robot not located yet) is recorded as null. */
const coordinate = z.number().nullable();

const RobotPose = z.object({ id: z.string(), x: coordinate, y: coordinate, theta: coordinate }).strict();

const PosesMessage = z
  .object({
    tick: z.number().int().min(0),
    /** The link's clock when the tick started, ms. */
    timeMs: z.number(),
    robots: z.array(RobotPose),
  })
  .strict();

const CommandsMessage = z
  .object({
    tick: z.number().int().min(0),
    /** Normalised wheel commands (float32, in their shortest decimal form): what the policy intended, and what was sent after injection and safety. */
    robots: z.array(z.object({ id: z.string(), intendedLeft: z.number(), intendedRight: z.number(), left: z.number(), right: z.number() }).strict()),
  })
  .strict();

const SafetyMessage = z
  .object({
    tick: z.number().int().min(0),
    /** The robots the safety layer stopped this tick, and why (every other robot's command passed). */
    stopped: z.array(z.object({ id: z.string(), reason: z.enum(STOP_REASONS) }).strict()),
  })
  .strict();

const MonitorMessage = z
  .object({
    tick: z.number().int().min(0),
    robots: z.array(
      z
        .object({
          id: z.string(),
          /** Aggregated belief P(compromised) over the robot's observers; null: no observer or no belief network. */
          belief: z.number().nullable(),
          consistency: z.number(),
          suspicion: z.number(),
          flagged: z.boolean(),
          /** Ground truth: the robot was compromised by an injection this tick. */
          compromised: z.boolean(),
        })
        .strict(),
    ),
  })
  .strict();

const TimingMessage = z
  .object({
    tick: z.number().int().min(0),
    timeMs: z.number(),
    /** Wall clock when the tick was recorded (ms since the epoch), and since the previous tick, ms. */
    wallTimeMs: z.number(),
    intervalMs: z.number().nullable(),
  })
  .strict();

/**
 * A run event (injection start/end = ground truth, flag, clear, stop, attack-error, e-stop, release, pause,
 * resume; isolate, isolation-end, probation and on-flag: what the runtime did about flags) as the runtime made it.
 */
const EventMessage = z
  .object({
    /** The tick whose record the event was reported with (an event made between ticks carries the next tick). */
    reportedAtTick: z.number().int().min(0),
    /** The line the terminal printed for it. */
    text: z.string(),
    event: z.looseObject({ tick: z.number().int(), kind: z.enum(['injection-start', 'injection-end', 'flag', 'clear', 'stop', 'attack-error', 'e-stop', 'release', 'end-injection', 'pause', 'resume', 'isolate', 'isolation-end', 'probation', 'on-flag']) }),
  })
  .strict();

const Time = z.object({ sec: z.number().int().min(0), nsec: z.number().int().min(0).max(999_999_999) }).strict();

/** foxglove.Log: the events as text lines for the log panel (level 2 = INFO, 3 = WARNING). */
const FoxgloveLog = z
  .object({ timestamp: Time, level: z.number().int().min(0).max(5), message: z.string(), name: z.string(), file: z.string(), line: z.number().int().min(0) })
  .strict();

interface ChannelSpec {
  topic: string;
  schemaName: string;
  schema: z.ZodType;
}

/** Every channel, by role. `truePoses` is written only by links that know the true poses (the twin). */
export const CHANNELS = {
  poses: { topic: '/robots/poses', schemaName: 'swarmguard.Poses', schema: PosesMessage },
  truePoses: { topic: '/robots/true_poses', schemaName: 'swarmguard.Poses', schema: PosesMessage },
  commands: { topic: '/robots/commands', schemaName: 'swarmguard.Commands', schema: CommandsMessage },
  safety: { topic: '/safety/stops', schemaName: 'swarmguard.SafetyStops', schema: SafetyMessage },
  monitor: { topic: '/monitor', schemaName: 'swarmguard.Monitor', schema: MonitorMessage },
  timing: { topic: '/timing', schemaName: 'swarmguard.TickTiming', schema: TimingMessage },
  events: { topic: '/events', schemaName: 'swarmguard.Event', schema: EventMessage },
  log: { topic: '/foxglove/log', schemaName: 'foxglove.Log', schema: FoxgloveLog },
} as const satisfies Record<string, ChannelSpec>;

export type ChannelRole = keyof typeof CHANNELS;

/** The JSON Schema text written for a channel's schema record. */
export function jsonSchemaOf(spec: ChannelSpec): string {
  return JSON.stringify({ title: spec.schemaName, ...z.toJSONSchema(spec.schema, { io: 'input' }) });
}
