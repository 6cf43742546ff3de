// The attack library: what can compromise a robot (a trained adversary, a fault, bounded observation noise, a
// user-written attack module), how an attack is named in launch files, matrices and the console, and how a
// reference is resolved and loaded. Shared by the runtime (trials), the evaluations and the training loops.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SwarmSettings } from '../core/swarm-config.js';
import { OnnxAdversary, type AdversaryController } from '../policy/adversary.js';
import { attackModulePath, isAttackModuleRef, loadAttackModule, type UserAttack } from './attack-module.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { UserError } from '../core/user-error.js';

/** What compromises the victim. An adversary is a loaded ONNX one or a trainer's own (tfjs) network. */
export type Attack =
  | { kind: 'none' }
  | { kind: 'adversary'; adversary: AdversaryController }
  | { kind: 'fault'; fault: FaultName }
  | { kind: 'observation-noise'; epsilon: number }
  | { kind: 'module'; module: UserAttack };

export function attackName(a: Attack): string {
  switch (a.kind) {
    case 'none':
      return 'none';
    case 'adversary':
      return a.adversary.name;
    case 'fault':
      return `fault:${a.fault}`;
    case 'observation-noise':
      return `obs-noise:${a.epsilon}`;
    case 'module':
      return a.module.name;
  }
}

/** A built-in attack reference (`fault:<name>`, `obs-noise:<epsilon>`): no folder to load, no path to resolve. */
export function isBuiltinAttack(ref: string): boolean {
  return ref.startsWith('fault:') || ref.startsWith('obs-noise:');
}

/** An attack reference with its path (a folder or an attack module) resolved against `base`; built-ins as they are. */
export function resolveAttackRef(ref: string, base: string): string {
  if (isBuiltinAttack(ref) || ref === 'none') return ref;
  return isAttackModuleRef(ref) ? `module:${attackModulePath(ref, base)}` : resolve(base, ref);
}

/** An attack on `victims` robots per episode, each victim compromised the same way: a row of the evaluation matrix. */
export interface AttackRow {
  attack: Attack;
  victims: number;
}

/** `none`, `fault:spin`, ...; with several victims prefixed `<k>x:` (`2x:fault:spin`). */
export function attackRowName(row: AttackRow): string {
  return row.victims === 1 ? attackName(row.attack) : `${row.victims}x:${attackName(row.attack)}`;
}

/**
 * The victims of episode e of a swarm of N, spread evenly over the robot indices: (e + floor(i N / k)) mod N
 * for i < k. One victim: robot e mod N; two: e mod N and (e + floor(N / 2)) mod N.
 */
export function episodeVictims(e: number, robots: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (e + Math.floor((i * robots) / count)) % robots);
}

/** Victims per episode such that at least two robots stay scored: from 1 to N - 2 (throws naming `what`). */
export function checkVictimCount(count: number, robots: number, what: string): void {
  if (!(Number.isInteger(count) && count >= 1 && count <= robots - 2)) {
    throw new UserError(`${what}: ${count} victims per episode in a swarm of ${robots} robots; from 1 to ${robots - 2} (at least two robots stay uncompromised)`);
  }
}

/**
 * Parses a matrix row: an attack reference (see loadAttack) on one victim per episode, or `<k>x:<attack>`
 * on k victims per episode (k >= 2, at least two robots stay uncompromised), each driven by the attack from
 * its own observation: `2x:fault:spin`, `2x:policies/attacks/posthoc-vs-mappo-rendezvous`, `2x:none` (the
 * benign row scoring the same robots).
 */
export async function loadAttackRow(ref: string, settings: SwarmSettings): Promise<AttackRow> {
  const multi = /^(\d+)x:(.*)$/.exec(ref);
  if (!multi || existsSync(ref)) return { attack: await loadAttack(ref, settings), victims: 1 };
  const victims = Number(multi[1]);
  if (victims < 2) throw new UserError(`attack '${ref}': the '<k>x:' prefix is for k >= 2 victims; write '${multi[2]}' for one`);
  checkVictimCount(victims, settings.robots.length, `attack '${ref}'`);
  return { attack: await loadAttack(multi[2]!, settings), victims };
}

/**
 * Parses an attack reference: `none`, `fault:<name>`, `obs-noise:<epsilon>`, or a folder (an adversary's,
 * or a policy folder that ships its training adversaries, one picked as `<folder>@<name>` when there are
 * several, e.g. `policies/batpal-rendezvous@severity-3`), or an attack module (`module:<file>` or a path ending
 * .ts/.mts/.js/.mjs: src/attacks/attack-module.ts). Folders and modules are loaded; every error names the reference.
 */
export async function loadAttack(ref: string, settings: SwarmSettings): Promise<Attack> {
  if (ref === 'none') return { kind: 'none' };
  if (ref.startsWith('fault:')) {
    const fault = ref.slice('fault:'.length);
    if (!(FAULT_NAMES as readonly string[]).includes(fault)) throw new UserError(`attack '${ref}': unknown fault '${fault}' (known: ${FAULT_NAMES.join(', ')})`);
    return { kind: 'fault', fault: fault as FaultName };
  }
  if (ref.startsWith('obs-noise:')) {
    const epsilon = Number(ref.slice('obs-noise:'.length));
    if (!(Number.isFinite(epsilon) && epsilon > 0)) throw new UserError(`attack '${ref}': the noise bound must be a number > 0`);
    return { kind: 'observation-noise', epsilon };
  }
  if (isAttackModuleRef(ref)) return { kind: 'module', module: await loadAttackModule(ref, settings) };
  // A folder whose own name holds an '@' is taken whole.
  const at = existsSync(ref) ? -1 : ref.lastIndexOf('@');
  return { kind: 'adversary', adversary: await OnnxAdversary.load(at > 0 ? ref.slice(0, at) : ref, settings.observation, at > 0 ? ref.slice(at + 1) : undefined) };
}

