// What the ROS 2 link builds and reads, without ROS 2: cmd_vel from wheel commands, poses from PoseStamped and
// Odometry (with their stamps and the arena origin), refusals, diagnostics, markers, alerts, parameters and names.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/config-file.js';
import { twistFromCommands } from '../src/core/kinematics.js';
import { maxWheelSpeed } from '../src/core/robot-params.js';
import { DEFAULT_MONITOR } from '../src/monitor/monitor.js';
import { DEFAULT_SAFETY } from '../src/runtime/safety.js';
import { LaunchSchema } from '../src/launch/launch.js';
import type { TickRecord } from '../src/runtime/trial.js';
import { planRobots, Ros2LinkSchema, withLinkCmdVelType, type Ros2LinkOptions } from '../src/links/ros2/config.js';
import {
  alertMessage,
  cmdVelMessage,
  DIAG,
  diagnosticsMessage,
  MARKER,
  markersMessage,
  msToTime,
  parsePoseMessage,
  poseInArena,
  quaternionFromYaw,
  timeToMs,
  twistMessage,
  yawFromQuaternion,
  type TelemetryContext,
} from '../src/links/ros2/messages.js';
import { isNamespace, isTopicName, namespaceForId, robotTopic } from '../src/links/ros2/names.js';
import { applyTunables, parameterSpecs, parameterValue, telemetryEvery, tunablesFrom, validateParameterUpdate } from '../src/links/ros2/params.js';
import { PoseInbox } from '../src/links/ros2/pose-inbox.js';
import { settings } from './helpers.js';

const robot = settings().robots[0]!;

function poseStamped(x: number, y: number, theta: number, stampMs: number) {
  return { header: { stamp: msToTime(stampMs), frame_id: 'arena' }, pose: { position: { x, y, z: 0 }, orientation: quaternionFromYaw(theta) } };
}

function odometry(x: number, y: number, theta: number, stampMs: number) {
  const p = poseStamped(x, y, theta, stampMs);
  return { header: p.header, child_frame_id: 'base_link', pose: { pose: p.pose, covariance: new Array(36).fill(0) }, twist: { twist: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }, covariance: new Array(36).fill(0) } };
}

describe('cmd_vel from wheel commands', () => {
  it('uses the shared kinematics: straight ahead at full speed, spin on the spot, clamped', () => {
    const k = maxWheelSpeed(robot);
    const fwd = twistMessage(1, 1, robot);
    expect(fwd.linear.x).toBeCloseTo(k, 12);
    expect(fwd.angular.z).toBeCloseTo(0, 12);
    const spin = twistMessage(-0.5, 0.5, robot);
    expect(spin.linear.x).toBeCloseTo(0, 12);
    expect(spin.angular.z).toBeCloseTo(k / robot.wheelDistance, 12); // counter-clockwise: right wheel forward
    expect(twistMessage(3, 3, robot)).toEqual(twistMessage(1, 1, robot));
    const t = twistFromCommands(0.3, -0.1, robot);
    expect(twistMessage(0.3, -0.1, robot)).toEqual({ linear: { x: t.linear, y: 0, z: 0 }, angular: { x: 0, y: 0, z: t.angular } });
  });

  it('a Twist, or the same Twist in a TwistStamped stamped with the node clock’s time in the robot’s frame', () => {
    const twist = twistMessage(0.4, 0.1, robot);
    expect(cmdVelMessage(0.4, 0.1, robot, { cmdVelType: 'geometry_msgs/msg/Twist', cmdVelFrameId: 'base_link' }, 1_700_000_000_250.5)).toEqual(twist);
    expect(cmdVelMessage(0.4, 0.1, robot, { cmdVelType: 'geometry_msgs/msg/TwistStamped', cmdVelFrameId: 'epuck_3/base_link' }, 1_700_000_000_250.5)).toEqual({
      header: { stamp: { sec: 1_700_000_000, nanosec: 250_500_000 }, frame_id: 'epuck_3/base_link' },
      twist,
    });
    // Under use_sim_time the node clock is /clock: a stamp of 12.3 s is 12.3 s, not the wall clock.
    expect(cmdVelMessage(0, 0, robot, { cmdVelType: 'geometry_msgs/msg/TwistStamped', cmdVelFrameId: 'base_link' }, 12_300)).toMatchObject({ header: { stamp: { sec: 12, nanosec: 300_000_000 } } });
  });
});

