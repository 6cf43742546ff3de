// One control tick of a deployed swarm, and a whole run of them. Per tick:
//   poses from the link -> SwarmView (shared observation code) -> the policy for every robot hosted here
//   (one batched call per network) -> injections replace compromised robots' commands (trial mode only)
//   -> safety layer -> link; then the monitor scores every robot from what it intended and how it moved.
// Everything that happens is an event with its tick; the ground truth of every injection is among them.
import { makeStreams, type RandomStream } from '../core/random.js';
import { PAIR_DIM, perturbObservation } from '../core/observation.js';
import type { RobotParams } from '../core/robot-params.js';
import type { Attack } from '../attacks/attack.js';
import { attackName } from '../attacks/attack.js';
import { faultByName } from '../attacks/faults.js';
import { aggregateBeliefs, DEFAULT_MONITOR, SwarmMonitor, type MonitorAlert, type MonitorSettings, beliefEvidence } from '../monitor/monitor.js';
import type { SwarmSettings } from '../core/swarm-config.js';
import type { OnnxTeam } from '../policy/team.js';
import type { RobotLink } from './link.js';
import { DEFAULT_SAFETY, SafetyLayer, type SafetySettings, type StopReason } from './safety.js';
import { SwarmView } from './swarm-view.js';
import { AttackSession } from '../attacks/attack-module.js';
import type { PhaseLap } from '../core/phase-timer.js';
import { UserError } from '../core/user-error.js';
import { trainingPrior } from '../policy/pair-beliefs.js';
import { FlagResponse, PROBATION_S, type IsolationEvent, type OnFlag } from './isolation.js';
import { TickSnapshot, type TickRecord } from './tick-snapshot.js';

/**
 * An injection resolved against the swarm: robot index, the ticks it spans [from, to), the attack; with
 * onTicks/offTicks it is intermittent: on for onTicks, off for offTicks, again and again from fromTick.
 */
export interface Injection {
  robot: number;
  fromTick: number;
  toTick: number;
  attack: Attack;
  onTicks?: number;
  offTicks?: number;
}

/** Whether the injection compromises its robot at tick t (within its span, and in an on-phase if intermittent). */
export function isActive(inj: Injection, t: number): boolean {
  if (!(t >= inj.fromTick && t < inj.toTick)) return false;
  if (inj.onTicks === undefined || inj.offTicks === undefined) return true;
  return (t - inj.fromTick) % (inj.onTicks + inj.offTicks) < inj.onTicks;
}

export type RunEvent =
  | { tick: number; kind: 'injection-start' | 'injection-end'; robot: string; attack: string }
  | MonitorAlert
  | { tick: number; kind: 'stop'; robot: string; reason: StopReason }
  /** An attack module failed (threw, or returned a non-finite or out-of-range command): its robot is stopped. */
  | { tick: number; kind: 'attack-error'; robot: string; attack: string; problem: string }
  /** robot: the one robot an e-stop or release is for (a distributed run's bridge stops robots one by one); absent: every robot. */
  | { tick: number; kind: 'e-stop' | 'release' | 'pause' | 'resume'; reason: string; robot?: string }
  /** An operator ended a robot's injections before their time (its injection-end follows at the same tick). */
  | { tick: number; kind: 'end-injection'; robot: string; reason: string }
  /** A flagged robot isolated, its isolation ended, or what a flag does changed (src/runtime/isolation.ts). */
  | IsolationEvent;

export type { TickRecord } from './tick-snapshot.js';

