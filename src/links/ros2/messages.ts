// The ROS 2 messages swarmguard builds and reads, as plain functions (no rclnodejs: tested without ROS 2).
// rclnodejs generates its message classes and their TypeScript declarations (types/interfaces.d.ts) from the
// sourced ROS 2 at install time, so on a machine without ROS 2 its declarations type every message as `any`.
// The shapes below are therefore declared here, once, field for field as in the .msg definitions (snake_case
// as on the wire); everything else of rclnodejs (Node, Publisher, QoS, parameters...) is typed by its own
// declarations in node.ts.
import { twistFromCommands, wrapAngle } from '../../core/kinematics.js';
import type { RobotParams } from '../../core/robot-params.js';
import type { RunEvent, TickRecord } from '../../runtime/trial.js';
import type { StopReason } from '../../runtime/safety.js';
import type { CmdVelType, PoseType } from './config.js';

/** builtin_interfaces/msg/Time (and Duration: same fields). */
export interface TimeMsg {
  sec: number;
  nanosec: number;
}
/** std_msgs/msg/Header */
export interface HeaderMsg {
  stamp: TimeMsg;
  frame_id: string;
}
/** geometry_msgs/msg/Vector3 (and Point: same fields) */
export interface Vector3Msg {
  x: number;
  y: number;
  z: number;
}
/** geometry_msgs/msg/Quaternion */
export interface QuaternionMsg {
  x: number;
  y: number;
  z: number;
  w: number;
}
/** geometry_msgs/msg/Pose */
export interface PoseMsg {
  position: Vector3Msg;
  orientation: QuaternionMsg;
}
/** geometry_msgs/msg/Twist */
export interface TwistMsg {
  linear: Vector3Msg;
  angular: Vector3Msg;
}
/** geometry_msgs/msg/TwistStamped */
export interface TwistStampedMsg {
  header: HeaderMsg;
  twist: TwistMsg;
}
/** geometry_msgs/msg/PoseStamped */
export interface PoseStampedMsg {
  header: HeaderMsg;
  pose: PoseMsg;
}
/** nav_msgs/msg/Odometry (the fields read here). */
export interface OdometryMsg {
  header: HeaderMsg;
  child_frame_id: string;
  pose: { pose: PoseMsg; covariance: number[] };
  twist: { twist: TwistMsg; covariance: number[] };
}
/** diagnostic_msgs/msg/KeyValue */
export interface KeyValueMsg {
  key: string;
  value: string;
}
/** diagnostic_msgs/msg/DiagnosticStatus */
export interface DiagnosticStatusMsg {
  level: number;
  name: string;
  message: string;
  hardware_id: string;
  values: KeyValueMsg[];
}
/** diagnostic_msgs/msg/DiagnosticArray */
export interface DiagnosticArrayMsg {
  header: HeaderMsg;
  status: DiagnosticStatusMsg[];
}
/** std_msgs/msg/ColorRGBA */
export interface ColorMsg {
  r: number;
  g: number;
  b: number;
  a: number;
}
/** visualization_msgs/msg/Marker (the fields set here; rclnodejs fills the others with their defaults). */
export interface MarkerMsg {
  header: HeaderMsg;
  ns: string;
  id: number;
  type: number;
  action: number;
  pose: PoseMsg;
  scale: Vector3Msg;
  color: ColorMsg;
  lifetime: TimeMsg;
  frame_locked: boolean;
  text: string;
}
/** visualization_msgs/msg/MarkerArray */
export interface MarkerArrayMsg {
  markers: MarkerMsg[];
}
/** std_msgs/msg/String */
export interface StringMsg {
  data: string;
}
/** std_srvs/srv/Trigger response (its request has no fields). */
export interface TriggerResponseMsg {
  success: boolean;
  message: string;
}

/** diagnostic_msgs/msg/DiagnosticStatus levels. */
export const DIAG = { OK: 0, WARN: 1, ERROR: 2, STALE: 3 } as const;
/** visualization_msgs/msg/Marker types and actions used here. */
export const MARKER = { ARROW: 0, SPHERE: 2, CYLINDER: 3, TEXT_VIEW_FACING: 9, ADD: 0, DELETE: 2 } as const;

