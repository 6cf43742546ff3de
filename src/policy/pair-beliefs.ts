// The per-pair belief bookkeeping of a batched team, shared by the deployed (onnxruntime) and the training
// (tfjs) teams: one recurrent state and R belief values per ordered pair (observer i, neighbour j) of every
// environment, the pair features fed to the belief network, and the row beliefs the actor reads (the
// beliefs about whoever fills each of a robot's neighbour rows).
import { PAIR_DIM } from '../core/observation.js';
import type { PolicyManifest } from '../core/policy-manifest.js';

/** What gathering row beliefs reads of a batch of environments. */
export interface RowLayout {
  readonly envs: number;
  readonly robots: number;
  /** The robot behind each neighbour row (-1 for an empty row), robot g's rows at g * maxNeighbours. */
  readonly rowIds: Int32Array;
  /** 1 for every compromised robot (robot g at g): ground truth, read only by a known-type oracle. */
  readonly compromised?: Uint8Array;
}

export class PairBeliefBuffers {
  /** Recurrent state of pair (e, i, j) at ((e * N + i) * N + j) * hidden. */
  state = new Float32Array(0);
  /** R beliefs of pair (e, i, j) at ((e * N + i) * N + j) * R. */
  beliefs = new Float32Array(0);
  /** Belief-network input of pair (e, i, j) at ((e * N + i) * N + j) * PAIR_DIM. */
  features = new Float32Array(0);
  /** The actor's row beliefs: robot g's K rows x R values at g * K * R. */
  rows = new Float32Array(0);
  envs = 0;
  robots = 0;

  constructor(
    readonly hidden: number,
    readonly beliefsPerPair: number,
    readonly maxNeighbours: number,
  ) {}

  /** Sizes every buffer for envs x robots (fresh zero state when the shape changes); true if it changed. */
  fit(envs: number, robots: number): boolean {
    if (envs === this.envs && robots === this.robots) return false;
    this.envs = envs;
    this.robots = robots;
    const pairs = envs * robots * robots;
    this.state = new Float32Array(pairs * this.hidden);
    this.beliefs = new Float32Array(pairs * this.beliefsPerPair);
    this.features = new Float32Array(pairs * PAIR_DIM);
    this.rows = new Float32Array(envs * robots * this.maxNeighbours * this.beliefsPerPair);
    return true;
  }

  /** Forgets every pair state of environment e (its episode restarted). */
  resetEnv(e: number): void {
    const NN = this.robots * this.robots;
    this.state.fill(0, e * NN * this.hidden, (e + 1) * NN * this.hidden);
  }

  /**
   * Fills `rows` from the pair beliefs, or for a known-type oracle (oracleType 1..R) with the one-hot of
   * that type on the rows of compromised robots. Empty rows, and every row of a robot `skip` names, are zero.
   */
  gatherRows(view: RowLayout, oracleType: number | undefined, skip?: (g: number) => boolean): Float32Array {
    const truth = view.compromised;
    if (oracleType !== undefined && !truth) throw new RangeError('a known-type oracle runs only where the compromised robots are known (the twin)');
    const N = view.robots;
    const K = this.maxNeighbours;
    const R = this.beliefsPerPair;
    const rows = this.rows;
    rows.fill(0);
    for (let g = 0, robots = view.envs * N; g < robots; g++) {
      if (skip?.(g)) continue;
      for (let k = 0; k < K; k++) {
        const j = view.rowIds[g * K + k]!;
        if (j < 0) continue;
        const row = (g * K + k) * R;
        if (oracleType === undefined) rows.set(this.beliefs.subarray((g * N + j) * R, (g * N + j + 1) * R), row);
        else if (truth![g - (g % N) + j]) rows[row + oracleType - 1] = 1;
      }
    }
    return rows;
  }
}

/**
 * The probability that a given robot was compromised in the episodes a belief network was trained on: nature
 * leaves an episode benign with the training config's benignProbability (eir or batpal block) and otherwise
 * compromises one of the environment's robots. The network's outputs are posteriors under this prior; the
 * monitor divides it out (aggregateBeliefs).
 */
export function trainingPrior(manifest: PolicyManifest): number {
  const { eir, batpal } = manifest.training.config as { eir?: { benignProbability?: unknown }; batpal?: { benignProbability?: unknown } };
  const benign = eir?.benignProbability ?? batpal?.benignProbability;
  if (typeof benign !== 'number' || !(benign >= 0 && benign < 1)) {
    throw new RangeError(`policy '${manifest.name}': its training config has no benignProbability below 1 (eir or batpal block), so the belief network's prior is unknown`);
  }
  return (1 - benign) / manifest.environment.robots;
}
