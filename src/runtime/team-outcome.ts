// How the robots a run scores did at rendezvous: the twin's episode metrics (src/core/rendezvous.ts) from a
// run's ticks, followed as they come (GatherWatch) or from its kept tick records (scoredOutcome, the same
// watch over them). A run scores its uncompromised robots, those never injected during the run, so an
// attacked robot that drives off does not make the others look scattered.
import { isGathered, rendezvousOutcome, type RendezvousOutcome } from '../core/rendezvous.js';
import type { TickRecord } from './trial.js';

export interface TeamOutcome extends RendezvousOutcome {
  /** The robots scored (ids). */
  robots: string[];
  /** Seconds from the run's first tick until the scored robots were first all inside the gather circle, or null if never. */
  timeToGather: number | null;
}

/** A record's poses: the true ones where the link knows them, else the tracked ones. */
function posesOf(r: TickRecord): readonly { x: number; y: number }[] {
  return r.truePoses ?? r.poses;
}

/**
 * The scored robots' positions packed into one environment (x, y), so the twin's metric functions apply as
 * they are; false when one of them has no finite position.
 */
export function packScored(scored: readonly number[], xOf: (i: number) => number | undefined, yOf: (i: number) => number | undefined, x: Float64Array, y: Float64Array): boolean {
  let finite = true;
  scored.forEach((i, k) => {
    x[k] = xOf(i) ?? Number.NaN;
    y[k] = yOf(i) ?? Number.NaN;
    finite &&= Number.isFinite(x[k]) && Number.isFinite(y[k]);
  });
  return finite;
}

/** Whether the packed robots are all inside the gather circle around their centroid. */
export function gathered(x: Float64Array, y: Float64Array, gatherDiameter: number): boolean {
  return isGathered(x, y, 0, x.length, gatherDiameter / 2);
}

/** The outcome of the packed robots (their positions at the run's end), with the time they first gathered. */
export function teamOutcome(ids: readonly string[], scored: readonly number[], x: Float64Array, y: Float64Array, gatherDiameter: number, timeToGather: number | null): TeamOutcome {
  return { robots: scored.map((i) => ids[i]!), ...rendezvousOutcome(x, y, 0, scored.length, gatherDiameter), timeToGather };
}

/** Where a tick put the robots: x, y per robot index (NaN: not located), as TickSnapshot gives them. */
export interface TickPositions {
  tick: number;
  x(i: number): number;
  y(i: number): number;
}

/** A record's positions: the true poses where the link knows them, else the tracked ones. */
export function recordPositions(r: TickRecord): TickPositions {
  const poses = posesOf(r);
  return { tick: r.tick, x: (i) => poses[i]?.x ?? Number.NaN, y: (i) => poses[i]?.y ?? Number.NaN };
}

/**
 * The outcome of every robot but those in `leftOut`, followed tick by tick as a run goes: the first tick the
 * scored robots were all inside the gather circle is kept, nothing else, so that a run need not keep its
 * records to score them (eval-monitor, eval-isolation, RunTally's scored sets). scoredOutcome is this over
 * kept records.
 */
export class GatherWatch {
  readonly scored: number[];
  /** The first tick the scored robots were all gathered (null: not yet). */
  firstTick: number | null = null;
  private readonly x: Float64Array;
  private readonly y: Float64Array;

  constructor(robots: number, leftOut: ReadonlySet<number>) {
    this.scored = Array.from({ length: robots }, (_, i) => i).filter((i) => !leftOut.has(i));
    this.x = new Float64Array(this.scored.length);
    this.y = new Float64Array(this.scored.length);
  }

  /** One tick (ticks in order). */
  add(p: TickPositions, gatherDiameter: number): void {
    if (this.firstTick !== null || this.scored.length === 0) return;
    if (packScored(this.scored, (i) => p.x(i), (i) => p.y(i), this.x, this.y) && gathered(this.x, this.y, gatherDiameter)) this.firstTick = p.tick;
  }

  /**
   * The outcome with the robots where `last` (the run's last tick) put them. Null when nothing can be
   * scored: no robot left, no tick (a snapshot not written yet: tick -1), or a scored robot without a
   * position at the end (never located).
   */
  outcome(ids: readonly string[], last: TickPositions, settings: { gatherDiameter: number; controlPeriod: number }): TeamOutcome | null {
    if (this.scored.length === 0 || last.tick < 0) return null;
    if (!packScored(this.scored, (i) => last.x(i), (i) => last.y(i), this.x, this.y)) return null;
    const first = this.firstTick;
    return teamOutcome(ids, this.scored, this.x, this.y, settings.gatherDiameter, first === null ? null : first * settings.controlPeriod);
  }
}

/**
 * The outcome of every robot but those in `leftOut`, at the last record (the end of the run), with the
 * time they first gathered (GatherWatch over the records). Null when nothing can be scored: no robot left,
 * no tick, or a scored robot without a pose at the end (never located).
 */
export function scoredOutcome(
  records: readonly TickRecord[],
  ids: readonly string[],
  settings: { gatherDiameter: number; controlPeriod: number },
  leftOut: ReadonlySet<number>,
): TeamOutcome | null {
  const watch = new GatherWatch(ids.length, leftOut);
  for (const r of records) watch.add(recordPositions(r), settings.gatherDiameter);
  const last = records.at(-1);
  return last ? watch.outcome(ids, recordPositions(last), settings) : null;
}

/** The outcome of the robots never injected during the run. */
export function uncompromisedOutcome(
  records: readonly TickRecord[],
  ids: readonly string[],
  settings: { gatherDiameter: number; controlPeriod: number },
): TeamOutcome | null {
  return scoredOutcome(records, ids, settings, new Set(records.flatMap((r) => r.compromised)));
}

/** One line for a printed summary. */
export function formatTeamOutcome(o: TeamOutcome | null, gatherDiameter: number): string {
  if (!o) return 'no outcome (no robot left to score, or one never located)';
  const gathered = o.gatheredAtEnd ? 'gathered at end' : 'NOT gathered at end';
  const first = o.timeToGather === null ? 'never gathered' : `first gathered after ${o.timeToGather.toFixed(1)} s`;
  return (
    `${gathered} (${gatherDiameter} m circle), final spread ${o.finalMeanPairwiseDistance.toFixed(3)} m, ` +
    `largest cluster ${(100 * o.largestClusterFraction).toFixed(0)}% of them, ${first}`
  );
}
