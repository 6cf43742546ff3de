// The rendezvous task's shared reward and its metrics, computed the same way in training, in the twin and
// when the runtime scores a live trial.

export interface RewardWeights {
  /** Weight of the mean squared wheel command sent (the anchors use 0.001). */
  readonly actionPenalty: number;
  /** Weight of the fraction of robots touching another robot (our addition, see sim/README.md). */
  readonly collisionPenalty: number;
}

export const DEFAULT_REWARD_WEIGHTS: RewardWeights = { actionPenalty: 0.001, collisionPenalty: 0.01 };

/** Mean distance over all unordered pairs of robots base..base+n-1, each distance capped at `cap`. */
export function meanPairwiseDistance(x: Float64Array, y: Float64Array, base: number, n: number, cap = Infinity): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[base + i];
    const yi = y[base + i];
    for (let j = i + 1; j < n; j++) {
      const dx = x[base + j] - xi;
      const dy = y[base + j] - yi;
      const d = Math.sqrt(dx * dx + dy * dy);
      sum += d < cap ? d : cap;
    }
  }
  return (2 * sum) / (n * (n - 1));
}

/**
 * Shared team reward for one control step:
 *   -mean_pairs(min(d_ij, d_c)) / d_c - actionPenalty * mean(u^2) - collisionPenalty * touchingFraction
 * with d_c the arena diagonal, u the normalised wheel commands sent this step (all robots, both wheels).
 */
export function rendezvousReward(
  x: Float64Array,
  y: Float64Array,
  command: Float64Array,
  base: number,
  n: number,
  arenaDiagonal: number,
  touchingRobots: number,
  w: RewardWeights,
): number {
  const meanDist = meanPairwiseDistance(x, y, base, n, arenaDiagonal);
  let u2 = 0;
  for (let k = 2 * base, end = 2 * (base + n); k < end; k++) u2 += command[k] * command[k];
  return -meanDist / arenaDiagonal - (w.actionPenalty * u2) / (2 * n) - (w.collisionPenalty * touchingRobots) / n;
}

/** True when every robot centre lies within `radius` of the swarm centroid. */
export function isGathered(x: Float64Array, y: Float64Array, base: number, n: number, radius: number): boolean {
  let cx = 0;
  let cy = 0;
  for (let k = 0; k < n; k++) {
    cx += x[base + k];
    cy += y[base + k];
  }
  cx /= n;
  cy /= n;
  const r2 = radius * radius;
  for (let k = 0; k < n; k++) {
    const dx = x[base + k] - cx;
    const dy = y[base + k] - cy;
    if (dx * dx + dy * dy > r2) return false;
  }
  return true;
}

/** The metrics reported for every rendezvous episode. */
export interface RendezvousMetrics {
  /** Sum of the shared reward over the episode. */
  episodeReturn: number;
  steps: number;
  /** Mean pairwise distance at the last step, m. */
  finalMeanPairwiseDistance: number;
  /** Seconds until all robots were first inside the gather circle, or null if never. */
  timeToGather: number | null;
  /** Robot-robot contact onsets per robot per minute. */
  collisionsPerRobotMinute: number;
  /** Wall contact onsets per robot per minute. */
  wallHitsPerRobotMinute: number;
}
