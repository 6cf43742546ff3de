// Summaries of evaluation episodes: the rendezvous metrics averaged, with a 95% interval on the return,
// and their form in a manifest.
import type { EvaluationMetrics } from '../src/core/policy-manifest.js';
import type { RendezvousMetrics } from '../src/core/rendezvous.js';

export interface EvalResult {
  episodes: number;
  meanReturn: number;
  /** 95% interval of the mean return (normal approximation over episodes). */
  returnCi95: [number, number];
  /** Fraction of episodes in which the team gathered inside the gather circle. */
  gatherRate: number;
  meanFinalDistance: number;
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
    meanFinalDistance: avg((m) => m.finalMeanPairwiseDistance),
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
    meanFinalDistance: ev.meanFinalDistance,
    meanTimeToGather: ev.meanTimeToGather,
    collisionsPerRobotMinute: ev.collisionsPerRobotMinute,
  };
}
