// The `link: { kind: ros2, ... }` section of a launch file, and its resolution against the swarm's robot ids:
// per robot a namespace, a pose topic and type, a cmd_vel topic and type and the origin of its pose frame in the
// arena.
import { z } from 'zod';
import { ConfigError } from '../../core/config-file.js';
import { isNamespace, isNodeName, isTopicName, namespaceForId, robotTopic } from './names.js';

export const POSE_TYPES = ['geometry_msgs/msg/PoseStamped', 'nav_msgs/msg/Odometry'] as const;
export type PoseType = (typeof POSE_TYPES)[number];

/**
 * What a robot's cmd_vel carries: a Twist (epuck_ros2, most drivers; ros2_control's diff_drive_controller up to
 * Iron) or a TwistStamped (diff_drive_controller from Jazzy on takes only that), stamped with the node's clock.
 */
export const CMD_VEL_TYPES = ['geometry_msgs/msg/Twist', 'geometry_msgs/msg/TwistStamped'] as const;
export type CmdVelType = (typeof CMD_VEL_TYPES)[number];

export function isCmdVelType(v: unknown): v is CmdVelType {
  return (CMD_VEL_TYPES as readonly unknown[]).includes(v);
}

const topic = z.string().refine(isTopicName, 'a ROS topic name (letters, digits, single _ between /; absolute, relative or ~/...)');
const robotTopicName = z.string().refine((t) => isTopicName(t) && !t.startsWith('~'), 'a ROS topic name, absolute or relative to the robot namespace');
const namespace = z.string().refine(isNamespace, "an absolute ROS namespace ('/' or '/name/...')");
const frameId = z.string().regex(/^\S+$/, 'a TF frame id (not empty, no spaces)');

const PoseSourceSchema = z
  .object({
    /** Relative names resolve under the robot's namespace. */
    topic: robotTopicName,
    type: z.enum(POSE_TYPES),
  })
  .strict();

/** Where a robot's pose frame sits in the arena (odometry starts at the robot's start pose, not the arena origin). */
const OriginSchema = z.object({ x: z.number(), y: z.number(), theta: z.number() }).strict();

const RobotSchema = z
  .object({
    namespace,
    pose: PoseSourceSchema.partial(),
    cmdVel: robotTopicName,
    cmdVelType: z.enum(CMD_VEL_TYPES),
    cmdVelFrameId: frameId,
    origin: OriginSchema,
  })
  .strict()
  .partial();

export const Ros2LinkSchema = z
  .object({
    kind: z.literal('ros2'),
    /** The one node hosting every robot. */
    node: z.string().refine(isNodeName, 'a ROS node name (letters, digits, single _)').default('swarmguard'),
    namespace: namespace.default('/'),
    /** Default pose source of every robot (relative to its namespace). */
    pose: PoseSourceSchema.default({ topic: 'pose', type: 'geometry_msgs/msg/PoseStamped' }),
    cmdVel: robotTopicName.default('cmd_vel'),
    /** Every robot's cmd_vel type unless it has its own; the node's cmd_vel_type parameter overrides it. */
    cmdVelType: z.enum(CMD_VEL_TYPES).default('geometry_msgs/msg/Twist'),
    /** header.frame_id of a TwistStamped: the frame the velocity is given in (the robot's base). */
    cmdVelFrameId: frameId.default('base_link'),
    /** header: a pose is as old as its header stamp says (clocks synchronised); receipt: as old as its arrival. */
    stamp: z.enum(['header', 'receipt']).default('header'),
    /** A header stamp further ahead of this node's clock is refused (unsynchronised clocks), ms. */
    maxFutureStampMs: z.number().min(0).default(500),
    /** Frame of the markers and of poses published in the arena frame. */
    frameId: z.string().min(1).default('arena'),
    /** Where diagnostics go: '/diagnostics' (what diagnostic_aggregator and rqt_robot_monitor read) or a private name. */
    diagnosticsTopic: topic.default('/diagnostics'),
    /** Diagnostics and markers per second (a ROS parameter too). */
    telemetryRateHz: z.number().positive().max(100).default(5),
    /** Per-robot settings, by robot id. */
    robots: z.record(z.string(), RobotSchema).default({}),
  })
  .strict();

export type Ros2LinkOptions = z.output<typeof Ros2LinkSchema>;

export interface Ros2RobotPlan {
  id: string;
  namespace: string;
  poseTopic: string;
  poseType: PoseType;
  cmdVelTopic: string;
  cmdVelType: CmdVelType;
  cmdVelFrameId: string;
  origin: { x: number; y: number; theta: number };
}

/** Every robot's names and pose source; throws a ConfigError naming the bad key (`where` prefixes it). */
export function planRobots(o: Ros2LinkOptions, ids: readonly string[], where = 'link'): Ros2RobotPlan[] {
  for (const key of Object.keys(o.robots)) {
    if (!ids.includes(key)) throw new ConfigError(`${where}.robots.${key}: unknown robot id (swarm ids: ${ids.join(', ')})`);
  }
  const plans = ids.map((id) => {
    const r = o.robots[id] ?? {};
    const ns = r.namespace ?? namespaceForId(id);
    return {
      id,
      namespace: ns,
      poseTopic: robotTopic(ns, r.pose?.topic ?? o.pose.topic),
      poseType: r.pose?.type ?? o.pose.type,
      cmdVelTopic: robotTopic(ns, r.cmdVel ?? o.cmdVel),
      cmdVelType: r.cmdVelType ?? o.cmdVelType,
      cmdVelFrameId: r.cmdVelFrameId ?? o.cmdVelFrameId,
      origin: r.origin ?? { x: 0, y: 0, theta: 0 },
    };
  });
  for (const field of ['poseTopic', 'cmdVelTopic'] as const) {
    const seen = new Map<string, string>();
    for (const p of plans) {
      const other = seen.get(p[field]);
      if (other) {
        throw new ConfigError(`${where}.robots: ${other} and ${p.id} would share ${p[field]} (give them distinct namespaces or topics)`);
      }
      seen.set(p[field], p.id);
    }
  }
  return plans;
}

/**
 * The plans with `type` as the link's cmd_vel type (the node's cmd_vel_type parameter, which --ros-args or the
 * ROS 2 launch file may set) for every robot without a cmdVelType of its own in the launch file.
 */
export function withLinkCmdVelType(o: Ros2LinkOptions, plans: readonly Ros2RobotPlan[], type: CmdVelType): Ros2RobotPlan[] {
  return plans.map((p) => ({ ...p, cmdVelType: o.robots[p.id]?.cmdVelType ?? type }));
}