export function msToTime(ms: number): TimeMsg {
  const sec = Math.floor(ms / 1000);
  const nanosec = Math.min(999_999_999, Math.max(0, Math.round((ms - sec * 1000) * 1e6)));
  return { sec, nanosec };
}

export function timeToMs(t: TimeMsg): number {
  return t.sec * 1000 + t.nanosec / 1e6;
}

/** The cmd_vel for normalised wheel commands (the same kinematics as the twin and the monitor). */
export function twistMessage(left: number, right: number, p: RobotParams): TwistMsg {
  const { linear, angular } = twistFromCommands(left, right, p);
  return { linear: { x: linear, y: 0, z: 0 }, angular: { x: 0, y: 0, z: angular } };
}

/** How a robot's cmd_vel goes out (its plan, config.ts). */
export interface CmdVelFormat {
  cmdVelType: CmdVelType;
  /** header.frame_id of a TwistStamped. */
  cmdVelFrameId: string;
}

/**
 * A robot's cmd_vel: the Twist of its wheel commands, or that Twist in a TwistStamped stamped `stampMs` (the
 * node's clock, so /clock time under use_sim_time) in the robot's frame.
 */
export function cmdVelMessage(left: number, right: number, p: RobotParams, format: CmdVelFormat, stampMs: number): TwistMsg | TwistStampedMsg {
  const twist = twistMessage(left, right, p);
  if (format.cmdVelType === 'geometry_msgs/msg/Twist') return twist;
  return { header: { stamp: msToTime(stampMs), frame_id: format.cmdVelFrameId }, twist };
}

/** Heading (rotation about z, REP-103) of a quaternion; it need not be normalised; NaN for a zero or non-finite one. */
export function yawFromQuaternion(q: QuaternionMsg): number {
  const n2 = q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w;
  if (!(n2 > 1e-12) || !Number.isFinite(n2)) return Number.NaN;
  return Math.atan2(2 * (q.w * q.z + q.x * q.y), q.w * q.w + q.x * q.x - q.y * q.y - q.z * q.z);
}

export function quaternionFromYaw(theta: number): QuaternionMsg {
  return { x: 0, y: 0, z: Math.sin(theta / 2), w: Math.cos(theta / 2) };
}

export interface PlanarPose {
  x: number;
  y: number;
  theta: number;
}

/** A pose given in a frame whose origin sits at `origin` in the arena, in arena coordinates. */
export function poseInArena(origin: PlanarPose, p: PlanarPose): PlanarPose {
  const c = Math.cos(origin.theta);
  const s = Math.sin(origin.theta);
  return { x: origin.x + c * p.x - s * p.y, y: origin.y + s * p.x + c * p.y, theta: wrapAngle(origin.theta + p.theta) };
}

export type ParsedPose = { ok: true; pose: PlanarPose; stampMs: number } | { ok: false; reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function finite(o: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]));
}

/** Reads a PoseStamped or an Odometry as rclnodejs delivers it; a malformed one gets a reason instead. */
export function parsePoseMessage(msg: unknown, type: PoseType): ParsedPose {
  if (!isRecord(msg) || !isRecord(msg.header) || !isRecord(msg.header.stamp)) return { ok: false, reason: 'no header stamp' };
  const stamp = msg.header.stamp;
  if (!finite(stamp, ['sec', 'nanosec'])) return { ok: false, reason: 'header stamp is not numeric' };
  const outer = msg.pose;
  const pose = type === 'nav_msgs/msg/Odometry' ? (isRecord(outer) ? outer.pose : undefined) : outer;
  if (!isRecord(pose) || !isRecord(pose.position) || !isRecord(pose.orientation)) return { ok: false, reason: 'no pose' };
  if (!finite(pose.position, ['x', 'y'])) return { ok: false, reason: 'position is not finite' };
  if (!finite(pose.orientation, ['x', 'y', 'z', 'w'])) return { ok: false, reason: 'orientation is not finite' };
  const theta = yawFromQuaternion(pose.orientation as unknown as QuaternionMsg);
  if (!Number.isFinite(theta)) return { ok: false, reason: 'orientation is a zero quaternion' };
  return { ok: true, pose: { x: pose.position.x as number, y: pose.position.y as number, theta }, stampMs: timeToMs(stamp as unknown as TimeMsg) };
}