describe('poses in', () => {
  it('yaw from a quaternion, for every quadrant, scaled or not; a zero quaternion is no heading', () => {
    for (const th of [0, 0.3, 1.5, 2.9, Math.PI, -0.7, -2.5]) {
      const q = quaternionFromYaw(th);
      expect(Math.cos(yawFromQuaternion(q) - th)).toBeCloseTo(1, 12);
      expect(Math.cos(yawFromQuaternion({ x: 3 * q.x, y: 3 * q.y, z: 3 * q.z, w: 3 * q.w }) - th)).toBeCloseTo(1, 12);
    }
    // A robot on a tilted tracker plate (yaw 1, pitch 0.3, roll 0.2, ZYX) keeps its heading.
    const [cy, sy, cp, sp, cr, sr] = [Math.cos(0.5), Math.sin(0.5), Math.cos(0.15), Math.sin(0.15), Math.cos(0.1), Math.sin(0.1)];
    const tilted = { w: cr * cp * cy + sr * sp * sy, x: sr * cp * cy - cr * sp * sy, y: cr * sp * cy + sr * cp * sy, z: cr * cp * sy - sr * sp * cy };
    expect(yawFromQuaternion(tilted)).toBeCloseTo(1, 12);
    expect(yawFromQuaternion({ x: 0, y: 0, z: 0, w: 0 })).toBeNaN();
  });

  it('stamps round-trip between ms and builtin_interfaces/Time', () => {
    for (const ms of [0, 1, 999.999, 1_700_000_000_123.456]) {
      const t = msToTime(ms);
      expect(Number.isInteger(t.sec) && Number.isInteger(t.nanosec) && t.nanosec >= 0 && t.nanosec < 1e9).toBe(true);
      expect(timeToMs(t)).toBeCloseTo(ms, 3);
    }
  });

  it('reads PoseStamped and Odometry; says what is wrong with a malformed one', () => {
    expect(parsePoseMessage(poseStamped(0.5, 1.2, 0.4, 5000), 'geometry_msgs/msg/PoseStamped')).toEqual({ ok: true, pose: { x: 0.5, y: 1.2, theta: expect.closeTo(0.4, 12) }, stampMs: 5000 });
    expect(parsePoseMessage(odometry(0.5, 1.2, -0.4, 5000), 'nav_msgs/msg/Odometry')).toEqual({ ok: true, pose: { x: 0.5, y: 1.2, theta: expect.closeTo(-0.4, 12) }, stampMs: 5000 });
    expect(parsePoseMessage(poseStamped(0.5, 1.2, 0.4, 5000), 'nav_msgs/msg/Odometry')).toEqual({ ok: false, reason: 'no pose' });
    expect(parsePoseMessage(null, 'geometry_msgs/msg/PoseStamped')).toEqual({ ok: false, reason: 'no header stamp' });
    const nan = poseStamped(Number.NaN, 1, 0, 1);
    expect(parsePoseMessage(nan, 'geometry_msgs/msg/PoseStamped')).toEqual({ ok: false, reason: 'position is not finite' });
    const zero = poseStamped(1, 1, 0, 1);
    zero.pose.orientation = { x: 0, y: 0, z: 0, w: 0 };
    expect(parsePoseMessage(zero, 'geometry_msgs/msg/PoseStamped')).toEqual({ ok: false, reason: 'orientation is a zero quaternion' });
  });

  it('odometry is placed at the robot’s start pose in the arena', () => {
    const origin = { x: 1.7, y: 0.3, theta: Math.PI / 2 };
    const p = poseInArena(origin, { x: 0.1, y: 0, theta: 0.2 }); // 10 cm ahead of the start, facing +y
    expect(p.x).toBeCloseTo(1.7, 12);
    expect(p.y).toBeCloseTo(0.4, 12);
    expect(p.theta).toBeCloseTo(Math.PI / 2 + 0.2, 12);
  });

  it('the inbox keeps the newest pose per robot, stamped by header or by receipt, and refuses and counts bad ones, logging once per burst', () => {
    const lines: string[] = [];
    const robots = [
      { id: 'epuck-0', poseType: 'geometry_msgs/msg/PoseStamped' as const, poseTopic: '/epuck_0/pose', origin: { x: 0, y: 0, theta: 0 } },
      { id: 'epuck-1', poseType: 'nav_msgs/msg/Odometry' as const, poseTopic: '/epuck_1/odom', origin: { x: 1, y: 1, theta: 0 } },
    ];
    const inbox = new PoseInbox(robots, { stamp: 'header', maxFutureStampMs: 500, log: (l) => lines.push(l), burstMs: 1000 });
    expect(inbox.poses()).toEqual([null, null]);
    expect(inbox.accept(0, poseStamped(0.2, 0.3, 0, 10_000), 10_050)).toBe(true);
    expect(inbox.accept(1, odometry(0.1, 0, 0, 10_000), 10_050)).toBe(true);
    expect(inbox.poses()).toEqual([
      { x: 0.2, y: 0.3, theta: 0, stampMs: 10_000 },
      { x: 1.1, y: 1, theta: 0, stampMs: 10_000 },
    ]);
    // Older than the pose held, from the future, zero-stamped, malformed: all refused, the pose kept.
    expect(inbox.accept(0, poseStamped(9, 9, 0, 9_000), 10_100)).toBe(false);
    expect(inbox.accept(0, poseStamped(9, 9, 0, 12_000), 10_100)).toBe(false);
    expect(inbox.accept(0, poseStamped(9, 9, 0, 0), 10_100)).toBe(false);
    expect(inbox.accept(0, { header: {} }, 10_100)).toBe(false);
    expect(inbox.poses()[0]).toEqual({ x: 0.2, y: 0.3, theta: 0, stampMs: 10_000 });
    expect(inbox.refused).toEqual([4, 0]);
    expect(inbox.received).toEqual([1, 1]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/epuck-0 on \/epuck_0\/pose: refused a pose: older than the pose already held/);
    expect(inbox.accept(0, { header: {} }, 11_200)).toBe(false);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/malformed geometry_msgs\/msg\/PoseStamped: no header stamp \(3 more refused since the last report\)/);
    expect(inbox.reasons.get('header stamp is zero (the source does not stamp its messages: set stamp: receipt)')).toBe(1);

    const receipt = new PoseInbox(robots, { stamp: 'receipt', maxFutureStampMs: 500, log: () => {} });
    expect(receipt.accept(0, poseStamped(0.2, 0.3, 0, 0), 20_000)).toBe(true);
    expect(receipt.poses()[0]!.stampMs).toBe(20_000);
  });
});

