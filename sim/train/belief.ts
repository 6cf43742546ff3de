// The belief network: one GRU per (observer i, neighbour j) pair with shared weights, reading the pair
// features of rendezvous-v1 each step and giving p_ij = P(robot j is compromised | i's history of j).
// The recurrent state is explicit (h in, h out), exactly as the exported ONNX graph takes it.
//
// GRU (ONNX's default form, linear_before_reset = 0, plain sigmoid gates):
//   z = sigmoid(x Wz + h Uz + bz)      r = sigmoid(x Wr + h Ur + br)
//   c = tanh(x Wc + (r * h) Uc + bc)   h' = (1 - z) * c + z * h
//   p = sigmoid(h' wo + bo)
import { PAIR_DIM } from '../../src/core/observation.js';
import { applyDense, applyLayerNorm, dense, layerNorm, orthogonal, type DenseParams, type LayerNormParams } from './networks.js';
import { tf } from './tf.js';

export interface BeliefShape {
  hidden: number;
}

export interface BeliefParams {
  inputNorm: LayerNormParams;
  /** Input weights of the z, r and c gates side by side: [PAIR_DIM, 3H], with their biases [3H]. */
  input: DenseParams;
  /** Recurrent weights of z and r: [H, 2H]; of the candidate c: [H, H]. */
  recurrentZR: tf.Variable;
  recurrentC: tf.Variable;
  head: DenseParams;
}

export function createBelief(shape: BeliefShape, seed: number): BeliefParams {
  const H = shape.hidden;
  return {
    inputNorm: layerNorm(PAIR_DIM),
    input: dense(PAIR_DIM, 3 * H, 1, seed * 16 + 8),
    recurrentZR: tf.variable(orthogonal(H, 2 * H, 1, seed * 16 + 9)),
    recurrentC: tf.variable(orthogonal(H, H, 1, seed * 16 + 10)),
    head: dense(H, 1, 0.01, seed * 16 + 11),
  };
}

/** One GRU step for a batch of pairs: features [B, PAIR_DIM], h [B, H] -> belief [B], h' [B, H]. */
export function beliefStep(p: BeliefParams, shape: BeliefShape, features: tf.Tensor2D, h: tf.Tensor2D): { belief: tf.Tensor1D; h: tf.Tensor2D } {
  const H = shape.hidden;
  const B = features.shape[0];
  const xg = applyDense(p.input, applyLayerNorm(p.inputNorm, features)) as tf.Tensor2D;
  const hzr = tf.matMul(h, p.recurrentZR);
  const z = tf.sigmoid(tf.add(xg.slice([0, 0], [B, H]), hzr.slice([0, 0], [B, H])));
  const r = tf.sigmoid(tf.add(xg.slice([0, H], [B, H]), hzr.slice([0, H], [B, H])));
  const c = tf.tanh(tf.add(xg.slice([0, 2 * H], [B, H]), tf.matMul(tf.mul(r, h), p.recurrentC)));
  const next = tf.add(tf.mul(tf.sub(1, z), c), tf.mul(z, h)) as tf.Tensor2D;
  const belief = tf.sigmoid(applyDense(p.head, next)).reshape([B]) as tf.Tensor1D;
  return { belief, h: next };
}

/** The belief network's weights by path, in a fixed order. */
export function beliefWeights(p: BeliefParams): [string, tf.Variable][] {
  return [
    ['input_norm.gain', p.inputNorm.gain], ['input_norm.bias', p.inputNorm.bias],
    ['input.w', p.input.w], ['input.b', p.input.b],
    ['recurrent_zr', p.recurrentZR], ['recurrent_c', p.recurrentC],
    ['head.w', p.head.w], ['head.b', p.head.b],
  ];
}

/**
 * Mean binary cross-entropy of the beliefs against the true types over a sequence, unrolled from h0
 * (truncated back-propagation through time over the given steps). features[t] [B, PAIR_DIM],
 * labels[t] [B] (1 = compromised), masks[t] [B] (1 where the pair counts: j in range of i), and optional
 * resets[t] [B] (1 where a new episode starts at step t: the state is zeroed before it, as in the rollout).
 */
export function beliefSequenceLoss(
  p: BeliefParams,
  shape: BeliefShape,
  h0: tf.Tensor2D,
  features: tf.Tensor2D[],
  labels: tf.Tensor1D[],
  masks: tf.Tensor1D[],
  resets?: tf.Tensor1D[],
): tf.Scalar {
  let h = h0;
  let total: tf.Tensor = tf.scalar(0);
  let count: tf.Tensor = tf.scalar(0);
  const eps = 1e-6;
  for (let t = 0; t < features.length; t++) {
    const reset = resets?.[t];
    if (reset) h = tf.mul(h, tf.sub(1, reset).reshape([-1, 1])) as tf.Tensor2D;
    const step = beliefStep(p, shape, features[t]!, h);
    h = step.h;
    const b = tf.clipByValue(step.belief, eps, 1 - eps);
    const y = labels[t]!;
    const bce = tf.neg(tf.add(tf.mul(y, tf.log(b)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, b)))));
    total = tf.add(total, tf.sum(tf.mul(bce, masks[t]!)));
    count = tf.add(count, tf.sum(masks[t]!));
  }
  return tf.div(total, tf.maximum(count, 1)) as tf.Scalar;
}
