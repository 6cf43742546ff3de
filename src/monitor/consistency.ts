// The policy-consistency detector: the monitor knows the deployed policy, so for every robot it knows the
// command the policy would give from the tracker's view of the swarm (after the safety layer). It compares the
// motion the tracker then sees (between consecutive measured poses, over the real time between their stamps)
// with the motion that command should produce. Two statistics, either of which raises the suspicion:
//
// 1. CUSUM of a displacement score, for gross deviations (spinning, random wheels, a trained adversary,
//    corrupted observations):
//      per interval: the speed and turn-rate residuals r_v(c), r_w(c) against each of the last
//                    `latencyTicks + 1` commands c, the best c taken (tolerates command latency), as
//                    displacements: d_v = r_v dt, d_w = r_w dt over the measured interval dt;
//      x1_t = (d_v,t / sigmaDisplacement)^2 + (d_w,t / sigmaRotation)^2                     (this interval)
//      x2_t = ((d_v,t + d_v,t-1) / sigmaDisplacement2)^2 + ((d_w,t + d_w,t-1) / sigmaRotation2)^2  (the last two)
//      x_t = (x1_t + x2_t) / 2
//      S_t = min(2 threshold, max(0, S_{t-1} + min(x_t, maxTickScore) - drift)),  suspicion = min(1, S_t / threshold)
//    Scored as displacements: tracker noise on a displacement does not depend on how long the interval was (a
//    tick 9 ms after the last one does not make noise look fast). Over two intervals a tracker outlier, which
//    moves one interval forward and the next back, cancels (benign scores' tail is lighter); over one, a robot
//    that alternates forward and back every tick does not. One tick adds at most maxTickScore - drift and one
//    bad interval enters the scores of two ticks, so a dropped command or a late tick cannot reach the threshold.
// 2. Bias, for small persistent deviations (a stuck or dead wheel, a robot acting on corrupted observations):
//    exponentially weighted means of the speed residuals, each tick's clipped to `biasClip` tick sigmas (so a
//    single bad tick moves them little). Over a window the tracker noise telescopes (speeds are pose
//    differences), so the means are precise; a tolerance proportional to the commanded motion absorbs worn
//    wheels (radius, wheel distance: a robot driving straight with mismatched wheels turns a little).
//    suspicion = min(1, z / biasThreshold), z the squared normalised means.
//    The residuals the means take are against the robot's own command lag, not the best command of each tick:
//    a robot's latency is steady, so the lag whose residuals have been smallest lately (a weighted mean of
//    each lag's tick score) is its lag; a dropped command is one tick's clipped residual. Picking the best of
//    all lags every tick (the CUSUM's tolerance) broke the telescoping of the tracker noise and biased the
//    means when a policy's commands alternate every tick, as they do in a gathered cluster (a benign robot
//    flagged in `npm start`'s demo); so did picking the smaller residual of the lag and the next one. The
//    bias counts only once a robot has been scored for a window (1 / biasWeight ticks): before that its lag
//    is not known and its means are a few ticks of a robot starting from rest.
//
// Contact: a robot touching another (or a wall) may be pushed or blocked along the contact normal, away from
// what it touches. The part of the speed residual that such a push explains is removed before scoring; the
// rest (motion towards what it touches, sideways, turning) is scored as usual. Speed bias is not accumulated
// while in contact or shortly after (a one-sided correction is biased on noise, and contact seen through
// tracker noise flickers); the turn bias is.
import { twistInto, type Twist } from '../core/kinematics.js';
import { maxWheelSpeed, type RobotParams } from '../core/robot-params.js';
import type { ConsistencySettings } from './settings.js';

export type { ConsistencySettings } from './settings.js';

/** The motion measured between two poses of a robot (estimateTwist), with the parts the monitor also reads. */
export interface MeasuredMotion extends Twist {
  /** Speed across the heading, m/s (0 if unknown). */
  lateral?: number;
  /** Time between the two poses, s (the nominal period if unknown). */
  seconds?: number;
}

const NO_CONTACTS: ArrayLike<number> = new Float64Array(0);