function record(over: Partial<TickRecord> = {}): TickRecord {
  return {
    tick: 40,
    timeMs: 4000,
    poses: [
      { x: 0.5, y: 0.5, theta: 0 },
      { x: 1, y: 1, theta: 1 },
      { x: Number.NaN, y: Number.NaN, theta: Number.NaN },
    ],
    truePoses: null,
    intended: [0.5, 0.5, 0.2, 0.2, 0, 0],
    commands: [0.5, 0.5, 0, 0, 0, 0],
    stopped: [null, 'leaving-arena', 'no-pose'],
    belief: [0.1, null, null],
    consistency: [0.05, 0.95, 0],
    suspicion: [0.145, 0.95, 0],
    flagged: [false, true, false],
    compromised: [1],
    ...over,
  };
}

const TEL: TelemetryContext = { ids: ['epuck-0', 'epuck-1', 'epuck-2'], stampMs: 1_700_000_000_000, poseAgeMs: [40, 60, null], maxPoseAgeMs: 300, flagAt: 0.8, eStopped: null, paused: false, trialMode: true, prefix: 'swarmguard' };

describe('telemetry out', () => {
  it('diagnostics: one status per robot and one for the swarm, with levels that say what is wrong', () => {
    const d = diagnosticsMessage(record(), { ...TEL, posesRefused: [0, 7, 0] });
    expect(d.header.stamp).toEqual(msToTime(TEL.stampMs));
    expect(d.status.map((s) => [s.name, s.level])).toEqual([
      ['swarmguard: epuck-0', DIAG.OK],
      ['swarmguard: epuck-1', DIAG.ERROR],
      ['swarmguard: epuck-2', DIAG.STALE],
      ['swarmguard: swarm', DIAG.OK],
    ]);
    const v = Object.fromEntries(d.status[0]!.values.map((kv) => [kv.key, kv.value]));
    expect(v).toMatchObject({ suspicion: '0.145', flagged: 'false', belief: '0.100', consistency: '0.050', safety_stop: 'none', pose_age_ms: '40', compromised: 'false' });
    expect(d.status[1]!.message).toBe('flagged as compromised (suspicion 0.95)');
    expect(d.status[1]!.values).toContainEqual({ key: 'poses_refused', value: '7' });
    expect(d.status[2]!.message).toBe('no pose received');
    // A robot stopped for its own reason is a warning; a stale pose is STALE.
    const warn = diagnosticsMessage(record({ flagged: [false, false, false] }), { ...TEL, poseAgeMs: [400, 60, 10] });
    expect(warn.status.slice(0, 3).map((s) => s.level)).toEqual([DIAG.STALE, DIAG.WARN, DIAG.WARN]);
    expect(warn.status[1]!.message).toBe('stopped by the safety layer: leaving-arena');
  });

  it('diagnostics carry the ground truth only in trial mode, and the swarm status shows an e-stop', () => {
    const d = diagnosticsMessage(record(), { ...TEL, trialMode: false, eStopped: 'ROS 2 ~/estop (ros2)' });
    expect(d.status.flatMap((s) => s.values).some((kv) => kv.key === 'compromised')).toBe(false);
    const swarm = d.status.at(-1)!;
    expect(swarm.level).toBe(DIAG.WARN);
    expect(swarm.message).toBe('e-stop: ROS 2 ~/estop (ros2)');
    expect(Object.fromEntries(swarm.values.map((kv) => [kv.key, kv.value]))).toMatchObject({ e_stop: 'ROS 2 ~/estop (ros2)', flagged: 'epuck-1', trial_mode: 'false' });
  });

  it('markers: body, heading, label per located robot, a flag over the flagged one; an unlocated robot’s markers deleted', () => {
    const m = markersMessage(record(), { ids: TEL.ids, stampMs: TEL.stampMs, frameId: 'arena', bodyRadius: [0.037, 0.037, 0.037] });
    const by = (ns: string, id: number) => m.markers.find((x) => x.ns === ns && x.id === id)!;
    expect(m.markers.every((x) => x.header.frame_id === 'arena')).toBe(true);
    expect(by('robots', 0)).toMatchObject({ type: MARKER.CYLINDER, action: MARKER.ADD, pose: { position: { x: 0.5, y: 0.5 } }, scale: { x: 0.074, y: 0.074 } });
    expect(by('robots', 1).color.r).toBeGreaterThan(by('robots', 0).color.r); // redder with suspicion
    expect(yawFromQuaternion(by('headings', 1).pose.orientation)).toBeCloseTo(1, 12);
    expect(by('labels', 0).text).toBe('epuck-0 0.14');
    expect(by('flags', 0).action).toBe(MARKER.DELETE);
    expect(by('flags', 1).action).toBe(MARKER.ADD);
    for (const ns of ['robots', 'headings', 'labels', 'flags']) expect(by(ns, 2).action).toBe(MARKER.DELETE);
    expect(m.markers).toHaveLength(12);
  });

  it('alerts: every run event as versioned JSON with its time', () => {
    const msg = alertMessage({ tick: 52, kind: 'flag', robot: 'epuck-3', suspicion: 0.91, evidence: { belief: 0.4, consistency: 0.85, cusum: 34, observers: 4 } }, 0.1);
    expect(JSON.parse(msg.data)).toEqual({ v: 1, timeS: 5.2, tick: 52, kind: 'flag', robot: 'epuck-3', suspicion: 0.91, evidence: { belief: 0.4, consistency: 0.85, cusum: 34, observers: 4 } });
  });
});

