// e-puck2 differential-drive kinematics, shared by the simulator twin and the runtime.
import { maxWheelSpeed, type RobotParams } from './robot-params.js';

/** Clamps a normalised wheel command into [-1, 1]. */
export function clampCommand(u: number): number {
  return u > 1 ? 1 : u < -1 ? -1 : u;
}

/** Motor speed in steps/s for a normalised command, rounded as the firmware takes integers. */
export function commandToStepsPerSecond(u: number, p: RobotParams): number {
  return Math.round(clampCommand(u) * p.maxStepsPerSecond);
}

/** Normalised command for a motor speed in steps/s. */
export function stepsPerSecondToCommand(steps: number, p: RobotParams): number {
  return clampCommand(steps / p.maxStepsPerSecond);
}

/** Body twist of a differential drive: forward speed (m/s) and turn rate (rad/s, CCW positive). */
export interface Twist {
  linear: number;
  angular: number;
}

/** Forward speed (m/s) of a differential drive from its wheels' ground speeds. */
export function bodyLinear(leftWheel: number, rightWheel: number): number {
  return (leftWheel + rightWheel) / 2;
}

/** Turn rate (rad/s, CCW positive) of a differential drive from its wheels' ground speeds. */
export function bodyAngular(leftWheel: number, rightWheel: number, wheelDistance: number): number {
  return (rightWheel - leftWheel) / wheelDistance;
}

/**
 * The twist of normalised wheel commands on a robot whose wheels reach `wheelSpeed` m/s (maxWheelSpeed)
 * `wheelDistance` m apart, written to out[o] (linear) and out[o + 1] (angular). For the per-robot tick
 * path: there a returned object, or a double returned from a call V8 did not inline (maxWheelSpeed's), is a
 * heap allocation per robot and call (about 300 KB a tick at 2,000 robots); callers keep wheelSpeed per robot.
 */
export function twistInto(left: number, right: number, wheelSpeed: number, wheelDistance: number, out: Float64Array, o: number): void {
  const vl = clampCommand(left) * wheelSpeed;
  const vr = clampCommand(right) * wheelSpeed;
  out[o] = bodyLinear(vl, vr);
  out[o + 1] = bodyAngular(vl, vr, wheelDistance);
}

const twistScratch = new Float64Array(2);

/** Twist produced by normalised wheel commands on a robot with parameters p. */
export function twistFromCommands(left: number, right: number, p: RobotParams): Twist {
  twistInto(left, right, maxWheelSpeed(p), p.wheelDistance, twistScratch, 0);
  return { linear: twistScratch[0]!, angular: twistScratch[1]! };
}

/**
 * Normalised wheel commands that realise a twist; if a wheel would exceed its limit both are scaled
 * down together, so the turning radius is kept.
 */
export function commandsFromTwist(linear: number, angular: number, p: RobotParams): [number, number] {
  const k = maxWheelSpeed(p);
  let left = (linear - (angular * p.wheelDistance) / 2) / k;
  let right = (linear + (angular * p.wheelDistance) / 2) / k;
  const peak = Math.max(Math.abs(left), Math.abs(right));
  if (peak > 1) {
    left /= peak;
    right /= peak;
  }
  return [left, right];
}

/** Largest forward speed (m/s) and turn rate (rad/s) of a robot. */
export function speedLimits(p: RobotParams): { maxLinear: number; maxAngular: number } {
  const k = maxWheelSpeed(p);
  return { maxLinear: k, maxAngular: (2 * k) / p.wheelDistance };
}

/** Wraps an angle to (-pi, pi]. */
export function wrapAngle(a: number): number {
  const twoPi = 2 * Math.PI;
  let w = a - twoPi * Math.floor((a + Math.PI) / twoPi);
  if (w <= -Math.PI) w += twoPi;
  return w;
}

/**
 * Speed along the heading and turn rate of a robot estimated from two consecutive poses dt apart,
 * as a tracker would: the world-frame displacement projected on the mean heading.
 */
export function estimateTwist(
  x0: number, y0: number, th0: number,
  x1: number, y1: number, th1: number,
  dt: number,
): Twist {
  const dth = wrapAngle(th1 - th0);
  const mid = th0 + dth / 2;
  const linear = ((x1 - x0) * Math.cos(mid) + (y1 - y0) * Math.sin(mid)) / dt;
  return { linear, angular: dth / dt };
}

/**
 * estimateTwist for robots from..to-1 of flat arrays, written into speed and turnRate at the same index:
 * the same arithmetic, without an object per robot (the twin runs it for every robot every step).
 */
export function estimateTwists(
  x0: Float64Array, y0: Float64Array, th0: Float64Array,
  x1: Float64Array, y1: Float64Array, th1: Float64Array,
  dt: number, from: number, to: number,
  speed: Float64Array, turnRate: Float64Array,
): void {
  for (let g = from; g < to; g++) {
    const dth = wrapAngle(th1[g]! - th0[g]!);
    const mid = th0[g]! + dth / 2;
    speed[g] = ((x1[g]! - x0[g]!) * Math.cos(mid) + (y1[g]! - y0[g]!) * Math.sin(mid)) / dt;
    turnRate[g] = dth / dt;
  }
}

/** A pose as a tracker reports it (arena frame). */
export interface TrackedPose {
  x: number;
  y: number;
  theta: number;
  /** When it was measured, ms; speeds use the real time between measurements. */
  stampMs?: number;
}
