// The defenders' PPO-clip steps over a rollout's agent samples, for the core's update (mappo.ts): each
// agent's advantage is its environment's team advantage, normalised over the samples that enter the loss
// (loss mask 1); minibatches are balanced ranges (minibatchRange) of an epoch's order.
import type { RolloutBuffer } from './buffer.js';
import { actorVariables, rowBeliefCount, type ActorParams, type ActorShape } from './networks.js';
import { OWN_DIM, ROW_DIM } from '../../src/core/observation.js';
import { actorInputs, actorMeanBackpropOn } from './network-grads.js';
import { minibatchRange, ppoPolicyStep, type PolicyStepSettings, type PolicyStepStats } from './ppo.js';
import { tf } from './tf.js';

export class PolicyMinibatches {
  private readonly advMean: number;
  private readonly advStd: number;
  private readonly parts: number;
  private readonly vars: tf.Variable[];
  private readonly rowWidth: number;
  /** Every agent sample's actor inputs (actorInputs), made once for the update: own, rows, mask, count. */
  private readonly inputs: { own: Float32Array; rows: Float32Array; mask: Float32Array; count: Float32Array };
  private readonly ownBuf: Float32Array;
  private readonly rowsBuf: Float32Array;
  private readonly maskBuf3: Float32Array;
  private readonly countBuf: Float32Array;
  private readonly rowBuf: Float32Array;
  private readonly actBuf: Float32Array;
  private readonly oldBuf: Float32Array;
  private readonly advBuf: Float32Array;
  private readonly maskBuf: Float32Array;

  /** `rowBeliefs`: per agent sample the row beliefs the actor read (maxNeighbours x beliefsPerRow), for a belief actor. */
  constructor(
    private readonly actor: ActorParams,
    private readonly shape: ActorShape,
    private readonly optimizer: tf.Optimizer,
    private readonly b: RolloutBuffer,
    private readonly rowBeliefs: Float32Array,
    private readonly c: PolicyStepSettings & { minibatches: number },
  ) {
    const { steps: T, obsSize } = b.shape;
    const n = T * b.agents;
    let sum = 0;
    let sumSq = 0;
    let count = 0;
    for (let s = 0; s < n; s++) {
      const m = b.lossMask[s]!;
      const adv = this.teamAdvantage(s);
      sum += m * adv;
      sumSq += m * adv * adv;
      count += m;
    }
    this.advMean = sum / Math.max(count, 1);
    this.advStd = Math.sqrt(Math.max(sumSq / Math.max(count, 1) - this.advMean * this.advMean, 0)) + 1e-8;
    this.parts = c.minibatches;
    this.vars = actorVariables(actor);
    this.rowWidth = shape.maxNeighbours * rowBeliefCount(shape);
    const size = Math.ceil(n / c.minibatches) + 1;
    const K = shape.maxNeighbours;
    const t = tf.tidy(() => actorInputs(shape, tf.tensor2d(b.obs.subarray(0, n * obsSize), [n, obsSize])) as unknown as tf.NamedTensorMap);
    const copy = (x: tf.Tensor) => Float32Array.from(x.dataSync() as Float32Array);
    this.inputs = { own: copy(t.own!), rows: copy(t.rows!), mask: copy(t.mask!), count: copy(t.count!) };
    tf.dispose(t);
    this.ownBuf = new Float32Array(size * OWN_DIM);
    this.rowsBuf = new Float32Array(size * K * ROW_DIM);
    this.maskBuf3 = new Float32Array(size * K);
    this.countBuf = new Float32Array(size);
    this.rowBuf = new Float32Array(size * this.rowWidth);
    this.actBuf = new Float32Array(size * 2);
    this.oldBuf = new Float32Array(size);
    this.advBuf = new Float32Array(size);
    this.maskBuf = new Float32Array(size);
  }

  /** The team advantage of agent sample s (decision t, agent a of environment floor(a / N)). */
  private teamAdvantage(s: number): number {
    const { envs: E, robots: N } = this.b.shape;
    const A = this.b.agents;
    const t = Math.floor(s / A);
    return this.b.advantages[t * E + Math.floor((s - t * A) / N)]!;
  }

  /** One PPO-clip step on minibatch j of the epoch ordered by `order`. */
  step(order: ArrayLike<number>, j: number): PolicyStepStats {
    const b = this.b;
    const KR = this.rowWidth;
    const K = this.shape.maxNeighbours;
    const RW = K * ROW_DIM;
    const { own, rows, mask, count } = this.inputs;
    const [start, stop] = minibatchRange(b.shape.steps * b.agents, this.parts, j);
    const M = stop - start;
    for (let q = 0; q < M; q++) {
      const s = order[start + q]!;
      this.ownBuf.set(own.subarray(s * OWN_DIM, (s + 1) * OWN_DIM), q * OWN_DIM);
      this.rowsBuf.set(rows.subarray(s * RW, (s + 1) * RW), q * RW);
      this.maskBuf3.set(mask.subarray(s * K, (s + 1) * K), q * K);
      this.countBuf[q] = count[s]!;
      if (KR > 0) this.rowBuf.set(this.rowBeliefs.subarray(s * KR, (s + 1) * KR), q * KR);
      this.actBuf[2 * q] = b.actions[2 * s]!;
      this.actBuf[2 * q + 1] = b.actions[2 * s + 1]!;
      this.oldBuf[q] = b.logProbs[s]!;
      this.advBuf[q] = (this.teamAdvantage(s) - this.advMean) / this.advStd;
      this.maskBuf[q] = b.lossMask[s]!;
    }
    return ppoPolicyStep(
      {
        backprop: () => {
          const inputs = {
            own: tf.tensor2d(this.ownBuf.subarray(0, M * OWN_DIM), [M, OWN_DIM]),
            rows: tf.tensor3d(this.rowsBuf.subarray(0, M * RW), [M, K, ROW_DIM]),
            mask: tf.tensor3d(this.maskBuf3.subarray(0, M * K), [M, K, 1]),
            count: tf.tensor2d(this.countBuf.subarray(0, M), [M, 1]),
          };
          return actorMeanBackpropOn(this.actor, this.shape, inputs, KR > 0 ? tf.tensor2d(this.rowBuf.subarray(0, M * KR), [M, KR]) : undefined);
        },
      },
      this.actor.logStd,
      this.vars,
      this.optimizer,
      { actions: this.actBuf, oldLogProbs: this.oldBuf, advantages: this.advBuf, mask: this.maskBuf, size: M },
      this.c,
    );
  }
}
