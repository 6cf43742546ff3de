// The actor's and critic's forward passes (networks.ts) with their backward passes written out by hand,
// for the training steps (ppo.ts). Autodiff (tf.variableGrads) records every kernel on a tape and copies
// each saved input with an Identity kernel: on the row embedding that is several [B * K, hidden] copies per
// step, plus a ones tensor and a multiplication by it for every sum, and a cast per ReLU and product.
//
// Bit-exactness: every gradient here is the same sequence of tfjs kernels, on the same shapes, that
// tfjs's gradient functions run (Add, Multiply, RealDiv, Sum, Relu, Concat, Reshape and matMulFastGrad's),
// minus only kernels that copy or multiply by exactly 1 (Identity, a float32 -> float32 Cast, the Sum
// gradient's x * ones). One product is regrouped, and it is exact: the row embedding's gradient
// dy * mask * step(pre) is computed as dy * step(relu(pre) * mask); with the mask 0 or 1 (observation.ts
// writes it exactly) both factors are 0 or 1, so the product is dy or a zero of dy's sign either way.
// test/training-fingerprint.test.ts and test/tiny-fingerprints.test.ts hold the result to the bit.
import { OWN_DIM, ROW_DIM } from '../../src/core/observation.js';
import { rowBeliefCount, standardise, type ActorParams, type ActorShape, type CriticParams, type DenseParams } from './networks.js';
import { tf } from './tf.js';

/** A forward pass and its hand-written backward pass. */
export interface Backprop<T extends tf.Tensor> {
  output: T;
  /** The gradient of every variable the output depends on, given the gradient of the output. */
  backward(dy: T): Map<tf.Variable, tf.Tensor>;
}

