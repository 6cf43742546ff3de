// The networks of the MAPPO core, written with plain tfjs ops so that every weight is explicit and the
// same graph can be written out as ONNX (see onnx/export-actor.ts).
//
// Actor (shared by all robots), on a rendezvous-v1 observation [own | K rows | mask]:
//   [own | rows] -> LayerNorm over the whole vector, with gain/bias tied per feature (so every row slot is
//   treated alike and the actor stays invariant to the order of neighbours);
//   rows -> Dense+ReLU -> masked mean over rows ---.
//   own ------------------------------------------+-> concat -> Dense+ReLU -> Dense+ReLU -> mean (2)
// (A LayerNorm per 7-feature row would erase two of its seven degrees of freedom; over the whole vector it
// removes only the vector's own mean and scale.)
// plus a state-independent log standard deviation (2): a diagonal Gaussian over the two wheel commands.
// ReLU throughout (the MAPPO default): tanh costs six times as much in the wasm backend, where the row
// embedding's activation dominates the update.
// Critic: global state -> LayerNorm -> Dense+ReLU -> Dense+ReLU -> value.
import { OWN_DIM, ROW_DIM } from '../../src/core/observation.js';
import { tf } from './tf.js';

export interface DenseParams {
  w: tf.Variable;
  b: tf.Variable;
}

export interface LayerNormParams {
  gain: tf.Variable;
  bias: tf.Variable;
}

/** LayerNorm epsilon; the ONNX export uses the same value. */
export const LAYER_NORM_EPSILON = 1e-5;

export function orthogonal(rows: number, cols: number, gain: number, seed: number): tf.Tensor2D {
  return tf.initializers.orthogonal({ gain, seed }).apply([rows, cols]) as tf.Tensor2D;
}

// Variables are left unnamed (tfjs names must be unique per process, and tests build many networks);
// checkpoints and exports address weights by their path in the parameter structure instead.
export function dense(inputs: number, outputs: number, gain: number, seed: number): DenseParams {
  return { w: tf.variable(orthogonal(inputs, outputs, gain, seed)), b: tf.variable(tf.zeros([outputs])) };
}

export function layerNorm(size: number): LayerNormParams {
  return { gain: tf.variable(tf.ones([size])), bias: tf.variable(tf.zeros([size])) };
}

/**
 * x @ w with a hand-written gradient that transposes explicitly: the wasm backend's matMul with a
 * transposed operand (what the built-in gradient uses) is about ten times slower than a transpose
 * followed by a plain matMul.
 */
export const matMulFastGrad = tf.customGrad((...args: unknown[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, (tensors: tf.Tensor[]) => void];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g)];
    },
  };
});

export function applyDense(p: DenseParams, x: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const flat = x.reshape([-1, shape[shape.length - 1]!]);
  const y = tf.add(matMulFastGrad(flat, p.w), p.b);
  return y.reshape([...shape.slice(0, -1), p.w.shape[1]!]);
}

/** Zero mean, unit variance over the last axis (LayerNorm without its affine part). */
export function standardise(x: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPSILON)));
}

export function affine(p: LayerNormParams, x: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, p.gain), p.bias);
}

export function applyLayerNorm(p: LayerNormParams, x: tf.Tensor): tf.Tensor {
  return affine(p, standardise(x));
}

export interface ActorShape {
  maxNeighbours: number;
  hidden: number;
  /**
   * EIR-style actors also read a belief per neighbour row (P(that neighbour is compromised)), appended to
   * the row's features so the actor stays invariant to the order of neighbours.
   */
  beliefInputs?: boolean;
  /** Beliefs per row (BATPAL: P(type k) for each of its R severity types); default 1. */
  beliefsPerRow?: number;
}

/** Belief values the actor reads per neighbour row (0 for an actor without beliefs). */
export function rowBeliefCount(shape: ActorShape): number {
  return shape.beliefInputs ? (shape.beliefsPerRow ?? 1) : 0;
}

export interface ActorParams {
  /** Tied affine parameters of the input LayerNorm: one gain/bias per own feature and per row feature. */
  ownNorm: LayerNormParams;
  rowNorm: LayerNormParams;
  rowEmbed: DenseParams;
  hidden1: DenseParams;
  hidden2: DenseParams;
  mean: DenseParams;
  logStd: tf.Variable;
}

export function createActor(shape: ActorShape, seed: number, initialLogStd = -0.5): ActorParams {
  const h = shape.hidden;
  return {
    ownNorm: layerNorm(OWN_DIM),
    rowNorm: layerNorm(ROW_DIM),
    rowEmbed: dense(ROW_DIM + rowBeliefCount(shape), h, Math.SQRT2, seed * 16 + 1),
    hidden1: dense(OWN_DIM + h, h, Math.SQRT2, seed * 16 + 2),
    hidden2: dense(h, h, Math.SQRT2, seed * 16 + 3),
    // Small final gain: initial actions near zero, as in the PPO implementation details.
    mean: dense(h, 2, 0.01, seed * 16 + 4),
    logStd: tf.variable(tf.fill([2], initialLogStd)),
  };
}

