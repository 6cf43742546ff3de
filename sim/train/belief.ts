// The belief network: one GRU per (observer i, neighbour j) pair with shared weights, reading the pair
// features of rendezvous-v1 each step and giving p_ij = P(robot j is compromised | i's history of j).
// The recurrent state is explicit (h in, h out), exactly as the exported ONNX graph takes it.
//
// GRU (ONNX's default form, linear_before_reset = 0, plain sigmoid gates):
//   z = sigmoid(x Wz + h Uz + bz)      r = sigmoid(x Wr + h Ur + br)
//   c = tanh(x Wc + (r * h) Uc + bc)   h' = (1 - z) * c + z * h
//   one type (R = 1):   p = sigmoid(h' wo + bo)                        [B, 1]
//   R types:            p = softmax(h' wo + bo) over benign, 1..R, benign column dropped   [B, R]
import { PAIR_DIM } from '../../src/core/observation.js';
import { applyDense, applyLayerNorm, dense, layerNorm, matMulFastGrad, orthogonal, type DenseParams, type LayerNormParams } from './networks.js';
import { tf } from './tf.js';

export interface BeliefShape {
  hidden: number;
  /** Adversary types told apart (default 1: compromised or not). */
  types?: number;
}

export function beliefTypeCount(shape: BeliefShape): number {
  return shape.types ?? 1;
}

/** One gate's weights: input side [PAIR_DIM, H] with bias [H], recurrent side [H, H]. */
export interface GateParams {
  input: DenseParams;
  recurrent: tf.Variable;
}

export interface BeliefParams {
  inputNorm: LayerNormParams;
  /** Update gate z, reset gate r and candidate c, kept apart: slicing a fused [., 3H] tensor in the wasm backend costs more than the matMul. */
  z: GateParams;
  r: GateParams;
  c: GateParams;
  head: DenseParams;
}

export function createBelief(shape: BeliefShape, seed: number): BeliefParams {
  const H = shape.hidden;
  const gate = (k: number): GateParams => ({
    input: dense(PAIR_DIM, H, 1, seed * 16 + 8 + k),
    recurrent: tf.variable(orthogonal(H, H, 1, seed * 16 + 12 + k)),
  });
  const R = beliefTypeCount(shape);
  // One logit for a yes/no belief, else one per class (benign and each type).
  return { inputNorm: layerNorm(PAIR_DIM), z: gate(0), r: gate(1), c: gate(2), head: dense(H, R === 1 ? 1 : R + 1, 0.01, seed * 16 + 11) };
}

