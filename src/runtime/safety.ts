// The safety layer between the policy and the wheels. Per robot and tick it clamps the command to the
// robot's limits, and stops the robot (zero command) when: its pose is missing, not finite or older than
// `maxPoseAgeMs` (never act on stale data); the command is not finite; the command would take it out of
// the arena within `lookaheadS` (a command that turns it back in passes); or the swarm-wide e-stop is
// engaged, which holds until released; or, where the link reports IR proximity (the e-puck2 links), the
// command drives forward while a front sensor (ps0/ps7 straight ahead, ps1/ps6 to the sides) reads above
// `obstacleProximity` (turning on the spot and reversing pass); or the robot is flagged and isolated under
// monitor.onFlag isolate-and-stop (src/runtime/isolation.ts), until the monitor clears it. Every stop is
// counted by reason.
import { z } from 'zod';
import { clampCommand, twistFromCommands } from '../core/kinematics.js';
import type { RobotParams } from '../core/robot-params.js';

/** The safety layer's settings (the launch file's `safety:` block): each field's default and meaning beside it. */
export const SafetySettingsSchema = z
  .object({
    /** A pose older than this stops the robot, ms. */
    maxPoseAgeMs: z.number().positive().default(300),
    /** How far ahead a command is projected when checking the arena's walls, s. */
    lookaheadS: z.number().min(0).default(0.5),
    /** The robot's centre must stay this far inside the walls, m (its body radius is added). */
    wallMargin: z.number().min(0).default(0.01),
    /** A front IR reading (raw, higher = closer) above this refuses forward commands; absent: DEFAULT_OBSTACLE_PROXIMITY (where the link reports IR). */
    obstacleProximity: z.number().positive().optional(),
  })
  .strict();

export type SafetySettings = z.output<typeof SafetySettingsSchema>;

/** Every field's default (obstacleProximity absent). */
export const DEFAULT_SAFETY: SafetySettings = SafetySettingsSchema.parse({});

/** Where obstacleProximity is not set: about 2 cm from an obstacle in the twin's IR model (sim/protocol-twin/ir-model.ts). */
export const DEFAULT_OBSTACLE_PROXIMITY = 300;

/** The e-puck2's front IR sensors: ps0 and ps7 (about 17 degrees either side of straight ahead), ps1 and ps6 (about 45). */
export const FRONT_PROXIMITY_SENSORS = [0, 7, 1, 6] as const;

/** Robot i's latest IR proximity readings ps0..ps7, or null where there are none. */
export type ProximitySource = (i: number) => readonly number[] | null;

