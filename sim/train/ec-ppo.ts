// BATPAL's severity bands and its externally constrained PPO loss (Kazari & Dan, ICLR 2026, Eq. 9 and 14).
//
// Severity of an adversary rho against the frozen reference team pi_0:
//   eta = (V_max - V0) / (V_max - V_min),   V0 = the team's value against rho in MDP0 (pi_0 frozen).
// K bands: type k owns eta in ((k - 1) / K, k / K], i.e. V0 in [l_k, h_k) with
//   l_k = V_max - (k / K) (V_max - V_min),  h_k = V_max - ((k - 1) / K) (V_max - V_min).
// Adversary k minimises the team's value V1 against the robust team (MDP1) subject to l_k <= V0 <= h_k,
// via the log barrier  V1 - lambda log(V0 - l) - lambda log(h - V0). EC-PPO's gradient (Eq. 14):
//   inside [l + zeta, h - zeta]:  grad PPO_1 - lambda (1 / (V0 - l) - 1 / (h - V0)) grad V0
//   otherwise:                    sign(V0 - (l + h) / 2) grad V0        (only recentring)
// where grad V0 is the policy gradient of MDP0's team value, estimated from the MDP0 rollouts.
//
// Both terms are PPO-clipped surrogates: the attack term as Eq. 14's grad PPO_1; the MDP0 term, with
// weight w (-lambda (...) inside, -sign(...) outside), as the clipped surrogate of w x the team's MDP0
// advantage. At the rollout's policy (ratio 1) its gradient is exactly Eq. 14's w-weighted grad V0; on
// further steps over the same samples it stops once the ratio leaves [1 - clip, 1 + clip], as the attack
// term does. Unclipped, the importance-weighted MDP0 surrogate keeps pushing over the many optimiser steps
// the faster timescale gives the adversary per iteration (the paper's ablation: without clipping the
// adversaries leave their bands).
import { gaussianLogProb } from './networks.js';
import { tf } from './tf.js';
import { UserError } from '../../src/core/user-error.js';

export interface ValueRange {
  /** The reference team's value without attack (V_max) and under the worst-case adversary (V_min). */
  vMax: number;
  vMin: number;
}

function span(r: ValueRange): number {
  const d = r.vMax - r.vMin;
  if (!(d > 0)) throw new UserError(`severity: V_max (${r.vMax}) must exceed V_min (${r.vMin})`);
  return d;
}

/** eta = (V_max - V0) / (V_max - V_min): 0 = harmless, 1 = as bad as the worst case (may leave [0, 1]). */
export function severity(v0: number, r: ValueRange): number {
  return (r.vMax - v0) / span(r);
}

/** The severity type (1..K) whose band ((k-1)/K, k/K] holds eta; eta <= 0 is type 1, eta > 1 type K. */
export function severityType(eta: number, K: number): number {
  return Math.min(K, Math.max(1, Math.ceil(eta * K)));
}

/** Band of type k (1..K) in value terms: l <= V0 <= h. */
export function valueBand(k: number, K: number, r: ValueRange): { l: number; h: number } {
  if (!Number.isInteger(k) || k < 1 || k > K) throw new RangeError(`severity type ${k} is not in 1..${K}`);
  const d = span(r);
  return { l: r.vMax - (k / K) * d, h: r.vMax - ((k - 1) / K) * d };
}

export interface EcPpoBatch {
  /** MDP1 samples (against the robust team): actions, old log-probabilities, the adversary's advantages
   * (the negated team advantages), normalised or not. */
  actions1: tf.Tensor2D;
  oldLogProbs1: tf.Tensor1D;
  advantages1: tf.Tensor1D;
  /** MDP0 samples (against frozen pi_0): actions, old log-probabilities and the TEAM's advantages there. */
  actions0: tf.Tensor2D;
  oldLogProbs0: tf.Tensor1D;
  teamAdvantages0: tf.Tensor1D;
}

export interface EcPpoSettings {
  clip: number;
  /** Barrier weight lambda (0.2 in the paper outside SMAC). */
  lambda: number;
  /** Margin zeta inside the band's edges, in value units. */
  margin: number;
}

export interface EcPpoTerms {
  /** The loss to minimise (its gradient is EC-PPO's). */
  loss: tf.Scalar;
  /** Whether V0 was inside [l + zeta, h - zeta] (barrier step) or not (recentring only). */
  inside: boolean;
  /** PPO-clip attack loss on MDP1 (minimising it lowers the robust team's value). */
  attack: tf.Scalar;
  /** Surrogate of V0: mean ratio0 * teamAdvantage0; its gradient at ratio 1 estimates grad V0. */
  v0Surrogate: tf.Scalar;
  /** Weight w of V0's gradient in the step: -lambda (1/(V0 - l) - 1/(h - V0)) inside, -sign(V0 - centre) outside. */
  v0Weight: number;
}

/**
 * EC-PPO loss of one adversary for one minibatch. `means1` and `means0` are the adversary's action means
 * on the MDP1 and MDP0 observations (built inside the caller's gradient tape), `v0` the current estimate
 * of the team's value in MDP0 and [l, h] the adversary's band. Call it inside tf.tidy (or a gradient
 * tape): the returned terms are tensors.
 */
export function ecPpoLoss(
  means1: tf.Tensor2D,
  means0: tf.Tensor2D,
  logStd: tf.Tensor1D,
  batch: EcPpoBatch,
  v0: number,
  band: { l: number; h: number },
  s: EcPpoSettings,
): EcPpoTerms {
  const halfWidth = 0.5 * (band.h - band.l);
  if (!(s.margin >= 0 && s.margin < halfWidth)) {
    throw new UserError(`EC-PPO margin ${s.margin} must be >= 0 and below half the band [${band.l}, ${band.h}] (${halfWidth})`);
  }
  const ratio1 = tf.exp(tf.sub(gaussianLogProb(means1, logStd, batch.actions1), batch.oldLogProbs1));
  const surr1 = tf.mul(ratio1, batch.advantages1);
  const surr2 = tf.mul(tf.clipByValue(ratio1, 1 - s.clip, 1 + s.clip), batch.advantages1);
  const attack = tf.neg(tf.mean(tf.minimum(surr1, surr2))) as tf.Scalar;
  const ratio0 = tf.exp(tf.sub(gaussianLogProb(means0, logStd, batch.actions0), batch.oldLogProbs0));
  const v0Surrogate = tf.mean(tf.mul(ratio0, batch.teamAdvantages0)) as tf.Scalar;
  const inside = v0 >= band.l + s.margin && v0 <= band.h - s.margin;
  // Minimising the loss raises w x V0: inside, the barrier's pull away from the nearer edge; outside, toward the centre.
  const v0Weight = inside ? s.lambda * (1 / (v0 - band.l) - 1 / (band.h - v0)) : -Math.sign(v0 - 0.5 * (band.l + band.h));
  const weighted = tf.mul(batch.teamAdvantages0, v0Weight);
  const v0Term = tf.neg(tf.mean(tf.minimum(tf.mul(ratio0, weighted), tf.mul(tf.clipByValue(ratio0, 1 - s.clip, 1 + s.clip), weighted)))) as tf.Scalar;
  const loss = inside ? (tf.add(attack, v0Term) as tf.Scalar) : v0Term;
  return { loss, inside, attack, v0Surrogate, v0Weight };
}
