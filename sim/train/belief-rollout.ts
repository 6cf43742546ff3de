// The per-pair beliefs over one rollout (EIR-MAPPO, BATPAL): every tick each (observer i, neighbour j)
// pair's features, true type and loss mask are recorded and its GRU state advanced; the states at the start
// of every chunk of ticks are kept, so the belief is then trained by truncated back-propagation over
// chunks of the rollout starting from the states the rollout reached.
import { PAIR_DIM } from '../../src/core/observation.js';
import type { RandomStream } from '../../src/core/random.js';
import type { RendezvousWorld } from '../world.js';
import { beliefSequenceLoss, beliefStepArrays, beliefTypeCount, beliefWeights, type BeliefParams, type BeliefShape } from './belief.js';
import { clippedAdamStep } from './adam.js';
import { tf } from './tf.js';

export class BeliefRollout {
  /** The latest beliefs: the R values of pair (e, i, j) at ((e * N + i) * N + j) * R. */
  readonly latest: Float32Array;
  private readonly pairs: number;
  private readonly types: number;
  /** Per tick: pair features, true types and loss masks of every (env, i, j) pair. */
  private readonly features: Float32Array;
  private readonly labels: Float32Array;
  private readonly masks: Float32Array;
  /** Per tick and pair: 1 if the pair's environment started a new episode just before this tick's belief step. */
  private readonly resets: Float32Array;
  /** Belief state of every pair now, and at the start of each chunk of ticks. */
  private state: Float32Array;
  private readonly chunkStates: Float32Array[];
  private readonly scratch: Float32Array;

  constructor(
    private readonly params: BeliefParams,
    private readonly shape: BeliefShape,
    private readonly dims: { envs: number; robots: number; ticks: number; chunk: number },
  ) {
    const { envs: E, robots: N, ticks, chunk } = dims;
    const H = shape.hidden;
    this.types = beliefTypeCount(shape);
    this.pairs = E * N * N;
    this.features = new Float32Array(ticks * this.pairs * PAIR_DIM);
    this.labels = new Float32Array(ticks * this.pairs);
    this.masks = new Float32Array(ticks * this.pairs);
    this.resets = new Float32Array(ticks * this.pairs);
    this.state = new Float32Array(this.pairs * H);
    this.chunkStates = Array.from({ length: Math.ceil(ticks / chunk) }, () => new Float32Array(this.pairs * H));
    this.latest = new Float32Array(this.pairs * this.types);
    this.scratch = new Float32Array(N * N * PAIR_DIM);
  }

  /** A new episode in environment e starts from fresh beliefs. */
  resetEnv(e: number): void {
    const NN = this.dims.robots * this.dims.robots;
    this.state.fill(0, e * NN * this.shape.hidden, (e + 1) * NN * this.shape.hidden);
    this.latest.fill(0, e * NN * this.types, (e + 1) * NN * this.types);
  }

  /**
   * Rollout tick `tick` has just been stepped: records every pair's features, true type (`types[e]` on the
   * victim's column, 0 elsewhere) and mask (j in i's range and i a defender), then advances every belief.
   */
  observe(w: RendezvousWorld, types: Int32Array, tick: number): void {
    const N = w.robots;
    const pairs = this.pairs;
    const f = this.features.subarray(tick * pairs * PAIR_DIM, (tick + 1) * pairs * PAIR_DIM);
    const scratch = this.scratch;
    for (let e = 0; e < w.envs; e++) {
      w.pairFeatures(e, scratch);
      f.set(scratch, e * N * N * PAIR_DIM);
      this.resets.fill(w.dones[e]!, tick * pairs + e * N * N, tick * pairs + (e + 1) * N * N);
      const v = w.victim[e]!;
      const type = types[e]!;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const p = (e * N + i) * N + j;
          this.labels[tick * pairs + p] = j === v ? type : 0;
          this.masks[tick * pairs + p] = scratch[(i * N + j) * PAIR_DIM] === 1 && i !== v ? 1 : 0;
        }
      }
    }
    if (tick % this.dims.chunk === 0) this.chunkStates[tick / this.dims.chunk]!.set(this.state);
    this.state = beliefStepArrays(this.params, this.shape, f, this.state, pairs, this.latest);
  }

  /**
   * Cross-entropy of the beliefs against the true types over `count` chunks of the rollout drawn from
   * `rng` (all of them if fewer), one optimiser step each by truncated BPTT from the chunk's stored state.
   * Returns the mean loss.
   */
  train(optimizer: tf.Optimizer, rng: RandomStream, count: number, maxGradNorm: number): number {
    const pairs = this.pairs;
    const H = this.shape.hidden;
    const { ticks, chunk: L } = this.dims;
    const vars = beliefWeights(this.params).map(([, v]) => v);
    let total = 0;
    const all = Math.ceil(ticks / L);
    const picked = rng.permutation(all).slice(0, Math.min(all, count));
    for (const chunk of picked) {
      const start = chunk * L;
      const len = Math.min(L, ticks - start);
      const loss = tf.tidy(() => {
        const h0 = tf.tensor2d(this.chunkStates[chunk]!, [pairs, H]);
        const steps = Array.from({ length: len }, (_, k) => start + k);
        const seq = {
          features: steps.map((t) => tf.tensor2d(this.features.subarray(t * pairs * PAIR_DIM, (t + 1) * pairs * PAIR_DIM), [pairs, PAIR_DIM])),
          labels: steps.map((t) => tf.tensor1d(this.labels.subarray(t * pairs, (t + 1) * pairs))),
          masks: steps.map((t) => tf.tensor1d(this.masks.subarray(t * pairs, (t + 1) * pairs))),
          resets: steps.map((t) => tf.tensor1d(this.resets.subarray(t * pairs, (t + 1) * pairs))),
        };
        const { value, grads } = tf.variableGrads(() => beliefSequenceLoss(this.params, this.shape, h0, seq), vars);
        clippedAdamStep(optimizer, grads, maxGradNorm);
        return value;
      });
      total += loss.dataSync()[0]!;
      loss.dispose();
    }
    return total / picked.length;
  }
}
