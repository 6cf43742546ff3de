// Mimic then defect: the compromised robot does exactly what its policy intends for the first MIMIC_S
// seconds of the attack (indistinguishable from a benign robot: the monitor should see nothing), then
// drives the reverse of every intended command.
// Use: attack: attacks/mimic-then-defect.ts (launch file), or `inject epuck-3 launch/attacks/mimic-then-defect.ts 20`.
import type { AttackInput, WheelCommand } from '../../src/attacks/attack-module.js';

export const name = 'mimic-then-defect';

/** Seconds of perfect mimicry before the defection. */
export const MIMIC_S = 5;

/** A policy's raw output may overshoot [-1, 1]; an attack must not (it would be stopped). */
const clamp = (v: number) => Math.max(-1, Math.min(1, v));

export function attack({ intended, time }: AttackInput): WheelCommand {
  const sign = time < MIMIC_S ? 1 : -1;
  return [clamp(sign * intended.left), clamp(sign * intended.right)];
}
