// Live mode: the twin paced to wall-clock at the control period, standing in for real robots behind the
// runtime's sim link. Poses are read as a tracker would report them; commands are submitted per robot id
// and, as on a real e-puck2, a robot keeps executing its last command until it gets a new one.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../src/core/clock.js';
import { clampCommand } from '../src/core/kinematics.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import { InvalidCommandError, RendezvousWorld, type Pose } from './world.js';

export interface LivePose extends Pose {
  id: string;
  /** Control tick at which the pose was taken. */
  tick: number;
  /** Clock time of that tick, ms. */
  stamp: number;
}

export interface LiveOptions {
  seed: number;
  startPoses?: readonly Pose[];
  clock?: Clock;
  /** Ticks stepped at once to catch up after a stall; further missed ticks are skipped and counted. */
  maxCatchUpTicks?: number;
}

export interface LiveStats {
  ticks: number;
  /** Timer callbacks that came later than one period after their due time. */
  overruns: number;
  /** Ticks that were not simulated because the process stalled for too long. */
  skippedTicks: number;
}

export interface LiveTwinEvents {
  tick: [tick: number];
}

export class LiveTwin extends EventEmitter<LiveTwinEvents> {
  readonly world: RendezvousWorld;
  readonly periodMs: number;
  private readonly clock: Clock;
  private readonly maxCatchUp: number;
  private readonly pending: Float64Array;
  private timer: unknown = null;
  private startedAt = 0;
  private nextDue = 0;
  private tickStamp = 0;
  private readonly counters: LiveStats = { ticks: 0, overruns: 0, skippedTicks: 0 };

  constructor(settings: SwarmSettings, options: LiveOptions) {
    super();
    // The runtime on top observes and scores from the tracker: the twin only moves the robots.
    this.world = new RendezvousWorld(settings, { envs: 1, seed: options.seed, autoReset: false, physicsOnly: true });
    if (options.startPoses) this.world.resetEnv(0, options.startPoses);
    this.periodMs = settings.controlPeriod * 1000;
    this.clock = options.clock ?? systemClock;
    this.maxCatchUp = options.maxCatchUpTicks ?? 2;
    this.pending = new Float64Array(2 * this.world.robots);
    this.tickStamp = this.clock.now();
  }

  get running(): boolean {
    return this.timer !== null;
  }

  get stats(): LiveStats {
    return { ...this.counters };
  }

  get robotIds(): readonly string[] {
    return this.world.robotIds;
  }

  /** Starts pacing; ticks fall at start + k * period without accumulating drift. */
  start(): void {
    if (this.running) return;
    this.startedAt = this.clock.now();
    this.nextDue = this.startedAt + this.periodMs;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sets the command robot `id` executes from the next tick on. Rejects unknown ids and non-finite values. */
  submitCommand(id: string, left: number, right: number): void {
    this.submitCommandAt(this.indexOf(id), left, right, id);
  }

  /** submitCommand for robot k (its index in robotIds): no id search, for a runtime that sends to every robot each tick. */
  submitCommandAt(k: number, left: number, right: number, id = this.world.robotIds[k]): void {
    if (!(Number.isInteger(k) && k >= 0 && k < this.world.robots)) throw new RangeError(`no robot at index ${k} (swarm of ${this.world.robots})`);
    if (!Number.isFinite(left) || !Number.isFinite(right)) {
      throw new InvalidCommandError(`non-finite wheel command (${left}, ${right}) for robot '${id}'; command ignored`);
    }
    this.pending[2 * k] = clampCommand(left);
    this.pending[2 * k + 1] = clampCommand(right);
  }

  /** The command robot `id` executes from the next tick on (the last one submitted; [0, 0] before any). */
  command(id: string): readonly [number, number] {
    return this.commandAt(this.indexOf(id));
  }

  /** command() for robot k (its index in robotIds). */
  commandAt(k: number): readonly [number, number] {
    if (!(Number.isInteger(k) && k >= 0 && k < this.world.robots)) throw new RangeError(`no robot at index ${k} (swarm of ${this.world.robots})`);
    return [this.pending[2 * k]!, this.pending[2 * k + 1]!];
  }

  private indexOf(id: string): number {
    const k = this.world.robotIds.indexOf(id);
    if (k < 0) throw new RangeError(`unknown robot id '${id}' (swarm ids: ${this.world.robotIds.join(', ')})`);
    return k;
  }

  /** When the last tick's tracked poses (world.tracked, getPoses) were taken, ms on the twin's clock. */
  get trackedStamp(): number {
    return this.tickStamp;
  }

  /** Tracked poses of every robot at the last tick (with the noise model's tracker error). */
  getPoses(): LivePose[] {
    const t = this.world.tracked;
    return this.world.robotIds.map((id, k) => ({
      id,
      x: t.x[k]!,
      y: t.y[k]!,
      heading: t.heading[k]!,
      tick: this.counters.ticks,
      stamp: this.tickStamp,
    }));
  }

  /** True poses (for evaluation and pictures, never for controllers). */
  getTruePoses(): LivePose[] {
    return this.world.poses(0).map((p, k) => ({ ...p, id: this.world.robotIds[k]!, tick: this.counters.ticks, stamp: this.tickStamp }));
  }

  /** Advances one control period now, whatever the clock says (batch trials run this as fast as possible). */
  stepOnce(): void {
    this.step(this.clock.now());
  }

  /** One control period, its poses stamped with the moment the tick stands for. */
  private step(stampMs: number): void {
    this.world.step(this.pending);
    this.counters.ticks++;
    this.tickStamp = stampMs;
    this.emit('tick', this.counters.ticks);
  }

  private schedule(): void {
    const delay = Math.max(0, this.nextDue - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.onTimer(), delay);
  }

  private onTimer(): void {
    if (this.timer === null) return;
    const now = this.clock.now();
    const late = now - this.nextDue;
    if (late > this.periodMs) this.counters.overruns++;
    // Ticks that fell due while we were away: catch up on a few, skip the rest rather than queue them. The ones
    // run are the latest that fell due, each stamped with its due time, not with the moment it was computed:
    // a tracker stamps a pose when it is measured, and speeds from consecutive poses (displacement over the
    // stamps' difference) stay right through a stall. Stamped all alike, three catch-up ticks looked like three
    // periods of motion in no time, then a period's motion over a stall's length.
    const due = 1 + Math.floor(Math.max(0, late) / this.periodMs);
    const run = Math.min(due, 1 + this.maxCatchUp);
    this.counters.skippedTicks += due - run;
    for (let i = 0; i < run; i++) this.step(this.nextDue + (due - run + i) * this.periodMs);
    this.nextDue += due * this.periodMs;
    if (this.timer !== null) this.schedule();
  }
}
