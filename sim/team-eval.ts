// Seeded evaluation episodes of a deployed (ONNX) team on the twin, benign or with robots compromised: the
// protocol every robustness number in this project uses. With one victim per episode robot e mod N of
// episode e is the victim; with k victims, robots (e + floor(i N / k)) mod N for i < k (two: e mod N and
// (e + floor(N / 2)) mod N). In benign episodes the same robots are left out of the outcome metrics (not
// attacked), so benign and attacked results with as many victims score the same robots.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { OnnxAdversary, type AdversaryController } from '../src/policy/adversary.js';
import type { RendezvousMetrics } from '../src/core/rendezvous.js';
import type { TeamController } from '../src/policy/team.js';
import { AttackSession, attackModulePath, isAttackModuleRef, loadAttackModule, type UserAttack } from '../src/runtime/attack-module.js';
import type { SimSettings } from '../src/core/swarm-config.js';
import type { ControllerName } from './controllers.js';
import { makeController } from './episode.js';
import { summariseEpisodes, type EvalResult } from './evaluation.js';
import { FAULT_NAMES, faultByName, type FaultName } from './faults.js';
import { CommandOverride, type ActionOverride } from './override.js';
import { RendezvousWorld } from './world.js';

/** A reference controller (consensus, W-MSR, random wheels) driving the team, for comparison columns. */
export function controllerTeam(name: ControllerName, settings: SimSettings, seed: number): TeamController {
  const controller = makeController(name, settings, seed);
  return {
    name,
    act: (view, out) => controller.act(view.obs, view.envs * view.robots, out),
    resetEnv: () => {},
    release: async () => {},
  };
}

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
    throw new RangeError(`${what}: ${count} victims per episode in a swarm of ${robots} robots; from 1 to ${robots - 2} (at least two robots stay uncompromised)`);
  }
}

/**
 * Parses a matrix row: an attack reference (see loadAttack) on one victim per episode, or `<k>x:<attack>`
 * on k victims per episode (k >= 2, at least two robots stay uncompromised), each driven by the attack from
 * its own observation: `2x:fault:spin`, `2x:policies/attacks/posthoc-vs-mappo-rendezvous`, `2x:none` (the
 * benign row scoring the same robots).
 */
export async function loadAttackRow(ref: string, settings: SimSettings): Promise<AttackRow> {
  const multi = /^(\d+)x:(.*)$/.exec(ref);
  if (!multi || existsSync(ref)) return { attack: await loadAttack(ref, settings), victims: 1 };
  const victims = Number(multi[1]);
  if (victims < 2) throw new RangeError(`attack '${ref}': the '<k>x:' prefix is for k >= 2 victims; write '${multi[2]}' for one`);
  checkVictimCount(victims, settings.robots.length, `attack '${ref}'`);
  return { attack: await loadAttack(multi[2]!, settings), victims };
}

/**
 * Parses an attack reference: `none`, `fault:<name>`, `obs-noise:<epsilon>`, or a folder (an adversary's,
 * or a policy folder that ships its training adversaries, one picked as `<folder>@<name>` when there are
 * several, e.g. `policies/batpal-rendezvous@severity-3`), or an attack module (`module:<file>` or a path ending
 * .ts/.mts/.js/.mjs: src/runtime/attack-module.ts). Folders and modules are loaded; every error names the reference.
 */
export async function loadAttack(ref: string, settings: SimSettings): Promise<Attack> {
  if (ref === 'none') return { kind: 'none' };
  if (ref.startsWith('fault:')) {
    const fault = ref.slice('fault:'.length);
    if (!(FAULT_NAMES as readonly string[]).includes(fault)) throw new RangeError(`attack '${ref}': unknown fault '${fault}' (known: ${FAULT_NAMES.join(', ')})`);
    return { kind: 'fault', fault: fault as FaultName };
  }
  if (ref.startsWith('obs-noise:')) {
    const epsilon = Number(ref.slice('obs-noise:'.length));
    if (!(Number.isFinite(epsilon) && epsilon > 0)) throw new RangeError(`attack '${ref}': the noise bound must be a number > 0`);
    return { kind: 'observation-noise', epsilon };
  }
  if (isAttackModuleRef(ref)) return { kind: 'module', module: await loadAttackModule(ref, settings) };
  // A folder whose own name holds an '@' is taken whole.
  const at = existsSync(ref) ? -1 : ref.lastIndexOf('@');
  return { kind: 'adversary', adversary: await OnnxAdversary.load(at > 0 ? ref.slice(0, at) : ref, settings.observation, at > 0 ? ref.slice(at + 1) : undefined) };
}

