// The ROS 2 link and service without a ROS 2 graph: rclnodejs's pure-JavaScript classes (parameters, QoS) and a
// stand-in Node (helpers/fake-rclnodejs.ts) that records what the adapter creates and publishes and checks
// parameters as rclnodejs's Node does. What needs real middleware (delivery, QoS matching, rcl's handling of
// --ros-args) is test/ros2-node.test.ts's, on a ROS 2 graph.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QoS } from 'rclnodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/config-file.js';
import type { Ros2LinkOptions } from '../src/links/ros2/config.js';
import { Ros2Link } from '../src/links/ros2/link.js';
import { cmdVelMessage, msToTime, quaternionFromYaw, type TriggerResponseMsg } from '../src/links/ros2/messages.js';
import { namespaceForId } from '../src/links/ros2/names.js';
import { telemetryEvery } from '../src/links/ros2/params.js';
import { Ros2Service } from '../src/links/ros2/service.js';
import { readManifest } from '../src/policy/folder.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch, type Launch } from '../src/launch/launch.js';
import { swarmTrial, type TrialRun } from '../src/runtime/trial.js';
import { FakeRos, type FakeNode, type FakePublisher } from './helpers/fake-rclnodejs.js';
import { shippedMappo } from './helpers.js';

const loaded = await FakeRos.load();
const title = 'the ROS 2 link and service on rclnodejs’s JavaScript classes and a stand-in node';

