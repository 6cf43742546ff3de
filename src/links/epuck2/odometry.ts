// Wheel odometry from the e-puck2's int16 motor step counters: a pose source when no tracker exists. The
// counters wrap every 65536 steps, so each new reading is unwrapped against the last (the shortest signed
// difference), checked against what the wheels can have done since, and integrated as a differential drive
// from the configured start pose.
//
// What the wheels can have done since the last reading: anything the firmware allows for a short while (the
// clock slack `toleranceMs`, plus up to `toleranceMs` of the gap, for commands whose effect the reading may
// lag), and for the rest of the gap only what the commands the robot may have been running allow, in their
// direction. So a long outage lets through the motion the robot was told to make and no more: a robot told
// to stand still may not "move" 3000 steps because its link was down for 3 s.
//
// A robot that reboots restarts its counters at 0 (and drops its connection). A reset - counters back near
// 0 on a new connection, or a jump that persists - is never integrated as motion: the reading becomes the
// new reference (a rebase) and the pose is unknown until relocate() gives it again, because the robot may
// have driven on before it rebooted, and a reboot is often a hand on the robot (a battery swap, the reset
// button).
import { bodyAngular, bodyLinear, wrapAngle } from '../../core/kinematics.js';
import type { RobotParams } from '../../core/robot-params.js';
import { FIRMWARE_MAX_STEPS_PER_SECOND } from './actuators.js';

export interface PlanarPose {
  x: number;
  y: number;
  theta: number;
}

export interface OdometrySettings {
  /** Slack for counter vs clock timing and for commands taking effect late, ms. */
  toleranceMs: number;
  /** After this many implausible readings in a row the counters are taken as the new reference (a reset). */
  rebaseAfter: number;
}

export const DEFAULT_ODOMETRY: OdometrySettings = { toleranceMs: 250, rebaseAfter: 3 };

/** The signed difference cur - prev of two int16 counter readings, wrap-around taken into account. */
export function unwrapStepDelta(prev: number, cur: number): number {
  return ((((cur - prev) % 65536) + 65536 + 32768) % 65536) - 32768;
}

/** A reading was refused (not integrated), or accepted; `rebased` says why it became the new reference instead of motion. */
export type OdometryUpdate = { ok: true; rebased?: string } | { ok: false; detail: string };

const clampSpeed = (v: number) => Math.max(-FIRMWARE_MAX_STEPS_PER_SECOND, Math.min(FIRMWARE_MAX_STEPS_PER_SECOND, v));

export class WheelOdometry {
  private x: number;
  private y: number;
  private theta: number;
  private lastLeft: number | null = null;
  private lastRight = 0;
  private lastMs = 0;
  /** Refused readings in a row that agree with each other, and the last of them. */
  private implausibleRun = 0;
  private candidate: { left: number; right: number; ms: number } | null = null;
  /** The range of wheel speeds (steps/s, 0 included) the robot may have run since the last reading. */
  private speeds = { minL: 0, maxL: 0, minR: 0, maxR: 0 };
  /** The last command written to the robot: in force from the next reading on. */
  private lastCommand = { left: 0, right: 0 };
  /** The connection was reopened since the last reading: the robot may have rebooted in between. */
  private reopened = false;
  private known = true;
  /** Unwrapped step totals integrated since the first reading. */
  totalLeft = 0;
  totalRight = 0;
  /** Readings taken as a new reference instead of motion (a counter reset, or a gap too long to unwrap). */
  rebases = 0;

  constructor(
    private readonly params: RobotParams,
    start: PlanarPose,
    private readonly settings: OdometrySettings = DEFAULT_ODOMETRY,
  ) {
    this.x = start.x;
    this.y = start.y;
    this.theta = start.theta;
  }

  /** The integrated pose, or null while it is unknown (after a rebase, until relocate()). */
  get pose(): PlanarPose | null {
    return this.known ? { x: this.x, y: this.y, theta: this.theta } : null;
  }

  /** Whether the robot must not be driven: its pose is unknown, or the counters are not yet checked after a reconnect. */
  get holdStill(): boolean {
    return !this.known || this.reopened;
  }

  /** The robot's pose is known again (a tracker saw it, an operator placed it): integration continues from there. */
  relocate(pose: PlanarPose): void {
    if (![pose.x, pose.y, pose.theta].every(Number.isFinite)) throw new RangeError(`odometry: relocate to a non-finite pose (${pose.x}, ${pose.y}, ${pose.theta})`);
    this.x = pose.x;
    this.y = pose.y;
    this.theta = wrapAngle(pose.theta);
    this.known = true;
  }

  /** A command (steps/s) written to the robot: it may run it from now until the next reading and beyond. */
  commanded(left: number, right: number): void {
    this.lastCommand = { left: clampSpeed(left), right: clampSpeed(right) };
    this.widen(this.lastCommand);
  }

  /** A new connection to the robot: the counters' continuity with the last reading is checked afresh. */
  reconnected(): void {
    if (this.lastLeft !== null) this.reopened = true;
  }

