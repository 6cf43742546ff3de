// How the robots a run scores did at rendezvous: the twin's episode metrics (src/core/rendezvous.ts) from a
// run's tick records. A run scores its uncompromised robots, those never injected during the run, so an
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

/**
 * The outcome of every robot but those in `leftOut`, at the last record (the end of the run), with the
 * time they first gathered. Null when nothing can be scored: no robot left, no tick, or a scored robot
 * without a pose at the end (never located).
 */
export function scoredOutcome(
  records: readonly TickRecord[],
  ids: readonly string[],
  settings: { gatherDiameter: number; controlPeriod: number },
  leftOut: ReadonlySet<number>,
): TeamOutcome | null {
  const scored = ids.map((_, i) => i).filter((i) => !leftOut.has(i));
  const last = records.at(-1);
  if (scored.length === 0 || !last) return null;
  const x = new Float64Array(scored.length);
  const y = new Float64Array(scored.length);
  const load = (r: TickRecord): boolean => {
    const poses = posesOf(r);
    return packScored(scored, (i) => poses[i]?.x, (i) => poses[i]?.y, x, y);
  };
  let timeToGather: number | null = null;
  for (const r of records) {
    if (load(r) && gathered(x, y, settings.gatherDiameter)) {
      timeToGather = r.tick * settings.controlPeriod;
      break;
    }
  }
  if (!load(last)) return null;
  return teamOutcome(ids, scored, x, y, settings.gatherDiameter, timeToGather);
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
