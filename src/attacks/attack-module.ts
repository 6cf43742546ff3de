// User-written attacks for trials: a TypeScript or JavaScript file whose function maps what the compromised
// robot knows (its observation, its pose, the swarm's tracked poses, the command its policy intends, time)
// to a wheel command. Named `module:<path>` or by a path ending .ts/.mts/.js/.mjs wherever an attack is
// named. Loaded and validated before a run (a dry call on a synthetic swarm must return a finite command
// in [-1, 1]); at run time a throw, a non-finite or out-of-range command ends that robot's session: it is
// reported once and the robot is stopped for the rest of the injection, the run goes on.
import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SwarmSettings } from '../core/swarm-config.js';
import { RendezvousObserver } from '../core/observation.js';
import { UserError } from '../core/user-error.js';

export interface Pose {
  x: number;
  y: number;
  /** Heading, rad. */
  theta: number;
}

/** What the compromised robot knows when its attack decides one tick's command. */
export interface AttackInput<State = unknown> {
  /** The compromised robot's id and its index in the swarm (its pose is swarm[index]). */
  robot: string;
  index: number;
  /** Its own observation, as its policy sees it (a copy: changing it changes nothing). */
  observation: Float32Array;
  /** Its tracked pose, m and rad (arena frame, origin at a corner). */
  pose: Pose;
  /** Every robot's tracked pose, robot i's at i (itself included); NaN for a robot not located yet. */
  swarm: readonly Pose[];
  /** The normalised wheel command its own policy intends this tick. */
  intended: { left: number; right: number };
  /** Seconds and control ticks since this attack took over the robot. */
  time: number;
  tick: number;
  /** What init returned for this robot (undefined without init); mutate it to keep state between ticks. */
  state: State;
}

/** Told once per compromised robot, when the attack takes it over. */
export interface AttackSetup {
  robot: string;
  index: number;
  robots: number;
  /** Control period, s. */
  controlPeriod: number;
  /** Arena size, m. */
  arena: { width: number; height: number };
}

/** Normalised wheel command [left, right], each in [-1, 1]. */
export type WheelCommand = readonly [number, number];

export type AttackFunction<State = unknown> = (input: AttackInput<State>) => WheelCommand;

/**
 * What an attack module exports: the function as `attack` (or the default export), optionally `init`
 * (per-robot state, given to every call as input.state) and `name` (shown in events and tables; default: module:<file name>).
 */
export interface AttackModuleExports<State = unknown> {
  attack?: AttackFunction<State>;
  default?: AttackFunction<State>;
  init?: (setup: AttackSetup) => State;
  name?: string;
}

/** A loaded, validated attack module. */
export interface UserAttack {
  name: string;
  /** Absolute path of the file. */
  path: string;
  attack: AttackFunction;
  init: ((setup: AttackSetup) => unknown) | null;
}

/** The command of one tick, or why the attack failed (the robot is stopped then). */
export type AttackOutcome = { ok: true; left: number; right: number } | { ok: false; problem: string };

const MODULE_PREFIX = 'module:';
const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

/** Whether an attack reference names a module: `module:<path>`, or a path ending .ts/.mts/.js/.mjs. */
export function isAttackModuleRef(ref: string): boolean {
  return ref.startsWith(MODULE_PREFIX) || MODULE_EXTENSIONS.includes(extname(ref));
}

/** The module's file, resolved against `base` (the launch file's folder, or the working directory). */
export function attackModulePath(ref: string, base = process.cwd()): string {
  return resolve(base, ref.startsWith(MODULE_PREFIX) ? ref.slice(MODULE_PREFIX.length) : ref);
}

