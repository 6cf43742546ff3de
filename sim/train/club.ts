// CLUB, the contrastive log-ratio upper bound of mutual information (Cheng et al., ICML 2020), as MIR2
// uses it for I(h; a) (a robot's history and its action): a variational Gaussian
// q(a | x) = N(mu(x), diag exp(logvar(x))) fitted by maximum likelihood on (x, a) samples, and
//   CLUB = E_(x,a) [log q(a | x)] - E_x E_a' [log q(a' | x)]
// with a' drawn independently of x. Two estimators over a batch: clubEstimate re-matches the pairs in one
// shuffled order (CLUB-sample); clubFullTerms averages over every x_j of the batch (the paper's CLUB), in
// closed form for a diagonal Gaussian.
import type { RandomStream } from '../../src/core/random.js';
import { applyDense, dense, type DenseParams } from './networks.js';
import { tf } from './tf.js';

export interface ClubParams {
  hidden: DenseParams;
  mean: DenseParams;
  logVar: DenseParams;
}

export function createClub(inputs: number, outputs: number, hidden: number, seed: number): ClubParams {
  return {
    hidden: dense(inputs, hidden, Math.SQRT2, seed * 16 + 1),
    mean: dense(hidden, outputs, 0.01, seed * 16 + 2),
    logVar: dense(hidden, outputs, 0.01, seed * 16 + 3),
  };
}

export function clubVariables(p: ClubParams): tf.Variable[] {
  return clubWeights(p).map(([, v]) => v);
}

function moments(p: ClubParams, states: tf.Tensor2D): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
  const h = tf.relu(applyDense(p.hidden, states));
  // tanh keeps the variance within [e^-5, e^5]: an unbounded log-variance lets the likelihood blow up.
  return { mu: applyDense(p.mean, h) as tf.Tensor2D, logVar: tf.mul(5, tf.tanh(applyDense(p.logVar, h))) as tf.Tensor2D };
}

/** Per-sample log q(a | s) up to the constant (the constant cancels in CLUB). */
function logLikelihood(mu: tf.Tensor2D, logVar: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(-0.5, tf.add(tf.div(tf.square(tf.sub(actions, mu)), tf.exp(logVar)), logVar)), 1) as tf.Tensor1D;
}

/** Negative mean log-likelihood of the actions under q(. | s): the loss that fits q. */
export function clubFitLoss(p: ClubParams, states: tf.Tensor2D, actions: tf.Tensor2D): tf.Scalar {
  const { mu, logVar } = moments(p, states);
  return tf.neg(tf.mean(logLikelihood(mu, logVar, actions))) as tf.Scalar;
}

/**
 * The CLUB estimate over a batch: positive pairs (s_i, a_i) against mismatched pairs in a shuffled order
 * `perm`. Differentiable in the actions, so it can regularise a policy.
 */
export function clubEstimate(p: ClubParams, states: tf.Tensor2D, actions: tf.Tensor2D, perm: Int32Array): tf.Scalar {
  return tf.mean(clubTerms(p, states, actions, perm)) as tf.Scalar;
}

/**
 * Per-sample CLUB terms log q(a_i | s_i) - log q(a_i | s_perm[i]); their mean is the estimate. Pairing each
 * action with another sample's state gives the same mismatched pairs as pairing each state with another
 * sample's action, and keeps the actions ungathered, so gradients reach them (the wasm backend has no
 * kernel for gather's gradient).
 */
export function clubTerms(p: ClubParams, states: tf.Tensor2D, actions: tf.Tensor2D, perm: Int32Array): tf.Tensor1D {
  const own = moments(p, states);
  const other = moments(p, tf.gather(states, tf.tensor1d(perm, 'int32')) as tf.Tensor2D);
  return tf.sub(logLikelihood(own.mu, own.logVar, actions), logLikelihood(other.mu, other.logVar, actions)) as tf.Tensor1D;
}

/**
 * Per-sample CLUB terms over all pairs of the batch: log q(a_i | x_i) - (1/n) sum_j log q(a_i | x_j). Their
 * mean is the original CLUB estimate (Cheng et al. 2020, Eq. 5). For a diagonal Gaussian the inner mean is
 *   -1/2 sum_d [ a_id^2 m1_d - 2 a_id m2_d + m3_d + m4_d ],
 *   m1 = mean_j e^-v_j,  m2 = mean_j mu_j e^-v_j,  m3 = mean_j mu_j^2 e^-v_j,  m4 = mean_j v_j
 * (v the log-variance), so the n^2 pairs cost O(n).
 */
export function clubFullTerms(p: ClubParams, inputs: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
  const { mu, logVar } = moments(p, inputs);
  const own = logLikelihood(mu, logVar, actions);
  const precision = tf.exp(tf.neg(logVar));
  const m1 = tf.mean(precision, 0);
  const m2 = tf.mean(tf.mul(mu, precision), 0);
  const m3 = tf.mean(tf.mul(tf.square(mu), precision), 0);
  const m4 = tf.mean(logVar, 0);
  const marginal = tf.mul(-0.5, tf.sum(tf.add(tf.sub(tf.mul(tf.square(actions), m1), tf.mul(tf.mul(actions, m2), 2)), tf.add(m3, m4)), 1));
  return tf.sub(own, marginal) as tf.Tensor1D;
}

/** q's weights by path, in a fixed order (checkpoints). */
export function clubWeights(p: ClubParams): [string, tf.Variable][] {
  return [
    ['hidden.w', p.hidden.w], ['hidden.b', p.hidden.b], ['mean.w', p.mean.w], ['mean.b', p.mean.b],
    ['log_var.w', p.logVar.w], ['log_var.b', p.logVar.b],
  ];
}

/** A uniformly random permutation of 0..n-1 as int32 (for the negative pairs). */
export function shuffledOrder(rng: RandomStream, n: number): Int32Array {
  return Int32Array.from(rng.permutation(n));
}
