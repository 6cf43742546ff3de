// The swarm monitor: per robot, two signals fused into a suspicion in [0, 1], and a flag with hysteresis.
//   belief:       P(robot j is compromised) from the belief networks, averaged over the robots that have j
//                 in range (each sums its belief over the adversary types);
//   consistency:  the policy-consistency detector's CUSUM (consistency.ts).
// Fused as a noisy-OR, 1 - (1 - b)(1 - c): either signal alone can raise it. A robot is flagged after its
// suspicion stays at or above `flagAt` for `flagTicks` ticks and cleared after it stays at or below
// `clearAt` for `clearTicks` ticks; each change is an alert carrying its evidence.
import type { RobotParams } from '../core/robot-params.js';
import type { TrackedPose, Twist } from '../core/kinematics.js';
import { ConsistencyDetector, type ConsistencySettings } from './consistency.js';

export interface MonitorSettings {
  consistency: ConsistencySettings;
  flagAt: number;
  clearAt: number;
  flagTicks: number;
  clearTicks: number;
}

/** Extra distance between two bodies still counted as contact, m (a few tracker standard deviations). */
const CONTACT_MARGIN = 0.01;

export const DEFAULT_MONITOR: MonitorSettings = {
  consistency: { sigmaLinear: 0.045, sigmaAngular: 0.3, latencyTicks: 2, drift: 4, threshold: 40 },
  flagAt: 0.8,
  clearAt: 0.3,
  flagTicks: 3,
  clearTicks: 20,
};

export interface Evidence {
  belief: number | null;
  consistency: number;
  cusum: number;
  /** Observers whose beliefs went into `belief`. */
  observers: number;
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
  motion: readonly (Twist | null)[];
  /** The command the policy intends for each robot from its own observation, robot j at 2j. */
  intended: Float32Array | Float64Array;
  /** Aggregated beliefs per robot (see aggregateBeliefs), or null for a policy without a belief network. */
  beliefs: { value: Float64Array; observers: Int32Array } | null;
}

/**
 * Mean P(compromised) of every robot j over the observers i that have it in range: `beliefs` holds R values
 * per ordered pair (i, j) at (i * N + j) * R, `inRange(i, j)` says whether i sees j.
 */
export function aggregateBeliefs(beliefs: Float32Array | Float64Array, R: number, N: number, inRange: (i: number, j: number) => boolean): { value: Float64Array; observers: Int32Array } {
  const value = new Float64Array(N);
  const observers = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (i === j || !inRange(i, j)) continue;
      let p = 0;
      for (let r = 0; r < R; r++) p += beliefs[(i * N + j) * R + r]!;
      value[j] += p;
      observers[j]++;
    }
  }
  for (let j = 0; j < N; j++) if (observers[j]! > 0) value[j] /= observers[j]!;
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
    if (!this.flagged[j] && this.above[j]! >= s.flagTicks) {
      this.flagged[j] = true;
      return 'flag';
    }
    if (this.flagged[j] && this.below[j]! >= s.clearTicks) {
      this.flagged[j] = false;
      return 'clear';
    }
    return null;
  }
}

export class SwarmMonitor {
  readonly suspicion: Float64Array;
  /** The last tick's belief signal per robot (0 without observers or a belief network). */
  readonly beliefSignal: Float64Array;
  /** The last tick's policy-consistency signal per robot. */
  readonly consistencySignal: Float64Array;
  private readonly hysteresis: Hysteresis;
  readonly consistency: ConsistencyDetector;

  constructor(
    readonly ids: readonly string[],
    private readonly robots: readonly RobotParams[],
    readonly settings: MonitorSettings,
  ) {
    if (!(settings.clearAt < settings.flagAt)) throw new RangeError(`monitor: clearAt (${settings.clearAt}) must be below flagAt (${settings.flagAt})`);
    const N = ids.length;
    this.suspicion = new Float64Array(N);
    this.beliefSignal = new Float64Array(N);
    this.consistencySignal = new Float64Array(N);
    this.hysteresis = new Hysteresis(N, settings);
    this.consistency = new ConsistencyDetector(robots, settings.consistency);
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
    this.hysteresis.reset();
  }

  /** Whether robot j's body is within contact distance (plus a tracker-noise margin) of another robot's. */
  private touching(poses: readonly TrackedPose[], j: number): boolean {
    const pj = poses[j]!;
    for (let i = 0; i < poses.length; i++) {
      if (i === j) continue;
      const d = this.robots[i]!.bodyRadius + this.robots[j]!.bodyRadius + CONTACT_MARGIN;
      if ((poses[i]!.x - pj.x) ** 2 + (poses[i]!.y - pj.y) ** 2 < d * d) return true;
    }
    return false;
  }

  /** One tick: updates every robot's suspicion; returns the flags raised and cleared at this tick. */
  update(tick: number, input: MonitorInput): MonitorAlert[] {
    const alerts: MonitorAlert[] = [];
    const N = this.ids.length;
    for (let j = 0; j < N; j++) {
      const c = this.consistency.update(j, input.motion[j] ?? null, input.intended[2 * j]!, input.intended[2 * j + 1]!, this.touching(input.poses, j));
      const seen = input.beliefs && input.beliefs.observers[j]! > 0;
      const b = seen ? input.beliefs!.value[j]! : 0;
      const fused = 1 - (1 - b) * (1 - c);
      this.suspicion[j] = fused;
      this.beliefSignal[j] = b;
      this.consistencySignal[j] = c;
      const change = this.hysteresis.update(j, fused);
      if (change) {
        const evidence: Evidence = { belief: seen ? b : null, consistency: c, cusum: this.consistency.cusum[j]!, observers: input.beliefs?.observers[j] ?? 0 };
        alerts.push({ tick, robot: this.ids[j]!, kind: change, suspicion: fused, evidence });
      }
    }
    return alerts;
  }
}
