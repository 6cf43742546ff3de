// A run's summary kept as it goes, from each tick's snapshot, instead of from every tick's record at the end
// (`swarmguard run` and the distributed monitor keep no records, so their memory does not grow with a run's
// length; the monitor tells the ground truth after the run: settleCompromised): per robot the ticks it
// was compromised and flagged; which robots were compromised when (a change list); the uncompromised robots'
// rendezvous outcome with the time they first gathered; and the pictures' history, thinned to a bounded
// number of ticks. What it answers is what the same run's records give (test/run-tally.test.ts), except
// where noted at timeToGather.
import { countTick, outcomesOf, type RobotOutcome, type RobotTicks, type RunEvent } from './trial.js';
import { GatherWatch, type TeamOutcome } from './team-outcome.js';
import { PictureHistory, type RunPictures } from './run-pictures.js';
import type { TickSnapshot } from './tick-snapshot.js';

/** More robots than this named by injections that have not acted yet: only the two extreme scored sets are followed. */
export const MAX_PENDING = 6;

export class RunTally {
  /** Ticks added. */
  ticks = 0;
  private readonly counts: RobotTicks;
  /** The compromised robots from each tick on where they changed (ticks in order). */
  private readonly changes: { from: number; robots: readonly number[] }[] = [];
  private readonly ever = new Set<number>();
  /** Every set of robots that may end up the scored one, keyed by the robots it leaves out, and the tick it is followed from. */
  private candidates = new Map<string, { watch: GatherWatch; since: number }>();
  private firstTickAdded = -1;
  private readonly lastX: Float64Array;
  private readonly lastY: Float64Array;
  private lastTick = -1;
  /** The ticks added, as runs of consecutive ticks [from, to) (one, unless a tick failed). */
  private readonly spans: { from: number; to: number }[] = [];
  private lastTickNoted = -1;
  private readonly pictures: PictureHistory;

  constructor(
    readonly ids: readonly string[],
    private readonly settings: { gatherDiameter: number; controlPeriod: number },
    maxPictureValues?: number,
  ) {
    const N = ids.length;
    this.counts = { compromisedTicks: new Float64Array(N), flaggedTicks: new Float64Array(N), firstAttack: new Array<number | null>(N).fill(null) };
    this.lastX = new Float64Array(N);
    this.lastY = new Float64Array(N);
    this.pictures = new PictureHistory(N, maxPictureValues);
  }

  /** One tick; `planned` the robots the run's injections name so far (any that may still be compromised). */
  add(s: TickSnapshot, planned: readonly number[]): void {
    const N = this.ids.length;
    countTick(this.counts, s.tick, (i) => s.flagged[i] === 1, s.compromised);
    this.noteCompromised(s.tick, s.compromised);
    const span = this.spans.at(-1);
    if (span && span.to === s.tick) span.to++;
    else this.spans.push({ from: s.tick, to: s.tick + 1 });
    for (let i = 0; i < N; i++) {
      this.lastX[i] = s.x(i);
      this.lastY[i] = s.y(i);
    }
    this.lastTick = s.tick;
    if (this.firstTickAdded < 0) this.firstTickAdded = s.tick;
    this.followGathering(s, planned);
    this.pictures.add(s);
    this.ticks++;
  }

  /**
   * The compromised robots of every tick added, told after the run (the distributed monitor hears the
   * agents' injections late, and adds its ticks with none compromised): the per-robot compromised ticks,
   * the change list and the robots ever compromised are made again from `compromisedAt` over the ticks
   * added. The scored set followed for its first gathering is then the one the run ends with if it was
   * among those followed: every subset of `planned` is while at most MAX_PENDING robots are named.
   */
  settleCompromised(compromisedAt: (tick: number) => readonly number[]): void {
    (this.counts.compromisedTicks as Float64Array).fill(0);
    (this.counts.firstAttack as (number | null)[]).fill(null);
    this.changes.length = 0;
    this.ever.clear();
    this.lastTickNoted = -1;
    for (const { from, to } of this.spans) {
      for (let t = from; t < to; t++) {
        const robots = compromisedAt(t);
        countTick(this.counts, t, () => false, robots);
        this.noteCompromised(t, robots);
      }
    }
  }

