// The PPO update steps shared by every algorithm on the MAPPO core: one clipped policy-gradient step for
// a Gaussian policy over a minibatch (defenders and adversaries alike), one Huber value step for a critic.
import type { RandomStream } from '../../src/core/random.js';
import { clippedAdamStep } from './adam.js';
import { criticVariables, gaussianEntropy, gaussianLogProb, standardise, type CriticParams } from './networks.js';
import { criticValueBackprop, type Backprop } from './network-grads.js';
import { tf } from './tf.js';

/**
 * Sample positions [start, end) of minibatch `j` of `parts` over `n` samples: balanced ranges, so every
 * minibatch of an epoch is used. With fewer samples than minibatches, minibatch j is the single sample
 * j mod n, so the number of optimiser steps per epoch is always `parts`.
 */
export function minibatchRange(n: number, parts: number, j: number): [number, number] {
  if (n <= 0) throw new RangeError('minibatchRange: no samples');
  if (n < parts) return [j % n, (j % n) + 1];
  return [Math.floor((j * n) / parts), Math.floor(((j + 1) * n) / parts)];
}

export function huber(errors: tf.Tensor, delta: number): tf.Tensor {
  const a = tf.abs(errors);
  const quadratic = tf.minimum(a, delta);
  return tf.add(tf.mul(0.5, tf.square(quadratic)), tf.mul(delta, tf.sub(a, quadratic)));
}

export interface PolicyMinibatch {
  actions: Float32Array;
  oldLogProbs: Float32Array;
  advantages: Float32Array;
  /** 1 for samples that enter the loss, 0 for masked ones (e.g. a victim's own transitions). */
  mask: Float32Array;
  size: number;
}

export interface PolicyStepSettings {
  clip: number;
  entropyCoef: number;
  maxGradNorm: number;
}

export interface PolicyStepStats {
  loss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
}

/**
 * The gradients of `network`'s variables (its hand-written backward pass, from the gradient of its output)
 * and of `extra` (autodiff), as tf.variableGrads names them: by variable name, in `variables`' order.
 */
function namedGrads(variables: tf.Variable[], network: Map<tf.Variable, tf.Tensor>, extra: [tf.Variable, tf.Tensor][]): tf.NamedTensorMap {
  for (const [v, g] of extra) network.set(v, g);
  const named: tf.NamedTensorMap = {};
  for (const v of variables) {
    const g = network.get(v);
    if (g) named[v.name] = g;
  }
  return named;
}

/** A network output for a loss: built with its hand-written backward pass, or by plain ops for autodiff. */
export type NetworkOutput<T extends tf.Tensor> = { backprop: () => Backprop<T> } | (() => T);

/**
 * The loss `loss(output, extra)` of a network's output and one more variable `extra`, and the gradients of
 * `variables` (extra among them), named as tf.variableGrads names them: the network's through its
 * hand-written backward pass if it has one, else all by autodiff.
 */
function lossAndGrads<T extends tf.Tensor>(net: NetworkOutput<T>, extra: tf.Variable, variables: tf.Variable[], loss: (output: T, extra: tf.Tensor) => tf.Scalar): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  if (typeof net === 'function') return tf.variableGrads(() => loss(net(), extra), variables);
  const forward = net.backprop();
  const { value, grads } = tf.valueAndGrads((out: tf.Tensor, x: tf.Tensor) => loss(out as T, x))([forward.output, extra]);
  return { value, grads: namedGrads(variables, forward.backward(grads[0] as T), [[extra, grads[1]!]]) };
}

/**
 * One PPO-clip step: `mean` builds the policy mean for the minibatch's observations; `logStd` is the
 * policy's state-independent log standard deviation (one of `variables`).
 */
export function ppoPolicyStep(
  mean: NetworkOutput<tf.Tensor2D>,
  logStd: tf.Variable,
  variables: tf.Variable[],
  optimizer: tf.Optimizer,
  batch: PolicyMinibatch,
  c: PolicyStepSettings,
): PolicyStepStats {
  const M = batch.size;
  const stats = tf.tidy(() => {
    const actT = tf.tensor2d(batch.actions.subarray(0, 2 * M), [M, 2]);
    const oldT = tf.tensor1d(batch.oldLogProbs.subarray(0, M));
    const advT = tf.tensor1d(batch.advantages.subarray(0, M));
    const maskT = tf.tensor1d(batch.mask.subarray(0, M));
    const maskSum = tf.maximum(tf.sum(maskT), 1);
    let ratioOut: tf.Tensor1D | null = null;
    const { value, grads } = lossAndGrads(mean, logStd, variables, (m, s) => {
      const logp = gaussianLogProb(m, s as tf.Tensor1D, actT);
      const ratio = tf.exp(tf.sub(logp, oldT));
      ratioOut = tf.keep(ratio) as tf.Tensor1D;
      const surr1 = tf.mul(ratio, advT);
      const surr2 = tf.mul(tf.clipByValue(ratio, 1 - c.clip, 1 + c.clip), advT);
      const pg = tf.neg(tf.div(tf.sum(tf.mul(tf.minimum(surr1, surr2), maskT)), maskSum));
      const ent = gaussianEntropy(s as tf.Tensor1D);
      return tf.sub(pg, tf.mul(c.entropyCoef, ent)) as tf.Scalar;
    });
    clippedAdamStep(optimizer, grads, c.maxGradNorm);
    const ratio = ratioOut as unknown as tf.Tensor1D;
    const logRatio = tf.log(ratio);
    const klT = tf.div(tf.sum(tf.mul(tf.sub(tf.sub(ratio, 1), logRatio), maskT)), maskSum);
    const clipT = tf.div(tf.sum(tf.mul(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), c.clip), 'float32'), maskT)), maskSum);
    const ent = gaussianEntropy(logStd as tf.Tensor1D);
    const out = tf.stack([value, ent, klT, clipT]);
    ratio.dispose();
    return out;
  });
  const [loss, entropy, approxKl, clipFraction] = stats.dataSync();
  stats.dispose();
  return { loss: loss!, entropy: entropy!, approxKl: approxKl!, clipFraction: clipFraction! };
}