describe('parameters', () => {
  const current = () => tunablesFrom(0.1, 5, { ...DEFAULT_SAFETY }, { ...DEFAULT_MONITOR, consistency: { ...DEFAULT_MONITOR.consistency } });

  it('declares the inject.* request parameters only in trial mode; the control period is read-only', () => {
    expect(parameterSpecs(false).map((s) => s.name)).not.toContain('inject.robot');
    expect(parameterSpecs(true).map((s) => s.name)).toEqual(expect.arrayContaining(['inject.robot', 'inject.attack', 'inject.seconds']));
    expect(validateParameterUpdate(current(), [{ name: 'control_period_s', value: 0.05 }], true)).toEqual({ ok: false, reason: 'control_period_s is read-only' });
    expect(validateParameterUpdate(current(), [{ name: 'inject.robot', value: 'epuck-1' }], false)).toEqual({ ok: false, reason: 'unknown parameter inject.robot' });
  });

  it('declaring every parameter with a launch file’s values is accepted (read-only ones included), even generous ones', () => {
    const t = tunablesFrom(0.1, 5, { maxPoseAgeMs: 20_000, lookaheadS: 2, wallMargin: 0.05 }, { ...DEFAULT_MONITOR, flagTicks: 50_000, consistency: { ...DEFAULT_MONITOR.consistency } });
    const all = parameterSpecs(true).map((spec) => ({ name: spec.name, value: parameterValue(spec, t) }));
    expect(validateParameterUpdate(t, all, true, true)).toEqual({ ok: true, next: t });
  });

  it('refuses a wrong type, a value out of range, or clear_at not below flag_at, with the reason', () => {
    expect(validateParameterUpdate(current(), [{ name: 'monitor.flag_at', value: 1.5 }], false)).toEqual({ ok: false, reason: 'monitor.flag_at must be within [0, 1], got 1.5' });
    expect(validateParameterUpdate(current(), [{ name: 'monitor.flag_ticks', value: 2.5 }], false)).toEqual({ ok: false, reason: 'monitor.flag_ticks takes an integer, got 2.5' });
    expect(validateParameterUpdate(current(), [{ name: 'safety.max_pose_age_ms', value: 'soon' }], false)).toMatchObject({ ok: false });
    expect(validateParameterUpdate(current(), [{ name: 'monitor.clear_at', value: 0.9 }], false)).toEqual({ ok: false, reason: 'monitor.clear_at (0.9) must be below monitor.flag_at (0.75)' });
  });

  it('accepts a set applied atomically (both thresholds moved past each other at once) and integers as bigint', () => {
    const r = validateParameterUpdate(
      current(),
      [
        { name: 'monitor.clear_at', value: 0.85 },
        { name: 'monitor.flag_at', value: 0.95 },
        { name: 'monitor.flag_ticks', value: 5n },
      ],
      false,
    );
    expect(r).toMatchObject({ ok: true, next: { clearAt: 0.85, flagAt: 0.95, flagTicks: 5 } });
  });

  it('accepted values reach the settings the safety layer and the monitor read every tick', () => {
    const safety = { ...DEFAULT_SAFETY };
    const monitor = { ...DEFAULT_MONITOR, consistency: { ...DEFAULT_MONITOR.consistency } };
    const r = validateParameterUpdate(tunablesFrom(0.1, 5, safety, monitor), [
      { name: 'safety.max_pose_age_ms', value: 150 },
      { name: 'monitor.consistency_threshold', value: 60 },
    ], false);
    expect(r.ok).toBe(true);
    if (r.ok) applyTunables(r.next, safety, monitor);
    expect(safety.maxPoseAgeMs).toBe(150);
    expect(monitor.consistency.threshold).toBe(60);
    expect(monitor.flagAt).toBe(DEFAULT_MONITOR.flagAt);
  });

  it('telemetry every n ticks for a rate', () => {
    expect(telemetryEvery(5, 0.1)).toBe(2);
    expect(telemetryEvery(100, 0.1)).toBe(1);
    expect(telemetryEvery(0.5, 0.1)).toBe(20);
  });
});

