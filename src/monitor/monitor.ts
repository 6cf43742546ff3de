// The swarm monitor: per robot, two signals fused into a suspicion in [0, 1], and a flag with hysteresis.
//   consistency:  the policy-consistency detector (consistency.ts): does the robot move as its policy, run on
//                 the tracker's view, says it should? Catches faults, adversaries and corrupted observations.
//   belief:       the belief networks' evidence that robot j is compromised, as a log-likelihood ratio (the
//                 networks' posterior divided by the prior they were trained with, see aggregateBeliefs),
//                 accumulated in a CUSUM. A robot in contact (or just out of it) gives no belief evidence: being
//                 pushed makes a benign robot move as no policy would, and the networks cannot tell.
// Fused as a weighted noisy-OR, 1 - (1 - w b)(1 - c): either signal can raise it; the belief's weight w is what
// its measured performance earns (policies/MONITOR.md). A robot is flagged after its suspicion stays at or
// above `flagAt` for `flagTicks` ticks and cleared after it stays at or below `clearAt` for `clearTicks`
// ticks; each change is an alert carrying its evidence.
import type { RobotParams } from '../core/robot-params.js';
import type { TrackedPose } from '../core/kinematics.js';
import { ConsistencyDetector, type MeasuredMotion } from './consistency.js';
import type { MonitorSettings } from './settings.js';
import { ContactFinder, type Arena } from './contact.js';

export { DEFAULT_MONITOR, type BeliefSettings, type MonitorSettings } from './settings.js';

export interface Evidence {
  /** The belief signal (null: no observer had the robot in range, or no belief network). */
  belief: number | null;
  consistency: number;
  cusum: number;
  /** Squared normalised bias of the consistency detector (absent in events recorded before it existed). */
  bias?: number;
  /** Observers whose beliefs went into `belief`. */
  observers: number;
  /** Whether the robot touched another robot or a wall (absent in events recorded before it existed). */
  touching?: boolean;
}

export interface MonitorAlert {
  tick: number;
  robot: string;
  kind: 'flag' | 'clear';
  suspicion: number;
  evidence: Evidence;
}

/** Per tick and robot, what the monitor is given. */
export interface MonitorInput {
  poses: readonly TrackedPose[];
  /** Each robot's motion measured since its last measured pose (null: no new measurement this tick). */
  motion: readonly (MeasuredMotion | null)[];
  /**
   * What a benign robot would execute: the command its policy gives from the tracker's view, after the safety
   * layer (robot j's at 2j).
   */
  policyCommandsAfterSafety: Float32Array | Float64Array;
  /** Aggregated belief evidence per robot (see aggregateBeliefs), or null for a policy without a belief network. */
  beliefs: { value: Float64Array; observers: Int32Array } | null;
}

/** The smallest and largest probability read from a belief network (log odds stay finite). */
const P_FLOOR = 1e-4;

const logit = (p: number) => {
  const q = Math.min(1 - P_FLOOR, Math.max(P_FLOOR, p));
  return Math.log(q / (1 - q));
};

/**
 * One observer's evidence that a robot is compromised, from its P(compromised) summed over the adversary
 * types: logit(P) - logit(prior), the log-likelihood ratio against the training prior. The dense form
 * (aggregateBeliefs) and the deployed live-pair form (SparsePairBeliefs.meanOverObservers) both average it.
 */
export function beliefEvidence(prior: number): (p: number) => number {
  if (!(prior > 0 && prior < 1)) throw new RangeError(`aggregateBeliefs: the training prior must be in (0, 1), got ${prior}`);
  const base = logit(prior);
  return (p) => logit(p) - base;
}

/**
 * Mean evidence that robot j is compromised over the observers i that have it in range, as a log-likelihood
 * ratio: logit(P(compromised)) - logit(prior), with P summed over the adversary types and `prior` the
 * probability a robot was compromised in the belief network's training episodes (trainingPrior in
 * pair-beliefs.ts), so that the network's base rate is not read as evidence. `beliefs` holds R values per
 * ordered pair (i, j) at (i * N + j) * R, `inRange(i, j)` says whether i sees j.
 */
export function aggregateBeliefs(
  beliefs: Float32Array | Float64Array,
  R: number,
  N: number,
  inRange: (i: number, j: number) => boolean,
  prior: number,
): { value: Float64Array; observers: Int32Array } {
  const evidence = beliefEvidence(prior);
  const value = new Float64Array(N);
  const observers = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (i === j || !inRange(i, j)) continue;
      let p = 0;
      for (let r = 0; r < R; r++) p += beliefs[(i * N + j) * R + r]!;
      value[j]! += evidence(p);
      observers[j]!++;
    }
  }
  for (let j = 0; j < N; j++) if (observers[j]! > 0) value[j]! /= observers[j]!;
  return { value, observers };
}

/** Flag after `flagTicks` ticks at or above flagAt, clear after `clearTicks` ticks at or below clearAt. */
export class Hysteresis {
  readonly flagged: boolean[];
  private readonly above: Int32Array;
  private readonly below: Int32Array;

  constructor(
    robots: number,
    private readonly s: Pick<MonitorSettings, 'flagAt' | 'clearAt' | 'flagTicks' | 'clearTicks'>,
  ) {
    this.flagged = new Array<boolean>(robots).fill(false);
    this.above = new Int32Array(robots);
    this.below = new Int32Array(robots);
  }

