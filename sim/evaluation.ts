// Summaries of evaluation episodes: the rendezvous metrics averaged, with 95% intervals on the return and
// on the gathered-at-end rate, and their form in a manifest.
import type { EvaluationMetrics } from '../src/core/policy-manifest.js';
import type { RendezvousMetrics, RendezvousOutcome } from '../src/core/rendezvous.js';

/** The scored robots' outcome at the end of the episodes, summarised. */
export interface OutcomeSummary {
  /** Fraction of episodes whose scored robots were all inside the gather circle at the last step. */
  gatheredAtEndRate: number;
  /** 95% Wilson interval of that rate. */
  gatheredAtEndCi95: [number, number];
  /** Mean over episodes of the scored robots' final mean pairwise distance (final spread), m. */
  meanFinalDistance: number;
  /** Mean over episodes of the fraction of scored robots in the largest cluster at the end. */
  meanLargestClusterFraction: number;
}

export interface EvalResult extends OutcomeSummary {
  episodes: number;
  /** Mean team return (the papers' protocol). */
  meanReturn: number;
  /** 95% interval of the mean return (normal approximation over episodes). */
  returnCi95: [number, number];
  /** Fraction of episodes in which the scored robots were inside the gather circle at some step ("ever gathered"). */
  gatherRate: number;
  /** Mean time to gather over the episodes that gathered, s. */
  meanTimeToGather: number | null;
  collisionsPerRobotMinute: number;
}

/** Mean and 95% interval (mean +- 1.96 standard errors) of a sample. */
export function meanCi95(xs: readonly number[]): { mean: number; ci: [number, number] } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  const half = 1.96 * Math.sqrt(variance / n);
  return { mean, ci: [mean - half, mean + half] };
}

/**
 * 95% Wilson score interval of a proportion (successes of n trials): unlike mean +- 1.96 standard errors it
 * stays inside [0, 1] and is not zero-width when every episode (or none) succeeded.
 */
export function wilsonCi95(successes: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = successes / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function summariseOutcomes(os: readonly RendezvousOutcome[]): OutcomeSummary {
  const avg = (f: (o: RendezvousOutcome) => number) => os.reduce((s, o) => s + f(o), 0) / os.length;
  const gatheredAtEnd = os.filter((o) => o.gatheredAtEnd).length;
  return {
    gatheredAtEndRate: gatheredAtEnd / os.length,
    gatheredAtEndCi95: wilsonCi95(gatheredAtEnd, os.length),
    meanFinalDistance: avg((o) => o.finalMeanPairwiseDistance),
    meanLargestClusterFraction: avg((o) => o.largestClusterFraction),
  };
}

export function summariseEpisodes(ms: RendezvousMetrics[]): EvalResult {
  const episodes = ms.length;
  const avg = (f: (m: RendezvousMetrics) => number) => ms.reduce((s, m) => s + f(m), 0) / ms.length;
  const gathered = ms.filter((m) => m.timeToGather !== null);
  const ret = meanCi95(ms.map((m) => m.episodeReturn));
  return {
    episodes,
    meanReturn: ret.mean,
    returnCi95: ret.ci,
    gatherRate: gathered.length / episodes,
    ...summariseOutcomes(ms),
    meanTimeToGather: gathered.length ? gathered.reduce((s, m) => s + m.timeToGather!, 0) / gathered.length : null,
    collisionsPerRobotMinute: avg((m) => m.collisionsPerRobotMinute),
  };
}

/** An evaluation as a manifest records it, with the seed and noise model its episodes used. */
export function evaluationMetrics(ev: EvalResult, seed: number, noise: string): EvaluationMetrics {
  return {
    episodes: ev.episodes,
    seed,
    noise,
    meanReturn: ev.meanReturn,
    returnCi95: ev.returnCi95,
    gatherRate: ev.gatherRate,
    gatheredAtEndRate: ev.gatheredAtEndRate,
    gatheredAtEndCi95: ev.gatheredAtEndCi95,
    meanFinalDistance: ev.meanFinalDistance,
    meanLargestClusterFraction: ev.meanLargestClusterFraction,
    meanTimeToGather: ev.meanTimeToGather,
    collisionsPerRobotMinute: ev.collisionsPerRobotMinute,
  };
}