/** Imports and validates an attack module; every error names the file and the problem. */
export async function loadAttackModule(ref: string, settings: SwarmSettings, base?: string): Promise<UserAttack> {
  const path = attackModulePath(ref, base);
  const fail = (problem: string): never => {
    throw new UserError(`attack module ${path}: ${problem}`);
  };
  if (!MODULE_EXTENSIONS.includes(extname(path))) fail(`not a ${MODULE_EXTENSIONS.join('/')} file`);
  if (!existsSync(path)) fail('no such file');
  let exports: AttackModuleExports;
  try {
    // Node keeps a module once imported: edits to the file take effect in the next run (process).
    exports = (await import(pathToFileURL(path).href)) as AttackModuleExports;
  } catch (err) {
    return fail(`cannot be imported: ${(err as Error).message}`);
  }
  const attack = exports.attack ?? exports.default;
  if (typeof attack !== 'function') return fail("exports no attack function (export function attack(input) or export default)");
  if (exports.init !== undefined && typeof exports.init !== 'function') fail('init is exported but is not a function');
  if (exports.name !== undefined && (typeof exports.name !== 'string' || exports.name === '')) fail('name is exported but is not a non-empty string');
  const loaded: UserAttack = { name: exports.name ?? `module:${basename(path)}`, path, attack, init: exports.init ?? null };
  const dry = dryRun(loaded, settings);
  if (!dry.ok) fail(`failed its dry run on a synthetic swarm: ${dry.problem}`);
  return loaded;
}

/** One robot under a module attack: its state from init, the tick it was taken over, whether it failed. */
export class AttackSession {
  private state: unknown = undefined;
  private started = false;
  private failedWith: string | null = null;

  constructor(
    readonly module: UserAttack,
    readonly setup: AttackSetup,
  ) {}

  get failed(): string | null {
    return this.failedWith;
  }

  /**
   * This tick's command; a throw, a malformed, non-finite or out-of-range command fails the session (the
   * problem is returned once; later calls return it again without calling the module).
   */
  step(input: Omit<AttackInput, 'state' | 'robot' | 'index'>): AttackOutcome {
    if (this.failedWith !== null) return { ok: false, problem: this.failedWith };
    const outcome = this.call(input);
    if (!outcome.ok) this.failedWith = outcome.problem;
    return outcome;
  }

  private call(input: Omit<AttackInput, 'state' | 'robot' | 'index'>): AttackOutcome {
    try {
      if (!this.started) {
        this.started = true;
        this.state = this.module.init?.(this.setup);
      }
      return checkCommand(this.module.attack({ ...input, robot: this.setup.robot, index: this.setup.index, state: this.state }));
    } catch (err) {
      return { ok: false, problem: `threw: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

/** A returned command: a pair (an array or typed array of two) of finite numbers in [-1, 1]. */
export function checkCommand(c: unknown): AttackOutcome {
  if (c instanceof Promise) return { ok: false, problem: 'returned a Promise: an attack function answers within the tick (no async)' };
  const pair = ArrayBuffer.isView(c) && !(c instanceof DataView) ? Array.from(c as Float64Array) : c;
  if (!Array.isArray(pair) || pair.length !== 2) return { ok: false, problem: `returned ${describe(c)}, not a [left, right] pair` };
  const [left, right] = pair as unknown[];
  for (const [side, v] of [['left', left], ['right', right]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return { ok: false, problem: `returned a non-finite ${side} command (${describe(v)})` };
    if (v < -1 || v > 1) return { ok: false, problem: `returned a ${side} command of ${v}, outside [-1, 1]` };
  }
  return { ok: true, left: left as number, right: right as number };
}

function describe(v: unknown): string {
  try {
    return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    return String(v);
  }
}

/** The module's first tick on robot 0 of a synthetic swarm: robots on a circle about the arena's centre, policy at rest. */
function dryRun(module: UserAttack, settings: SwarmSettings): AttackOutcome {
  const n = settings.robotIds.length;
  const cx = settings.arenaWidth / 2;
  const cy = settings.arenaHeight / 2;
  const r = Math.min(cx, cy) / 2;
  const swarm = Array.from({ length: n }, (_, i) => ({ x: cx + r * Math.cos((2 * Math.PI * i) / n), y: cy + r * Math.sin((2 * Math.PI * i) / n), theta: 0 }));
  const session = new AttackSession(module, {
    robot: settings.robotIds[0]!,
    index: 0,
    robots: n,
    controlPeriod: settings.controlPeriod,
    arena: { width: settings.arenaWidth, height: settings.arenaHeight },
  });
  return session.step({
    observation: new Float32Array(new RendezvousObserver(settings.observation).size),
    pose: swarm[0]!,
    swarm,
    intended: { left: 0, right: 0 },
    time: 0,
    tick: 0,
  });
}