export class ConsistencyDetector {
  /** CUSUM statistic of every robot. */
  readonly cusum: Float64Array;
  /** Latest score x_t of every robot, before capping (NaN before its first pair of poses). */
  readonly lastScore: Float64Array;
  /** Squared normalised bias of every robot. */
  readonly bias: Float64Array;
  /** The latest interval's residual displacement and rotation of every robot (m, rad; robot j's at 2j). */
  readonly lastResidual: Float64Array;
  private readonly meanV: Float64Array;
  private readonly meanW: Float64Array;
  private readonly meanAbsV: Float64Array;
  private readonly meanAbsW: Float64Array;
  /** Per robot, the body twist (linear, angular) of its last `history` intended commands, newest first. */
  private readonly intended: Float64Array[];
  /** Each robot's suspicion after its last update(), in [0, 1]. */
  readonly signal: Float64Array;
  /** Each robot's top wheel speed, m/s (maxWheelSpeed), kept rather than recomputed per tick. */
  private readonly wheelSpeed: Float64Array;
  private readonly history: number;
  /** Per robot and command lag (robot j's at j * history): weighted mean of that lag's tick score. */
  private readonly lagScore: Float64Array;
  /** Ticks each robot has been scored since its reset. */
  private readonly scoredTicks: Int32Array;
  /** Bias scored from this many scored ticks on. */
  private readonly biasWarmupTicks: number;
  /** The current tick's residuals and commanded motion per lag (scratch). */
  private readonly lagV: Float64Array;
  private readonly lagW: Float64Array;
  private readonly lagWantV: Float64Array;
  private readonly lagWantW: Float64Array;
  /** Ticks since each robot last touched something. */
  private readonly sinceContact: Int32Array;

  constructor(
    private readonly robots: readonly RobotParams[],
    readonly settings: ConsistencySettings,
    /** The nominal control period, s: the settings' tick sigmas are for poses this far apart. */
    private readonly periodS: number,
  ) {
    if (!(periodS > 0)) throw new RangeError(`consistency detector: the control period must be > 0 s, got ${periodS}`);
    const N = robots.length;
    this.history = settings.latencyTicks + 1;
    this.wheelSpeed = Float64Array.from(robots, maxWheelSpeed);
    this.signal = new Float64Array(N);
    this.lagScore = new Float64Array(N * this.history);
    this.scoredTicks = new Int32Array(N);
    this.biasWarmupTicks = Math.ceil(1 / settings.biasWeight);
    this.lagV = new Float64Array(this.history);
    this.lagW = new Float64Array(this.history);
    this.lagWantV = new Float64Array(this.history);
    this.lagWantW = new Float64Array(this.history);
    this.cusum = new Float64Array(N);
    this.lastScore = new Float64Array(N).fill(Number.NaN);
    this.bias = new Float64Array(N);
    this.lastResidual = new Float64Array(2 * N);
    this.meanV = new Float64Array(N);
    this.meanW = new Float64Array(N);
    this.meanAbsV = new Float64Array(N);
    this.meanAbsW = new Float64Array(N);
    this.sinceContact = new Int32Array(N).fill(1 << 30);
    // Robots start at rest: before the first intended command, the command in force is zero.
    this.intended = Array.from({ length: N }, () => new Float64Array(2 * this.history));
  }

  /** Forgets robot j (trial start, or it left and came back). */
  reset(j: number): void {
    this.cusum[j] = 0;
    this.signal[j] = 0;
    this.lastScore[j] = Number.NaN;
    this.bias[j] = 0;
    this.lastResidual[2 * j] = 0;
    this.lastResidual[2 * j + 1] = 0;
    this.meanV[j] = 0;
    this.meanW[j] = 0;
    this.meanAbsV[j] = 0;
    this.meanAbsW[j] = 0;
    this.sinceContact[j] = 1 << 30;
    this.intended[j]!.fill(0);
    this.lagScore.fill(0, j * this.history, (j + 1) * this.history);
    this.scoredTicks[j] = 0;
  }

  /**
   * One tick for robot j: the motion measured since its last measured pose (null: no new measurement, nothing
   * to score), the command a benign robot j would execute during the coming tick (expected[2j], expected[2j + 1]),
   * its pose (its heading turns the contact normals) and the normals of its contacts (world frame, x, y pairs:
   * contacts[contactsFrom .. contactsTo), by default all; see contact.ts). Its suspicion in [0, 1] is left in
   * `signal[j]`. Numbers come in arrays and objects and go out in one: on the monitor's per-robot path a
   * double passed to or returned from a call V8 did not inline is a heap allocation.
   */
  update(
    j: number,
    seen: MeasuredMotion | null,
    expected: ArrayLike<number>,
    pose: { readonly theta: number },
    contacts: ArrayLike<number> = NO_CONTACTS,
    contactsFrom = 0,
    contactsTo = contacts.length,
  ): void {
    this.sinceContact[j] = contactsTo > contactsFrom ? 0 : Math.min(1 << 30, this.sinceContact[j]! + 1);
    if (seen) this.score(j, seen, contacts, contactsFrom, contactsTo, pose);
    // Newest command first, kept as the twist it asks for (computed once, not once per lag and tick).
    const hist = this.intended[j]!;
    hist.copyWithin(2, 0, 2 * (this.history - 1));
    twistInto(expected[2 * j]!, expected[2 * j + 1]!, this.wheelSpeed[j]!, this.robots[j]!.wheelDistance, hist, 0);
    this.signal[j] = this.suspicion(j);
  }