export const STOP_REASONS = ['e-stop', 'paused', 'isolated', 'no-pose', 'invalid-pose', 'stale-pose', 'invalid-command', 'leaving-arena', 'obstacle'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface TimedPose {
  x: number;
  y: number;
  theta: number;
  /** When the pose was measured, clock ms. */
  stampMs: number;
}

export interface SafeCommand {
  left: number;
  right: number;
  /** Why the robot was stopped, or null if the (clamped) command passed. */
  stopped: StopReason | null;
}

/** A count of zero stops for every stop reason. */
export function noStops(): Record<StopReason, number> {
  return Object.fromEntries(STOP_REASONS.map((r) => [r, 0])) as Record<StopReason, number>;
}

export class SafetyLayer {
  private eStopReason: string | null = null;
  private paused = false;
  readonly stops: Record<StopReason, number> = noStops();
  private proximity: ProximitySource | null = null;
  /** Robots held still because they are flagged and isolated (isolate-and-stop), see holdWhere(). */
  private held: (i: number) => boolean = () => false;

  constructor(
    private readonly robots: readonly RobotParams[],
    readonly arena: { width: number; height: number },
    readonly settings: SafetySettings = DEFAULT_SAFETY,
  ) {}

  /** Reads IR proximity from here (a link that has it) and refuses forward commands into obstacles. */
  useProximity(source: ProximitySource | null): void {
    this.proximity = source;
  }

  /** Holds every robot `held` names still (reason 'isolated'): the flagged robots under isolate-and-stop. */
  holdWhere(held: (i: number) => boolean): void {
    this.held = held;
  }

  /** Stops every robot until release(); the reason is kept for the record. */
  engageEStop(reason: string): void {
    this.eStopReason = reason;
  }

  release(): void {
    this.eStopReason = null;
  }

  get eStopped(): string | null {
    return this.eStopReason;
  }

  /** Holds every robot still (an operator's "stop") until resume(); the e-stop still takes precedence. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The command robot i may execute now, given its latest pose (null if none yet); stops are counted. */
  filter(i: number, left: number, right: number, pose: TimedPose | null, nowMs: number): SafeCommand {
    const out = this.check(i, left, right, pose, nowMs);
    if (out.stopped) this.stops[out.stopped]++;
    return out;
  }

  /** What filter() would let through, without counting anything (the monitor's expectation of a benign robot). */
  check(i: number, left: number, right: number, pose: TimedPose | null, nowMs: number): SafeCommand {
    const stopped = this.verdict(i, left, right, pose, nowMs);
    return { left: this.left, right: this.right, stopped };
  }

  /**
   * filter() for the tick path: the command written to out[k], out[k + 1] and the reason returned, no object
   * made (a swarm of thousands is filtered every tick).
   */
  filterInto(i: number, left: number, right: number, pose: TimedPose | null, nowMs: number, out: Float32Array, k: number): StopReason | null {
    const stopped = this.checkInto(i, left, right, pose, nowMs, out, k);
    if (stopped) this.stops[stopped]++;
    return stopped;
  }

  /** check() for the tick path: as filterInto(), counting nothing. */
  checkInto(i: number, left: number, right: number, pose: TimedPose | null, nowMs: number, out: Float32Array, k: number): StopReason | null {
    const stopped = this.verdict(i, left, right, pose, nowMs);
    out[k] = this.left;
    out[k + 1] = this.right;
    return stopped;
  }

  /** The command from the last verdict(): clamped, or zero for a stopped robot. */
  private left = 0;
  private right = 0;

  /** Why robot i is stopped (null: its clamped command passes); the command it may execute is left in left/right. */
  private verdict(i: number, left: number, right: number, pose: TimedPose | null, nowMs: number): StopReason | null {
    this.left = 0;
    this.right = 0;
    const p = this.robots[i];
    if (!p) throw new RangeError(`safety: no robot ${i} (swarm of ${this.robots.length})`);
    if (this.eStopReason !== null) return 'e-stop';
    if (this.paused) return 'paused';
    if (this.held(i)) return 'isolated';
    if (!pose) return 'no-pose';
    if (!(Number.isFinite(pose.x) && Number.isFinite(pose.y) && Number.isFinite(pose.theta) && Number.isFinite(pose.stampMs))) return 'invalid-pose';
    if (nowMs - pose.stampMs > this.settings.maxPoseAgeMs) return 'stale-pose';
    if (!Number.isFinite(left) || !Number.isFinite(right)) return 'invalid-command';
    const l = clampCommand(left);
    const r = clampCommand(right);
    if (this.leavesArena(p, pose, l, r)) return 'leaving-arena';
    if (this.obstacleAhead(i, p, l, r)) return 'obstacle';
    this.left = l;
    this.right = r;
    return null;
  }

  /** Whether the command drives forward while a front IR sensor sees something close. */
  private obstacleAhead(i: number, p: RobotParams, left: number, right: number): boolean {
    const readings = this.proximity?.(i);
    if (!readings || twistFromCommands(left, right, p).linear <= 0) return false;
    const limit = this.settings.obstacleProximity ?? DEFAULT_OBSTACLE_PROXIMITY;
    return FRONT_PROXIMITY_SENSORS.some((k) => (readings[k] ?? 0) > limit);
  }

  /** Whether the command, held for the lookahead, ends outside the walls and farther out than now. */
  private leavesArena(p: RobotParams, pose: TimedPose, left: number, right: number): boolean {
    const { linear, angular } = twistFromCommands(left, right, p);
    const T = this.settings.lookaheadS;
    const mid = pose.theta + (angular * T) / 2;
    const x = pose.x + linear * T * Math.cos(mid);
    const y = pose.y + linear * T * Math.sin(mid);
    const m = this.settings.wallMargin + p.bodyRadius;
    // Refused only if it ends outside and farther out than now: a robot resting on a wall may turn on the spot.
    const end = this.outside(x, y, m);
    return end > 0 && end > this.outside(pose.x, pose.y, m) + 1e-9;
  }

  /** How far (x, y) is outside the walls less the margin m, 0 inside. */
  private outside(x: number, y: number, m: number): number {
    return Math.max(m - x, x - (this.arena.width - m), m - y, y - (this.arena.height - m), 0);
  }
}
