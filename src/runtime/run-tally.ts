// A run's summary kept as it goes, from each tick's snapshot, instead of from every tick's record at the end
// (`swarmguard run` keeps no records, so its memory does not grow with its length): per robot the ticks it
// was compromised and flagged; which robots were compromised when (a change list); the uncompromised robots'
// rendezvous outcome with the time they first gathered; and the pictures' history, thinned to a bounded
// number of ticks. What it answers is what the same run's records give (test/run-tally.test.ts), except
// where noted at timeToGather.
import { countTick, outcomesOf, type RobotOutcome, type RobotTicks, type RunEvent } from './trial.js';
import { gathered, packScored, teamOutcome, type TeamOutcome } from './team-outcome.js';
import { PictureHistory, type RunPictures } from './run-pictures.js';
import type { TickSnapshot } from './tick-snapshot.js';

/** More robots than this named by injections that have not acted yet: only the two extreme scored sets are followed. */
const MAX_PENDING = 6;

/** A set of robots that may end up the scored one (all but `leftOut`), and the first tick it was gathered. */
interface GatherCandidate {
  scored: number[];
  x: Float64Array;
  y: Float64Array;
  firstTick: number | null;
}

export class RunTally {
  /** Ticks added. */
  ticks = 0;
  private readonly counts: RobotTicks;
  /** The compromised robots from each tick on where they changed (ticks in order). */
  private readonly changes: { from: number; robots: readonly number[] }[] = [];
  private readonly ever = new Set<number>();
  private candidates = new Map<string, GatherCandidate>();
  private readonly lastX: Float64Array;
  private readonly lastY: Float64Array;
  private lastTick = -1;
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
    const last = this.changes.at(-1);
    if (!last || last.robots.length !== s.compromised.length || last.robots.some((r, k) => r !== s.compromised[k])) this.changes.push({ from: s.tick, robots: [...s.compromised] });
    for (const i of s.compromised) if (i >= 0 && i < N) this.ever.add(i);
    for (let i = 0; i < N; i++) {
      this.lastX[i] = s.x(i);
      this.lastY[i] = s.y(i);
    }
    this.lastTick = s.tick;
    this.followGathering(s, planned);
    this.pictures.add(s);
    this.ticks++;
  }

  /** The robots compromised at `tick` ([] past the last tick added), as that tick's record says. */
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

  /** The rendezvous outcome of the robots never compromised (as uncompromisedOutcome() gives from the records). */
  uncompromised(): TeamOutcome | null {
    if (this.ticks === 0) return null;
    const c = this.candidates.get(key([...this.ever]));
    const scored = this.ids.map((_, i) => i).filter((i) => !this.ever.has(i));
    if (scored.length === 0) return null;
    const x = new Float64Array(scored.length);
    const y = new Float64Array(scored.length);
    if (!packScored(scored, (i) => this.lastX[i], (i) => this.lastY[i], x, y)) return null;
    const first = c?.firstTick ?? null;
    return teamOutcome(this.ids, scored, x, y, this.settings.gatherDiameter, first === null ? null : first * this.settings.controlPeriod);
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
    const next = new Map<string, GatherCandidate>();
    for (const sub of subsets) {
      const leftOut = new Set([...base, ...sub]);
      const k = key([...leftOut]);
      let c = this.candidates.get(k) ?? next.get(k);
      if (!c) {
        const scored = this.ids.map((_, i) => i).filter((i) => !leftOut.has(i));
        c = { scored, x: new Float64Array(scored.length), y: new Float64Array(scored.length), firstTick: null };
      }
      next.set(k, c);
      if (c.firstTick === null && c.scored.length > 0 && packScored(c.scored, (i) => s.x(i), (i) => s.y(i), c.x, c.y) && gathered(c.x, c.y, this.settings.gatherDiameter)) c.firstTick = s.tick;
    }
    this.candidates = next;
  }
}

const key = (robots: readonly number[]): string => [...robots].sort((a, b) => a - b).join(',');