export interface TrialParts {
  ids: readonly string[];
  robots: readonly RobotParams[];
  team: OnnxTeam;
  link: RobotLink;
  safety: SafetyLayer;
  monitor: SwarmMonitor;
  controlPeriod: number;
  /** Injections are refused unless the run is a trial (checked here as well as when the launch file is read). */
  trialMode: boolean;
  injections: Injection[];
  seed: number;
  /** What a flag does (monitor.onFlag); report when absent. */
  onFlag?: OnFlag;
  /** Told as each phase of a tick ends (`npm run bench:runtime` times them); none in a deployed run. */
  timer?: PhaseLap;
  /**
   * Keep every tick's record in `records` (default true: a test or a sim script reads them at the end).
   * `swarmguard run` keeps none: it streams each tick (lastRecord) to its services and the run's summary
   * (RunTally), so that a long run's memory does not grow with its length; eval-monitor and eval-isolation
   * follow their episodes' outcome from the snapshot (GatherWatch).
   */
  keepRecords?: boolean;
}

export class TrialRun {
  readonly view: SwarmView;
  readonly events: RunEvent[] = [];
  /** Every tick's record, where the run keeps them (TrialParts.keepRecords); empty otherwise. */
  readonly records: TickRecord[] = [];
  /** The last tick as typed arrays, overwritten every tick (what lastRecord is built from). */
  readonly snapshot: TickSnapshot;
  private latest: TickRecord | null = null;
  /** What flags do, and which robots are isolated now. */
  readonly response: FlagResponse;
  tick = 0;
  private readonly rng: RandomStream;
  private readonly intended: Float32Array;
  private readonly expected: Float32Array;
  private readonly commands: Float32Array;
  /** Every ordered pair's belief features (N^2): only for a team whose beliefs are dense (see OnnxTeam.livePairs). */
  private pairs = new Float32Array(0);
  /** P(compromised) of a robot in the belief network's training episodes, divided out of its beliefs (NaN: no belief network). */
  private readonly beliefPrior: number;
  /** One observer's evidence from its P(compromised), against that prior (the live-pair aggregation's per-pair term). */
  private readonly evidence: ((p: number) => number) | null;
  private lastStop: (StopReason | null)[];
  /** This run's injections (its own list: ones added mid-run are not the launch file's), and which have started. */
  private readonly plan: Injection[];
  private readonly started = new Set<Injection>();

  constructor(readonly parts: TrialParts) {
    const N = parts.ids.length;
    if (parts.link.ids.length !== N || parts.link.ids.some((id, i) => id !== parts.ids[i])) {
      throw new UserError(`the link's robots (${parts.link.ids.join(', ')}) are not the swarm's (${parts.ids.join(', ')})`);
    }
    if (!parts.trialMode && parts.injections.length > 0) throw new UserError('injections are refused outside trial mode (set trial: true in the launch file)');
    for (const inj of parts.injections) {
      if (!(inj.robot >= 0 && inj.robot < N)) throw new UserError(`injection for unknown robot index ${inj.robot}`);
    }
    this.view = SwarmView.forPolicy(parts.team, N, parts.controlPeriod);
    this.beliefPrior = parts.team.usesBeliefs ? trainingPrior(parts.team.policy.manifest) : Number.NaN;
    this.evidence = parts.team.usesBeliefs ? beliefEvidence(this.beliefPrior) : null;
    this.rng = makeStreams(parts.seed, 1)[0]!;
    this.intended = new Float32Array(2 * N);
    this.expected = new Float32Array(2 * N);
    this.commands = new Float32Array(2 * N);
    this.lastStop = new Array<StopReason | null>(N).fill(null);
    this.snapshot = new TickSnapshot(N);
    this.plan = [...parts.injections];
    // Flagged robots are left out of the others' observations (and held still) as monitor.onFlag says.
    this.response = new FlagResponse(parts.ids, parts.onFlag, Math.max(1, Math.round(PROBATION_S / parts.controlPeriod)));
    this.view.isolateWith(this.response.isolated);
    parts.safety.holdWhere((i) => this.response.holds(i));
    // A run that acts on flags says so in its events from the start (a replay reads what flags did from them).
    if (this.response.onFlag !== 'report') this.events.push({ tick: 0, kind: 'on-flag', onFlag: this.response.onFlag, reason: 'launch' });
    // A trial starts from fresh recurrent states and monitor statistics.
    parts.team.resetEnv(0);
    parts.monitor.reset();
  }

