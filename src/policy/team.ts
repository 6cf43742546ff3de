// A trained team from a policy folder, run with onnxruntime as deployed: every robot's deterministic (mean)
// action from its own observation, and for policies with a belief network, one belief per (observer,
// neighbour) pair with its own recurrent state, advanced every control tick and read by the actor row by
// row. A belief gives R values per pair, P(compromised with type k) for the R non-benign types of the
// manifest's beliefTypes (R = 1 for a yes/no belief); their sum is P(compromised). All robots of all environments go through one call per network per tick.
import * as ort from 'onnxruntime-node';
import { PAIR_DIM, type ObservationSpec, type ObservedPairs } from '../core/observation.js';
import { isOracle } from '../core/policy-manifest.js';
import { loadPolicyFolder, observationMismatch, PolicyFolderError, type LoadedPolicy } from './folder.js';
import { PairBeliefBuffers } from './pair-beliefs.js';
import { copy, SparsePairBeliefs, type LivePairs } from './sparse-pair-beliefs.js';
import type { PhaseLap } from '../core/phase-timer.js';

/** What the team reads from a batch of environments each tick (the twin's RendezvousWorld is one). */
export interface TeamView {
  readonly envs: number;
  readonly robots: number;
  /** Observations, robot g = e * robots + i at g * size. */
  readonly obs: Float32Array;
  /** The robot id behind each neighbour row (-1 for an empty row), robot g's rows at g * maxNeighbours. */
  readonly rowIds: Int32Array;
  /** Belief features of every ordered pair (i, j) of environment e: pair (i, j) at (i * robots + j) * PAIR_DIM. */
  pairFeatures(e: number, out: Float32Array): void;
  /** 1 for every compromised robot (robot g at g): ground truth, read only by a known-type oracle team. */
  readonly compromised?: Uint8Array;
  /**
   * One environment (the runtime's SwarmView): the pairs observed now and their belief features (pair p at
   * p * PAIR_DIM), built once per tick. A team that forgets out-of-range pairs runs its belief network on
   * these (and the pairs not yet forgotten) only.
   */
  observed?(): { pairs: ObservedPairs; features: Float32Array };
}

/** Whatever drives a whole team in batched episodes: a trained policy, or a reference controller. */
export interface TeamController {
  readonly name: string;
  /** Commands of every robot of every environment into out (robot g at 2g), from what the team sees now. */
  act(view: TeamView, out: Float32Array): Promise<void> | void;
  /** Forgets environment e's history (its episode restarted). */
  resetEnv(e: number): void;
  release(): Promise<unknown>;
}

/**
 * The most ordered pairs the dense belief form (every pair's state, every tick) is allowed: 1,000 robots in
 * one environment. Measured: 2,000 robots took 8 GB and 3 s per tick that way.
 */
export const DENSE_PAIR_LIMIT = 1_000_000;