  private score(j: number, seen: MeasuredMotion, contacts: ArrayLike<number>, contactsFrom: number, contactsTo: number, pose: { readonly theta: number }): void {
    const s = this.settings;
    const hist = this.intended[j]!;
    // Speeds over less than a period carry more tracker noise (it does not shrink with the interval).
    const stretch = seen.seconds !== undefined && seen.seconds > 0 ? Math.max(1, this.periodS / seen.seconds) : 1;
    const sv = s.sigmaLinear * stretch;
    const sw = s.sigmaAngular * stretch;
    const c = Math.cos(pose.theta);
    const sn = Math.sin(pose.theta);
    let best = Infinity;
    let bestV = 0;
    let bestW = 0;
    for (let k = 0; k < this.history; k++) {
      const wantLinear = hist[2 * k]!;
      const wantAngular = hist[2 * k + 1]!;
      let rv = seen.linear - wantLinear;
      let rl = seen.lateral ?? 0;
      // Remove what a push away from each contact explains (the normal in the robot's heading frame).
      for (let m = contactsFrom; m < contactsTo; m += 2) {
        const na = contacts[m]! * c + contacts[m + 1]! * sn;
        const nb = -contacts[m]! * sn + contacts[m + 1]! * c;
        const along = rv * na + rl * nb;
        if (along > 0) {
          rv -= along * na;
          rl -= along * nb;
        }
      }
      const rw = seen.angular - wantAngular;
      const x = (rv / sv) ** 2 + (rw / sw) ** 2;
      this.lagV[k] = rv;
      this.lagW[k] = rw;
      this.lagWantV[k] = wantLinear;
      this.lagWantW[k] = wantAngular;
      const lag = j * this.history + k;
      this.lagScore[lag] = (1 - s.biasWeight) * this.lagScore[lag]! + s.biasWeight * Math.min(x, s.maxTickScore);
      if (x < best) {
        best = x;
        bestV = rv;
        bestW = rw;
      }
    }
    const dt = seen.seconds !== undefined && seen.seconds > 0 ? seen.seconds : this.periodS;
    const dv = bestV * dt;
    const dw = bestW * dt;
    const x1 = (dv / s.sigmaDisplacement) ** 2 + (dw / s.sigmaRotation) ** 2;
    const x2 = ((dv + this.lastResidual[2 * j]!) / s.sigmaDisplacement2) ** 2 + ((dw + this.lastResidual[2 * j + 1]!) / s.sigmaRotation2) ** 2;
    const x = (x1 + x2) / 2;
    this.lastResidual[2 * j] = dv;
    this.lastResidual[2 * j + 1] = dw;
    this.lastScore[j] = x;
    this.cusum[j] = Math.min(2 * s.threshold, Math.max(0, this.cusum[j]! + Math.min(x, s.maxTickScore) - s.drift));
    // The bias means: residuals against the robot's own lag (a dropped command is one clipped tick).
    const lag = this.robotLag(j);
    const a = s.biasWeight;
    if (this.sinceContact[j]! > s.contactHoldTicks) this.meanV[j] = (1 - a) * this.meanV[j]! + a * this.clip(this.lagV[lag]!, sv);
    this.meanAbsV[j] = (1 - a) * this.meanAbsV[j]! + a * Math.abs(this.lagWantV[lag]!);
    this.meanW[j] = (1 - a) * this.meanW[j]! + a * this.clip(this.lagW[lag]!, sw);
    this.meanAbsW[j] = (1 - a) * this.meanAbsW[j]! + a * Math.abs(this.lagWantW[lag]!);
    this.scoredTicks[j]!++;
    const zv = Math.max(0, Math.abs(this.meanV[j]!) - s.biasTolerance * this.meanAbsV[j]!) / s.biasSigmaLinear;
    const turnTolerance = s.biasTolerance * this.meanAbsW[j]! + (s.wheelMismatch * this.meanAbsV[j]!) / this.robots[j]!.wheelDistance;
    const zw = Math.max(0, Math.abs(this.meanW[j]!) - turnTolerance) / s.biasSigmaAngular;
    this.bias[j] = this.scoredTicks[j]! < this.biasWarmupTicks ? 0 : zv * zv + zw * zw;
  }

  /** A residual clipped to biasClip standard deviations (sigma), so one outlier tick moves a bias mean little. */
  private clip(r: number, sigma: number): number {
    const c = this.settings.biasClip * sigma;
    return Math.max(-c, Math.min(c, r));
  }

  /** Robot j's command lag, in ticks: the one whose tick scores have been smallest lately. */
  private robotLag(j: number): number {
    const base = j * this.history;
    let lag = 0;
    for (let k = 1; k < this.history; k++) if (this.lagScore[base + k]! < this.lagScore[base + lag]!) lag = k;
    return lag;
  }

  suspicion(j: number): number {
    const s = this.settings;
    return Math.min(1, Math.max(this.cusum[j]! / s.threshold, this.bias[j]! / s.biasThreshold));
  }
}