  /** The last tick's record (built on first ask, then the same object until the next tick); none before the first tick. */
  get lastRecord(): TickRecord | undefined {
    if (this.snapshot.tick < 0) return undefined;
    this.latest ??= this.snapshot.toRecord();
    return this.latest;
  }

  /** The run's injections so far: the launch file's and those added during the run. */
  get injections(): readonly Injection[] {
    return this.plan;
  }

  private active(tick: number): Injection[] {
    return this.plan.filter((inj) => isActive(inj, tick));
  }

  /** One control tick; returns the monitor's alerts of this tick. */
  async step(): Promise<MonitorAlert[]> {
    const { ids, team, link, safety, monitor, timer } = this.parts;
    const N = ids.length;
    const t = this.tick;
    const now = link.now();
    this.events.push(...groundTruth(this.plan, this.started, t, ids));
    // Poses: a robot without a fresh, finite pose keeps its last one in the observations and is stopped below.
    const timed = link.poses();
    timer?.lap('link');
    const poses = this.view.usable(timed);
    this.view.update(poses);
    timer?.lap('observation');
    // The policy of every robot from its own (clean) observation: what the monitor expects of it.
    await team.act(this.view, this.intended, timer);
    this.commands.set(this.intended);
    timer?.lap('actor');
    // What a benign robot would execute: its policy's command through the safety layer (the monitor's
    // expectation: a robot the safety layer stops is not suspicious for standing still).
    safety.checkAllInto(this.intended, timed, now, this.expected);
    const active = this.active(t);
    for (const inj of active) await this.compromise(inj, t);
    safety.filterAllInto(this.commands, timed, now, this.commands);
    for (let i = 0; i < N; i++) {
      const stopped = safety.reasons[i]!;
      if (stopped !== this.lastStop[i] && stopped !== null) this.events.push({ tick: t, kind: 'stop', robot: ids[i]!, reason: stopped });
      this.lastStop[i] = stopped;
    }
    timer?.lap('safety');
    for (let i = 0; i < N; i++) link.send(i, this.commands[2 * i]!, this.commands[2 * i + 1]!);
    timer?.lap('link');
    this.view.sent(this.commands);
    // Live pairs (a deployed team, see OnnxTeam.setForgetAfter) were built from the pair features of this
    // tick's observation; dense beliefs need every pair's features to know who sees whom.
    const live = team.usesBeliefs ? team.livePairs : null;
    if (team.usesBeliefs && !live) {
      if (this.pairs.length !== N * N * PAIR_DIM) this.pairs = new Float32Array(N * N * PAIR_DIM);
      this.view.pairFeatures(0, this.pairs);
    }
    timer?.lap('observation');
    let beliefs = null;
    if (live && this.evidence) beliefs = live.meanOverObservers(this.evidence);
    else if (team.usesBeliefs) beliefs = aggregateBeliefs(team.lastBeliefs, team.beliefsPerPair, N, (i, j) => this.view.inRange(this.pairs, i, j), this.beliefPrior);
    const alerts = monitor.update(t, { poses, motion: this.view.motion, policyCommandsAfterSafety: this.expected, beliefs });
    for (const a of alerts) this.events.push(a);
    this.events.push(...this.response.update(t, monitor.flagged));
    timer?.lap('monitor');
    this.writeSnapshot(t, now, poses, beliefs, active);
    if (this.parts.keepRecords !== false) this.records.push(this.lastRecord!);
    timer?.lap('record');
    this.tick++;
    return alerts;
  }

