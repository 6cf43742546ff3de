// The rendezvous task's shared reward and its metrics, computed the same way in training, in the twin and
// when the runtime scores a live trial.

export interface RewardWeights {
  /** Weight of the mean squared wheel command sent (the anchors use 0.001). */
  readonly actionPenalty: number;
  /** Weight of the fraction of robots touching another robot (our addition, see sim/README.md). */
  readonly collisionPenalty: number;
}

export const DEFAULT_REWARD_WEIGHTS: RewardWeights = { actionPenalty: 0.001, collisionPenalty: 0.01 };

/**
 * Robots left out of the team a measure is over (compromised ones, or robots left out for comparison): one
 * robot index (-1 for none) or a list of them.
 */
export type LeftOut = number | readonly number[];

/** The single robot `skip` leaves out (-1 for none or for a list). */
function oneLeftOut(skip: LeftOut): number {
  return typeof skip === 'number' ? skip : -1;
}

/** The list `skip` leaves out, null for a single robot. */
function manyLeftOut(skip: LeftOut): readonly number[] | null {
  return typeof skip === 'number' ? null : skip;
}

/**
 * Whether robot k is left out, from oneLeftOut and manyLeftOut: the pair loops run it N^2 / 2 times per step,
 * so the common single-robot case stays one compare (no closure, no set).
 */
function isLeftOut(k: number, one: number, many: readonly number[] | null): boolean {
  return k === one || (many !== null && many.includes(k));
}

/** Robots 0..n-1 not left out. */
function teamSize(n: number, one: number, many: readonly number[] | null): number {
  let m = 0;
  for (let k = 0; k < n; k++) if (!isLeftOut(k, one, many)) m++;
  return m;
}

/**
 * Mean distance over all unordered pairs of robots base..base+n-1, each distance capped at `cap`, leaving
 * out the robots `skip` names (a compromised robot is not part of the team whose rendezvous is measured).
 */
export function meanPairwiseDistance(x: Float64Array, y: Float64Array, base: number, n: number, cap = Infinity, skip: LeftOut = -1): number {
  const one = oneLeftOut(skip);
  const many = manyLeftOut(skip);
  let sum = 0;
  if (one < 0 && (many === null || many.length === 0)) {
    // Nobody left out (the common case: N^2 / 2 square roots a step): the plain loop, no test per pair.
    for (let i = 0; i < n; i++) {
      const xi = x[base + i]!;
      const yi = y[base + i]!;
      for (let j = i + 1; j < n; j++) {
        const dx = x[base + j]! - xi;
        const dy = y[base + j]! - yi;
        const d = Math.sqrt(dx * dx + dy * dy);
        // Two adds, not `d < cap ? d : cap`: V8 boxed that select's value (a heap number per pair).
        if (d < cap) sum += d;
        else sum += cap;
      }
    }
    return n < 2 ? 0 : (2 * sum) / (n * (n - 1));
  }
  // Robots left out: the team's indices in ascending order, then the same pairs in the same order.
  const m = teamIndices(n, one, many);
  const team = teamScratch;
  for (let a = 0; a < m; a++) {
    const gi = base + team[a]!;
    const xi = x[gi]!;
    const yi = y[gi]!;
    for (let b = a + 1; b < m; b++) {
      const gj = base + team[b]!;
      const dx = x[gj]! - xi;
      const dy = y[gj]! - yi;
      const d = Math.sqrt(dx * dx + dy * dy);
      if (d < cap) sum += d;
      else sum += cap;
    }
  }
  return m < 2 ? 0 : (2 * sum) / (m * (m - 1));
}

/** Scratch for teamIndices (single-threaded: one measure at a time). */
let teamScratch = new Int32Array(0);

/** Writes the robots 0..n-1 not left out, ascending, into teamScratch; returns how many. */
function teamIndices(n: number, one: number, many: readonly number[] | null): number {
  if (teamScratch.length < n) teamScratch = new Int32Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) if (!isLeftOut(k, one, many)) teamScratch[m++] = k;
  return m;
}