/** What the telemetry of one tick is built from besides its record. */
export interface TelemetryContext {
  ids: readonly string[];
  /** Header stamp of everything published for this tick, ms on the node's clock. */
  stampMs: number;
  /** Age of each robot's latest pose at the tick, ms (null: none yet). */
  poseAgeMs: readonly (number | null)[];
  maxPoseAgeMs: number;
  /** Pose messages refused per robot so far (malformed, bad stamps). */
  posesRefused?: readonly number[];
  flagAt: number;
  eStopped: string | null;
  paused: boolean;
  /** Ground truth (who is compromised) is published only in trial mode. */
  trialMode: boolean;
  /** Name prefix of the statuses, e.g. 'swarmguard' -> 'swarmguard: epuck-1'. */
  prefix: string;
}

/** Stops that are about the robot itself (not the operator holding the swarm). */
const ROBOT_STOPS: ReadonlySet<StopReason> = new Set(['no-pose', 'invalid-pose', 'stale-pose', 'invalid-command', 'leaving-arena']);

function fixed(v: number | null, digits = 3): string {
  return v === null || !Number.isFinite(v) ? 'none' : v.toFixed(digits);
}

/**
 * One DiagnosticStatus per robot plus one for the swarm. Robot level: ERROR when the monitor flags it, STALE
 * when it has no pose or its pose is too old, WARN when the safety layer stopped it for a reason of its own or
 * its suspicion is at the flag threshold but not yet flagged, OK otherwise.
 */
export function diagnosticsMessage(rec: TickRecord, c: TelemetryContext): DiagnosticArrayMsg {
  const status: DiagnosticStatusMsg[] = c.ids.map((id, i) => {
    const stop = rec.stopped[i] ?? null;
    const age = c.poseAgeMs[i] ?? null;
    const suspicion = rec.suspicion[i] ?? 0;
    const flagged = rec.flagged[i] ?? false;
    let level: number = DIAG.OK;
    let message = 'following its policy';
    if (flagged) {
      level = DIAG.ERROR;
      message = `flagged as compromised (suspicion ${suspicion.toFixed(2)})`;
    } else if (age === null || age > c.maxPoseAgeMs) {
      level = DIAG.STALE;
      message = age === null ? 'no pose received' : `pose ${Math.round(age)} ms old`;
    } else if (stop !== null && ROBOT_STOPS.has(stop)) {
      level = DIAG.WARN;
      message = `stopped by the safety layer: ${stop}`;
    } else if (suspicion >= c.flagAt) {
      level = DIAG.WARN;
      message = `suspicion ${suspicion.toFixed(2)} at the flag threshold`;
    } else if (stop !== null) {
      message = `held: ${stop}`;
    }
    const values: KeyValueMsg[] = [
      { key: 'suspicion', value: fixed(suspicion) },
      { key: 'flagged', value: String(flagged) },
      { key: 'belief', value: fixed(rec.belief[i] ?? null) },
      { key: 'consistency', value: fixed(rec.consistency[i] ?? null) },
      { key: 'safety_stop', value: stop ?? 'none' },
      { key: 'pose_age_ms', value: age === null ? 'none' : String(Math.round(age)) },
      { key: 'poses_refused', value: String(c.posesRefused?.[i] ?? 0) },
      { key: 'command_left', value: fixed(rec.commands[2 * i] ?? null) },
      { key: 'command_right', value: fixed(rec.commands[2 * i + 1] ?? null) },
    ];
    if (c.trialMode) values.push({ key: 'compromised', value: String(rec.compromised.includes(i)) });
    return { level, name: `${c.prefix}: ${id}`, message, hardware_id: id, values };
  });
  const held = c.eStopped !== null ? `e-stop: ${c.eStopped}` : c.paused ? 'robots held (stop)' : null;
  status.push({
    level: held ? DIAG.WARN : DIAG.OK,
    name: `${c.prefix}: swarm`,
    message: held ?? `tick ${rec.tick}, ${rec.flagged.filter(Boolean).length} flagged`,
    hardware_id: 'swarm',
    values: [
      { key: 'tick', value: String(rec.tick) },
      { key: 'e_stop', value: c.eStopped ?? 'released' },
      { key: 'paused', value: String(c.paused) },
      { key: 'trial_mode', value: String(c.trialMode) },
      { key: 'flagged', value: c.ids.filter((_, i) => rec.flagged[i]).join(',') },
    ],
  });
  return { header: { stamp: msToTime(c.stampMs), frame_id: '' }, status };
}

