// Per-phase timing of control ticks (`npm run bench:runtime`): the tick path calls lap(phase) as each of its
// phases ends, so the phases of a tick cover it end to end with no gap and no overlap, and their sum is the
// tick. A run without a timer pays one optional call per phase and nothing else.

/** The phases of a control tick, in the order they run (trial.ts step(); belief only with a belief network). */
export const TICK_PHASES = ['link', 'observation', 'belief', 'actor', 'safety', 'monitor', 'record'] as const;
export type TickPhase = (typeof TICK_PHASES)[number];

/** What the tick path calls: the phase that just ended. */
export interface PhaseLap {
  lap(phase: TickPhase): void;
}

export class PhaseTimer implements PhaseLap {
  /** Per phase, its time in every finished tick, ms (0 in a tick it did not run in). */
  readonly samples: Record<TickPhase, number[]> = Object.fromEntries(TICK_PHASES.map((p) => [p, []])) as unknown as Record<TickPhase, number[]>;
  /** Every finished tick's total, ms: from startTick() to its last lap. */
  readonly ticks: number[] = [];
  private current: Record<TickPhase, number> | null = null;
  private started = 0;
  private last = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  startTick(): void {
    this.current = Object.fromEntries(TICK_PHASES.map((p) => [p, 0])) as Record<TickPhase, number>;
    this.started = this.last = this.now();
  }

  lap(phase: TickPhase): void {
    if (!this.current) return; // a tick not being timed (warm-up)
    const t = this.now();
    this.current[phase] += t - this.last;
    this.last = t;
  }

  /** Ends the tick; later laps are ignored until the next startTick(). */
  endTick(): void {
    if (!this.current) throw new Error('phase timer: endTick() without startTick()');
    for (const p of TICK_PHASES) this.samples[p].push(this.current[p]);
    this.ticks.push(this.last - this.started);
    this.current = null;
  }
}

/** The q-quantile (nearest rank) of xs; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