/**
 * Shared team reward for one control step, over the team (every robot but those `skip` names, the compromised ones):
 *   -mean_team_pairs(min(d_ij, d_c)) / d_c - actionPenalty * mean_team(u^2) - collisionPenalty * touchingFraction
 * with d_c the arena diagonal, u the normalised wheel commands sent this step, touchingRobots the team robots
 * touching another robot. Under attack the defenders are scored on the uncompromised robots' outcome (as
 * BATPAL's value of the non-adversarial agents): a victim that only drives away costs them nothing, so the
 * adversary (rewarded with the negation) must disperse or split the others to score.
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
  skip: LeftOut = -1,
): number {
  const meanDist = meanPairwiseDistance(x, y, base, n, arenaDiagonal, skip);
  const one = oneLeftOut(skip);
  const many = manyLeftOut(skip);
  let u2 = 0;
  for (let k = 0; k < n; k++) {
    if (isLeftOut(k, one, many)) continue;
    const c = 2 * (base + k);
    u2 += command[c]! * command[c]!;
    u2 += command[c + 1]! * command[c + 1]!;
  }
  const team = teamSize(n, one, many);
  return -meanDist / arenaDiagonal - (w.actionPenalty * u2) / (2 * team) - (w.collisionPenalty * touchingRobots) / team;
}

/** True when every team robot's centre (all but those `skip` names) lies within `radius` of the team's centroid. */
export function isGathered(x: Float64Array, y: Float64Array, base: number, n: number, radius: number, skip: LeftOut = -1): boolean {
  const one = oneLeftOut(skip);
  const many = manyLeftOut(skip);
  let cx = 0;
  let cy = 0;
  let m = 0;
  for (let k = 0; k < n; k++) {
    if (isLeftOut(k, one, many)) continue;
    cx += x[base + k]!;
    cy += y[base + k]!;
    m++;
  }
  cx /= m;
  cy /= m;
  const r2 = radius * radius;
  for (let k = 0; k < n; k++) {
    if (isLeftOut(k, one, many)) continue;
    const dx = x[base + k]! - cx;
    const dy = y[base + k]! - cy;
    if (dx * dx + dy * dy > r2) return false;
  }
  return true;
}

/**
 * Fraction of the team (all but those `skip` names) in its largest cluster. Clusters are single-linkage: two robots are
 * linked when their centres are within `linkDistance`, and a cluster is every robot reachable through links.
 */
export function largestClusterFraction(x: Float64Array, y: Float64Array, base: number, n: number, linkDistance: number, skip: LeftOut = -1): number {
  const one = oneLeftOut(skip);
  const many = manyLeftOut(skip);
  // Union-find over the team's robots; called once per episode, so plain arrays are fine.
  const parent = Array.from({ length: n }, (_, k) => k);
  const root = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k]!]!;
    return k;
  };
  const l2 = linkDistance * linkDistance;
  for (let i = 0; i < n; i++) {
    if (isLeftOut(i, one, many)) continue;
    for (let j = i + 1; j < n; j++) {
      if (isLeftOut(j, one, many)) continue;
      const dx = x[base + j]! - x[base + i]!;
      const dy = y[base + j]! - y[base + i]!;
      if (dx * dx + dy * dy <= l2) parent[root(i)] = root(j);
    }
  }
  const size = new Array<number>(n).fill(0);
  let team = 0;
  let largest = 0;
  for (let k = 0; k < n; k++) {
    if (isLeftOut(k, one, many)) continue;
    team++;
    largest = Math.max(largest, ++size[root(k)]!);
  }
  return team === 0 ? 0 : largest / team;
}

/** Where the team (the robots that are scored) stands at one instant, usually the episode's last step. */
export interface RendezvousOutcome {
  /** Every team robot's centre inside the gather circle (diameter gatherDiameter) around the team's centroid. */
  gatheredAtEnd: boolean;
  /** Mean pairwise distance of the team, m (the final spread). */
  finalMeanPairwiseDistance: number;
  /** Fraction of the team in its largest cluster, robots linked within gatherDiameter / 2. */
  largestClusterFraction: number;
}

/**
 * The team's outcome (all robots but those `skip` names) from their positions. Cluster links use half the gather
 * diameter: robots packed as densely as a gathered swarm (each within a gather radius of a neighbour) form
 * one cluster, while a team split into groups that each gathered apart does not.
 */
export function rendezvousOutcome(x: Float64Array, y: Float64Array, base: number, n: number, gatherDiameter: number, skip: LeftOut = -1): RendezvousOutcome {
  return {
    gatheredAtEnd: isGathered(x, y, base, n, gatherDiameter / 2, skip),
    finalMeanPairwiseDistance: meanPairwiseDistance(x, y, base, n, Infinity, skip),
    largestClusterFraction: largestClusterFraction(x, y, base, n, gatherDiameter / 2, skip),
  };
}

/**
 * The metrics reported for every rendezvous episode. The outcome fields and the time to gather are over
 * the scored robots (the team: all but the victims, or robots left out for comparison, see sim/world.ts);
 * the return is the papers' team return, the shared reward summed, whoever is scored.
 */
export interface RendezvousMetrics extends RendezvousOutcome {
  /** Sum of the shared reward over the episode (the papers' team return). */
  episodeReturn: number;
  /**
   * Sum of the defenders' reward (the team without its compromised robots, what training optimises and a
   * posthoc adversary's reward negates); equal to episodeReturn when nobody is compromised.
   */
  defenderReturn: number;
  steps: number;
  /** Seconds until the team was first inside the gather circle ("ever gathered"), or null if never. */
  timeToGather: number | null;
  /** Robot-robot contact onsets per robot per minute. */
  collisionsPerRobotMinute: number;
  /** Wall contact onsets per robot per minute. */
  wallHitsPerRobotMinute: number;
}
