// What the runtime does when the monitor flags a robot (launch key monitor.onFlag, the console's and the
// dashboard's `onflag`, the ROS 2 parameter monitor.on_flag):
//   report            nothing but the flag (the operator acts);
//   isolate           every other robot's observation and belief-network input leave the flagged robot out
//                     (as if it were out of range) until the monitor clears it;
//   isolate-and-stop  as isolate, and the safety layer also holds the flagged robot still; the others then see
//                     it as a still body where the tracker has it (a neighbour row with zero speed and turn
//                     rate), still out of their centroid and belief pairs: a robot that cannot move is an
//                     obstacle, and hiding it costs them their gathering (policies/README.md). When the
//                     monitor clears it, it drives again and is back in the others' observations, on
//                     probation (PROBATION_S): flagged again meanwhile, it is held again at once, the same
//                     isolation; not, the isolation ends.
// One mask serves the runtime and the twin: the observation code (src/core/observation.ts) reads it. While
// isolated a robot is still scored by the monitor, on its consistency (no robot observes it, so it has no
// belief), which is what clears it. A held robot is consistent with its policy (the monitor expects it to
// stand still), so the monitor's clear of a held robot says only that the hold works, not that the robot
// does. The probation watches it drive: a persistent fault is flagged again within it and held again at once,
// one isolation for the whole fault rather than a new isolation every few seconds.

import { HELD_STILL, LEFT_OUT } from '../core/observation.js';

export const ON_FLAG_ACTIONS = ['report', 'isolate', 'isolate-and-stop'] as const;
export type OnFlag = (typeof ON_FLAG_ACTIONS)[number];
export const DEFAULT_ON_FLAG: OnFlag = 'report';
/**
 * How long a robot released from an isolate-and-stop hold stays isolated, driving under its policy, before it
 * rejoins: 5 s, the time within which the monitor flags the attacks it is measured on (policies/MONITOR.md).
 */
export const PROBATION_S = 5;

/** Parses an onFlag value; the error names the value and the ones allowed. */
export function parseOnFlag(value: string, where = 'onFlag'): OnFlag {
  if ((ON_FLAG_ACTIONS as readonly string[]).includes(value)) return value as OnFlag;
  throw new RangeError(`${where}: '${value}' is not one of ${ON_FLAG_ACTIONS.join(', ')}`);
}

export type IsolationEvent =
  /** The robot is left out of the others' observations (and held still when `stopped`). */
  | { tick: number; kind: 'isolate'; robot: string; stopped: boolean }
  /** It is back in them: the monitor cleared it, or the operator switched onFlag to report. */
  | { tick: number; kind: 'isolation-end'; robot: string; reason: 'cleared' | 'report'; ticks: number }
  /**
   * isolate-and-stop: the monitor cleared a held robot, which now drives under its policy, still isolated, for
   * `ticks` ticks ('started'); or it was flagged again meanwhile and is held again ('failed'). A probation
   * that passes ends with the isolation's `isolation-end` (reason cleared).
   */
  | { tick: number; kind: 'probation'; robot: string; state: 'started' | 'failed'; ticks: number }
  /** The operator changed what a flag does. */
  | { tick: number; kind: 'on-flag'; onFlag: OnFlag; reason: string };

export class FlagResponse {
  /**
   * Non-zero for every robot isolated now (robot i at i): LEFT_OUT under isolate, HELD_STILL under
   * isolate-and-stop (see src/core/observation.ts); the observation code reads it.
   */
  readonly isolated: Uint8Array;
  /** 1 for every robot whose isolation is in progress (held, left out, or on probation). */
  private readonly active: Uint8Array;
  /** The tick each isolated robot was isolated at. */
  private readonly since: Int32Array;
  /** Ticks of probation left for each robot released from a hold (0: not on probation). */
  private readonly probation: Int32Array;
  private mode: OnFlag;

  constructor(
    private readonly ids: readonly string[],
    onFlag: OnFlag = DEFAULT_ON_FLAG,
    /** Probation after an isolate-and-stop hold, in ticks (PROBATION_S at the run's control period). */
    private readonly probationTicks = 50,
  ) {
    if (!(Number.isInteger(probationTicks) && probationTicks >= 1)) throw new RangeError(`FlagResponse: probationTicks must be an integer >= 1, got ${probationTicks}`);
    this.mode = parseOnFlag(onFlag);
    this.isolated = new Uint8Array(ids.length);
    this.active = new Uint8Array(ids.length);
    this.since = new Int32Array(ids.length);
    this.probation = new Int32Array(ids.length);
  }

  get onFlag(): OnFlag {
    return this.mode;
  }

  /** Whether robot i's isolation is in progress (held, left out, or on probation). */
  isIsolated(i: number): boolean {
    return this.active[i] === 1;
  }

  /** Whether the safety layer holds robot i still (isolate-and-stop, while it is isolated and not on probation). */
  holds(i: number): boolean {
    return this.mode === 'isolate-and-stop' && this.active[i] === 1 && this.probation[i] === 0;
  }

  /** Whether robot i drives on probation (released from a hold, back in the others' observations, one flag from a hold). */
  onProbation(i: number): boolean {
    return this.probation[i]! > 0;
  }

  /** Forgets every isolation (trial start). */
  reset(): void {
    this.isolated.fill(0);
    this.active.fill(0);
    this.probation.fill(0);
  }

