// The policy-consistency detector: the monitor knows the deployed policy, so for every robot it knows the
// command the policy intends from that robot's observation. It compares the motion the tracker then sees
// (speed along the heading and turn rate between consecutive measured poses, as the swarm view computes
// them for the observations) with the motion that command should
// produce, and accumulates the evidence with a one-sided CUSUM:
//   x_t = min over the last `latencyTicks + 1` intended commands c of
//         ((v_obs - v(c)) / sigma_v)^2 + ((w_obs - w(c)) / sigma_w)^2       (tolerates command latency)
//   S_t = min(2 threshold, max(0, S_{t-1} + x_t - drift)),        suspicion = min(1, S_t / threshold).
// (Capped so that a robot that goes back to following its policy is cleared in bounded time.)
// Benign robots (tracker noise, actuator noise, worn wheels) keep x_t around its noise level below the
// drift, so S stays near 0; a robot that does not do what its policy says drives S up.
import { twistFromCommands, type Twist } from '../core/kinematics.js';
import type { RobotParams } from '../core/robot-params.js';

export interface ConsistencySettings {
  /** Tracker noise on the measured speed (m/s) and turn rate (rad/s) per tick. */
  sigmaLinear: number;
  sigmaAngular: number;
  /** Command latency tolerated, in ticks. */
  latencyTicks: number;
  /** Subtracted from every tick's score (CUSUM's reference value). */
  drift: number;
  /** CUSUM value at which suspicion reaches 1. */
  threshold: number;
}

export class ConsistencyDetector {
  /** CUSUM statistic of every robot. */
  readonly cusum: Float64Array;
  /** Latest per-tick score of every robot (NaN before its first pair of poses). */
  readonly lastScore: Float64Array;
  private readonly intended: Float64Array[];
  private readonly history: number;

  constructor(
    private readonly robots: readonly RobotParams[],
    readonly settings: ConsistencySettings,
  ) {
    const N = robots.length;
    this.history = settings.latencyTicks + 1;
    this.cusum = new Float64Array(N);
    this.lastScore = new Float64Array(N).fill(Number.NaN);
    // Robots start at rest: before the first intended command, the command in force is zero.
    this.intended = Array.from({ length: N }, () => new Float64Array(2 * this.history));
  }

  /** Forgets robot j (trial start, or it left and came back). */
  reset(j: number): void {
    this.cusum[j] = 0;
    this.lastScore[j] = Number.NaN;
    this.intended[j]!.fill(0);
  }

  /**
   * One tick for robot j: the motion measured since its last measured pose (null: no new measurement, nothing
   * to score), and the command its policy intends from its observation now (executed during the coming tick). `touching`: robot j is in contact with another robot, whose pushes
   * move it whatever its wheels do: only its turn rate is scored then (the speed term is replaced by its
   * expected value under noise, 1). Returns the robot's suspicion in [0, 1].
   */
  update(j: number, seen: Twist | null, intendedLeft: number, intendedRight: number, touching = false): number {
    const s = this.settings;
    const hist = this.intended[j]!;
    if (seen) {
      let best = Infinity;
      for (let k = 0; k < this.history; k++) {
        const want = twistFromCommands(hist[2 * k]!, hist[2 * k + 1]!, this.robots[j]!);
        const speedTerm = touching ? 1 : ((seen.linear - want.linear) / s.sigmaLinear) ** 2;
        const x = speedTerm + ((seen.angular - want.angular) / s.sigmaAngular) ** 2;
        best = Math.min(best, x);
      }
      this.lastScore[j] = best;
      this.cusum[j] = Math.min(2 * s.threshold, Math.max(0, this.cusum[j]! + best - s.drift));
    }
    // Newest intended command first.
    hist.copyWithin(2, 0, 2 * (this.history - 1));
    hist[0] = intendedLeft;
    hist[1] = intendedRight;
    return this.suspicion(j);
  }

  suspicion(j: number): number {
    return Math.min(1, this.cusum[j]! / this.settings.threshold);
  }
}