  /** This tick's record into the snapshot: the tick's arrays and writeMonitorView's, copied, no object per robot. */
  private writeSnapshot(t: number, now: number, poses: readonly { x: number; y: number; theta: number }[], beliefs: { observers: ArrayLike<number> } | null, active: readonly Injection[]): void {
    const s = this.snapshot;
    s.tick = t;
    s.timeMs = now;
    s.readTruePoses(this.parts.link);
    s.intended.set(this.intended);
    s.commands.set(this.commands);
    for (let i = 0; i < s.robots; i++) s.stopped[i] = this.lastStop[i]!;
    writeMonitorView(s, this.view, poses, beliefs, this.parts.monitor);
    s.compromised = active.map((a) => a.robot);
    this.latest = null;
  }

  /** Replaces robot inj.robot's command: a trained adversary or a fault drives it, or it sees through noise. */
  private async compromise(inj: Injection, t: number): Promise<void> {
    const out = new Float32Array(2);
    const { ids, controlPeriod, safety } = this.parts;
    const modules: ModuleContext = { ids, controlPeriod, arena: safety.arena, report: (problem) => this.events.push({ tick: t, kind: 'attack-error', robot: ids[inj.robot]!, attack: attackName(inj.attack), problem }) };
    if (!(await compromisedCommand(inj, t, { view: this.view, intended: this.intended, team: this.parts.team, rng: this.rng, modules }, out))) return;
    this.commands[2 * inj.robot] = out[0]!;
    this.commands[2 * inj.robot + 1] = out[1]!;
  }

  /**
   * An injection decided during the run (an operator at the console): robot i compromised from the next
   * tick for `ticks` ticks (intermittently with onTicks/offTicks). Refused outside trial mode or for an unknown robot.
   */
  inject(robot: number, attack: Attack, ticks: number, intermittent?: { onTicks?: number; offTicks?: number }): Injection {
    if (!this.parts.trialMode) throw new UserError('injections are refused outside trial mode (set trial: true in the launch file)');
    if (!(robot >= 0 && robot < this.parts.ids.length)) throw new UserError(`no robot ${robot} in this swarm`);
    if (!(ticks >= 1)) throw new UserError(`an injection lasts at least one tick, got ${ticks}`);
    const { onTicks, offTicks } = intermittent ?? {};
    const inj: Injection = { robot, fromTick: this.tick, toTick: this.tick + Math.round(ticks), attack, ...(onTicks !== undefined && offTicks !== undefined ? { onTicks, offTicks } : {}) };
    this.plan.push(inj);
    return inj;
  }

  /**
   * The operator ends robot i's injections now (trial mode): those acting or planned no longer act from this
   * tick on, so the robot is back under its policy at once (the ground truth records their end). Refused
   * when nothing is acting or planned on it.
   */
  endInjections(robot: number, who: string): void {
    if (!(robot >= 0 && robot < this.parts.ids.length)) throw new UserError(`no robot ${robot} in this swarm`);
    const t = this.tick;
    const ending = this.plan.filter((inj) => inj.robot === robot && inj.toTick > t);
    if (ending.length === 0) throw new UserError(`no injection on ${this.parts.ids[robot]} is running or planned`);
    for (const inj of ending) inj.toTick = Math.max(inj.fromTick, t);
    this.events.push({ tick: t, kind: 'end-injection', robot: this.parts.ids[robot]!, reason: who });
  }

  /** The operator changes what a flag does (from this tick: robots flagged now are isolated or released at once). */
  setOnFlag(onFlag: OnFlag, who: string): void {
    this.events.push(...this.response.set(onFlag, this.tick, this.parts.monitor.flagged, who));
  }

  engageEStop(reason: string): void {
    this.parts.safety.engageEStop(reason);
    this.events.push({ tick: this.tick, kind: 'e-stop', reason });
  }

  releaseEStop(reason = 'operator'): void {
    this.parts.safety.release();
    this.events.push({ tick: this.tick, kind: 'release', reason });
  }

  /** Stop (ROS 2 / dashboard "stop"): every robot held still until resume(); unlike the e-stop, not an emergency. */
  pause(reason: string): void {
    this.parts.safety.pause();
    this.events.push({ tick: this.tick, kind: 'pause', reason });
  }