  /** The robots compromised at `tick` ([] past the last tick added, or at a tick not added), as that tick's record says. */
  compromisedAt(tick: number): readonly number[] {
    if (!(tick >= 0 && tick <= this.lastTick)) return [];
    let lo = 0;
    let hi = this.changes.length - 1;
    if (hi < 0 || this.changes[0]!.from > tick) return [];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.changes[mid]!.from <= tick) lo = mid;
      else hi = mid - 1;
    }
    return this.changes[lo]!.robots;
  }

  /** Flags against the ground truth (as outcomes() gives from the records). */
  outcomes(events: readonly RunEvent[]): RobotOutcome[] {
    return outcomesOf(this.ids, this.counts, (t) => this.compromisedAt(t), events);
  }

  /** The robots compromised at some tick added. */
  get everCompromised(): ReadonlySet<number> {
    return this.ever;
  }

  /**
   * Whether the robots never compromised were followed for their first gathering from the first tick added:
   * if not (see followGathering), uncompromised() counts it from when they were, unless told it.
   */
  get scoredFollowedThroughout(): boolean {
    const c = this.candidates.get(key([...this.ever]));
    return c !== undefined && c.since === this.firstTickAdded;
  }

  /**
   * The rendezvous outcome of the robots never compromised (as uncompromisedOutcome() gives from the records);
   * `gathering`: their first gathering followed by the caller over every tick (the distributed monitor reads
   * its ticks back from its spool file when scoredFollowedThroughout is false), else the tally's own.
   */
  uncompromised(gathering?: GatherWatch): TeamOutcome | null {
    if (this.ticks === 0) return null;
    // Followed from the run's start, or from the tick its last robot was compromised unannounced (see followGathering).
    const watch = gathering ?? this.candidates.get(key([...this.ever]))?.watch ?? new GatherWatch(this.ids.length, this.ever);
    return watch.outcome(this.ids, { tick: this.lastTick, x: (i) => this.lastX[i]!, y: (i) => this.lastY[i]! }, this.settings);
  }

  /** Tick `tick`'s compromised robots into the change list (a tick skipped before it has none) and the robots ever compromised. */
  private noteCompromised(tick: number, robots: readonly number[]): void {
    const last = this.changes.at(-1);
    const skipped = this.lastTickNoted >= 0 && tick > this.lastTickNoted + 1;
    if (skipped && last && last.robots.length > 0) this.changes.push({ from: this.lastTickNoted + 1, robots: [] });
    const now = this.changes.at(-1);
    if (!now || now.robots.length !== robots.length || now.robots.some((r, k) => r !== robots[k])) this.changes.push({ from: tick, robots: [...robots] });
    for (const i of robots) if (i >= 0 && i < this.ids.length) this.ever.add(i);
    this.lastTickNoted = tick;
  }

  /** The pictures' history: every tick while the run is short, thinned evenly (and its last tick) once it is long. */
  get history(): RunPictures {
    return this.pictures.pictures(this.ticks);
  }

  /**
   * The scored robots are those never compromised, known only at the end: every set they may still turn out
   * to be (the robots compromised so far left out, plus any subset of those the injections name that have
   * not acted yet) is followed, each with the first tick it was gathered. A robot compromised that no
   * injection named before (one injected from the console) starts sets that are followed from that tick on:
   * the time to gather of such a set counts from its injection. Beyond MAX_PENDING named robots still to act
   * only the two extreme sets (all of them scored, none of them) are followed.
   */
  private followGathering(s: TickSnapshot, planned: readonly number[]): void {
    const base = [...this.ever];
    const pending = [...new Set(planned)].filter((i) => i >= 0 && i < this.ids.length && !this.ever.has(i)).sort((a, b) => a - b);
    const subsets: number[][] = [];
    if (pending.length > MAX_PENDING) subsets.push([], pending);
    else for (let m = 0; m < 1 << pending.length; m++) subsets.push(pending.filter((_, k) => m & (1 << k)));
    const next = new Map<string, { watch: GatherWatch; since: number }>();
    for (const sub of subsets) {
      const leftOut = new Set([...base, ...sub]);
      const k = key([...leftOut]);
      const c = this.candidates.get(k) ?? next.get(k) ?? { watch: new GatherWatch(this.ids.length, leftOut), since: s.tick };
      next.set(k, c);
      c.watch.add(s, this.settings.gatherDiameter);
    }
    this.candidates = next;
  }
}

const key = (robots: readonly number[]): string => [...robots].sort((a, b) => a - b).join(',');