  /**
   * After the monitor's tick: isolates every flagged robot and ends the isolation of every cleared one
   * (nothing under report); under isolate-and-stop a cleared robot is released from its hold on probation
   * first. Takes effect from the next tick's observations. Returns the changes as events.
   */
  update(tick: number, flagged: readonly boolean[]): IsolationEvent[] {
    const events: IsolationEvent[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const robot = this.ids[i]!;
      const want = this.mode !== 'report' && flagged[i] === true;
      if (want && this.active[i] === 0) {
        this.active[i] = 1;
        this.since[i] = tick;
        events.push({ tick, kind: 'isolate', robot, stopped: this.mode === 'isolate-and-stop' });
      } else if (want && this.probation[i]! > 0) {
        // Flagged again while on probation: held again, the same isolation.
        this.probation[i] = 0;
        if (this.mode === 'isolate-and-stop') events.push({ tick, kind: 'probation', robot, state: 'failed', ticks: this.probationTicks });
      } else if (!want && this.active[i] === 1) {
        if (this.mode === 'isolate-and-stop' && this.probation[i] === 0) {
          // Cleared while held: only the hold is shown to work. Let it drive, back in the others' view, and watch it.
          this.probation[i] = this.probationTicks;
          events.push({ tick, kind: 'probation', robot, state: 'started', ticks: this.probationTicks });
        } else if (this.mode === 'isolate-and-stop' && --this.probation[i]! > 0) {
          // On probation, not flagged: it rejoins when the probation has passed.
        } else {
          this.active[i] = 0;
          this.probation[i] = 0;
          events.push({ tick, kind: 'isolation-end', robot, reason: flagged[i] ? 'report' : 'cleared', ticks: tick - this.since[i]! });
        }
      }
      // What the others see of it: a still body while held, nothing while isolate leaves it out, and all of it
      // again once the monitor has cleared it (on probation: the "left out until it is cleared";
      // hiding an attacker that still drives cost the others their gathering, policies/README.md).
      this.isolated[i] = this.active[i] === 0 || this.probation[i]! > 0 ? 0 : this.holds(i) ? HELD_STILL : LEFT_OUT;
    }
    return events;
  }

  /**
   * The operator changes what a flag does (robots flagged now are isolated, or released under report, at
   * once). Returns the change and the isolations it starts or ends as events.
   */
  set(onFlag: OnFlag, tick: number, flagged: readonly boolean[], who: string): IsolationEvent[] {
    this.mode = parseOnFlag(onFlag);
    return [{ tick, kind: 'on-flag', onFlag: this.mode, reason: who }, ...this.update(tick, flagged)];
  }
}

/** What a run's flags led to (summary.json's `isolations`). */
export interface IsolationSummary {
  /** What a flag did at the end of the run. */
  onFlag: OnFlag;
  isolations: number;
  /** Of them, of robots compromised when isolated (trials) and of robots that were not (false isolations). */
  ofCompromised: number;
  falseIsolations: number;
  /** Robot-seconds spent isolated, in all and in false isolations. */
  isolatedS: number;
  falseIsolatedS: number;
  /** Robots still isolated when the run ended. */
  stillIsolated: string[];
}

/**
 * Counts a run's isolations from its events; `compromisedAt(tick)` gives the robots (indices) compromised at
 * a tick (the tick records' ground truth), `endTick` the run's last tick + 1.
 */
export function summariseIsolations(
  events: readonly { kind: string; tick: number; robot?: string; onFlag?: OnFlag }[],
  ids: readonly string[],
  compromisedAt: (tick: number) => readonly number[],
  endTick: number,
  period: number,
  onFlag: OnFlag,
): IsolationSummary {
  const open = new Map<string, { from: number; false: boolean }>();
  const s: IsolationSummary = { onFlag, isolations: 0, ofCompromised: 0, falseIsolations: 0, isolatedS: 0, falseIsolatedS: 0, stillIsolated: [] };
  const close = (robot: string, to: number) => {
    const o = open.get(robot);
    if (!o) return;
    s.isolatedS += (to - o.from) * period;
    if (o.false) s.falseIsolatedS += (to - o.from) * period;
    open.delete(robot);
  };
  for (const e of events) {
    if (e.kind === 'isolate' && e.robot !== undefined) {
      const wasFalse = !compromisedAt(e.tick).includes(ids.indexOf(e.robot));
      open.set(e.robot, { from: e.tick, false: wasFalse });
      s.isolations++;
      if (wasFalse) s.falseIsolations++;
      else s.ofCompromised++;
    } else if (e.kind === 'isolation-end' && e.robot !== undefined) close(e.robot, e.tick);
  }
  s.stillIsolated = [...open.keys()];
  for (const robot of s.stillIsolated) close(robot, endTick);
  return s;
}

/** The summary's line. */
export function isolationLine(s: IsolationSummary): string {
  const still = s.stillIsolated.length ? `; still isolated at the end: ${s.stillIsolated.join(', ')}` : '';
  return `on flag: ${s.onFlag}; ${s.isolations} isolation(s) (${s.ofCompromised} of compromised robots, ${s.falseIsolations} false), ${s.isolatedS.toFixed(1)} robot-s isolated (${s.falseIsolatedS.toFixed(1)} s false)${still}`;
}
