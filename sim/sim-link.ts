// The sim link: the twin (with its noise model) stands in for the robots. 'live': the twin runs on its own
// timer at the control period and the runtime reads its tracker like a real one; 'fast': the runtime steps
// it once after every control tick, as fast as the machine allows (batch trials), with a clock that
// advances one period per step.
import { systemClock, type Clock } from '../src/core/clock.js';
import { LiveTwin } from './live.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import type { RobotLink } from '../src/runtime/link.js';
import type { TimedPose } from '../src/runtime/safety.js';

export type SimMode = 'live' | 'fast';

export class SimLink implements RobotLink {
  readonly kind = 'sim';
  readonly twin: LiveTwin;
  private readonly clock: Clock;
  /** What poses() returns (one object per robot for the whole run). */
  private readonly latest: TimedPose[] = [];

  constructor(settings: SwarmSettings, readonly mode: SimMode, seed: number, clock: Clock = systemClock) {
    const periodMs = settings.controlPeriod * 1000;
    // In fast mode time is the twin's own: one period per step taken.
    this.clock = mode === 'fast' ? { now: () => (this.twin ? this.twin.stats.ticks : 0) * periodMs, setTimeout: () => null, clearTimeout: () => {} } : clock;
    this.twin = new LiveTwin(settings, { seed, clock: this.clock });
  }

  get ids(): readonly string[] {
    return this.twin.robotIds;
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * The twin's tracked poses, read from its state into pose objects kept for the whole run (through getPoses(),
   * two fresh objects per robot and tick): the array and its poses are rewritten by the next call.
   */
  poses(): (TimedPose | null)[] {
    const t = this.twin.world.tracked;
    const stampMs = this.twin.trackedStamp;
    const out = this.latest;
    for (let k = out.length; k < this.twin.world.robots; k++) out.push({ x: 0, y: 0, theta: 0, stampMs: 0 });
    for (let k = 0; k < out.length; k++) {
      const p = out[k]!;
      p.x = t.x[k]!;
      p.y = t.y[k]!;
      p.theta = t.heading[k]!;
      p.stampMs = stampMs;
    }
    return out;
  }

  trueState(): { readonly x: Float64Array; readonly y: Float64Array; readonly heading: Float64Array } {
    return this.twin.world.truth;
  }

  truePoses(): { x: number; y: number; theta: number }[] {
    // Read from the twin's state directly: through getTruePoses() (objects spread into new ones) this took
    // 6 ms a tick at 2,000 robots, the runtime's record phase.
    const t = this.trueState();
    const poses = new Array<{ x: number; y: number; theta: number }>(this.twin.world.robots);
    for (let k = 0; k < poses.length; k++) poses[k] = { x: t.x[k]!, y: t.y[k]!, theta: t.heading[k]! };
    return poses;
  }

  send(i: number, left: number, right: number): void {
    this.twin.submitCommandAt(i, left, right);
  }

  /** The command robot i executes from the twin's next tick on: what send() left there (read back when the run stops the robots). */
  commandOf(i: number): readonly [number, number] {
    return this.twin.commandAt(i);
  }

  /** Fast mode: one control period of the twin. */
  advance(): void {
    if (this.mode !== 'fast') throw new Error('sim link: advance() is for fast mode; the live twin keeps its own time');
    this.twin.stepOnce();
  }

  start(): void {
    if (this.mode === 'live') this.twin.start();
  }

  async stop(): Promise<void> {
    this.twin.stop();
  }
}