describe.skipIf(!loaded.ok)(loaded.ok ? title : `${title} (skipped: ${loaded.reason})`, () => {
  const base = (loaded as { ros: FakeRos }).ros;
  const { dir, settings, team } = shippedMappo();
  const ids = settings.robotIds;
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'swarmguard-ros2-adapter-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  async function launchFile(name: string, trial: boolean, link: object = {}): Promise<Launch> {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, JSON.stringify({ name, swarm: readManifest(dir).training.config.env, link: { kind: 'ros2', ...link }, policy: dir, duration: 60, trial, out: work }));
    return loadLaunch(file);
  }

  async function openLink(ros: FakeRos, link: object = {}): Promise<{ launch: Launch; link: Ros2Link; node: FakeNode }> {
    const launch = await launchFile('link', false, link);
    const opened = await Ros2Link.open(launch.link as Ros2LinkOptions, ids, launch.settings.robots, () => {}, 'link', ros.runtime);
    return { launch, link: opened, node: ros.nodes.at(-1)! };
  }

  async function openRun(ros: FakeRos, name: string, trial: boolean, link: object = {}) {
    const launch = await launchFile(name, trial, link);
    const opened = await Ros2Link.open(launch.link as Ros2LinkOptions, ids, launch.settings.robots, () => {}, 'link', ros.runtime);
    const run: TrialRun = swarmTrial(launch.settings, team(), opened, { safety: launch.safety, monitor: launch.monitor, trialMode: launch.trial, injections: [], seed: 1 });
    const control = new RunController(run, launch.settings);
    const service = new Ros2Service();
    const node = ros.nodes.at(-1)!;
    const close = async () => {
      await control.close();
      await service.stop();
      await opened.stop();
    };
    try {
      await service.start({ launch, run, control, policy: { name: team().name, dir, files: {} }, runDir: work, log: () => {} });
    } catch (err) {
      await close();
      throw err;
    }
    const published = (topic: string) => node.publishers.find((p) => p.topic === topic)!;
    const call = async (name: string) => (await node.services.find((s) => s.name === `~/${name}`)!.call()) as TriggerResponseMsg;
    return { launch, link: opened, run, control, service, node, published, call, close };
  }

  const cmdVels = (node: FakeNode): FakePublisher[] => node.publishers.filter((p) => p.topic.endsWith('/cmd_vel'));

  it('one node, spinning; per robot a pose subscription (sensor data QoS) and a reliable keep-last-1 cmd_vel publisher of its type', async () => {
    const ros = base.fresh();
    const { link, node } = await openLink(ros, {
      node: 'sg',
      namespace: '/lab',
      robots: { [ids[1]!]: { cmdVelType: 'geometry_msgs/msg/TwistStamped', cmdVelFrameId: 'e1/base_link' }, [ids[2]!]: { pose: { topic: 'odom', type: 'nav_msgs/msg/Odometry' } } },
    });
    try {
      expect(ros.nodes).toHaveLength(1);
      expect(node).toMatchObject({ nodeName: 'sg', namespace: '/lab', spinning: true });
      const Q = ros.rcl.QoS;
      const reliableLast1 = new Q(Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 1, Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE);
      expect(cmdVels(node).map((p) => [p.topic, p.type])).toEqual(ids.map((id, i) => [`${namespaceForId(id)}/cmd_vel`, i === 1 ? 'geometry_msgs/msg/TwistStamped' : 'geometry_msgs/msg/Twist']));
      for (const p of cmdVels(node)) expect(p.qos as QoS).toEqual(reliableLast1);
      expect(node.subscriptions.map((s) => [s.topic, s.type])).toEqual(
        ids.map((id, i) => (i === 2 ? [`${namespaceForId(id)}/odom`, 'nav_msgs/msg/Odometry'] : [`${namespaceForId(id)}/pose`, 'geometry_msgs/msg/PoseStamped'])),
      );
      for (const s of node.subscriptions) expect(s.qos).toBe(Q.profileSensorData);
      expect(node.getParameter('cmd_vel_type').value).toBe('geometry_msgs/msg/Twist');
    } finally {
      await link.stop();
    }
  });

  it('poses in; cmd_vel out as Twist or TwistStamped stamped with the node clock; stop: zero to every robot, node destroyed, rclnodejs released', async () => {
    const ros = base.fresh();
    const { link, launch, node } = await openLink(ros, { robots: { [ids[1]!]: { cmdVelType: 'geometry_msgs/msg/TwistStamped' } } });
    const plans = link.swarm.plans;
    node.subscriptions[0]!.deliver({ header: { stamp: msToTime(ros.nowMs - 40), frame_id: 'arena' }, pose: { position: { x: 0.5, y: 0.7, z: 0 }, orientation: quaternionFromYaw(1) } });
    expect(link.poses()[0]).toMatchObject({ x: 0.5, y: 0.7, stampMs: ros.nowMs - 40 });
    expect(link.poses()[0]!.theta).toBeCloseTo(1, 12);
    expect(link.now()).toBe(ros.nowMs);
    link.send(0, 0.5, 0.2);
    ros.nowMs += 100;
    link.send(1, -0.3, 0.3);
    const robots = launch.settings.robots;
    expect(cmdVels(node)[0]!.messages).toEqual([cmdVelMessage(0.5, 0.2, robots[0]!, plans[0]!, 0)]);
    expect(cmdVels(node)[1]!.messages).toEqual([cmdVelMessage(-0.3, 0.3, robots[1]!, plans[1]!, ros.nowMs)]);
    expect(cmdVels(node)[1]!.messages[0]).toMatchObject({ header: { stamp: msToTime(ros.nowMs), frame_id: 'base_link' } });
    await link.stop();
    cmdVels(node).forEach((p, i) => expect(p.messages.at(-1)).toEqual(cmdVelMessage(0, 0, robots[i]!, plans[i]!, ros.nowMs)));
    expect(node.destroyed).toBe(true);
    expect([ros.acquired, ros.released]).toEqual([1, 1]);
    link.send(0, 1, 1); // after stop: nothing goes out
    expect(cmdVels(node)[0]!.messages).toHaveLength(2);
  });

  it('cmd_vel_type from the ROS arguments replaces link.cmdVelType except for robots with their own; a bad one stops the open, naming it', async () => {
    const ros = base.fresh();
    ros.override('cmd_vel_type', 'string', 'geometry_msgs/msg/TwistStamped');
    const { link, node } = await openLink(ros, { robots: { [ids[0]!]: { cmdVelType: 'geometry_msgs/msg/Twist' } } });
    await link.stop();
    expect(cmdVels(node).map((p) => p.type)).toEqual(ids.map((_, i) => (i === 0 ? 'geometry_msgs/msg/Twist' : 'geometry_msgs/msg/TwistStamped')));
    expect(node.getParameter('cmd_vel_type').value).toBe('geometry_msgs/msg/TwistStamped');

    const bad = base.fresh();
    bad.override('cmd_vel_type', 'string', 'TwistStamped');
    await expect(openLink(bad)).rejects.toThrow(new ConfigError("ROS parameter cmd_vel_type: 'TwistStamped' is not a cmd_vel type (geometry_msgs/msg/Twist or geometry_msgs/msg/TwistStamped)"));
    const wrongType = base.fresh();
    wrongType.override('cmd_vel_type', 'double', 1.0);
    await expect(openLink(wrongType)).rejects.toThrow(/^ROS parameter cmd_vel_type refused \(it takes a string, geometry_msgs\/msg\/Twist or geometry_msgs\/msg\/TwistStamped\)/);
    for (const r of [bad, wrongType]) {
      expect(r.nodes[0]!.destroyed).toBe(true);
      expect(r.released).toBe(r.acquired);
    }
  });

  it('parameters are declared with the launch file’s values; values given at start (ROS arguments) reach the running settings', async () => {
    const ros = base.fresh();
    ros.override('safety.max_pose_age_ms', 'double', 250);
    ros.override('monitor.clear_at', 'double', 0.25);
    const r = await openRun(ros, 'declared', false, { telemetryRateHz: 2.5 });
    try {
      expect(r.run.parts.safety.settings.maxPoseAgeMs).toBe(250);
      expect(r.run.parts.monitor.settings.clearAt).toBe(0.25);
      const value = (name: string) => r.node.getParameter(name).value;
      expect([value('telemetry_rate_hz'), value('safety.lookahead_s'), value('monitor.flag_at'), value('monitor.flag_ticks'), value('control_period_s')]).toEqual([
        2.5,
        r.launch.safety.lookaheadS,
        r.launch.monitor.flagAt,
        BigInt(r.launch.monitor.flagTicks),
        r.launch.settings.controlPeriod,
      ]);
      expect(r.node.hasParameter('inject.robot')).toBe(false);
    } finally {
      await r.close();
    }
  });

  it('a value given at start that is refused stops the start, naming the launch file and the parameter', async () => {
    const outOfRange = base.fresh();
    outOfRange.override('safety.max_pose_age_ms', 'double', -5);
    const refusal = openRun(outOfRange, 'refused-range', false);
    await expect(refusal).rejects.toThrow(ConfigError); // bad input: swarmguard exits 2 with the message
    await expect(refusal).rejects.toThrow(/refused-range\.yaml: ROS 2 parameters: Parameter safety\.max_pose_age_ms does not {2}readonly/);
    const crossed = base.fresh();
    crossed.override('monitor.clear_at', 'double', 0.9);
    await expect(openRun(crossed, 'refused-clear', false)).rejects.toThrow(/refused-clear\.yaml: ROS 2 parameters: monitor\.clear_at \(0\.9\) must be below monitor\.flag_at \(0\.75\)/);
    for (const r of [outOfRange, crossed]) expect(r.released).toBe(r.acquired);
  });

  it('set requests: any value within a range applied at once; out of range, wrong type, read-only and clear_at above flag_at refused', async () => {
    const ros = base.fresh();
    const r = await openRun(ros, 'set', false);
    try {
      const set = (name: string, type: 'double' | 'integer', v: number | bigint) => r.node.setParameters([ros.parameter(name, type, v)])[0]!;
      expect(set('monitor.flag_at', 'double', 0.65)).toEqual({ successful: true, reason: null });
      expect(set('safety.lookahead_s', 'double', 0.37)).toEqual({ successful: true, reason: null });
      expect(set('monitor.clear_ticks', 'integer', 7n)).toEqual({ successful: true, reason: null });
      expect([r.run.parts.monitor.settings.flagAt, r.run.parts.safety.settings.lookaheadS, r.run.parts.monitor.settings.clearTicks]).toEqual([0.65, 0.37, 7]);
      expect(set('monitor.flag_at', 'double', 1.5)).toMatchObject({ successful: false });
      expect(set('telemetry_rate_hz', 'integer', 5n)).toMatchObject({ successful: false });
      expect(set('control_period_s', 'double', 0.05)).toEqual({ successful: false, reason: 'Parameter control_period_s is readonly' });
      expect(set('monitor.clear_at', 'double', 0.7)).toEqual({ successful: false, reason: 'monitor.clear_at (0.7) must be below monitor.flag_at (0.65)' });
      expect(r.run.parts.monitor.settings).toMatchObject({ flagAt: 0.65, clearAt: r.launch.monitor.clearAt });
      // Both thresholds at once, past each other: judged on the result.
      expect(r.node.setParametersAtomically([ros.parameter('monitor.clear_at', 'double', 0.7), ros.parameter('monitor.flag_at', 'double', 0.9)])).toEqual({ successful: true, reason: null });
      expect(r.run.parts.monitor.settings).toMatchObject({ flagAt: 0.9, clearAt: 0.7 });
    } finally {
      await r.close();
    }
  });

  it('operator services: Triggers through the run controller; ~/inject and ~/end_injection refused outside trial mode and carried out in a trial', async () => {
    const r = await openRun(base.fresh(), 'services', false);
    try {
      expect(r.node.services.map((s) => [s.name, s.type])).toEqual(['estop', 'release', 'stop', 'start', 'inject', 'end_injection'].map((n) => [`~/${n}`, 'std_srvs/srv/Trigger']));
      expect(await r.call('estop')).toEqual({ success: true, message: 'e-stop engaged: every robot stopped until ~/release' });
      expect(r.control.state.eStopped).toMatch(/ROS 2 ~\/estop/);
      expect(await r.call('release')).toMatchObject({ success: true });
      expect(r.control.state.eStopped).toBeNull();
      expect(await r.call('inject')).toEqual({ success: false, message: 'injections are refused outside trial mode (set trial: true in the launch file)' });
      expect(await r.call('end_injection')).toEqual({ success: false, message: 'injections are refused outside trial mode (set trial: true in the launch file)' });
    } finally {
      await r.close();
    }
    expect(r.node.services.every((s) => s.destroyed)).toBe(true);
    expect(await r.call('estop')).toEqual({ success: false, message: 'the run has ended' });

    const ros = base.fresh();
    const trial = await openRun(ros, 'trial', true);
    try {
      expect(await trial.call('inject')).toEqual({ success: false, message: 'set the parameters inject.robot and inject.attack (and inject.seconds) first' });
      const set = trial.node.setParametersAtomically([ros.parameter('inject.robot', 'string', ids[1]!), ros.parameter('inject.attack', 'string', 'fault:spin'), ros.parameter('inject.seconds', 'double', 2.5)]);
      expect(set).toEqual({ successful: true, reason: null });
      expect(await trial.call('inject')).toMatchObject({ success: true, message: expect.stringContaining(`${ids[1]} compromised by fault:spin for 2.5 s`) });
      // ~/end_injection ends it now; then there is nothing left to end on that robot.
      expect(await trial.call('end_injection')).toEqual({ success: true, message: `${ids[1]}'s injections ended: back under its policy` });
      expect(trial.run.events.at(-1)).toMatchObject({ kind: 'end-injection', robot: ids[1], reason: 'ros2' });
      expect(await trial.call('end_injection')).toEqual({ success: false, message: `no injection on ${ids[1]} is running or planned` });
      // An attack module runs code in the runtime's process: one the launch file does not name is refused.
      trial.node.setParametersAtomically([ros.parameter('inject.attack', 'string', 'launch/attacks/orbit.ts')]);
      expect(await trial.call('inject')).toMatchObject({ success: false, message: expect.stringMatching(/attack module launch\/attacks\/orbit\.ts: over ROS 2 only the launch file's attack modules/) });
    } finally {
      await trial.close();
    }
  });

  it('telemetry: diagnostics and markers every telemetry_rate_hz, alerts with every event; the publishers go with the service', async () => {
    const ros = base.fresh();
    const r = await openRun(ros, 'telemetry', false);
    try {
      const period = r.launch.settings.controlPeriod;
      let reported = 0;
      const step = async () => {
        await r.run.step();
        r.service.tick(r.run.records.at(-1)!, r.run.events.slice(reported));
        reported = r.run.events.length;
      };
      for (let k = 0; k < 6; k++) await step();
      const every = telemetryEvery(5, period);
      const due = (recs: typeof r.run.records) => recs.filter((rec) => rec.tick % every === 0).length;
      expect(every).toBeGreaterThan(1);
      expect(r.published('/diagnostics').messages).toHaveLength(due(r.run.records));
      expect(r.published('~/markers').messages).toHaveLength(due(r.run.records));
      expect(r.node.setParameters([ros.parameter('telemetry_rate_hz', 'double', 1 / period)])[0]!.successful).toBe(true);
      const before = r.published('/diagnostics').messages.length;
      for (let k = 0; k < 3; k++) await step();
      expect(r.published('/diagnostics').messages.length - before).toBe(3);
      await r.call('estop');
      await step();
      const alerts = r.published('~/alerts').messages.map((m) => JSON.parse((m as { data: string }).data) as { v: number; kind: string });
      expect(alerts).toHaveLength(r.run.events.length);
      expect(alerts.every((a) => a.v === 1)).toBe(true);
      expect(alerts.map((a) => a.kind)).toContain('e-stop');
    } finally {
      await r.close();
    }
    expect(r.node.destroyedPublishers.map((p) => p.topic)).toEqual(['/diagnostics', '~/markers', '~/alerts']);
  });
});