/** One Huber-loss step of a critic towards normalised targets; `value` builds its estimates. Returns the loss. */
export function valueStep(
  value: { backprop: () => Backprop<tf.Tensor1D> },
  targets: Float32Array,
  size: number,
  variables: tf.Variable[],
  optimizer: tf.Optimizer,
  huberDelta: number,
  maxGradNorm: number,
): number {
  const v = tf.tidy(() => {
    const tgT = tf.tensor1d(targets.subarray(0, size));
    const forward = value.backprop();
    const { value: loss, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.mean(huber(tf.sub(x, tgT), huberDelta)) as tf.Scalar)([forward.output]);
    clippedAdamStep(optimizer, namedGrads(variables, forward.backward(grads[0] as tf.Tensor1D), []), maxGradNorm);
    return loss;
  });
  const out = v.dataSync()[0]!;
  v.dispose();
  return out;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Samples `count` two-dimensional actions from the diagonal Gaussian (mean[2a..2a+1], exp(logStd)) into
 * actions, with their log-probabilities. The log-density takes off each wheel's squared draw in turn, the
 * order MAPPO's rollout has always summed it in (see sim/train/README.md on the training fingerprint).
 */
export function sampleGaussian(
  rng: RandomStream,
  mean: Float32Array,
  logStd: Float32Array,
  actions: Float32Array,
  logProbs: Float32Array,
  count: number,
): void {
  const std0 = Math.exp(logStd[0]!);
  const std1 = Math.exp(logStd[1]!);
  const base = -(logStd[0]! + logStd[1]!) - 2 * LOG_SQRT_2PI;
  for (let a = 0; a < count; a++) {
    const z0 = rng.gaussian();
    const z1 = rng.gaussian();
    actions[2 * a] = mean[2 * a]! + std0 * z0;
    actions[2 * a + 1] = mean[2 * a + 1]! + std1 * z1;
    let logp = base;
    logp -= 0.5 * z0 * z0;
    logp -= 0.5 * z1 * z1;
    logProbs[a] = logp;
  }
}

/** A critic's training data: sample i has input inputs[i * inputSize ...] and (normalised) target targets[i]. */
export interface CriticData {
  inputs: Float32Array;
  inputSize: number;
  targets: Float32Array;
  count: number;
}

export interface CriticFitSettings {
  epochs: number;
  minibatches: number;
  huberDelta: number;
  maxGradNorm: number;
}

/** standardise (networks.ts) of each of the first `count` rows of `inputs` (`size` values each). */
export function standardised(inputs: Float32Array, size: number, count: number): Float32Array {
  const t = tf.tidy(() => standardise(tf.tensor2d(inputs.subarray(0, count * size), [count, size])));
  const out = Float32Array.from(t.dataSync());
  t.dispose();
  return out;
}

/** Huber steps of a critic on minibatches of `data` (minibatchRange of an epoch's order), with buffers reused between steps. */
export class CriticMinibatches {
  /** Every sample's input standardised (the critic's first op, the same per sample in any batch), made once. */
  private readonly normInputs: Float32Array;
  private readonly inBuf: Float32Array;
  private readonly tgBuf: Float32Array;
  private readonly vars: tf.Variable[];

  constructor(
    private readonly critic: CriticParams,
    private readonly optimizer: tf.Optimizer,
    private readonly data: CriticData,
    private readonly c: Omit<CriticFitSettings, 'epochs'>,
  ) {
    const size = Math.ceil(data.count / c.minibatches) + 1;
    this.inBuf = new Float32Array(size * data.inputSize);
    this.tgBuf = new Float32Array(size);
    this.vars = criticVariables(critic);
    this.normInputs = standardised(data.inputs, data.inputSize, data.count);
  }

  /** One step on minibatch j of the epoch ordered by `order`; returns its loss. */
  step(order: ArrayLike<number>, j: number): number {
    const { inputSize: D, targets, count: n } = this.data;
    const inputs = this.normInputs;
    const [start, stop] = minibatchRange(n, this.c.minibatches, j);
    const C = stop - start;
    for (let q = 0; q < C; q++) {
      const s = order[start + q]!;
      this.inBuf.set(inputs.subarray(s * D, (s + 1) * D), q * D);
      this.tgBuf[q] = targets[s]!;
    }
    return valueStep({ backprop: () => criticValueBackprop(this.critic, tf.tensor2d(this.inBuf.subarray(0, C * D), [C, D])) }, this.tgBuf, C, this.vars, this.optimizer, this.c.huberDelta, this.c.maxGradNorm);
  }
}

/**
 * `epochs` passes of `minibatches` Huber steps (minibatchRange) of a critic towards normalised targets, the
 * order of each epoch drawn from `rng` at its start. Returns the mean loss. (BATPAL's reference critic; the
 * trainers' own critics step inside the core's update, MappoTrainer.update.)
 */
export function fitCritic(critic: CriticParams, optimizer: tf.Optimizer, data: CriticData, c: CriticFitSettings, rng: RandomStream): number {
  const batches = new CriticMinibatches(critic, optimizer, data, c);
  let loss = 0;
  for (let epoch = 0; epoch < c.epochs; epoch++) {
    const order = rng.permutation(data.count);
    for (let j = 0; j < c.minibatches; j++) loss += batches.step(order, j);
  }
  return loss / (c.epochs * c.minibatches);
}
