// A training run's own tfjs networks as the evaluation protocol's controllers (sim/team-eval.ts): the team
// as a TeamController, an adversary as an AdversaryController. They do with the tfjs weights what OnnxTeam
// and OnnxAdversary do with the exported ONNX files (every robot's mean command; for belief policies one
// belief per (observer, neighbour) pair with its own recurrent state, advanced every tick and read by the
// actor row by row), so the trainers' evaluations and the deployed ones run through the same loop.
import { PAIR_DIM } from '../../src/core/observation.js';
import type { AdversaryController } from '../../src/policy/adversary.js';
import type { TeamController, TeamView } from '../../src/policy/team.js';
import { PairBeliefBuffers } from '../../src/policy/pair-beliefs.js';
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
  private readonly pairs: PairBeliefBuffers;

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
    this.pairs = new PairBeliefBuffers(parts.belief?.shape.hidden ?? 0, R, parts.shape.maxNeighbours);
  }

  /** Forgets every belief of environment e (its episode restarted). */
  resetEnv(e: number): void {
    this.pairs.resetEnv(e);
  }

  /** Mean commands of every robot of every environment into out (robot g at 2g); advances the beliefs first. */
  act(view: TeamView, out: Float32Array): void {
    const p = this.pairs;
    p.fit(view.envs, view.robots);
    const { actor, shape, obsSize, belief, oracleType } = this.parts;
    const robots = view.envs * view.robots;
    if (!belief) {
      out.set(actorMeans(actor, shape, view.obs, obsSize, robots));
      return;
    }
    if (oracleType !== undefined && !view.compromised) throw new RangeError(`${this.name} is a known-type oracle: it runs only where the compromised robot is known (the twin)`);
    const NN = view.robots * view.robots;
    for (let e = 0; e < view.envs; e++) view.pairFeatures(e, p.features.subarray(e * NN * PAIR_DIM, (e + 1) * NN * PAIR_DIM));
    p.state = beliefStepArrays(belief.params, belief.shape, p.features, p.state, view.envs * NN, p.beliefs);
    out.set(actorMeans(actor, shape, view.obs, obsSize, robots, p.gatherRows(view, oracleType)));
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