  reset(): void {
    this.flagged.fill(false);
    this.above.fill(0);
    this.below.fill(0);
  }

  /** Robot j's suspicion this tick; returns 'flag' or 'clear' when its state changes. */
  update(j: number, suspicion: number): 'flag' | 'clear' | null {
    const s = this.s;
    this.above[j] = suspicion >= s.flagAt ? this.above[j]! + 1 : 0;
    this.below[j] = suspicion <= s.clearAt ? this.below[j]! + 1 : 0;
    if (!this.flagged[j] && this.above[j] >= s.flagTicks) {
      this.flagged[j] = true;
      return 'flag';
    }
    if (this.flagged[j] && this.below[j] >= s.clearTicks) {
      this.flagged[j] = false;
      return 'clear';
    }
    return null;
  }
}

/** Where the swarm runs: the nominal control period (s) and, if known, the walled arena (walls are contacts too). */
export interface MonitorGeometry {
  periodS: number;
  arena?: Arena;
}

export class SwarmMonitor {
  readonly suspicion: Float64Array;
  /** The last tick's belief signal per robot (0 without observers or a belief network), before weighting. */
  readonly beliefSignal: Float64Array;
  /** The last tick's policy-consistency signal per robot. */
  readonly consistencySignal: Float64Array;
  /** Belief CUSUM per robot. */
  readonly beliefCusum: Float64Array;
  private readonly hysteresis: Hysteresis;
  readonly consistency: ConsistencyDetector;
  readonly contacts: ContactFinder;
  /** Ticks since each robot last touched something (large: never). */
  private readonly sinceContact: Int32Array;

  constructor(
    readonly ids: readonly string[],
    robots: readonly RobotParams[],
    readonly settings: MonitorSettings,
    geometry: MonitorGeometry,
  ) {
    if (!(settings.clearAt < settings.flagAt)) throw new RangeError(`monitor: clearAt (${settings.clearAt}) must be below flagAt (${settings.flagAt})`);
    if (!(settings.belief.weight >= 0 && settings.belief.weight <= 1)) throw new RangeError(`monitor: belief.weight must be in [0, 1], got ${settings.belief.weight}`);
    const N = ids.length;
    this.suspicion = new Float64Array(N);
    this.beliefSignal = new Float64Array(N);
    this.consistencySignal = new Float64Array(N);
    this.beliefCusum = new Float64Array(N);
    this.sinceContact = new Int32Array(N).fill(1 << 30);
    this.hysteresis = new Hysteresis(N, settings);
    this.consistency = new ConsistencyDetector(robots, settings.consistency, geometry.periodS);
    this.contacts = new ContactFinder(robots, geometry.arena);
  }

  get flagged(): readonly boolean[] {
    return this.hysteresis.flagged;
  }

  /** Forgets everything (trial start). */
  reset(): void {
    for (let j = 0; j < this.ids.length; j++) this.consistency.reset(j);
    this.suspicion.fill(0);
    this.beliefSignal.fill(0);
    this.consistencySignal.fill(0);
    this.beliefCusum.fill(0);
    this.sinceContact.fill(1 << 30);
    this.hysteresis.reset();
  }

  /** One tick: updates every robot's suspicion; returns the flags raised and cleared at this tick. */
  update(tick: number, input: MonitorInput): MonitorAlert[] {
    const alerts: MonitorAlert[] = [];
    const N = this.ids.length;
    const b = this.settings.belief;
    this.contacts.find(input.poses);
    for (let j = 0; j < N; j++) {
      const touching = this.contacts.touching(j);
      this.sinceContact[j] = touching ? 0 : Math.min(1 << 30, this.sinceContact[j]! + 1);
      const cmd = input.policyCommandsAfterSafety;
      const from = this.contacts.from(j);
      this.consistency.update(j, input.motion[j] ?? null, cmd, input.poses[j]!, this.contacts.data, from, from + 2 * this.contacts.count(j));
      const c = this.consistency.signal[j]!;
      const seen = input.beliefs !== null && input.beliefs.observers[j]! > 0;
      // Evidence only from robots nobody has pushed lately; otherwise the CUSUM only decays.
      const evidence = seen && this.sinceContact[j]! > b.contactHoldTicks ? Math.min(b.maxTickEvidence, input.beliefs!.value[j]!) : 0;
      this.beliefCusum[j] = Math.min(2 * b.threshold, Math.max(0, this.beliefCusum[j]! + evidence - b.drift));
      const belief = Math.min(1, this.beliefCusum[j]! / b.threshold);
      const fused = 1 - (1 - b.weight * belief) * (1 - c);
      this.suspicion[j] = fused;
      this.beliefSignal[j] = belief;
      this.consistencySignal[j] = c;
      const change = this.hysteresis.update(j, fused);
      if (change) {
        const ev: Evidence = {
          belief: seen ? belief : null,
          consistency: c,
          cusum: this.consistency.cusum[j]!,
          bias: this.consistency.bias[j]!,
          observers: input.beliefs?.observers[j] ?? 0,
          touching,
        };
        alerts.push({ tick, robot: this.ids[j]!, kind: change, suspicion: fused, evidence: ev });
      }
    }
    return alerts;
  }
}
