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
  everGatheredRate: number;
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
 * P(|T| <= t) for Student's t with an integer number of degrees of freedom, in closed form (Abramowitz and
 * Stegun 26.7.3-4, theta = atan(t / sqrt(dof))): a finite sum of powers of cos(theta).
 */
function studentTCentralProbability(t: number, dof: number): number {
  const theta = Math.atan(t / Math.sqrt(dof));
  const c2 = Math.cos(theta) ** 2;
  if (dof % 2 === 0) {
    let term = 1;
    let sum = 1;
    for (let k = 2; k <= dof - 2; k += 2) sum += term *= ((k - 1) / k) * c2;
    return Math.sin(theta) * sum;
  }
  let term = Math.cos(theta);
  let sum = dof > 1 ? term : 0;
  for (let k = 3; k <= dof - 2; k += 2) sum += term *= ((k - 1) / k) * c2;
  return (2 / Math.PI) * (theta + Math.sin(theta) * sum);
}

/** The two-sided 95% critical value of Student's t with `dof` degrees of freedom (12.71 at 1, 2.26 at 9, 1.98 at 99). */
export function studentT95(dof: number): number {
  if (!(Number.isInteger(dof) && dof >= 1)) throw new RangeError(`degrees of freedom must be an integer >= 1, got ${dof}`);
  // P(|T| <= t) grows with t: bisect for 0.95.
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCentralProbability(mid, dof) < 0.95) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Mean and 95% t-interval (n - 1 degrees of freedom) of a sample: mean +- t * s / sqrt(n), for small samples
 * such as one number per training seed. No interval (null) below two values.
 */
export function meanTCi95(xs: readonly number[]): { mean: number; ci: [number, number] | null } {
  const n = xs.length;
  if (n === 0) throw new RangeError('the mean of no values');
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci: null };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const half = studentT95(n - 1) * Math.sqrt(variance / n);
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
    everGatheredRate: gathered.length / episodes,
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
    everGatheredRate: ev.everGatheredRate,
    gatheredAtEndRate: ev.gatheredAtEndRate,
    gatheredAtEndCi95: ev.gatheredAtEndCi95,
    meanFinalDistance: ev.meanFinalDistance,
    meanLargestClusterFraction: ev.meanLargestClusterFraction,
    meanTimeToGather: ev.meanTimeToGather,
    collisionsPerRobotMinute: ev.collisionsPerRobotMinute,
  };
}