/** Mean wheel commands for a batch of observations [B, obsSize] (and row beliefs [B, K * R] for belief actors). */
export function actorMean(p: ActorParams, shape: ActorShape, obs: tf.Tensor2D, beliefs?: tf.Tensor2D): tf.Tensor2D {
  const K = shape.maxNeighbours;
  const B = obs.shape[0];
  const features = standardise(obs.slice([0, 0], [B, OWN_DIM + K * ROW_DIM]));
  const own = affine(p.ownNorm, features.slice([0, 0], [B, OWN_DIM]));
  let rows = affine(p.rowNorm, features.slice([0, OWN_DIM], [B, K * ROW_DIM]).reshape([B, K, ROW_DIM]));
  if (shape.beliefInputs) {
    if (!beliefs) throw new Error('this actor reads row beliefs: pass beliefs [batch, maxNeighbours * beliefsPerRow]');
    rows = tf.concat([rows, beliefs.reshape([B, K, rowBeliefCount(shape)])], 2);
  }
  const mask = obs.slice([0, OWN_DIM + K * ROW_DIM], [B, K]).reshape([B, K, 1]);
  const embedded = tf.relu(applyDense(p.rowEmbed, rows));
  const count = tf.maximum(tf.sum(mask, 1), 1);
  const pooled = tf.div(tf.sum(tf.mul(embedded, mask), 1), count);
  const x = tf.concat([own, pooled], 1);
  const h1 = tf.relu(applyDense(p.hidden1, x));
  const h2 = tf.relu(applyDense(p.hidden2, h1));
  return applyDense(p.mean, h2) as tf.Tensor2D;
}

/**
 * actorMean on plain arrays: mean commands (robot r at 2r) of the first `rows` observations of `obs`
 * (obsSize each), with their row beliefs (maxNeighbours x beliefsPerRow each) for a belief actor.
 */
export function actorMeans(p: ActorParams, shape: ActorShape, obs: Float32Array, obsSize: number, rows: number, beliefs?: Float32Array): Float32Array {
  const KR = shape.maxNeighbours * rowBeliefCount(shape);
  const m = tf.tidy(() =>
    actorMean(p, shape, tf.tensor2d(obs.subarray(0, rows * obsSize), [rows, obsSize]), beliefs ? tf.tensor2d(beliefs.subarray(0, rows * KR), [rows, KR]) : undefined),
  );
  const out = Float32Array.from(m.dataSync());
  m.dispose();
  return out;
}

/** The actor's weights by path, in a fixed order (the optimiser's state follows this order). */
export function actorWeights(p: ActorParams): [string, tf.Variable][] {
  return [
    ['own_norm.gain', p.ownNorm.gain], ['own_norm.bias', p.ownNorm.bias],
    ['row_norm.gain', p.rowNorm.gain], ['row_norm.bias', p.rowNorm.bias],
    ['row_embed.w', p.rowEmbed.w], ['row_embed.b', p.rowEmbed.b],
    ['hidden1.w', p.hidden1.w], ['hidden1.b', p.hidden1.b],
    ['hidden2.w', p.hidden2.w], ['hidden2.b', p.hidden2.b],
    ['mean.w', p.mean.w], ['mean.b', p.mean.b],
    ['log_std', p.logStd],
  ];
}

export function actorVariables(p: ActorParams): tf.Variable[] {
  return actorWeights(p).map(([, v]) => v);
}

export interface CriticParams {
  norm: LayerNormParams;
  hidden1: DenseParams;
  hidden2: DenseParams;
  value: DenseParams;
}

export function createCritic(stateSize: number, hidden: number, seed: number): CriticParams {
  return {
    norm: layerNorm(stateSize),
    hidden1: dense(stateSize, hidden, Math.SQRT2, seed * 16 + 5),
    hidden2: dense(hidden, hidden, Math.SQRT2, seed * 16 + 6),
    value: dense(hidden, 1, 1, seed * 16 + 7),
  };
}

/** Normalised value estimates [B] for a batch of global states [B, stateSize]. */
export function criticValue(p: CriticParams, state: tf.Tensor2D): tf.Tensor1D {
  const h1 = tf.relu(applyDense(p.hidden1, applyLayerNorm(p.norm, state)));
  const h2 = tf.relu(applyDense(p.hidden2, h1));
  return applyDense(p.value, h2).reshape([-1]) as tf.Tensor1D;
}

/** The critic's weights by path, in a fixed order. */
export function criticWeights(p: CriticParams): [string, tf.Variable][] {
  return [
    ['norm.gain', p.norm.gain], ['norm.bias', p.norm.bias],
    ['hidden1.w', p.hidden1.w], ['hidden1.b', p.hidden1.b],
    ['hidden2.w', p.hidden2.w], ['hidden2.b', p.hidden2.b],
    ['value.w', p.value.w], ['value.b', p.value.b],
  ];
}

export function criticVariables(p: CriticParams): tf.Variable[] {
  return criticWeights(p).map(([, v]) => v);
}

/** Log density of actions [B, 2] under N(mean, exp(logStd)^2), summed over the two wheels: [B]. */
export function gaussianLogProb(mean: tf.Tensor2D, logStd: tf.Tensor1D, actions: tf.Tensor2D): tf.Tensor1D {
  const z = tf.div(tf.sub(actions, mean), tf.exp(logStd));
  const perDim = tf.sub(tf.mul(-0.5, tf.square(z)), tf.add(logStd, 0.5 * Math.log(2 * Math.PI)));
  return tf.sum(perDim, 1) as tf.Tensor1D;
}

/** Entropy of the diagonal Gaussian (same for every sample). */
export function gaussianEntropy(logStd: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.add(logStd, 0.5 * (1 + Math.log(2 * Math.PI))));
}