export interface TeamEvalOptions {
  episodes: number;
  seed: number;
  /** Benign without. */
  attack?: Attack;
  /**
   * Compromised robots per episode (default 1; see episodeVictims), each attacked the same way. Benign
   * episodes leave as many robots out of the metrics.
   */
  victims?: number;
  /** Told when an attack module fails on a victim (that victim is stopped for the rest of its episode). */
  onAttackError?: (failure: { env: number; robot: string; problem: string }) => void;
}

/**
 * An attack module as a victim override in the twin: one session per victim (its own init state), fed the
 * victim's observation, the episode's tracked poses and its controller's proposal. A failed session holds
 * the victim still, as the runtime's safety layer does.
 */
function moduleOverride(module: UserAttack, world: RendezvousWorld, settings: SimSettings, onError: TeamEvalOptions['onAttackError']): ActionOverride {
  const sessions = new Map<number, AttackSession>();
  const N = world.robots;
  const arena = { width: settings.arenaWidth, height: settings.arenaHeight };
  return {
    name: module.name,
    act(ctx, out) {
      const g = ctx.env * N + ctx.robot;
      let session = sessions.get(g);
      if (!session || ctx.step === 0) {
        session = new AttackSession(module, { robot: settings.robotIds[ctx.robot]!, index: ctx.robot, robots: N, controlPeriod: settings.controlPeriod, arena });
        sessions.set(g, session);
      }
      const wasFailed = session.failed !== null;
      const t = world.tracked;
      const swarm = Array.from({ length: N }, (_, k) => ({ x: t.x[ctx.env * N + k]!, y: t.y[ctx.env * N + k]!, theta: t.heading[ctx.env * N + k]! }));
      const r = session.step({
        observation: ctx.observation.slice(ctx.obsOffset, ctx.obsOffset + world.obsSize),
        pose: swarm[ctx.robot]!,
        swarm,
        intended: { left: ctx.proposedLeft, right: ctx.proposedRight },
        time: ctx.step * settings.controlPeriod,
        tick: ctx.step,
      });
      if (r.ok) {
        out[0] = r.left;
        out[1] = r.right;
        return;
      }
      if (!wasFailed) onError?.({ env: ctx.env, robot: settings.robotIds[ctx.robot]!, problem: `${module.name}: ${r.problem}` });
      out[0] = 0;
      out[1] = 0;
    },
  };
}

/** Every episode's metrics; all episodes side by side, every tick one batched call per network, as the runtime runs them. */
export async function evaluateTeamEpisodes(settings: SimSettings, team: TeamController, o: TeamEvalOptions): Promise<RendezvousMetrics[]> {
  const world = new RendezvousWorld(settings, { envs: o.episodes, seed: o.seed, autoReset: false });
  const N = world.robots;
  const attack = o.attack ?? { kind: 'none' };
  const victims = o.victims ?? 1;
  if (victims !== 1) checkVictimCount(victims, N, 'evaluation');
  // One adversary command per victim: slot i of episode e at victim row e * victims + i (the adversary's batch order).
  const override = new CommandOverride(o.episodes, victims);
  const victimRows: number[] = [];
  for (let e = 0; e < o.episodes; e++) {
    const robots = episodeVictims(e, N, victims);
    world.setScoredOut(e, robots);
    if (attack.kind === 'none') continue;
    world.setVictims(
      e,
      robots.map((robot) => {
        if (attack.kind === 'adversary') return { robot, override };
        if (attack.kind === 'fault') return { robot, override: faultByName(attack.fault) };
        if (attack.kind === 'module') return { robot, override: moduleOverride(attack.module, world, settings, o.onAttackError) };
        return { robot, observationNoise: attack.epsilon };
      }),
    );
    for (const robot of robots) victimRows.push(e * N + robot);
  }
  const actions = new Float32Array(2 * o.episodes * N);
  for (let e = 0; e < o.episodes; e++) team.resetEnv(e);
  for (let t = 0; t < settings.episodeSteps; t++) {
    await team.act(world, actions);
    if (attack.kind === 'adversary') await attack.adversary.act(world.obs, victimRows, override.commands);
    world.step(actions);
  }
  return Array.from({ length: o.episodes }, (_, e) => world.metrics(e));
}

/** The episodes of evaluateTeamEpisodes, summarised. */
export async function evaluateTeam(settings: SimSettings, team: TeamController, o: TeamEvalOptions): Promise<EvalResult> {
  return summariseEpisodes(await evaluateTeamEpisodes(settings, team, o));
}