  resume(reason: string): void {
    this.parts.safety.resume();
    this.events.push({ tick: this.tick, kind: 'resume', reason });
  }
}

/**
 * Ground truth at tick t: an injection's start is recorded at the first tick it acts in (one added while a
 * tick was running starts at the next), its end at the first tick it no longer does; an intermittent one
 * starts and ends once per on-phase. `started` holds the injections acting now and is updated.
 */
export function groundTruth(plan: readonly Injection[], started: Set<Injection>, t: number, ids: readonly string[]): RunEvent[] {
  const events: RunEvent[] = [];
  for (const inj of plan) {
    const on = isActive(inj, t);
    if (on && !started.has(inj)) {
      started.add(inj);
      events.push({ tick: t, kind: 'injection-start', robot: ids[inj.robot]!, attack: attackName(inj.attack) });
    } else if (!on && started.has(inj)) {
      started.delete(inj);
      events.push({ tick: t, kind: 'injection-end', robot: ids[inj.robot]!, attack: attackName(inj.attack) });
    }
  }
  return events;
}

/** What an attack module needs besides the view: the swarm's ids, the control period, the arena, and where failures go. */
export interface ModuleContext {
  ids: readonly string[];
  controlPeriod: number;
  arena: { width: number; height: number };
  report: (problem: string) => void;
}

/** One session per injection: an attack module's state lives as long as its injection. */
const sessions = new WeakMap<Injection, AttackSession>();

/**
 * The command of a compromised robot at tick t into out (left, right): a trained adversary or a fault drives
 * it, or it runs its own policy on noisy sensing (the team's actor with the beliefs of its last act()).
 * `intended` is what the policy commanded every robot (robot i's at 2i); false if the attack changes nothing.
 * `elsewhere`: the robot is driven by another process (distributed runtime); only the draws its attack makes
 * from the run's random stream are made, so that this process's copy of the stream stays in step, and
 * nothing is computed (false is returned).
 */
export async function compromisedCommand(
  inj: Injection,
  t: number,
  at: { view: SwarmView; intended: Float32Array; team: OnnxTeam; rng: RandomStream; modules?: ModuleContext },
  out: Float32Array,
  elsewhere = false,
): Promise<boolean> {
  const g = inj.robot;
  const a = inj.attack;
  const { view, intended, rng } = at;
  if (a.kind === 'adversary') {
    if (elsewhere) return false; // a trained adversary draws nothing
    await a.adversary.act(view.obs, [g], out);
  } else if (a.kind === 'fault') {
    const o64 = new Float64Array(2);
    faultByName(a.fault).act(
      { env: 0, robot: g, victimSlot: 0, step: t, observation: view.obs, obsOffset: g * view.observer.size, proposedLeft: intended[2 * g]!, proposedRight: intended[2 * g + 1]!, rng },
      o64,
    );
    if (elsewhere) return false;
    out.set(o64);
  } else if (a.kind === 'observation-noise') {
    // The robot runs its own policy on what its corrupted sensing gives it.
    const noisy = view.obs.slice();
    perturbObservation(noisy, g * view.observer.size, view.observer.layout, a.epsilon, rng);
    if (elsewhere) return false;
    await at.team.actorOnly(noisy, [g], out);
  } else if (a.kind === 'module') {
    if (elsewhere) return false; // a module draws nothing from the run's stream
    moduleCommand(inj, t, view, intended, at.modules, out);
  } else return false;
  return true;
}

/**
 * An attack module's command for robot inj.robot at tick t; on failure (reported once) NaN, which the
 * safety layer answers by stopping the robot (invalid-command) for as long as the injection lasts.
 */