export class OnnxTeam implements TeamController {
  readonly name: string;
  /** The policy folder's files and their sha256, from its manifest (what a run records it ran). */
  get fileHashes(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.policy.manifest.files).map(([f, m]) => [f, m.sha256]));
  }
  readonly usesBeliefs: boolean;
  /**
   * A known-type oracle (trained with eir.oracle): its actor reads the true type instead of the belief, so it
   * runs only where the truth is known (the twin's evaluations), never on a deployed swarm.
   */
  readonly oracle: boolean;
  /** Belief values per pair (the manifest's non-benign types). */
  readonly beliefsPerPair: number;
  private readonly actor: ort.InferenceSession;
  private readonly belief: ort.InferenceSession | null;
  private readonly beliefHidden: number;
  /** Pair states, beliefs and features, and the actor's row beliefs; sized on first use. */
  private readonly pairs: PairBeliefBuffers;
  /** Ticks each pair has been out of range (for forgetting, see setForgetAfter). */
  private away = new Int32Array(0);
  private forgetAfter = Infinity;
  /** With forgetting on a view that lists its observed pairs: the live pairs only (see setForgetAfter). */
  private readonly sparse: SparsePairBeliefs;
  /** Whether the last act() went through the sparse pairs, and its actor row beliefs then. */
  private sparseUsed = false;
  private sparseRows = new Float32Array(0);
  private dense = new Float32Array(0);
  /** The robots of environment 0 this process hosts (null: every robot of every environment), see host(). */
  private hosted: Uint8Array | null = null;
  private hostedObs = new Float32Array(0);
  /**
   * Where onnxruntime writes the networks' outputs (the `fetches` of session.run), kept from tick to tick:
   * a fresh output array per call is external memory that drives V8 into full collections at 2,000 robots.
   * Grown (doubled) when a tick has more pairs than they hold.
   */
  private liveOut = { state: new Float32Array(0), beliefs: new Float32Array(0) };
  private actionOut = new Float32Array(0);
  /** The dense form's next pair states (swapped with the current ones every tick). */
  private denseNext = new Float32Array(0);

  private constructor(readonly policy: LoadedPolicy) {
    const m = policy.manifest;
    this.name = m.name;
    this.actor = policy.sessions['actor.onnx']!;
    this.usesBeliefs = m.beliefTypes.length > 0;
    this.beliefsPerPair = Math.max(0, m.beliefTypes.length - 1);
    this.belief = this.usesBeliefs ? policy.sessions['belief.onnx']! : null;
    this.beliefHidden = m.hiddenSizes.belief ?? 0;
    this.oracle = isOracle(m);
    this.pairs = new PairBeliefBuffers(this.beliefHidden, this.beliefsPerPair, m.observation.maxNeighbours);
    this.sparse = new SparsePairBeliefs(this.beliefHidden, this.beliefsPerPair, Infinity);
  }

  /** Loads a policy folder and checks that it observes the world as `spec` describes. */
  static async load(dir: string, spec: ObservationSpec): Promise<OnnxTeam> {
    const policy = await loadPolicyFolder(dir);
    const m = policy.manifest;
    const fail = async (message: string): Promise<never> => {
      await Promise.all(Object.values(policy.sessions).map((s) => s.release()));
      throw new PolicyFolderError(`${dir}: ${message}`);
    };
    const mismatch = observationMismatch(m.observation, spec);
    if (mismatch) await fail(mismatch);
    if (!policy.sessions['actor.onnx']) await fail('manifest lists no actor.onnx');
    if (m.beliefTypes.length > 0 && (!policy.sessions['belief.onnx'] || !m.hiddenSizes.belief)) {
      await fail(`${m.algorithm} reads beliefs but the folder has no belief.onnx with hiddenSizes.belief`);
    }
    if (m.beliefTypes.length === 1) await fail(`beliefTypes ${JSON.stringify(m.beliefTypes)} must list benign and at least one adversary type`);
    return new OnnxTeam(policy);
  }

  /**
   * Deployment: the belief state of a pair (i, j) is dropped once j has been out of i's range for more than
   * `ticks` ticks, so a neighbour that comes back starts afresh (as a newly met robot). Training and the
   * evaluation protocol keep every pair's state for the whole episode (the default, Infinity).
   * With a finite `ticks` and a one-environment view that lists its observed pairs (the runtime's), the
   * belief network runs only on the pairs observed now or out of range for at most `ticks` ticks, and a
   * pair never observed (or forgotten) has no state until it is observed, then starts from zero
   * (src/policy/sparse-pair-beliefs.ts): N x neighbours instead of N^2, the deliberate change that lets a
   * large swarm run its belief networks (docs/performance.md measures what it changes).
   */
  setForgetAfter(ticks: number): void {
    if (!(ticks >= 1)) throw new RangeError(`forget-after must be at least 1 tick, got ${ticks}`);
    this.forgetAfter = ticks;
    this.sparse.setForgetAfter(ticks);
  }

  /** Whether this tick's beliefs go through the live pairs only (see setForgetAfter). */
  private sparseFor(view: TeamView): boolean {
    return this.forgetAfter < Infinity && view.envs === 1 && view.observed !== undefined && !this.oracle;
  }

  /**
   * Runs only some robots of a one-environment view (the distributed runtime: one process per robot). Their
   * actions, beliefs and recurrent states are exactly those of the full batched run: onnxruntime may change
   * float results with the batch size (measured: the actor run on one row alone differs in the last bits
   * from the same row in a batch of 10; another GEMM blocking), so the hosted rows go through the very same
   * call in the very same shape and positions (robot i at row i, pair (i, j) at row i * N + j) and every
   * other row is fed zeros and its outputs dropped. Rows are independent in both networks, so what the
   * other rows hold cannot change the hosted ones. Commands of robots not hosted are meaningless.
   */
  host(robots: readonly number[], of: number): void {
    const hosted = new Uint8Array(of);
    for (const i of robots) {
      if (!(Number.isInteger(i) && i >= 0 && i < of)) throw new RangeError(`host: no robot ${i} in a swarm of ${of}`);
      hosted[i] = 1;
    }
    this.hosted = hosted;
  }

  /** Forgets every belief of environment e (call when its episode restarts). */
  resetEnv(e: number): void {
    const NN = this.pairs.robots * this.pairs.robots;
    this.pairs.resetEnv(e);
    this.away.fill(0, e * NN, (e + 1) * NN);
    if (e === 0) this.sparse.reset(this.sparse.robots);
  }

  private size(view: TeamView): void {
    if (this.hosted && (view.envs !== 1 || view.robots !== this.hosted.length)) {
      throw new RangeError(`this team hosts robots of a swarm of ${this.hosted.length} in one environment, the view has ${view.envs} x ${view.robots}`);
    }
    // The dense pair buffers (N^2 per environment) only where the dense form runs.
    if (this.usesBeliefs && this.sparseFor(view)) return;
    const pairs = view.envs * view.robots * view.robots;
    if (this.usesBeliefs && pairs > DENSE_PAIR_LIMIT) {
      throw new RangeError(
        `${this.name}: keeping a belief state for every ordered pair of ${view.envs} x ${view.robots} robots (${pairs} pairs, ${((pairs * 4 * (this.beliefHidden + PAIR_DIM)) / 2 ** 30).toFixed(1)} GB ` +
          `and more per tick) is refused above ${DENSE_PAIR_LIMIT} pairs; a deployed run keeps only live pairs (forgetNeighbourAfter in the launch file)`,
      );
    }
    if (this.pairs.fit(view.envs, view.robots)) this.away = new Int32Array(view.envs * view.robots * view.robots);
  }

  /**
   * Advances the beliefs by one tick: the live pairs' (see setForgetAfter, read through livePairs), or every
   * pair's (read through lastBeliefs). Live pairs build no N^2 matrix here: at 2,000 robots that was 16 MB
   * cleared and refilled every tick for a reader that rarely exists (lastBeliefs builds it on demand).
   */
  private async updateBeliefs(view: TeamView): Promise<void> {
    this.size(view);
    this.sparseUsed = this.sparseFor(view);
    if (this.sparseUsed) {
      await this.updateLivePairs(view);
      return;
    }
    const b = this.pairs;
    const N = view.robots;
    const pairs = view.envs * N * N;
    const H = this.beliefHidden;
    for (let e = 0; e < view.envs; e++) view.pairFeatures(e, b.features.subarray(e * N * N * PAIR_DIM, (e + 1) * N * N * PAIR_DIM));
    const hosted = this.hosted;
    // Robots hosted elsewhere: zero features (and zero states, kept so below) in their rows.
    if (hosted) for (let i = 0; i < N; i++) if (!hosted[i]) b.features.fill(0, i * N * PAIR_DIM, (i + 1) * N * PAIR_DIM);
    if (this.forgetAfter < Infinity) {
      for (let p = 0; p < pairs; p++) {
        // The first pair feature says whether j is in i's range.
        this.away[p] = b.features[p * PAIR_DIM] === 1 ? 0 : this.away[p]! + 1;
        if (this.away[p]! > this.forgetAfter) b.state.fill(0, p * H, (p + 1) * H);
      }
    }
    // The next states into the spare buffer (the current ones are the input), swapped in after; beliefs in place.
    if (this.denseNext.length !== b.state.length) this.denseNext = new Float32Array(b.state.length);
    await this.belief!.run(
      {
        pair_features: new ort.Tensor('float32', b.features, [pairs, PAIR_DIM]),
        h_in: new ort.Tensor('float32', b.state, [pairs, H]),
      },
      { h_out: new ort.Tensor('float32', this.denseNext, [pairs, H]), belief: new ort.Tensor('float32', b.beliefs, [pairs, this.beliefsPerPair]) },
    );
    [b.state, this.denseNext] = [this.denseNext, b.state];
    if (hosted) {
      const R = this.beliefsPerPair;
      for (let i = 0; i < N; i++) {
        if (hosted[i]) continue;
        b.state.fill(0, i * N * H, (i + 1) * N * H);
        b.beliefs.fill(0, i * N * R, (i + 1) * N * R);
      }
    }
  }

  /** The sparse form of updateBeliefs: the belief network on the live pairs only, in one call. */
  private async updateLivePairs(view: TeamView): Promise<void> {
    const { pairs, features } = view.observed!();
    const s = this.sparse;
    s.merge(pairs, features);
    const hosted = this.hosted;
    const H = this.beliefHidden;
    const R = this.beliefsPerPair;
    // Robots hosted elsewhere: zero features and states in their pairs (the same pairs in every process).
    const others = (each: (from: number, to: number) => void) => {
      if (hosted) for (let i = 0; i < s.robots; i++) if (!hosted[i]) each(s.start[i]!, s.start[i + 1]!);
    };
    others((a, b) => {
      s.features.fill(0, a * PAIR_DIM, b * PAIR_DIM);
      s.state.fill(0, a * H, b * H);
    });
    if (s.count > 0) {
      // Outputs into buffers of our own (not s.state: it is the input).
      if (this.liveOut.state.length < s.count * H) this.liveOut = { state: new Float32Array(2 * s.count * H), beliefs: new Float32Array(2 * s.count * R) };
      const next = this.liveOut.state.subarray(0, s.count * H);
      const beliefs = this.liveOut.beliefs.subarray(0, s.count * R);
      await this.belief!.run(
        {
          pair_features: new ort.Tensor('float32', s.features.subarray(0, s.count * PAIR_DIM), [s.count, PAIR_DIM]),
          h_in: new ort.Tensor('float32', s.state.subarray(0, s.count * H), [s.count, H]),
        },
        { h_out: new ort.Tensor('float32', next, [s.count, H]), belief: new ort.Tensor('float32', beliefs, [s.count, R]) },
      );
      s.stored(next, beliefs);
    }
    others((a, b) => {
      s.state.fill(0, a * H, b * H);
      s.beliefs.fill(0, a * R, b * R);
    });
  }

  /** The actor's row beliefs from the live pairs: robot g's K rows x R values at g * K * R. */
  private liveRows(view: TeamView): Float32Array {
    const s = this.sparse;
    const K = this.policy.manifest.observation.maxNeighbours;
    const R = this.beliefsPerPair;
    const robots = view.robots;
    if (this.sparseRows.length !== robots * K * R) this.sparseRows = new Float32Array(robots * K * R);
    const rows = this.sparseRows;
    rows.fill(0);
    for (let g = 0; g < robots; g++) {
      if (this.hosted && !this.hosted[g]) continue;
      for (let k = 0; k < K; k++) {
        const j = view.rowIds[g * K + k]!;
        const p = j < 0 ? -1 : s.find(g, j);
        if (p >= 0) copy(s.beliefs, p * R, rows, (g * K + k) * R, R);
      }
    }
    return rows;
  }

  /** The live pairs of the last act() and their beliefs, when it went through them (see setForgetAfter); else null. */
  get livePairs(): Readonly<LivePairs & Pick<SparsePairBeliefs, 'meanOverObservers' | 'features' | 'state'>> | null {
    return this.sparseUsed ? this.sparse : null;
  }

  /**
   * Mean actions of every robot of every environment into out (robot g at 2g); advances beliefs first.
   * `timer` is told when the beliefs are ready (`npm run bench:runtime` times the belief network apart).
   */
  async act(view: TeamView, out: Float32Array, timer?: PhaseLap): Promise<void> {
    this.size(view);
    const m = this.policy.manifest;
    const robots = view.envs * view.robots;
    const size = m.observation.size;
    let obs = view.obs.subarray(0, robots * size);
    if (this.hosted) {
      if (this.hostedObs.length !== obs.length) this.hostedObs = new Float32Array(obs.length);
      this.hostedObs.fill(0);
      for (let g = 0; g < robots; g++) if (this.hosted[g]) this.hostedObs.set(obs.subarray(g * size, (g + 1) * size), g * size);
      obs = this.hostedObs;
    }
    const feeds: Record<string, ort.Tensor> = { obs: new ort.Tensor('float32', obs, [robots, size]) };
    if (this.oracle && !view.compromised) throw new RangeError(`${this.name} is a known-type oracle: it runs only where the compromised robot is known (the twin)`);
    if (this.usesBeliefs) {
      await this.updateBeliefs(view);
      const hosted = this.hosted;
      // The oracle reads the true type (a yes/no belief: type 1 of R = 1) in place of the belief network's.
      const rows = this.sparseUsed ? this.liveRows(view) : this.pairs.gatherRows(view, this.oracle ? 1 : undefined, hosted ? (g) => !hosted[g] : undefined);
      feeds.beliefs = new ort.Tensor('float32', rows, [robots, m.observation.maxNeighbours * this.beliefsPerPair]);
      timer?.lap('belief');
    }
    if (this.actionOut.length !== 2 * robots) this.actionOut = new Float32Array(2 * robots);
    await this.actor.run(feeds, { action: new ort.Tensor('float32', this.actionOut, [robots, 2]) });
    out.set(this.actionOut);
  }

  /**
   * The beliefs of the last act(): the R values of pair (e, i, j) at ((e * N + i) * N + j) * R (empty without
   * a belief network). From live pairs (livePairs) it is built on demand, zero where a pair has no state:
   * N^2 x R values, so a large swarm reads livePairs instead.
   */
  get lastBeliefs(): Float32Array {
    if (!this.sparseUsed) return this.pairs.beliefs;
    const N = this.sparse.robots;
    if (this.dense.length !== N * N * this.beliefsPerPair) this.dense = new Float32Array(N * N * this.beliefsPerPair);
    return this.sparse.toDense(this.dense);
  }

  /**
   * The actor alone for some robots of the last act() (robot g's observation at obs[g * size ..]), with the
   * row beliefs that act() used: what those robots would do if they saw `obs` instead (a sensing attack).
   * Beliefs are not advanced. Commands into out, robot rows[r]'s at 2r.
   */
  async actorOnly(obs: Float32Array, rows: readonly number[], out: Float32Array): Promise<void> {
    if (rows.length === 0) return;
    const m = this.policy.manifest;
    const size = m.observation.size;
    const KR = m.observation.maxNeighbours * this.beliefsPerPair;
    const batch = new Float32Array(rows.length * size);
    rows.forEach((g, r) => batch.set(obs.subarray(g * size, (g + 1) * size), r * size));
    const feeds: Record<string, ort.Tensor> = { obs: new ort.Tensor('float32', batch, [rows.length, size]) };
    if (this.usesBeliefs) {
      const b = new Float32Array(rows.length * KR);
      const used = this.sparseUsed ? this.sparseRows : this.pairs.rows;
      rows.forEach((g, r) => b.set(used.subarray(g * KR, (g + 1) * KR), r * KR));
      feeds.beliefs = new ort.Tensor('float32', b, [rows.length, KR]);
    }
    const result = await this.actor.run(feeds);
    out.set(result.action!.data as Float32Array);
  }

  release(): Promise<unknown> {
    return Promise.all(Object.values(this.policy.sessions).map((s) => s.release()));
  }
}
