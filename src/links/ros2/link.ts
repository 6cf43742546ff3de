// The ROS 2 link: poses from each robot's pose topic, wheel commands out as each robot's cmd_vel, all on one
// node (node.ts). Its clock is the node's ROS clock, so header stamps compare with it directly.
import type { RobotParams } from '../../core/robot-params.js';
import type { RobotLink } from '../../runtime/link.js';
import type { TimedPose } from '../../runtime/safety.js';
import { planRobots, type Ros2LinkOptions } from './config.js';
import type { RosRuntime } from './loader.js';
import { SwarmNode } from './node.js';

export class Ros2Link implements RobotLink {
  readonly kind = 'ros2';

  private constructor(
    readonly ids: readonly string[],
    /** The node, shared with the ROS 2 run service (telemetry, operator services, parameters). */
    readonly swarm: SwarmNode,
  ) {}

  /**
   * Opens the node for the swarm `ids` (robot i has parameters robots[i]); throws naming what is missing without
   * ROS 2. `ros`: this process's rclnodejs unless a test brings its own.
   */
  static async open(options: Ros2LinkOptions, ids: readonly string[], robots: readonly RobotParams[], log: (line: string) => void, where = 'link', ros?: RosRuntime): Promise<Ros2Link> {
    const plans = planRobots(options, ids, where);
    return new Ros2Link(ids, await SwarmNode.open(options, plans, robots, log, ros));
  }

  poses(): (TimedPose | null)[] {
    return this.swarm.inbox.poses();
  }

  send(i: number, left: number, right: number): void {
    this.swarm.sendCommand(i, left, right);
  }

  now(): number {
    return this.swarm.nowMs();
  }

  /** Resolves once every robot has a pose or timeoutMs has passed; the ids still without one. */
  async ready(timeoutMs: number): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const silent = this.ids.filter((_, i) => this.swarm.inbox.received[i] === 0);
      if (silent.length === 0 || Date.now() >= end) return silent;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The node spins from the moment it is opened (poses arrive before the first tick). */
  start(): void {}

  stop(): Promise<void> {
    return this.swarm.close();
  }
}