  /** Takes a reading of both counters at clock time nowMs; an implausible jump is refused and not integrated. */
  update(left: number, right: number, nowMs: number): OdometryUpdate {
    if (this.lastLeft === null) {
      this.reference(left, right, nowMs);
      return { ok: true };
    }
    const gap = Math.max(0, nowMs - this.lastMs);
    const dl = unwrapStepDelta(this.lastLeft, left);
    const dr = unwrapStepDelta(this.lastRight, right);
    const free = (FIRMWARE_MAX_STEPS_PER_SECOND * (Math.min(gap, this.settings.toleranceMs) + this.settings.toleranceMs)) / 1000;
    const told = Math.max(0, gap - this.settings.toleranceMs) / 1000;
    const s = this.speeds;
    const range = { loL: s.minL * told - free, hiL: s.maxL * told + free, loR: s.minR * told - free, hiR: s.maxR * told + free };
    const jumped = `(${dl}, ${dr}) in ${gap.toFixed(0)} ms`;
    if (Math.max(range.hiL, range.hiR) > 32767 || Math.min(range.loL, range.loR) < -32768) {
      // The wheels may have turned more than half the counter range: the difference cannot be trusted.
      return this.rebase(left, right, nowMs, `no reading for ${(gap / 1000).toFixed(1)} s while driving: the step counters may have wrapped`);
    }
    // After a reconnect (the robot held still since), counters back at 0 from elsewhere are a reboot,
    // however much the commands allow: "at 0" within what the firmware can do in the clock slack.
    const slack = (FIRMWARE_MAX_STEPS_PER_SECOND * this.settings.toleranceMs) / 1000;
    if (this.reopened && Math.max(Math.abs(left), Math.abs(right)) <= slack && Math.max(Math.abs(dl), Math.abs(dr)) > slack) {
      return this.rebase(left, right, nowMs, `step counters reset: (${left}, ${right}) after a reconnect, ${jumped} from the last reading`);
    }
    if (dl < range.loL || dl > range.hiL || dr < range.loR || dr > range.hiR) {
      const detail = `step counters jumped ${jumped} (at most [${range.loL.toFixed(0)}, ${range.hiL.toFixed(0)}], [${range.loR.toFixed(0)}, ${range.hiR.toFixed(0)}] possible)`;
      // A jump that persists (readings in a row that agree with each other) is a reset; one alone, or a
      // burst that disagrees, is corruption.
      const c = this.candidate;
      const agrees = c !== null && this.withinFirmware(c.left, c.right, c.ms, left, right, nowMs);
      this.implausibleRun = agrees ? this.implausibleRun + 1 : 1;
      this.candidate = { left, right, ms: nowMs };
      if (this.implausibleRun >= this.settings.rebaseAfter) return this.rebase(left, right, nowMs, `step counters reset: ${detail}, ${this.implausibleRun} readings in a row`);
      return { ok: false, detail };
    }
    if (this.known) this.integrate(dl, dr);
    this.reference(left, right, nowMs);
    return { ok: true };
  }

  /** The reading becomes the reference and the pose unknown: whatever happened in between is not motion we know. */
  private rebase(left: number, right: number, nowMs: number, why: string): OdometryUpdate {
    this.rebases++;
    this.known = false;
    this.reference(left, right, nowMs);
    return { ok: true, rebased: why };
  }

  private reference(left: number, right: number, nowMs: number): void {
    this.lastLeft = left;
    this.lastRight = right;
    this.lastMs = nowMs;
    this.implausibleRun = 0;
    this.candidate = null;
    this.reopened = false;
    // From this reading on the robot runs the last command it was sent (or, lagging, stands still).
    this.speeds = { minL: 0, maxL: 0, minR: 0, maxR: 0 };
    this.widen(this.lastCommand);
  }

  /** Whether the counters can have gone from one reading to the other at the firmware's top speed. */
  private withinFirmware(l0: number, r0: number, ms0: number, l1: number, r1: number, ms1: number): boolean {
    const limit = (FIRMWARE_MAX_STEPS_PER_SECOND * (Math.max(0, ms1 - ms0) + this.settings.toleranceMs)) / 1000;
    return Math.abs(unwrapStepDelta(l0, l1)) <= limit && Math.abs(unwrapStepDelta(r0, r1)) <= limit;
  }

  private widen(c: { left: number; right: number }): void {
    const s = this.speeds;
    s.minL = Math.min(s.minL, c.left);
    s.maxL = Math.max(s.maxL, c.left);
    s.minR = Math.min(s.minR, c.right);
    s.maxR = Math.max(s.maxR, c.right);
  }

  /** Differential drive over one reading: the arc's chord along the mean heading. */
  private integrate(dl: number, dr: number): void {
    this.totalLeft += dl;
    this.totalRight += dr;
    const metresPerStep = (2 * Math.PI * this.params.wheelRadius) / this.params.stepsPerRevolution;
    const sl = dl * metresPerStep;
    const sr = dr * metresPerStep;
    const ds = bodyLinear(sl, sr);
    const dth = bodyAngular(sl, sr, this.params.wheelDistance);
    const mid = this.theta + dth / 2;
    this.x += ds * Math.cos(mid);
    this.y += ds * Math.sin(mid);
    this.theta = wrapAngle(this.theta + dth);
  }
}
