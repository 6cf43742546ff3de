// The defenders' PPO-clip steps over a rollout's agent samples, for the core's update (mappo.ts): each
// agent's advantage is its environment's team advantage, normalised over the samples that enter the loss
// (loss mask 1); minibatches are balanced ranges (minibatchRange) of an epoch's order.
import type { RolloutBuffer } from './buffer.js';
import { actorVariables, rowBeliefCount, type ActorParams, type ActorShape } from './networks.js';
import { actorMeanBackprop } from './network-grads.js';
import { minibatchRange, ppoPolicyStep, type PolicyStepSettings, type PolicyStepStats } from './ppo.js';
import { tf } from './tf.js';

export class PolicyMinibatches {
  private readonly advMean: number;
  private readonly advStd: number;
  private readonly parts: number;
  private readonly vars: tf.Variable[];
  private readonly rowWidth: number;
  private readonly obsBuf: Float32Array;
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
    this.obsBuf = new Float32Array(size * obsSize);
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
    const { obsSize } = b.shape;
    const KR = this.rowWidth;
    const [start, stop] = minibatchRange(b.shape.steps * b.agents, this.parts, j);
    const M = stop - start;
    for (let q = 0; q < M; q++) {
      const s = order[start + q]!;
      this.obsBuf.set(b.obs.subarray(s * obsSize, (s + 1) * obsSize), q * obsSize);
      if (KR > 0) this.rowBuf.set(this.rowBeliefs.subarray(s * KR, (s + 1) * KR), q * KR);
      this.actBuf[2 * q] = b.actions[2 * s]!;
      this.actBuf[2 * q + 1] = b.actions[2 * s + 1]!;
      this.oldBuf[q] = b.logProbs[s]!;
      this.advBuf[q] = (this.teamAdvantage(s) - this.advMean) / this.advStd;
      this.maskBuf[q] = b.lossMask[s]!;
    }
    return ppoPolicyStep(
      { backprop: () => actorMeanBackprop(this.actor, this.shape, tf.tensor2d(this.obsBuf.subarray(0, M * obsSize), [M, obsSize]), KR > 0 ? tf.tensor2d(this.rowBuf.subarray(0, M * KR), [M, KR]) : undefined) },
      this.actor.logStd,
      this.vars,
      this.optimizer,
      { actions: this.actBuf, oldLogProbs: this.oldBuf, advantages: this.advBuf, mask: this.maskBuf, size: M },
      this.c,
    );
  }
}
