// A lure: the compromised robot heads for the corner of the arena farthest from the rest of the swarm and
// waits there, pulling neighbours that steer toward it away from the group. The corner is chosen on the
// first tick (from where the others are then) and kept.
// Use: attack: attacks/lure.ts (launch file), or `inject epuck-3 launch/attacks/lure.ts 20` (console).
import type { AttackInput, AttackSetup, WheelCommand } from '../../src/attacks/attack-module.js';
import { othersCentroid, steerTo } from './steer.js';

export const name = 'lure';

interface LureState {
  arena: { width: number; height: number };
  /** m from the walls the lure stops. */
  margin: number;
  target: { x: number; y: number } | null;
}

export function init(setup: AttackSetup): LureState {
  return { arena: setup.arena, margin: 0.15, target: null };
}

export function attack({ pose, swarm, index, state }: AttackInput<LureState>): WheelCommand {
  if (!state.target) {
    const c = othersCentroid(swarm, index) ?? { x: state.arena.width / 2, y: state.arena.height / 2 };
    const m = state.margin;
    state.target = {
      x: c.x < state.arena.width / 2 ? state.arena.width - m : m,
      y: c.y < state.arena.height / 2 ? state.arena.height - m : m,
    };
  }
  // Close enough: sit still and let the others come.
  if (Math.hypot(state.target.x - pose.x, state.target.y - pose.y) < 0.05) return [0, 0];
  return steerTo(pose, state.target.x, state.target.y);
}
