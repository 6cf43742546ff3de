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
import { clampCommand, twistInto } from '../core/kinematics.js';
import { maxWheelSpeed, type RobotParams } from '../core/robot-params.js';

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
  ) {
    this.wheelSpeed = Float64Array.from(robots, maxWheelSpeed);
    this.reasons = robots.map(() => null);
  }

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
    this.single[0] = left;
    this.single[1] = right;
    const stopped = this.verdict(i, this.single, 0, pose, nowMs);
    return { left: this.left, right: this.right, stopped };
  }

  /** check()'s one command, as verdict() reads commands. */
  private readonly single = new Float64Array(2);

  /**
   * filter() for the tick path, every robot at once: robot i's command read from commands[2i], commands[2i + 1]
   * and its pose from poses[i], the command it may execute written to the same places of out (which may be
   * commands), the reason in `reasons[i]`; no object made (a swarm of thousands is filtered every tick).
   */
  filterAllInto(commands: ArrayLike<number>, poses: readonly (TimedPose | null | undefined)[], nowMs: number, out: Float32Array): void {
    this.checkAllInto(commands, poses, nowMs, out);
    for (let i = 0; i < poses.length; i++) {
      const stopped = this.reasons[i];
      if (stopped) this.stops[stopped]++;
    }
  }

  /** filterAllInto() counting nothing: what every robot's policy command would become (the monitor's expectation). */
  checkAllInto(commands: ArrayLike<number>, poses: readonly (TimedPose | null | undefined)[], nowMs: number, out: Float32Array): void {
    if (poses.length > this.robots.length) throw new RangeError(`safety: ${poses.length} poses for a swarm of ${this.robots.length}`);
    for (let i = 0; i < poses.length; i++) {
      this.reasons[i] = this.verdict(i, commands, 2 * i, poses[i] ?? null, nowMs);
      out[2 * i] = this.left;
      out[2 * i + 1] = this.right;
    }
  }

  /** Why each robot was stopped by the last filterAllInto / checkAllInto (null: its command passed). */
  readonly reasons: (StopReason | null)[];

  /** The twist of the command being checked (kinematics' twistInto: no object per robot). */
  private readonly twist = new Float64Array(2);
  /** Each robot's top wheel speed, m/s (maxWheelSpeed), kept rather than recomputed per check. */
  private readonly wheelSpeed: Float64Array;

  /** The command from the last verdict(): clamped, or zero for a stopped robot. */
  private left = 0;
  private right = 0;

  /**
   * Why robot i is stopped (null: its clamped command, commands[at], commands[at + 1], passes); the command it
   * may execute is left in left/right. The command is read here and handed on in fields, never as numbers: a
   * double passed to a call V8 did not inline is a heap allocation, per robot and tick on the tick path.
   */
  private verdict(i: number, commands: ArrayLike<number>, at: number, pose: TimedPose | null, nowMs: number): StopReason | null {
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
    const left = commands[at]!;
    const right = commands[at + 1]!;
    if (!Number.isFinite(left) || !Number.isFinite(right)) return 'invalid-command';
    this.left = clampCommand(left);
    this.right = clampCommand(right);
    const stop = this.leavesArena(i, p, pose) ? 'leaving-arena' : this.obstacleAhead(i, p) ? 'obstacle' : null;
    if (stop !== null) {
      this.left = 0;
      this.right = 0;
    }
    return stop;
  }

  /** Whether the clamped command in left/right drives forward while a front IR sensor sees something close. */
  private obstacleAhead(i: number, p: RobotParams): boolean {
    const readings = this.proximity?.(i);
    if (!readings) return false;
    twistInto(this.left, this.right, this.wheelSpeed[i]!, p.wheelDistance, this.twist, 0);
    if (this.twist[0]! <= 0) return false;
    const limit = this.settings.obstacleProximity ?? DEFAULT_OBSTACLE_PROXIMITY;
    return FRONT_PROXIMITY_SENSORS.some((k) => (readings[k] ?? 0) > limit);
  }

  /** Whether the clamped command in left/right, held for the lookahead, ends outside the walls and farther out than now. */
  private leavesArena(i: number, p: RobotParams, pose: TimedPose): boolean {
    twistInto(this.left, this.right, this.wheelSpeed[i]!, p.wheelDistance, this.twist, 0);
    const linear = this.twist[0]!;
    const angular = this.twist[1]!;
    const T = this.settings.lookaheadS;
    const mid = pose.theta + (angular * T) / 2;
    const x = pose.x + linear * T * Math.cos(mid);
    const y = pose.y + linear * T * Math.sin(mid);
    const m = this.settings.wallMargin + p.bodyRadius;
    // How far outside the walls less the margin (0 inside), at the end and now: refused only if it ends
    // outside and farther out than now (a robot resting on a wall may turn on the spot).
    const right = this.arena.width - m;
    const top = this.arena.height - m;
    const end = Math.max(m - x, x - right, m - y, y - top, 0);
    const now = Math.max(m - pose.x, pose.x - right, m - pose.y, pose.y - top, 0);
    return end > 0 && end > now + 1e-9;
  }
}