function moduleCommand(inj: Injection, t: number, view: SwarmView, intended: Float32Array, ctx: ModuleContext | undefined, out: Float32Array): void {
  if (inj.attack.kind !== 'module') return;
  if (!ctx) throw new Error(`attack module ${inj.attack.module.name} needs the run's module context`);
  const g = inj.robot;
  let session = sessions.get(inj);
  if (!session) {
    session = new AttackSession(inj.attack.module, { robot: ctx.ids[g]!, index: g, robots: ctx.ids.length, controlPeriod: ctx.controlPeriod, arena: ctx.arena });
    sessions.set(inj, session);
  }
  const wasFailed = session.failed !== null;
  const f = view.frame;
  const swarm = ctx.ids.map((_, k) => (view.located(k) ? { x: f.x[k]!, y: f.y[k]!, theta: f.heading[k]! } : { x: Number.NaN, y: Number.NaN, theta: Number.NaN }));
  const size = view.observer.size;
  const r = session.step({
    observation: view.obs.slice(g * size, (g + 1) * size),
    pose: swarm[g]!,
    swarm,
    intended: { left: intended[2 * g]!, right: intended[2 * g + 1]! },
    time: (t - inj.fromTick) * ctx.controlPeriod,
    tick: t - inj.fromTick,
  });
  if (r.ok) {
    out[0] = r.left;
    out[1] = r.right;
    return;
  }
  if (!wasFailed) ctx.report(r.problem);
  out[0] = Number.NaN;
  out[1] = Number.NaN;
}

/** Per robot: whether and when it was compromised and flagged, and the detection delay. */
export interface RobotOutcome {
  robot: string;
  compromisedTicks: number;
  flaggedTicks: number;
  /** First flag at or after the first injection tick, ticks after it (null: never flagged while attacked). */
  detectionDelayTicks: number | null;
  /** Flags raised while the robot was not compromised. */
  falseFlags: number;
}

/** Per robot, what a run's ticks say of it: ticks compromised, ticks flagged, the first tick compromised (null: never). */
export interface RobotTicks {
  compromisedTicks: ArrayLike<number>;
  flaggedTicks: ArrayLike<number>;
  firstAttack: readonly (number | null)[];
}

/** Flags against the ground truth of the injections, from a run's kept tick records. */
export function outcomes(run: { parts: { ids: readonly string[] }; records: readonly TickRecord[]; events: readonly RunEvent[] }): RobotOutcome[] {
  const N = run.parts.ids.length;
  const ticks: RobotTicks = { compromisedTicks: new Float64Array(N), flaggedTicks: new Float64Array(N), firstAttack: new Array<number | null>(N).fill(null) };
  for (const r of run.records) countTick(ticks, r.tick, (i) => r.flagged[i] === true, r.compromised);
  return outcomesOf(run.parts.ids, ticks, (tick) => run.records[tick]?.compromised ?? [], run.events);
}

/** Adds one tick to the per-robot counts (a robot listed twice in `compromised` counts once). */
export function countTick(ticks: RobotTicks, tick: number, flagged: (i: number) => boolean, compromised: readonly number[]): void {
  const c = ticks.compromisedTicks as Float64Array;
  const f = ticks.flaggedTicks as Float64Array;
  const first = ticks.firstAttack as (number | null)[];
  for (let i = 0; i < f.length; i++) if (flagged(i)) f[i]!++;
  compromised.forEach((i, k) => {
    if (compromised.indexOf(i) !== k || !(i >= 0 && i < c.length)) return;
    c[i]!++;
    first[i] ??= tick;
  });
}

/**
 * Flags against the ground truth: `ticks` the per-robot counts over the run, `compromisedAt(tick)` the robots
 * compromised at a tick ([] past the last), `events` the run's (its flags).
 */
