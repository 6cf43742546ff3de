import { beforeAll, describe, expect, it } from 'vitest';
import { ecPpoLoss, severity, severityType, valueBand } from '../sim/train/ec-ppo.js';
import { gaussianLogProb } from '../sim/train/networks.js';
import { initBackend, tf } from '../sim/train/tf.js';

beforeAll(async () => {
  await initBackend();
});

describe('BATPAL severity bands', () => {
  const range = { vMax: -30, vMin: -110 };

  it('maps values to severities and K = 4 bands that tile [V_min, V_max]', () => {
    expect(severity(-30, range)).toBe(0);
    expect(severity(-110, range)).toBe(1);
    expect(severity(-50, range)).toBeCloseTo(0.25, 12);
    const bands = [1, 2, 3, 4].map((k) => valueBand(k, 4, range));
    expect(bands[0]).toEqual({ l: -50, h: -30 });
    expect(bands[3]).toEqual({ l: -110, h: -90 });
    for (let k = 1; k < 4; k++) expect(bands[k]!.h).toBe(bands[k - 1]!.l);
    // A value inside band k has severity type k; an edge eta = k/K belongs to type k ((k-1)/K < eta <= k/K).
    expect(severityType(severity(-40, range), 4)).toBe(1);
    expect(severityType(severity(-70, range), 4)).toBe(2);
    expect(severityType(severity(-50, range), 4)).toBe(1);
    expect(severityType(severity(-100, range), 4)).toBe(4);
    expect(severityType(-0.2, 4)).toBe(1);
    expect(severityType(1.3, 4)).toBe(4);
  });

  it('rejects a band that does not exist and a range without spread', () => {
    expect(() => valueBand(5, 4, range)).toThrow(/not in 1..4/);
    expect(() => valueBand(0, 4, range)).toThrow(/not in 1..4/);
    expect(() => severity(0, { vMax: -50, vMin: -50 })).toThrow(/must exceed/);
  });
});

describe('EC-PPO loss', () => {
  const settings = { clip: 0.2, lambda: 0.2, margin: 0.5 };
  const band = { l: -70, h: -50 };
  const logStd = () => tf.tensor1d([-0.7, -0.9]);
  const MEAN0 = [0.1, 0.2, -0.1, -0.2];
  const ACTIONS0 = [0.3, 0.1, -0.2, -0.4];
  // MDP0's old log-probabilities are those of MEAN0 (ratio 1 there, as at the first step of an update),
  // shifted by `shift0`.
  const batch = (shift0 = [0, 0]) => ({
    actions1: tf.tensor2d([0.1, -0.2, 0.4, 0.3, -0.5, 0.2], [3, 2]),
    oldLogProbs1: tf.tensor1d([-0.5, -0.9, -0.7]),
    advantages1: tf.tensor1d([1.5, -0.5, 0.8]),
    actions0: tf.tensor2d(ACTIONS0, [2, 2]),
    oldLogProbs0: tf.add(gaussianLogProb(tf.tensor2d(MEAN0, [2, 2]), logStd(), tf.tensor2d(ACTIONS0, [2, 2])), tf.tensor1d(shift0)) as tf.Tensor1D,
    teamAdvantages0: tf.tensor1d([-1.2, 0.7]),
  });
  const means = () => ({ m1: tf.variable(tf.tensor2d([0.2, -0.1, 0.3, 0.2, -0.3, 0.1], [3, 2])), m0: tf.variable(tf.tensor2d(MEAN0, [2, 2])) });

  it('inside the band equals the PPO attack loss minus the barrier term, and so does its gradient (at the rollout policy)', () => {
    const v0 = -58;
    const { m1, m0 } = means();
    const b = batch();
    const t = ecPpoLoss(m1, m0, logStd(), b, v0, band, settings);
    expect(t.inside).toBe(true);
    const c = settings.lambda * (1 / (v0 - band.l) - 1 / (band.h - v0));
    expect(t.v0Weight).toBeCloseTo(c, 12);
    expect(t.loss.dataSync()[0]).toBeCloseTo(t.attack.dataSync()[0]! - c * t.v0Surrogate.dataSync()[0]!, 6);
    const grads = tf.variableGrads(() => ecPpoLoss(m1, m0, logStd(), b, v0, band, settings).loss, [m1, m0]).grads;
    const attackGrads = tf.variableGrads(() => ecPpoLoss(m1, m0, logStd(), b, v0, band, settings).attack, [m1, m0]).grads;
    const v0Grads = tf.variableGrads(() => ecPpoLoss(m1, m0, logStd(), b, v0, band, settings).v0Surrogate, [m1, m0]).grads;
    const expected0 = tf.mul(v0Grads[m0.name]!, -c).dataSync();
    Array.from(grads[m0.name]!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(expected0[i]!, 6));
    Array.from(grads[m1.name]!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(attackGrads[m1.name]!.dataSync()[i]!, 6));
    // Nearer the milder edge h, c < 0: the loss adds |c| times V0's surrogate, so descending it lowers V0, away from h.
    expect(c).toBeLessThan(0);
  });

  it("clips the MDP0 term as PPO does: a sample whose ratio already left the clip range in the step's direction adds no gradient", () => {
    const v0 = -80; // outside, below: the step raises V0, i.e. follows the team's MDP0 advantage
    const { m1, m0 } = means();
    const grad = (shift0: number[]) => Array.from(tf.variableGrads(() => ecPpoLoss(m1, m0, logStd(), batch(shift0), v0, band, settings).loss, [m1, m0]).grads[m0.name]!.dataSync());
    // Sample 1 has a positive team advantage: with its ratio at e^0.5 > 1.2 it is clipped; sample 0 (negative) is not.
    const clipped = grad([0, -0.5]);
    expect(clipped.slice(2).every((g) => g === 0)).toBe(true);
    expect(clipped.slice(0, 2).some((g) => g !== 0)).toBe(true);
    expect(grad([0, 0]).slice(2).some((g) => g !== 0)).toBe(true);
  });

  it('refuses a margin that leaves no inside to the band', () => {
    const { m1, m0 } = means();
    expect(() => ecPpoLoss(m1, m0, logStd(), batch(), -60, band, { ...settings, margin: 10 })).toThrow(/margin 10/);
    expect(() => ecPpoLoss(m1, m0, logStd(), batch(), -60, band, { ...settings, margin: -1 })).toThrow(/margin -1/);
  });

  it('outside the band (or within the margin of an edge) only recentres: no attack term, a step toward the centre', () => {
    const { m1, m0 } = means();
    const b = batch();
    for (const [v0, sign] of [[-45, 1], [-50.2, 1], [-80, -1], [-69.8, -1]] as const) {
      const t = ecPpoLoss(m1, m0, logStd(), b, v0, band, settings);
      expect(t.inside).toBe(false);
      expect(t.loss.dataSync()[0]).toBeCloseTo(sign * t.v0Surrogate.dataSync()[0]!, 6);
      const grads = tf.variableGrads(() => ecPpoLoss(m1, m0, logStd(), b, v0, band, settings).loss, [m1, m0]).grads;
      const g1 = grads[m1.name];
      expect(g1 === undefined || Array.from(g1.dataSync()).every((g) => g === 0)).toBe(true);
      expect(Array.from(grads[m0.name]!.dataSync()).some((g) => g !== 0)).toBe(true);
    }
  });
});
