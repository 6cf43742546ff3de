// How one process of a distributed run ticks. Lock-step (TickPump): tick k runs once everything it needs
// has come (ready(k)), ticks run one at a time and in order, and `finished` resolves after the last one (or
// rejects with a tick's error). Live (liveTicks): at the control period on the wall clock.
import type { Clock } from '../core/clock.js';
import { ControlScheduler } from '../runtime/scheduler.js';

/** The live processes' clock: wall time (Date.now), the clock the bus client stamps arrivals with. */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class TickPump {
  next = 0;
  private busy = false;
  private stopped = false;
  private draining = false;
  readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (err: unknown) => void };

  constructor(
    private readonly ticks: number,
    private readonly ready: (k: number) => boolean,
    private readonly run: (k: number) => Promise<void>,
  ) {
    this.finished = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    if (ticks <= 0) this.settle.resolve();
  }

  /** Something arrived: runs every tick that has become ready. */
  poke(): void {
    if (this.busy || this.stopped) return;
    this.busy = true;
    void (async () => {
      try {
        while (!this.stopped && this.next < this.ticks && this.ready(this.next)) {
          await this.run(this.next);
          this.next++;
        }
        if (this.next >= this.ticks || this.draining) this.stop();
      } catch (err) {
        this.stopped = true;
        this.settle.reject(err);
      } finally {
        this.busy = false;
      }
    })();
  }

  /** Nothing more will come: runs the ticks ready now, then ends. */
  drain(): void {
    this.draining = true;
    this.poke();
  }

  /** Ends early (interrupted): `finished` resolves now; a tick under way completes, no other starts. */
  stop(): void {
    this.stopped = true;
    this.settle.resolve();
  }
}

/**
 * Live ticking of one process: `step(k, nowMs, due)` at the control period on the wall clock (the control
 * scheduler: drift-free, overruns skip ticks) until `ticks` have run or `until()` says so; the ticks run.
 * k counts the ticks run; `due` is the index of the due time the tick serves (periods since the start), which
 * passes over the ticks an overrun skipped: the number the other processes of the run give the same moment.
 */
export async function liveTicks(o: {
  ticks: number;
  periodMs: number;
  step: (k: number, nowMs: number, due: number) => Promise<void>;
  until: () => boolean;
  onError: (err: unknown) => void;
  clock?: Clock;
}): Promise<number> {
  const clock = o.clock ?? wallClock;
  let k = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const scheduler = new ControlScheduler(
    o.periodMs,
    async (info) => {
      // The due time after the last tick (or the first once until() holds) ends the run.
      if (k >= o.ticks || o.until()) return finish();
      await o.step(k++, clock.now(), info.tick);
    },
    clock,
    o.onError,
  );
  scheduler.start();
  await finished;
  await scheduler.stop();
  return k;
}

/**
 * Maps a tick numbered by due time (another live process's: periods since its start) onto this process's own
 * count, from the due index of each tick it ran (`dueOfTick`, increasing): the first tick it ran at or after
 * that due time; past its last tick, its count goes on by periods. Identity where no tick was skipped (lock-step).
 */
export function tickAtDue(dueOfTick: readonly number[]): (due: number) => number {
  return (due) => {
    const last = dueOfTick.length - 1;
    if (last < 0 || due > dueOfTick[last]!) return last + (due - (last < 0 ? -1 : dueOfTick[last]!));
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (dueOfTick[mid]! >= due) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
