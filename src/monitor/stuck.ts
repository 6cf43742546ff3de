// The stuck test: does a robot drive itself at all? A robot whose wheels do not turn moves only where something
// pushes it, and does not turn; a healthy one also makes the motion its commands ask for. Pressed against
// neighbours, one tick cannot tell the two apart: tracker noise on one interval is as large as a slow command's
// motion, and a push explains the rest. Over a window of `windowTicks` ticks it can: the tracker noise of
// summed intervals telescopes (they are pose differences), so the window's displacement and heading change are
// precise, while a robot told to creep forward and to turn a little has moved and turned visibly by then.
// Per robot and tick, over the last window, in the world frame:
//   R1 = the measured displacement, W1 = the measured heading change      (what "stuck" predicts: 0, plus pushes)
//   R0 = R1 - the commanded displacement, W0 = W1 - the commanded turn    (what "healthy" predicts: 0, plus pushes)
// for each tolerated command latency (the best taken for "healthy"), with the part of R0 and R1 that a push
// away from any contact of the window explains removed (contact pushes only along its normal, and turns nothing).
//   LLR = ((|R0|^2 - |R1|^2) / sigmaWindowDisplacement^2 + (W0^2 - W1^2) / sigmaWindowRotation^2) / 2
// is the log-likelihood ratio of "stuck" against "healthy" for the window; each tick adds its share LLR /
// windowTicks, at most maxStuckTick, minus stuckDrift, to a CUSUM (suspicion = CUSUM / stuckThreshold). A
// robot the policy tells to stand still gives no evidence either way (both hypotheses predict the same).
import type { Twist } from '../core/kinematics.js';

export interface StuckSettings {
  /** Ticks over which displacement and heading change are summed. */
  windowTicks: number;
  /** Benign spread of a window's residual displacement (m) and heading change (rad). */
  sigmaWindowDisplacement: number;
  sigmaWindowRotation: number;
  /** Subtracted from every tick's share of the log-likelihood ratio (CUSUM reference value). */
  stuckDrift: number;
  /** The most one tick's share adds (before the drift is subtracted). */
  maxStuckTick: number;
  /** CUSUM value at which the stuck suspicion reaches 1. */
  stuckThreshold: number;
}

/** Contacts kept per tick of the window (a robot rarely touches more at once). */
const MAX_CONTACTS = 6;
/** A slot: measured dx, dy, dtheta; wanted dx, dy, dtheta; tolerated displacement and rotation; contacts. */
const SLOT_CONTACTS = 8;

export class StuckTest {
  /** CUSUM of every robot's evidence that it does not drive itself. */
  readonly cusum: Float64Array;
  /** Latest window log-likelihood ratio of every robot (NaN before its window is full). */
  readonly lastRatio: Float64Array;
  private readonly slot: number;
  /** Per robot, a ring of windowTicks slots (see SLOT_CONTACTS), each followed by its contact count and normals. */
  private readonly ring: Float64Array;
  private readonly next: Int32Array;
  private readonly filled: Int32Array;

  constructor(
    robots: number,
    private readonly s: StuckSettings,
  ) {
    if (!(Number.isInteger(s.windowTicks) && s.windowTicks >= 1)) throw new RangeError(`stuck test: windowTicks must be an integer >= 1, got ${s.windowTicks}`);
    this.slot = SLOT_CONTACTS + 1 + 2 * MAX_CONTACTS;
    this.ring = new Float64Array(robots * s.windowTicks * this.slot);
    this.cusum = new Float64Array(robots);
    this.lastRatio = new Float64Array(robots).fill(Number.NaN);
    this.next = new Int32Array(robots);
    this.filled = new Int32Array(robots);
  }

  reset(j: number): void {
    this.cusum[j] = 0;
    this.lastRatio[j] = Number.NaN;
    this.next[j] = 0;
    this.filled[j] = 0;
  }

