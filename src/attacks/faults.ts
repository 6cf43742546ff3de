// Fault models: scripted ways a broken or hijacked robot drives, usable as a victim override.
import type { ActionOverride } from './override.js';

export const FAULT_NAMES = ['random', 'stuck', 'dead-wheel', 'spin'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** Uniform random wheel commands every tick. */
export const randomWheels: ActionOverride = {
  name: 'random',
  act(ctx, out) {
    out[0] = ctx.rng.range(-1, 1);
    out[1] = ctx.rng.range(-1, 1);
  },
};

/** Both wheels stuck: the robot does not move whatever it is told. */
export const stuckWheels: ActionOverride = {
  name: 'stuck',
  act(_ctx, out) {
    out[0] = 0;
    out[1] = 0;
  },
};

/** One dead wheel (the left one): the other wheel still follows the robot's own controller. */
export const deadWheel: ActionOverride = {
  name: 'dead-wheel',
  act(ctx, out) {
    out[0] = 0;
    out[1] = ctx.proposedRight;
  },
};

/** Full-speed spin on the spot, counter-clockwise. */
export const fullSpeedSpin: ActionOverride = {
  name: 'spin',
  act(_ctx, out) {
    out[0] = -1;
    out[1] = 1;
  },
};

const FAULTS: Record<FaultName, ActionOverride> = {
  random: randomWheels,
  stuck: stuckWheels,
  'dead-wheel': deadWheel,
  spin: fullSpeedSpin,
};

export function faultByName(name: string): ActionOverride {
  if (!(FAULT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown fault '${name}' (known: ${FAULT_NAMES.join(', ')})`);
  }
  return FAULTS[name as FaultName];
}
