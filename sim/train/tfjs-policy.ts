// A training run's own tfjs networks as the evaluation protocol's controllers (sim/team-eval.ts): the team
// as a TeamController, an adversary as an AdversaryController. They do with the tfjs weights what OnnxTeam
// and OnnxAdversary do with the exported ONNX files (every robot's mean command; for belief policies one
// belief per (observer, neighbour) pair with its own recurrent state, advanced every tick and read by the
// actor row by row), so the trainers' evaluations and the deployed ones run through the same loop.
import { PAIR_DIM } from '../../src/core/observation.js';
import type { AdversaryController } from '../../src/policy/adversary.js';
import type { TeamController, TeamView } from '../../src/policy/team.js';
import { beliefStepArrays, beliefTypeCount, type BeliefParams, type BeliefShape } from './belief.js';
import { actorMeans, rowBeliefCount, type ActorParams, type ActorShape } from './networks.js';

export interface TfjsTeamParts {
  name: string;
  actor: ActorParams;
  shape: ActorShape;
  obsSize: number;
  /** The belief network, for an actor that reads row beliefs (required then, refused otherwise). */
  belief?: { params: BeliefParams; shape: BeliefShape };
  /**
   * A known-type oracle (eir.oracle): the row of a compromised neighbour reads the one-hot of this type
   * (1..R) in place of its belief, from view.compromised (the twin's truth), as OnnxTeam's oracle does.
   */
  oracleType?: number;
}

export class TfjsTeam implements TeamController {
  readonly name: string;
  private readonly beliefsPerRow: number;
  /** Recurrent state of every pair, (e, i, j) at ((e * N + i) * N + j) * H; sized on first use. */
  private state = new Float32Array(0);
  private beliefs = new Float32Array(0);
  private features = new Float32Array(0);
  private rows = new Float32Array(0);
  private envs = 0;
  private robots = 0;

  constructor(private readonly parts: TfjsTeamParts) {
    this.name = parts.name;
    this.beliefsPerRow = rowBeliefCount(parts.shape);
    const R = this.beliefsPerRow;
    if ((R > 0) !== (parts.belief !== undefined)) throw new RangeError(`${parts.name}: an actor reading row beliefs needs a belief network, and only it`);
    if (parts.belief && beliefTypeCount(parts.belief.shape) !== R) {
      throw new RangeError(`${parts.name}: the belief gives ${beliefTypeCount(parts.belief.shape)} values per pair, the actor reads ${R} per row`);
    }
    const k = parts.oracleType;
    if (k !== undefined && !(R > 0 && Number.isInteger(k) && k >= 1 && k <= R)) throw new RangeError(`${parts.name}: oracle type ${k} outside 1..${R}`);
  }

  /** Forgets every belief of environment e (its episode restarted). */
  resetEnv(e: number): void {
    const NN = this.robots * this.robots;
    const H = this.parts.belief?.shape.hidden ?? 0;
    this.state.fill(0, e * NN * H, (e + 1) * NN * H);
  }

  private size(view: TeamView): void {
    if (view.envs === this.envs && view.robots === this.robots) return;
    this.envs = view.envs;
    this.robots = view.robots;
    const pairs = view.envs * view.robots * view.robots;
    this.state = new Float32Array(pairs * (this.parts.belief?.shape.hidden ?? 0));
    this.beliefs = new Float32Array(pairs * this.beliefsPerRow);
    this.features = new Float32Array(pairs * PAIR_DIM);
    this.rows = new Float32Array(view.envs * view.robots * this.parts.shape.maxNeighbours * this.beliefsPerRow);
  }

  /** Mean commands of every robot of every environment into out (robot g at 2g); advances the beliefs first. */
  act(view: TeamView, out: Float32Array): void {
    this.size(view);
    const { actor, shape, obsSize, belief, oracleType } = this.parts;
    const robots = view.envs * view.robots;
    if (!belief) {
      out.set(actorMeans(actor, shape, view.obs, obsSize, robots));
      return;
    }
    const truth = view.compromised;
    if (oracleType !== undefined && !truth) throw new RangeError(`${this.name} is a known-type oracle: it runs only where the compromised robot is known (the twin)`);
    const N = view.robots;
    const NN = N * N;
    for (let e = 0; e < view.envs; e++) view.pairFeatures(e, this.features.subarray(e * NN * PAIR_DIM, (e + 1) * NN * PAIR_DIM));
    this.state = beliefStepArrays(belief.params, belief.shape, this.features, this.state, view.envs * NN, this.beliefs);
    const K = shape.maxNeighbours;
    const R = this.beliefsPerRow;
    this.rows.fill(0);
    for (let g = 0; g < robots; g++) {
      for (let k = 0; k < K; k++) {
        const j = view.rowIds[g * K + k]!;
        if (j < 0) continue;
        const row = (g * K + k) * R;
        if (oracleType === undefined) this.rows.set(this.beliefs.subarray((g * N + j) * R, (g * N + j + 1) * R), row);
        else if (truth![g - (g % N) + j]) this.rows[row + oracleType - 1] = 1;
      }
    }
    out.set(actorMeans(actor, shape, view.obs, obsSize, robots, this.rows));
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}

/** A tfjs adversary (a trainer's, or one it reads): the mean command of each victim from its own observation. */
export class TfjsAdversary implements AdversaryController {
  constructor(
    readonly name: string,
    private readonly actor: ActorParams,
    private readonly shape: ActorShape,
    private readonly obsSize: number,
  ) {
    if (rowBeliefCount(shape) > 0) throw new RangeError(`adversary ${name}: reads the victim's observation alone, not row beliefs`);
  }

  act(obs: Float32Array, victimRows: readonly number[], out: Float32Array): void {
    const n = victimRows.length;
    if (n === 0) return;
    const size = this.obsSize;
    const batch = new Float32Array(n * size);
    victimRows.forEach((g, r) => batch.set(obs.subarray(g * size, (g + 1) * size), r * size));
    out.set(actorMeans(this.actor, this.shape, batch, size, n));
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}
