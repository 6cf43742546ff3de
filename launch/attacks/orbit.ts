// An orbit: the compromised robot circles the rest of the swarm's centroid at a fixed radius, counter-
// clockwise, never joining the group it keeps stirring (its neighbours keep turning to follow it).
// Use: attack: attacks/orbit.ts (launch file), or `inject epuck-3 launch/attacks/orbit.ts 20` (console).
import type { AttackInput, WheelCommand } from '../../src/attacks/attack-module.js';
import { othersCentroid, steerTo } from './steer.js';

export const name = 'orbit';

/** Orbit radius, m, and how far ahead along the circle the robot aims, rad. */
const RADIUS = 0.3;
const LEAD = 0.6;

export default function orbit({ pose, swarm, index }: AttackInput): WheelCommand {
  const c = othersCentroid(swarm, index);
  if (!c) return [0, 0];
  // Aim at the point of the circle a little ahead of the robot's own angle about the centroid.
  const angle = Math.atan2(pose.y - c.y, pose.x - c.x) + LEAD;
  return steerTo(pose, c.x + RADIUS * Math.cos(angle), c.y + RADIUS * Math.sin(angle), 0.7);
}