/** x @ w + b on 2-D x, with what its backward pass needs. */
interface DenseTrace {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

function denseForward(p: DenseParams, x: tf.Tensor2D): DenseTrace {
  return { x, y: tf.add(tf.matMul(x, p.w), p.b) as tf.Tensor2D };
}

/**
 * Gradients of w and b into `grads`; returns the gradient of x. The gradients of matMulFastGrad and Add,
 * with dy transposed once: Sum over axis 0 transposes its input to reduce the innermost axis, and the wasm
 * backend's matMul packs its right operand anew for every new tensor, which for dy [B * K, hidden] costs
 * more than the product. The sums are the same: sum(dy^T, 1) is what sum(dy, 0) reduces, and the backend's
 * matMul accumulates every output over the inner axis in order, so dy^T x = (x^T dy)^T to the bit.
 */
function denseBackward(p: DenseParams, t: DenseTrace, dy: tf.Tensor2D, grads: Map<tf.Variable, tf.Tensor>): tf.Tensor2D {
  const dyT = tf.transpose(dy);
  grads.set(p.b, tf.sum(dyT, [1]));
  grads.set(p.w, tf.transpose(tf.matMul(dyT, t.x)));
  return tf.matMul(dy, tf.transpose(p.w) as tf.Tensor2D);
}

/** ReLU's gradient: dy * step(x) on the ReLU's input x. */
function reluBackward(x: tf.Tensor, dy: tf.Tensor): tf.Tensor2D {
  return tf.mul(dy, tf.step(x)) as tf.Tensor2D;
}

/** x * gain + bias with gain and bias broadcast over x's leading axes: their gradients into `grads`. */
function affineBackward(gain: tf.Variable, bias: tf.Variable, x: tf.Tensor, dy: tf.Tensor, grads: Map<tf.Variable, tf.Tensor>): void {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  grads.set(bias, tf.reshape(tf.sum(dy, axes), bias.shape));
  grads.set(gain, tf.reshape(tf.sum(tf.mul(dy, x), axes), gain.shape));
}

/**
 * What actorMean reads of a batch of observations before its first weight: the standardised own features
 * [B, OWN_DIM] and row features [B, K, ROW_DIM], the row mask [B, K, 1] and the row count max(sum of the
 * mask, 1) [B, 1]. Each sample's are its own (per-row reductions and elementwise ops), so they can be made
 * once for a whole rollout and gathered per minibatch.
 */
export interface ActorInputs {
  own: tf.Tensor2D;
  rows: tf.Tensor3D;
  mask: tf.Tensor3D;
  count: tf.Tensor2D;
}

export function actorInputs(shape: ActorShape, obs: tf.Tensor2D): ActorInputs {
  const K = shape.maxNeighbours;
  const B = obs.shape[0];
  const features = standardise(obs.slice([0, 0], [B, OWN_DIM + K * ROW_DIM]));
  const mask = obs.slice([0, OWN_DIM + K * ROW_DIM], [B, K]).reshape([B, K, 1]) as tf.Tensor3D;
  return {
    own: features.slice([0, 0], [B, OWN_DIM]) as tf.Tensor2D,
    rows: features.slice([0, OWN_DIM], [B, K * ROW_DIM]).reshape([B, K, ROW_DIM]) as tf.Tensor3D,
    mask,
    count: tf.maximum(tf.sum(mask, 1), 1) as tf.Tensor2D,
  };
}

/** actorMean (networks.ts) on a batch of observations, kernel for kernel, with its backward pass. */
export function actorMeanBackprop(p: ActorParams, shape: ActorShape, obs: tf.Tensor2D, beliefs?: tf.Tensor2D): Backprop<tf.Tensor2D> {
  return actorMeanBackpropOn(p, shape, actorInputs(shape, obs), beliefs);
}

/** actorMeanBackprop from the inputs it reads (actorInputs). */
export function actorMeanBackpropOn(p: ActorParams, shape: ActorShape, inputs: ActorInputs, beliefs?: tf.Tensor2D): Backprop<tf.Tensor2D> {
  const K = shape.maxNeighbours;
  const { own: ownIn, rows: rowsIn, mask, count } = inputs;
  const B = ownIn.shape[0];
  const H = p.rowEmbed.w.shape[1]!;
  const own = tf.add(tf.mul(ownIn, p.ownNorm.gain), p.ownNorm.bias);
  let rows = tf.add(tf.mul(rowsIn, p.rowNorm.gain), p.rowNorm.bias);
  const R = rowBeliefCount(shape);
  if (shape.beliefInputs) {
    if (!beliefs) throw new Error('this actor reads row beliefs: pass beliefs [batch, maxNeighbours * beliefsPerRow]');
    rows = tf.concat([rows, beliefs.reshape([B, K, R])], 2);
  }
  const embed = denseForward(p.rowEmbed, rows.reshape([B * K, ROW_DIM + R]) as tf.Tensor2D);
  const pre = embed.y.reshape([B, K, H]);
  const masked = tf.mul(tf.relu(pre), mask);
  const pooled = tf.div(tf.sum(masked, 1), count);
  const l1 = denseForward(p.hidden1, tf.concat([own, pooled], 1) as tf.Tensor2D);
  const l2 = denseForward(p.hidden2, tf.relu(l1.y) as tf.Tensor2D);
  const out = denseForward(p.mean, tf.relu(l2.y) as tf.Tensor2D);
  return {
    output: out.y,
    backward(dMean) {
      const grads = new Map<tf.Variable, tf.Tensor>();
      const dh2 = denseBackward(p.mean, out, dMean, grads);
      const dh1 = denseBackward(p.hidden2, l2, reluBackward(l2.y, dh2), grads);
      const dx = denseBackward(p.hidden1, l1, reluBackward(l1.y, dh1), grads);
      const [dOwn, dPooled] = tf.split(dx, [OWN_DIM, H], 1) as [tf.Tensor2D, tf.Tensor2D];
      affineBackward(p.ownNorm.gain, p.ownNorm.bias, ownIn, dOwn, grads);
      // Sum's gradient broadcasts dy over the summed axis; the broadcasting product does that itself.
      const dSum = tf.div(dPooled, count).reshape([B, 1, H]);
      const dPre = tf.mul(dSum, tf.step(masked)).reshape([B * K, H]) as tf.Tensor2D;
      const dRows = denseBackward(p.rowEmbed, embed, dPre, grads).reshape([B, K, ROW_DIM + R]);
      const dRowsNorm = R > 0 ? tf.split(dRows, [ROW_DIM, R], 2)[0]! : dRows;
      affineBackward(p.rowNorm.gain, p.rowNorm.bias, rowsIn, dRowsNorm, grads);
      return grads;
    },
  };
}

/** criticValue (networks.ts), kernel for kernel, with its backward pass; `normIn` is standardise(state). */
export function criticValueBackprop(p: CriticParams, normIn: tf.Tensor2D): Backprop<tf.Tensor1D> {
  const l1 = denseForward(p.hidden1, tf.add(tf.mul(normIn, p.norm.gain), p.norm.bias) as tf.Tensor2D);
  const l2 = denseForward(p.hidden2, tf.relu(l1.y) as tf.Tensor2D);
  const out = denseForward(p.value, tf.relu(l2.y) as tf.Tensor2D);
  return {
    output: out.y.reshape([-1]),
    backward(dValue) {
      const grads = new Map<tf.Variable, tf.Tensor>();
      const dh2 = denseBackward(p.value, out, dValue.reshape(out.y.shape), grads);
      const dh1 = denseBackward(p.hidden2, l2, reluBackward(l2.y, dh2), grads);
      const dn = denseBackward(p.hidden1, l1, reluBackward(l1.y, dh1), grads);
      affineBackward(p.norm.gain, p.norm.bias, normIn, dn, grads);
      return grads;
    },
  };
}
