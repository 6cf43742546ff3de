// The control-rate scheduler: ticks at t0 + k * period (drift-free: each due time comes from the start,
// never from when the previous tick happened to run). It measures each tick's latency (how long its work
// took) and jitter (how late it started), and counts overruns. A tick whose work runs past later due
// times does not leave a backlog: the missed ticks are skipped and counted, and the next tick is the
// first due time still ahead, so the robots never act on a queue of stale ticks.
import { systemClock, type Clock } from '../core/clock.js';

export interface TickInfo {
  /** Index of the due time this tick serves (ticks skipped after an overrun leave gaps). */
  tick: number;
  /** When it was due and when it started, clock ms. */
  dueMs: number;
  startMs: number;
}

export interface SchedulerStats {
  ticks: number;
  /** Ticks whose work did not finish before the next due time. */
  overruns: number;
  /** Due times passed over because a tick ran late. */
  skippedTicks: number;
  latencyMs: { mean: number; max: number };
  jitterMs: { mean: number; max: number };
}

export class ControlScheduler {
  private readonly clock: Clock;
  private timer: unknown = null;
  private running = false;
  private startMs = 0;
  private next = 0;
  private active: Promise<void> | null = null;
  private readonly counts = { ticks: 0, overruns: 0, skippedTicks: 0, latencySum: 0, latencyMax: 0, jitterSum: 0, jitterMax: 0 };

  constructor(
    readonly periodMs: number,
    private readonly onTick: (info: TickInfo) => Promise<void> | void,
    clock: Clock = systemClock,
    /** Told about a tick whose work threw; the scheduler keeps going (default: rethrown asynchronously). */
    private readonly onError: (err: unknown, info: TickInfo) => void = (err) => {
      queueMicrotask(() => {
        throw err;
      });
    },
  ) {
    if (!(periodMs > 0 && Number.isFinite(periodMs))) throw new RangeError(`control period must be a positive number of ms, got ${periodMs}`);
    this.clock = clock;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startMs = this.clock.now();
    this.next = 0;
    this.arm();
  }

  /** Stops ticking; resolves once a tick in progress has finished. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.active;
  }

  /**
   * Ticks until done() says so (checked every pollMs), then stops. A tick may still start between done()
   * becoming true and the check, so onTick tests it too.
   */
  async runUntil(done: () => boolean, pollMs = 50): Promise<void> {
    this.start();
    while (!done()) await new Promise((r) => setTimeout(r, pollMs));
    await this.stop();
  }

  get stats(): SchedulerStats {
    const c = this.counts;
    const n = Math.max(c.ticks, 1);
    return {
      ticks: c.ticks,
      overruns: c.overruns,
      skippedTicks: c.skippedTicks,
      latencyMs: { mean: c.latencySum / n, max: c.latencyMax },
      jitterMs: { mean: c.jitterSum / n, max: c.jitterMax },
    };
  }

  private due(tick: number): number {
    return this.startMs + tick * this.periodMs;
  }

  private arm(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.active = this.run();
    }, Math.max(0, this.due(this.next) - this.clock.now()));
  }

  private async run(): Promise<void> {
    const info: TickInfo = { tick: this.next, dueMs: this.due(this.next), startMs: this.clock.now() };
    try {
      await this.onTick(info);
    } catch (err) {
      this.onError(err, info);
    }
    const end = this.clock.now();
    const c = this.counts;
    const latency = end - info.startMs;
    const jitter = Math.max(0, info.startMs - info.dueMs);
    c.ticks++;
    c.latencySum += latency;
    c.latencyMax = Math.max(c.latencyMax, latency);
    c.jitterSum += jitter;
    c.jitterMax = Math.max(c.jitterMax, jitter);
    // The next due time still ahead; every one passed over is a skipped tick.
    const firstAhead = Math.max(info.tick + 1, Math.ceil((end - this.startMs) / this.periodMs));
    if (end > this.due(info.tick + 1)) c.overruns++;
    c.skippedTicks += firstAhead - (info.tick + 1);
    this.next = firstAhead;
    this.arm();
  }
}
