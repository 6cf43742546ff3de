// One tick's record as the tick path writes it: typed arrays the run owns and overwrites every tick, no
// per-robot object. The TickRecord (the object the services, telemetry, the recording and the tests read) is
// built from it only when someone asks (TrialRun.lastRecord), with exactly the content the tick path used to
// build every tick: a deployed run with no service pays for no record objects at all.
import type { RobotLink } from './link.js';
import type { StopReason } from './safety.js';

/** One tick of a run as the services, telemetry, the recording and the tests read it. */
export interface TickRecord {
  tick: number;
  /** The link's clock when the tick started, ms. */
  timeMs: number;
  /** Poses the controllers used (tracked), and the true ones where the link knows them. */
  poses: { x: number; y: number; theta: number }[];
  truePoses: { x: number; y: number; theta: number }[] | null;
  /** Normalised wheel commands, robot i's at 2i: what each policy intended, and what was sent after injection and safety. */
  intended: number[];
  commands: number[];
  /** Why the safety layer stopped each robot this tick (null: its command passed). */
  stopped: (StopReason | null)[];
  /** The monitor's signals per robot: belief signal in [0, 1] (null: no observer / no belief network), consistency, fused. */
  belief: (number | null)[];
  consistency: number[];
  suspicion: number[];
  flagged: boolean[];
  /** Robots compromised at this tick. */
  compromised: number[];
}

export class TickSnapshot {
  /** -1 until the first tick is written. */
  tick = -1;
  timeMs = Number.NaN;
  /** Tracked poses x, y, theta at 3i (NaN for a robot not located yet, as TickRecord.poses). */
  readonly poses: Float64Array;
  /** The link's true poses x, y, theta at 3i (copied: no object per robot), read only where `hasTruePoses`. */
  readonly truePoses: Float64Array;
  /** Whether the link knows the true poses (the twin); TickRecord.truePoses is null where it does not. */
  hasTruePoses = false;
  readonly intended: Float32Array;
  readonly commands: Float32Array;
  readonly stopped: (StopReason | null)[];
  /** The monitor's belief signal, read only where `hasBelief` is set (TickRecord.belief is null elsewhere). */
  readonly belief: Float64Array;
  readonly hasBelief: Uint8Array;
  readonly consistency: Float64Array;
  readonly suspicion: Float64Array;
  readonly flagged: Uint8Array;
  compromised: number[] = [];

  constructor(readonly robots: number) {
    this.poses = new Float64Array(3 * robots);
    this.truePoses = new Float64Array(3 * robots);
    this.intended = new Float32Array(2 * robots);
    this.commands = new Float32Array(2 * robots);
    this.stopped = new Array<StopReason | null>(robots).fill(null);
    this.belief = new Float64Array(robots);
    this.hasBelief = new Uint8Array(robots);
    this.consistency = new Float64Array(robots);
    this.suspicion = new Float64Array(robots);
    this.flagged = new Uint8Array(robots);
  }

  /**
   * Copies the link's true poses, where it knows them: from its state arrays (the twin: no object per robot)
   * or from truePoses(); a link that has fewer poses than robots leaves the rest NaN.
   */
  readTruePoses(link: Pick<RobotLink, 'trueState' | 'truePoses'>): void {
    const out = this.truePoses;
    const N = this.robots;
    const state = link.trueState?.();
    if (state) {
      for (let i = 0; i < N; i++) {
        out[3 * i] = state.x[i]!;
        out[3 * i + 1] = state.y[i]!;
        out[3 * i + 2] = state.heading[i]!;
      }
      this.hasTruePoses = true;
      return;
    }
    const poses = link.truePoses?.();
    this.hasTruePoses = poses !== undefined;
    if (!poses) return;
    for (let i = 0; i < N; i++) {
      const p = poses[i];
      out[3 * i] = p?.x ?? Number.NaN;
      out[3 * i + 1] = p?.y ?? Number.NaN;
      out[3 * i + 2] = p?.theta ?? Number.NaN;
    }
  }

  /** Robot i's x, y: the true pose where the link knows it, else the tracked one (the pictures' and the outcome's choice). */
  x(i: number): number {
    return this.hasTruePoses ? this.truePoses[3 * i]! : this.poses[3 * i]!;
  }

  y(i: number): number {
    return this.hasTruePoses ? this.truePoses[3 * i + 1]! : this.poses[3 * i + 1]!;
  }

  theta(i: number): number {
    return this.hasTruePoses ? this.truePoses[3 * i + 2]! : this.poses[3 * i + 2]!;
  }

  /** The tick's record as plain objects (fresh ones: the snapshot is overwritten next tick). */
  toRecord(): TickRecord {
    const N = this.robots;
    const poses = new Array<{ x: number; y: number; theta: number }>(N);
    const truePoses = this.hasTruePoses ? new Array<{ x: number; y: number; theta: number }>(N) : null;
    const belief = new Array<number | null>(N);
    const flagged = new Array<boolean>(N);
    for (let i = 0; i < N; i++) {
      poses[i] = { x: this.poses[3 * i]!, y: this.poses[3 * i + 1]!, theta: this.poses[3 * i + 2]! };
      if (truePoses) truePoses[i] = { x: this.truePoses[3 * i]!, y: this.truePoses[3 * i + 1]!, theta: this.truePoses[3 * i + 2]! };
      belief[i] = this.hasBelief[i] ? this.belief[i]! : null;
      flagged[i] = this.flagged[i] === 1;
    }
    return {
      tick: this.tick,
      timeMs: this.timeMs,
      truePoses,
      intended: Array.from(this.intended),
      commands: Array.from(this.commands),
      stopped: [...this.stopped],
      poses,
      belief,
      consistency: Array.from(this.consistency),
      suspicion: Array.from(this.suspicion),
      flagged,
      compromised: [...this.compromised],
    };
  }
}
