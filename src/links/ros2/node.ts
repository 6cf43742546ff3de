// The one ROS 2 node hosting the whole swarm (rclnodejs): per robot a pose subscription (sensor-data QoS:
// best effort, keep last 5, so a late pose is dropped rather than queued) and a cmd_vel publisher (reliable,
// keep last 1, so it matches drivers that subscribe reliably, as epuck_ros2 does, and only the newest command
// is ever pending), of a Twist or a TwistStamped per robot. The telemetry and the operator services live on the
// same node (service.ts).
//
// Its name, namespace, topic remappings, parameter overrides and use_sim_time come from the launch file and
// from any ROS arguments rclnodejs was initialised with (loader.ts), which rcl applies as for any ROS node.
import type { Node, Publisher, QoS, Subscription } from 'rclnodejs';
import { ConfigError } from '../../core/config-file.js';
import type { RobotParams } from '../../core/robot-params.js';
import { withLinkCmdVelType, type CmdVelType, type Ros2LinkOptions, type Ros2RobotPlan } from './config.js';
import { CMD_VEL_TYPE_PARAMETER, cmdVelTypeDeclaration, cmdVelTypeFrom } from './declarations.js';
import { PROCESS_ROS, type Rclnodejs, type RosRuntime } from './loader.js';
import { cmdVelMessage } from './messages.js';
import { PoseInbox } from './pose-inbox.js';

/** Declares cmd_vel_type (read-only; an override from the ROS arguments replaces the launch file's) and reads it. */
function declareCmdVelType(rcl: Rclnodejs, node: Node, linkDefault: CmdVelType): CmdVelType {
  const { parameter, descriptor } = cmdVelTypeDeclaration(rcl, linkDefault);
  let value: unknown;
  try {
    value = node.declareParameter(parameter, descriptor).value;
  } catch (err) {
    throw new ConfigError(`ROS parameter ${CMD_VEL_TYPE_PARAMETER} refused (it takes a string, ${descriptor.additionalConstraints}): ${(err as Error).message}`);
  }
  return cmdVelTypeFrom(value);
}

export class SwarmNode {
  private readonly cmdVel: Publisher<CmdVelType>[] = [];
  private readonly subscriptions: Subscription[] = [];
  readonly inbox: PoseInbox;
  private closed = false;

  private constructor(
    readonly rcl: Rclnodejs,
    readonly node: Node,
    readonly options: Ros2LinkOptions,
    readonly plans: readonly Ros2RobotPlan[],
    private readonly robots: readonly RobotParams[],
    private readonly log: (line: string) => void,
    private readonly ros: RosRuntime,
  ) {
    this.inbox = new PoseInbox(plans, { stamp: options.stamp, maxFutureStampMs: options.maxFutureStampMs, log });
  }

  /** Initialises rclnodejs (or throws Ros2UnavailableError naming what is missing), creates the node and spins it. */
  static async open(options: Ros2LinkOptions, plans: readonly Ros2RobotPlan[], robots: readonly RobotParams[], log: (line: string) => void, ros: RosRuntime = PROCESS_ROS): Promise<SwarmNode> {
    const rcl = await ros.acquire();
    let node: Node | null = null;
    try {
      // A namespace or name given in the ROS arguments (-r __ns:=, -r __node:=) wins over these, as rcl decides.
      node = new rcl.Node(options.node, options.namespace);
      const linkCmdVelType = declareCmdVelType(rcl, node, options.cmdVelType);
      const s = new SwarmNode(rcl, node, options, withLinkCmdVelType(options, plans, linkCmdVelType), robots, log, ros);
      s.wire();
      node.spin();
      return s;
    } catch (err) {
      node?.destroy();
      await ros.release();
      throw err;
    }
  }

  private wire(): void {
    const { rcl, node } = this;
    const commandQos = this.qos(rcl.QoS.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 1, 'reliable', 'volatile');
    this.plans.forEach((plan, i) => {
      this.cmdVel.push(node.createPublisher(plan.cmdVelType, plan.cmdVelTopic, { qos: commandQos }));
      this.subscriptions.push(
        node.createSubscription(plan.poseType, plan.poseTopic, { qos: rcl.QoS.profileSensorData }, (msg: unknown) => {
          this.inbox.accept(i, msg, this.nowMs());
        }),
      );
    });
  }

  /** A QoS profile from rclnodejs's own enums. */
  qos(history: QoS.HistoryPolicy, depth: number, reliability: 'reliable' | 'best-effort', durability: 'volatile' | 'transient-local'): QoS {
    const Q = this.rcl.QoS;
    return new Q(
      history,
      depth,
      reliability === 'reliable' ? Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE : Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT,
      durability === 'transient-local' ? Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL : Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE,
    );
  }

  /** The node's clock (ROS time: the system clock, or /clock with use_sim_time), ms. */
  nowMs(): number {
    return Number(this.node.getClock().now().nanoseconds) / 1e6;
  }

  /** Robot i's wheel commands as its cmd_vel (a TwistStamped is stamped now on the node's clock). */
  sendCommand(i: number, left: number, right: number): void {
    if (this.closed) return;
    const plan = this.plans[i]!;
    this.cmdVel[i]!.publish(cmdVelMessage(left, right, this.robots[i]!, plan, this.nowMs()));
  }

  /** Zero cmd_vel to every robot, then the node is destroyed and rclnodejs released. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      for (let i = 0; i < this.plans.length; i++) this.sendCommand(i, 0, 0);
    } catch {
      // The context is already gone (nothing can be published any more); the node is released regardless.
    }
    this.closed = true;
    if (this.inbox.reasons.size > 0) {
      const why = [...this.inbox.reasons].map(([reason, n]) => `${n} x ${reason}`).join('; ');
      this.log(`ros2: poses refused during the run: ${why}`);
    }
    // Give the middleware a moment to deliver the stop before the publishers go away.
    await new Promise((r) => setTimeout(r, 200));
    try {
      this.node.destroy();
    } finally {
      await this.ros.release();
    }
  }
}