  /**
   * One measured interval of robot j: its motion (speed along and across the heading, turn rate) over `dt`
   * seconds, the twist its command in force would give (`wanted`, the latency that fits best), by how much a
   * healthy robot may miss it (`tolerated`: speed and turn rate, worn wheels), its heading `theta` and its
   * contact normals (world frame, x, y pairs). Returns its stuck suspicion in [0, 1].
   */
  update(j: number, linear: number, lateral: number, angular: number, dt: number, wanted: Twist, tolerated: Twist, theta: number, contacts: readonly number[]): number {
    const s = this.s;
    const K = s.windowTicks;
    const c = Math.cos(theta);
    const sn = Math.sin(theta);
    const o = (j * K + this.next[j]!) * this.slot;
    const r = this.ring;
    r[o] = (linear * c - lateral * sn) * dt;
    r[o + 1] = (linear * sn + lateral * c) * dt;
    r[o + 2] = angular * dt;
    r[o + 3] = wanted.linear * c * dt;
    r[o + 4] = wanted.linear * sn * dt;
    r[o + 5] = wanted.angular * dt;
    r[o + 6] = tolerated.linear * dt;
    r[o + 7] = tolerated.angular * dt;
    const nc = Math.min(MAX_CONTACTS, contacts.length / 2);
    const base = o + SLOT_CONTACTS;
    r[base] = nc;
    for (let m = 0; m < 2 * nc; m++) r[base + 1 + m] = contacts[m]!;
    this.next[j] = (this.next[j]! + 1) % K;
    this.filled[j] = Math.min(K, this.filled[j]! + 1);
    if (this.filled[j]! < K) return this.suspicion(j);
    // Window sums: measured motion, what the commands ask for, and what a healthy robot may miss of it.
    let x1 = 0;
    let y1 = 0;
    let w1 = 0;
    let x0 = 0;
    let y0 = 0;
    let w0 = 0;
    let tolD = 0;
    let tolW = 0;
    for (let t = 0; t < K; t++) {
      const p = (j * K + t) * this.slot;
      x1 += r[p]!;
      y1 += r[p + 1]!;
      w1 += r[p + 2]!;
      x0 += r[p + 3]!;
      y0 += r[p + 4]!;
      w0 += r[p + 5]!;
      tolD += r[p + 6]!;
      tolW += r[p + 7]!;
    }
    const sd2 = s.sigmaWindowDisplacement ** 2;
    const sr2 = s.sigmaWindowRotation ** 2;
    const [ux, uy] = this.unpushed(j, x1, y1);
    const stuckFit = (ux * ux + uy * uy) / sd2 + (w1 * w1) / sr2;
    // A healthy robot may miss its commanded motion by the tolerated share (worn wheels).
    const [hx, hy] = this.unpushed(j, x1 - x0, y1 - y0);
    const hd = Math.max(0, Math.hypot(hx, hy) - tolD);
    const hw = Math.max(0, Math.abs(w1 - w0) - tolW);
    const healthyFit = (hd * hd) / sd2 + (hw * hw) / sr2;
    const ratio = (healthyFit - stuckFit) / 2;
    this.lastRatio[j] = ratio;
    this.cusum[j] = Math.min(2 * s.stuckThreshold, Math.max(0, this.cusum[j]! + Math.min(ratio / K, s.maxStuckTick) - s.stuckDrift));
    return this.suspicion(j);
  }

  suspicion(j: number): number {
    return Math.min(1, this.cusum[j]! / this.s.stuckThreshold);
  }

  /** (x, y) less the part a push away from each contact of robot j's window explains. */
  private unpushed(j: number, x: number, y: number): [number, number] {
    const K = this.s.windowTicks;
    // Taking out one contact's push can leave a part along another's: a few passes (alternating projections
    // onto the half-planes of motion no push explains).
    for (let pass = 0; pass < 4; pass++) {
      let moved = false;
      for (let t = 0; t < K; t++) {
        const base = (j * K + t) * this.slot + SLOT_CONTACTS;
        const nc = this.ring[base]!;
        for (let m = 0; m < nc; m++) {
          const nx = this.ring[base + 1 + 2 * m]!;
          const ny = this.ring[base + 2 + 2 * m]!;
          const along = x * nx + y * ny;
          if (along > 1e-12) {
            x -= along * nx;
            y -= along * ny;
            moved = true;
          }
        }
      }
      if (!moved) break;
    }
    return [x, y];
  }
}