describe('names and the link section of a launch file', () => {
  it('robot ids become ROS namespaces; names are checked as ROS checks them', () => {
    expect(namespaceForId('epuck-3')).toBe('/epuck_3');
    expect(namespaceForId('7')).toBe('/_7');
    expect(namespaceForId('a--b.c')).toBe('/a_b_c');
    expect(isNamespace('/lab1/swarm')).toBe(true);
    for (const bad of ['lab', '/lab/', '/1lab', '/a__b', '/a-b']) expect(isNamespace(bad)).toBe(false);
    expect(isTopicName('~/markers') && isTopicName('/diagnostics') && isTopicName('odom')).toBe(true);
    expect(isTopicName('cmd vel')).toBe(false);
    expect(robotTopic('/epuck_1', 'odom')).toBe('/epuck_1/odom');
    expect(robotTopic('/epuck_1', '/tracker/epuck_1')).toBe('/tracker/epuck_1');
    expect(robotTopic('/', 'cmd_vel')).toBe('/cmd_vel');
  });

  const ids = ['epuck-0', 'epuck-1'];
  const parse = (o: object): Ros2LinkOptions => Ros2LinkSchema.parse({ kind: 'ros2', ...o });

  it('plans every robot: its namespace, pose topic and type, cmd_vel and origin', () => {
    const plans = planRobots(parse({ robots: { 'epuck-1': { namespace: '/e1', pose: { topic: 'odom', type: 'nav_msgs/msg/Odometry' }, origin: { x: 1, y: 0, theta: 0 } } } }), ids);
    expect(plans).toEqual([
      { id: 'epuck-0', namespace: '/epuck_0', poseTopic: '/epuck_0/pose', poseType: 'geometry_msgs/msg/PoseStamped', cmdVelTopic: '/epuck_0/cmd_vel', cmdVelType: 'geometry_msgs/msg/Twist', cmdVelFrameId: 'base_link', origin: { x: 0, y: 0, theta: 0 } },
      { id: 'epuck-1', namespace: '/e1', poseTopic: '/e1/odom', poseType: 'nav_msgs/msg/Odometry', cmdVelTopic: '/e1/cmd_vel', cmdVelType: 'geometry_msgs/msg/Twist', cmdVelFrameId: 'base_link', origin: { x: 1, y: 0, theta: 0 } },
    ]);
  });

  it('cmd_vel is a Twist unless the link or a robot says TwistStamped; the cmd_vel_type parameter replaces the link’s choice only', () => {
    const o = parse({ cmdVelType: 'geometry_msgs/msg/TwistStamped', cmdVelFrameId: 'base_footprint', robots: { 'epuck-1': { cmdVelType: 'geometry_msgs/msg/Twist', cmdVelFrameId: 'e1/base_link' } } });
    const plans = planRobots(o, ids);
    expect(plans.map((p) => [p.cmdVelType, p.cmdVelFrameId])).toEqual([
      ['geometry_msgs/msg/TwistStamped', 'base_footprint'],
      ['geometry_msgs/msg/Twist', 'e1/base_link'],
    ]);
    expect(withLinkCmdVelType(o, plans, 'geometry_msgs/msg/Twist').map((p) => p.cmdVelType)).toEqual(['geometry_msgs/msg/Twist', 'geometry_msgs/msg/Twist']);
    const plain = parse({ robots: { 'epuck-0': { cmdVelType: 'geometry_msgs/msg/TwistStamped' } } });
    expect(withLinkCmdVelType(plain, planRobots(plain, ids), 'geometry_msgs/msg/TwistStamped').map((p) => p.cmdVelType)).toEqual(['geometry_msgs/msg/TwistStamped', 'geometry_msgs/msg/TwistStamped']);
    expect(Ros2LinkSchema.safeParse({ kind: 'ros2', cmdVelType: 'geometry_msgs/msg/Twist3' }).success).toBe(false);
    expect(Ros2LinkSchema.safeParse({ kind: 'ros2', cmdVelFrameId: 'base link' }).success).toBe(false);
    expect(Ros2LinkSchema.safeParse({ kind: 'ros2', robots: { 'epuck-0': { cmdVelFrameId: '' } } }).success).toBe(false);
  });

  it('refuses an unknown robot, two robots on one topic, bad names and types, naming the key', () => {
    expect(() => planRobots(parse({ robots: { 'epuck-7': {} } }), ids)).toThrow(new ConfigError('link.robots.epuck-7: unknown robot id (swarm ids: epuck-0, epuck-1)'));
    expect(() => planRobots(parse({ cmdVel: '/cmd_vel' }), ids)).toThrow(/epuck-0 and epuck-1 would share \/cmd_vel/);
    expect(() => planRobots(parse({ robots: { 'epuck-0': { namespace: '/x' }, 'epuck-1': { namespace: '/x' } } }), ids)).toThrow(ConfigError);
    expect(Ros2LinkSchema.safeParse({ kind: 'ros2', pose: { topic: 'pose', type: 'geometry_msgs/msg/Pose' } }).success).toBe(false);
    expect(Ros2LinkSchema.safeParse({ kind: 'ros2', robots: { 'epuck-0': { namespace: 'no-slash' } } }).success).toBe(false);
    expect(Ros2LinkSchema.safeParse({ kind: 'ros2', cmdVel: '~/cmd_vel' }).success).toBe(false);
  });

  it('a launch file takes link kind ros2 beside sim', () => {
    const file = LaunchSchema.parse({ policy: 'p', duration: 10, link: { kind: 'ros2', node: 'sg' } });
    expect(file.link).toMatchObject({ kind: 'ros2', node: 'sg', namespace: '/', stamp: 'header', diagnosticsTopic: '/diagnostics' });
    expect(LaunchSchema.parse({ policy: 'p', duration: 10 }).link).toEqual({ kind: 'sim', mode: 'live', seed: 1 });
    expect(LaunchSchema.safeParse({ policy: 'p', duration: 10, link: { kind: 'ros2', mode: 'fast' } }).success).toBe(false);
    expect(file.link).toMatchObject({ cmdVelType: 'geometry_msgs/msg/Twist', cmdVelFrameId: 'base_link' });
  });
});