export function outcomesOf(ids: readonly string[], ticks: RobotTicks, compromisedAt: (tick: number) => readonly number[], events: readonly RunEvent[]): RobotOutcome[] {
  const flagsOf = new Map<string, MonitorAlert[]>();
  for (const e of events) {
    if (e.kind !== 'flag') continue;
    const own = flagsOf.get(e.robot);
    if (own) own.push(e);
    else flagsOf.set(e.robot, [e]);
  }
  return ids.map((robot, i) => {
    const firstAttack = ticks.firstAttack[i] ?? null;
    const flags = flagsOf.get(robot) ?? [];
    const attackedAt = (tick: number) => compromisedAt(tick).includes(i);
    // A detection is a flag raised while the robot is compromised (a later one is a false flag).
    const hit = firstAttack === null ? undefined : flags.find((f) => attackedAt(f.tick));
    return {
      robot,
      compromisedTicks: ticks.compromisedTicks[i]!,
      flaggedTicks: ticks.flaggedTicks[i]!,
      detectionDelayTicks: hit && firstAttack !== null ? hit.tick - firstAttack : null,
      falseFlags: flags.filter((f) => !attackedAt(f.tick)).length,
    };
  });
}

/**
 * A tick's poses and monitor signals into its snapshot (shared by the run and the distributed monitor): a
 * robot not located yet has no pose (NaN, null in a record's JSON); the monitor's belief signal in [0, 1]
 * (its CUSUM of the prior-corrected evidence over its threshold), as telemetry, the dashboard and recordings
 * carry it, only where some robot observes it (a record's belief is null elsewhere, and with no belief network).
 */
export function writeMonitorView(
  s: TickSnapshot,
  view: SwarmView,
  poses: readonly { x: number; y: number; theta: number }[],
  beliefs: { observers: ArrayLike<number> } | null,
  monitor: SwarmMonitor,
): void {
  for (let i = 0; i < s.robots; i++) {
    const p = poses[i]!;
    const located = view.located(i);
    s.poses[3 * i] = located ? p.x : Number.NaN;
    s.poses[3 * i + 1] = located ? p.y : Number.NaN;
    s.poses[3 * i + 2] = located ? p.theta : Number.NaN;
    const observed = beliefs !== null && beliefs.observers[i]! > 0;
    s.hasBelief[i] = observed ? 1 : 0;
    s.belief[i] = observed ? monitor.beliefSignal[i]! : Number.NaN;
    s.flagged[i] = monitor.flagged[i] ? 1 : 0;
  }
  s.consistency.set(monitor.consistencySignal);
  s.suspicion.set(monitor.suspicion);
}

/** The safety layer of the swarm the twin's settings describe, over `link` (none: a process fed by the bus). */
export function swarmSafety(settings: SwarmSettings, safety: SafetySettings, link?: RobotLink): SafetyLayer {
  const layer = new SafetyLayer(settings.robots, { width: settings.arenaWidth, height: settings.arenaHeight }, safety);
  // A link that reports IR proximity (the e-puck2 links) lets the safety layer refuse driving into obstacles.
  if (link?.proximity) layer.useProximity((i) => link.proximity!(i));
  return layer;
}

/** A run of the swarm the twin's settings describe (robots, arena, control period) over `link`. */
export function swarmTrial(
  settings: SwarmSettings,
  team: OnnxTeam,
  link: RobotLink,
  o: { safety?: SafetySettings; monitor?: MonitorSettings; onFlag?: OnFlag; trialMode: boolean; injections: Injection[]; seed: number; timer?: PhaseLap; keepRecords?: boolean },
): TrialRun {
  const safety = swarmSafety(settings, o.safety ?? DEFAULT_SAFETY, link);
  return new TrialRun({
    ids: settings.robotIds,
    robots: settings.robots,
    team,
    link,
    safety,
    monitor: new SwarmMonitor(settings.robotIds, settings.robots, o.monitor ?? DEFAULT_MONITOR, { periodS: settings.controlPeriod, arena: { width: settings.arenaWidth, height: settings.arenaHeight } }),
    controlPeriod: settings.controlPeriod,
    trialMode: o.trialMode,
    injections: o.injections,
    seed: o.seed,
    ...(o.onFlag ? { onFlag: o.onFlag } : {}),
    ...(o.timer ? { timer: o.timer } : {}),
    ...(o.keepRecords !== undefined ? { keepRecords: o.keepRecords } : {}),
  });
}