/** tanh(x) = 2 sigmoid(2x) - 1: the wasm backend's tanh is several times slower than its sigmoid. */
function tanh(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

/** One GRU step for a batch of pairs: features [B, PAIR_DIM], h [B, H] -> belief [B, R], h' [B, H]. */
export function beliefStep(p: BeliefParams, shape: BeliefShape, features: tf.Tensor2D, h: tf.Tensor2D): { belief: tf.Tensor2D; h: tf.Tensor2D } {
  const step = beliefLogits(p, features, h);
  return { belief: beliefProbabilities(shape, step.logits), h: step.h };
}

/**
 * beliefStep on plain arrays for `pairs` pairs (features [pairs, PAIR_DIM], h [pairs, H]): writes the R
 * beliefs of each pair into `beliefs` and returns the next state. The rollouts and TfjsTeam both step with it.
 */
export function beliefStepArrays(p: BeliefParams, shape: BeliefShape, features: Float32Array, h: Float32Array, pairs: number, beliefs: Float32Array): Float32Array<ArrayBuffer> {
  const out = tf.tidy(() => {
    const step = beliefStep(p, shape, tf.tensor2d(features, [pairs, PAIR_DIM]), tf.tensor2d(h, [pairs, shape.hidden]));
    return [step.belief, step.h];
  });
  beliefs.set(out[0]!.dataSync());
  const next = Float32Array.from(out[1]!.dataSync());
  tf.dispose(out);
  return next;
}

/** P(compromised with type k), k = 1..R, [B, R], from the head's logits. */
function beliefProbabilities(shape: BeliefShape, logits: tf.Tensor2D): tf.Tensor2D {
  const R = beliefTypeCount(shape);
  if (R === 1) return tf.sigmoid(logits);
  return tf.softmax(logits).slice([0, 1], [-1, R]);
}

function beliefLogits(p: BeliefParams, features: tf.Tensor2D, h: tf.Tensor2D): { logits: tf.Tensor2D; h: tf.Tensor2D } {
  const x = applyLayerNorm(p.inputNorm, features);
  const pre = (g: GateParams, state: tf.Tensor) => tf.add(applyDense(g.input, x), matMulFastGrad(state, g.recurrent) as tf.Tensor);
  const z = tf.sigmoid(pre(p.z, h));
  const r = tf.sigmoid(pre(p.r, h));
  const c = tanh(pre(p.c, tf.mul(r, h)));
  const next = tf.add(c, tf.mul(z, tf.sub(h, c))) as tf.Tensor2D; // (1 - z) c + z h
  return { logits: applyDense(p.head, next) as tf.Tensor2D, h: next };
}

/** A stretch of consecutive steps for the same B pairs, one entry per step. */
export interface BeliefSequence {
  /** [B, PAIR_DIM] per step. */
  features: tf.Tensor2D[];
  /** [B] per step: the true type of robot j, 0 benign or 1..R (1 = compromised for a yes/no belief). */
  labels: tf.Tensor1D[];
  /** [B] per step: 1 where the pair counts (j in range of a defender i). */
  masks: tf.Tensor1D[];
  /** [B] per step, optional: 1 where a new episode starts at that step (the state is zeroed before it, as in the rollout). */
  resets?: tf.Tensor1D[];
}

/**
 * Mean cross-entropy of the beliefs against the true types (binary for one type) over a sequence unrolled
 * from h0 (truncated back-propagation through time over its steps).
 */
export function beliefSequenceLoss(p: BeliefParams, shape: BeliefShape, h0: tf.Tensor2D, seq: BeliefSequence): tf.Scalar {
  const eps = 1e-6;
  const R = beliefTypeCount(shape);
  let h = h0;
  let total: tf.Tensor = tf.scalar(0);
  let count: tf.Tensor = tf.scalar(0);
  for (let t = 0; t < seq.features.length; t++) {
    const reset = seq.resets?.[t];
    if (reset) h = tf.mul(h, tf.sub(1, reset).reshape([-1, 1])) as tf.Tensor2D;
    const step = beliefLogits(p, seq.features[t]!, h);
    h = step.h;
    const y = seq.labels[t]!;
    let ce: tf.Tensor;
    if (R === 1) {
      const b = tf.clipByValue(tf.sigmoid(step.logits).reshape([-1]), eps, 1 - eps);
      ce = tf.neg(tf.add(tf.mul(y, tf.log(b)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, b)))));
    } else {
      ce = tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(y, 'int32'), R + 1), tf.logSoftmax(step.logits)), 1));
    }
    total = tf.add(total, tf.sum(tf.mul(ce, seq.masks[t]!)));
    count = tf.add(count, tf.sum(seq.masks[t]!));
  }
  return tf.div(total, tf.maximum(count, 1)) as tf.Scalar;
}

/** The belief network's weights by path, in a fixed order. */
export function beliefWeights(p: BeliefParams): [string, tf.Variable][] {
  return [
    ['input_norm.gain', p.inputNorm.gain], ['input_norm.bias', p.inputNorm.bias],
    ...(['z', 'r', 'c'] as const).flatMap((k): [string, tf.Variable][] => [
      [`${k}.input.w`, p[k].input.w], [`${k}.input.b`, p[k].input.b], [`${k}.recurrent`, p[k].recurrent],
    ]),
    ['head.w', p.head.w], ['head.b', p.head.b],
  ];
}
