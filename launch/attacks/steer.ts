// Shared by the example attacks (not an attack itself: it exports no `attack`): wheel commands that drive a
// robot toward a point, and the centroid of the robots other than one.
import type { Pose, WheelCommand } from '../../src/attacks/attack-module.js';

const clamp = (v: number) => Math.max(-1, Math.min(1, v));

/** Turn toward (x, y) and drive forward as the heading comes right; `speed` in [0, 1]. */
export function steerTo(pose: Pose, x: number, y: number, speed = 0.8): WheelCommand {
  const bearing = Math.atan2(y - pose.y, x - pose.x);
  const error = Math.atan2(Math.sin(bearing - pose.theta), Math.cos(bearing - pose.theta));
  const forward = speed * Math.max(0, Math.cos(error));
  const turn = clamp((2 / Math.PI) * error);
  return [clamp(forward - turn), clamp(forward + turn)];
}

/** Where the other located robots are on average (null: none located). */
export function othersCentroid(swarm: readonly Pose[], self: number): { x: number; y: number } | null {
  const others = swarm.filter((p, i) => i !== self && Number.isFinite(p.x) && Number.isFinite(p.y));
  if (others.length === 0) return null;
  return { x: others.reduce((s, p) => s + p.x, 0) / others.length, y: others.reduce((s, p) => s + p.y, 0) / others.length };
}
