// The latest pose of every robot, from the messages its subscription delivers. A pose is stamped either with
// its header stamp (the time the tracker or odometry measured it, on the node's clock: clocks must be
// synchronised, e.g. chrony, which ROS 2 needs anyway) or with its receipt time (for sources that stamp
// nothing useful). Malformed messages, zero stamps, stamps from the future and messages older than the pose
// already held are refused and counted per robot; a refusal is logged at most once per burst window per robot.
import type { TimedPose } from '../../runtime/safety.js';
import type { PoseType } from './config.js';
import { parsePoseMessage, poseInArena, type PlanarPose } from './messages.js';

export interface InboxRobot {
  id: string;
  poseType: PoseType;
  poseTopic: string;
  origin: PlanarPose;
}

export interface InboxOptions {
  stamp: 'header' | 'receipt';
  maxFutureStampMs: number;
  log: (line: string) => void;
  /** At most one refusal line per robot per this many ms. */
  burstMs?: number;
}

export class PoseInbox {
  private readonly latest: (TimedPose | null)[];
  /** Accepted and refused messages per robot. */
  readonly received: number[];
  readonly refused: number[];
  /** Refusals by reason, over all robots. */
  readonly reasons = new Map<string, number>();
  /** Told after robot i's pose was accepted (event-driven consumers; the link benchmark's round trips). */
  onPose: ((i: number) => void) | null = null;
  private readonly lastLogMs: number[];
  private readonly unlogged: number[];

  constructor(
    private readonly robots: readonly InboxRobot[],
    private readonly o: InboxOptions,
  ) {
    const N = robots.length;
    this.latest = new Array<TimedPose | null>(N).fill(null);
    this.received = new Array<number>(N).fill(0);
    this.refused = new Array<number>(N).fill(0);
    this.lastLogMs = new Array<number>(N).fill(Number.NEGATIVE_INFINITY);
    this.unlogged = new Array<number>(N).fill(0);
  }

  /** One message for robot i, received at `nowMs` (node clock); false if refused. */
  accept(i: number, msg: unknown, nowMs: number): boolean {
    const robot = this.robots[i]!;
    const parsed = parsePoseMessage(msg, robot.poseType);
    if (!parsed.ok) return this.refuse(i, nowMs, `malformed ${robot.poseType}: ${parsed.reason}`);
    let stampMs = nowMs;
    if (this.o.stamp === 'header') {
      stampMs = parsed.stampMs;
      if (stampMs === 0) return this.refuse(i, nowMs, "header stamp is zero (the source does not stamp its messages: set stamp: receipt)");
      if (stampMs - nowMs > this.o.maxFutureStampMs) {
        return this.refuse(i, nowMs, `header stamp ${Math.round(stampMs - nowMs)} ms ahead of this node's clock (clocks not synchronised?)`);
      }
      const held = this.latest[i];
      if (held && stampMs < held.stampMs) return this.refuse(i, nowMs, 'older than the pose already held (out of order)');
    }
    const p = poseInArena(robot.origin, parsed.pose);
    this.latest[i] = { x: p.x, y: p.y, theta: p.theta, stampMs };
    this.received[i]!++;
    this.onPose?.(i);
    return true;
  }

  poses(): (TimedPose | null)[] {
    return this.latest.map((p) => (p ? { ...p } : null));
  }

  private refuse(i: number, nowMs: number, reason: string): false {
    this.refused[i]!++;
    const key = reason.replace(/-?\d+ ms/, 'N ms');
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
    if (nowMs - this.lastLogMs[i]! >= (this.o.burstMs ?? 5000)) {
      const more = this.unlogged[i]! > 0 ? ` (${this.unlogged[i]} more refused since the last report)` : '';
      this.o.log(`ros2: ${this.robots[i]!.id} on ${this.robots[i]!.poseTopic}: refused a pose: ${reason}${more}`);
      this.lastLogMs[i] = nowMs;
      this.unlogged[i] = 0;
    } else {
      this.unlogged[i]!++;
    }
    return false;
  }
}
