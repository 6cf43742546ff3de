// Wheel odometry from the e-puck2's int16 motor step counters: a pose source when no tracker exists. The
// counters wrap every 65536 steps, so each new reading is unwrapped against the last (the shortest signed
// difference), checked against how far the wheels can have turned since (the firmware's speed clamp), and
// integrated as a differential drive from the configured start pose.
import { bodyAngular, bodyLinear, wrapAngle } from '../../core/kinematics.js';
import type { RobotParams } from '../../core/robot-params.js';
import { FIRMWARE_MAX_STEPS_PER_SECOND } from './actuators.js';

export interface PlanarPose {
  x: number;
  y: number;
  theta: number;
}

export interface OdometrySettings {
  /** Slack added to the time between readings when checking a step jump, ms (counter vs clock timing). */
  toleranceMs: number;
  /** After this many implausible readings in a row the counters are taken as the new reference (a reboot). */
  rebaseAfter: number;
}

export const DEFAULT_ODOMETRY: OdometrySettings = { toleranceMs: 250, rebaseAfter: 3 };

/** Longest gap between readings over which an int16 counter difference is unambiguous at full speed, ms. */
export const UNAMBIGUOUS_GAP_MS = (32768 / FIRMWARE_MAX_STEPS_PER_SECOND) * 1000;

/** The signed difference cur - prev of two int16 counter readings, wrap-around taken into account. */
export function unwrapStepDelta(prev: number, cur: number): number {
  return ((((cur - prev) % 65536) + 65536 + 32768) % 65536) - 32768;
}

export type OdometryUpdate = { ok: true } | { ok: false; detail: string };

export class WheelOdometry {
  private x: number;
  private y: number;
  private theta: number;
  private lastLeft: number | null = null;
  private lastRight = 0;
  private lastMs = 0;
  private implausibleRun = 0;
  /** Unwrapped step totals since the first reading. */
  totalLeft = 0;
  totalRight = 0;
  /** Readings taken as a new reference after a run of implausible ones. */
  rebases = 0;
  /** Set when the gap between readings was too long to unwrap: the pose is unknown from then on. */
  lost = false;

  constructor(
    private readonly params: RobotParams,
    start: PlanarPose,
    private readonly settings: OdometrySettings = DEFAULT_ODOMETRY,
  ) {
    this.x = start.x;
    this.y = start.y;
    this.theta = start.theta;
  }

  /** The integrated pose, or null once it is lost. */
  get pose(): PlanarPose | null {
    return this.lost ? null : { x: this.x, y: this.y, theta: this.theta };
  }

  /** Takes a reading of both counters at clock time nowMs; an implausible jump is refused and not integrated. */
  update(left: number, right: number, nowMs: number): OdometryUpdate {
    if (this.lastLeft === null) {
      this.reference(left, right, nowMs);
      return { ok: true };
    }
    const gap = nowMs - this.lastMs;
    const dl = unwrapStepDelta(this.lastLeft, left);
    const dr = unwrapStepDelta(this.lastRight, right);
    if (gap > UNAMBIGUOUS_GAP_MS) {
      // The wheels may have turned more than half the counter range: the difference cannot be trusted.
      this.lost = true;
      this.reference(left, right, nowMs);
      return { ok: false, detail: `no reading for ${(gap / 1000).toFixed(1)} s: step counters may have wrapped, pose lost` };
    }
    const limit = (FIRMWARE_MAX_STEPS_PER_SECOND * (Math.max(0, gap) + this.settings.toleranceMs)) / 1000;
    if (Math.abs(dl) > limit || Math.abs(dr) > limit) {
      if (++this.implausibleRun >= this.settings.rebaseAfter) {
        this.rebases++;
        this.reference(left, right, nowMs);
      }
      return { ok: false, detail: `step counters jumped (${dl}, ${dr}) in ${gap.toFixed(0)} ms (at most ${limit.toFixed(0)} possible)` };
    }
    this.integrate(dl, dr);
    this.reference(left, right, nowMs);
    return { ok: true };
  }

  private reference(left: number, right: number, nowMs: number): void {
    this.lastLeft = left;
    this.lastRight = right;
    this.lastMs = nowMs;
    this.implausibleRun = 0;
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