export interface MarkerContext {
  ids: readonly string[];
  stampMs: number;
  frameId: string;
  bodyRadius: readonly number[];
}

const FOREVER: TimeMsg = { sec: 0, nanosec: 0 };
const IDENTITY = quaternionFromYaw(0);

/** Green (no suspicion) to red (certain), opaque. */
export function suspicionColor(s: number): ColorMsg {
  const k = Math.min(1, Math.max(0, Number.isFinite(s) ? s : 0));
  return { r: k, g: 1 - k, b: 0.1, a: 1 };
}

/**
 * RViz view of one tick, four markers per robot (namespaces robots, headings, labels, flags; id = robot index):
 * a body coloured by suspicion, a heading arrow, a label with id and suspicion, a red ring over a flagged robot.
 * A robot without a pose has its markers deleted; a robot not flagged has its flag deleted.
 */
export function markersMessage(rec: TickRecord, c: MarkerContext): MarkerArrayMsg {
  const header = { stamp: msToTime(c.stampMs), frame_id: c.frameId };
  const markers: MarkerMsg[] = [];
  const marker = (ns: string, id: number, type: number, action: number, pose: PoseMsg, scale: Vector3Msg, color: ColorMsg, text = ''): MarkerMsg => ({
    header,
    ns,
    id,
    type,
    action,
    pose,
    scale,
    color,
    lifetime: FOREVER,
    frame_locked: false,
    text,
  });
  const origin: PoseMsg = { position: { x: 0, y: 0, z: 0 }, orientation: IDENTITY };
  const none: Vector3Msg = { x: 0, y: 0, z: 0 };
  const clear: ColorMsg = { r: 0, g: 0, b: 0, a: 0 };
  c.ids.forEach((id, i) => {
    const p = rec.poses[i];
    const located = p !== undefined && [p.x, p.y, p.theta].every(Number.isFinite);
    if (!located) {
      for (const ns of ['robots', 'headings', 'labels', 'flags']) markers.push(marker(ns, i, MARKER.CYLINDER, MARKER.DELETE, origin, none, clear));
      return;
    }
    const r = c.bodyRadius[i] ?? 0.037;
    const s = rec.suspicion[i] ?? 0;
    const at = (z: number, theta = 0): PoseMsg => ({ position: { x: p.x, y: p.y, z }, orientation: quaternionFromYaw(theta) });
    markers.push(marker('robots', i, MARKER.CYLINDER, MARKER.ADD, at(0.025), { x: 2 * r, y: 2 * r, z: 0.05 }, suspicionColor(s)));
    markers.push(marker('headings', i, MARKER.ARROW, MARKER.ADD, at(0.055, p.theta), { x: 1.6 * r, y: 0.01, z: 0.01 }, { r: 1, g: 1, b: 1, a: 1 }));
    markers.push(marker('labels', i, MARKER.TEXT_VIEW_FACING, MARKER.ADD, at(0.12), { x: 0, y: 0, z: 0.04 }, { r: 1, g: 1, b: 1, a: 1 }, `${id} ${s.toFixed(2)}`));
    if (rec.flagged[i]) markers.push(marker('flags', i, MARKER.SPHERE, MARKER.ADD, at(0.025), { x: 3.2 * r, y: 3.2 * r, z: 0.01 }, { r: 1, g: 0, b: 0, a: 0.5 }));
    else markers.push(marker('flags', i, MARKER.SPHERE, MARKER.DELETE, origin, none, clear));
  });
  return { markers };
}

/**
 * One alert on ~/alerts: a run event as JSON (std_msgs/String), with its time since the run started. Schema
 * version 1: {"v":1,"timeS":..., ...the event (tick, kind, robot, reason, suspicion, evidence, attack)}.
 */
export function alertMessage(e: RunEvent, controlPeriod: number): StringMsg {
  return { data: JSON.stringify({ v: 1, timeS: Number((e.tick * controlPeriod).toFixed(6)), ...e }) };
}
