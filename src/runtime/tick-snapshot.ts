// One tick's record as the tick path writes it: typed arrays the run owns and overwrites every tick, no
// per-robot object. The TickRecord (the object the services, telemetry, the recording and the tests read) is
// built from it only when someone asks (TrialRun.lastRecord), with exactly the content the tick path used to
// build every tick: a deployed run with no service pays for no record objects at all.
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
  /** The link's true poses as it returned them (its own array), or null where it has none. */
  truePoses: readonly { x: number; y: number; theta: number }[] | null = null;
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
    this.intended = new Float32Array(2 * robots);
    this.commands = new Float32Array(2 * robots);
    this.stopped = new Array<StopReason | null>(robots).fill(null);
    this.belief = new Float64Array(robots);
    this.hasBelief = new Uint8Array(robots);
    this.consistency = new Float64Array(robots);
    this.suspicion = new Float64Array(robots);
    this.flagged = new Uint8Array(robots);
  }

  /** Robot i's x, y: the true pose where the link knows it, else the tracked one (the pictures' and the outcome's choice). */
  x(i: number): number {
    return this.truePoses ? (this.truePoses[i]?.x ?? Number.NaN) : this.poses[3 * i]!;
  }

  y(i: number): number {
    return this.truePoses ? (this.truePoses[i]?.y ?? Number.NaN) : this.poses[3 * i + 1]!;
  }

  theta(i: number): number {
    return this.truePoses ? (this.truePoses[i]?.theta ?? Number.NaN) : this.poses[3 * i + 2]!;
  }

  /** The tick's record as plain objects (fresh ones: the snapshot is overwritten next tick). */
  toRecord(): TickRecord {
    const N = this.robots;
    const poses = new Array<{ x: number; y: number; theta: number }>(N);
    const belief = new Array<number | null>(N);
    const flagged = new Array<boolean>(N);
    for (let i = 0; i < N; i++) {
      poses[i] = { x: this.poses[3 * i]!, y: this.poses[3 * i + 1]!, theta: this.poses[3 * i + 2]! };
      belief[i] = this.hasBelief[i] ? this.belief[i]! : null;
      flagged[i] = this.flagged[i] === 1;
    }
    return {
      tick: this.tick,
      timeMs: this.timeMs,
      truePoses: this.truePoses as { x: number; y: number; theta: number }[] | null,
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
