// The ROS 2 link and service against a real ROS 2 graph: a tester node in the same process plays tracker,
// drivers and operator. Needs a sourced ROS 2 and rclnodejs built against it (skipped otherwise, saying so).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, Node, ParameterType, Publisher } from 'rclnodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ros2Link } from '../src/links/ros2/link.js';
import { acquireRos, releaseRos, ros2Available, type Rclnodejs } from '../src/links/ros2/loader.js';
import { msToTime, quaternionFromYaw, timeToMs, twistMessage, type TriggerResponseMsg, type TwistMsg, type TwistStampedMsg } from '../src/links/ros2/messages.js';
import { namespaceForId } from '../src/links/ros2/names.js';
import { ROS_PARAMETER_TYPE } from '../src/links/ros2/params.js';
import { Ros2Service } from '../src/links/ros2/service.js';
import { readManifest } from '../src/policy/folder.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch, type Launch } from '../src/launch/launch.js';
import { createLink } from '../src/cli/link-factory.js';
import { swarmTrial, type TrialRun } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { shippedMappo } from './helpers.js';

const rosAvailable = ros2Available();
const DOUBLE = ROS_PARAMETER_TYPE.double as ParameterType;
const STRING = ROS_PARAMETER_TYPE.string as ParameterType;

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!rosAvailable)(`ROS 2 node${rosAvailable ? '' : ' (skipped: ROS 2 is not sourced; needs ROS_DISTRO and a built rclnodejs)'}`, () => {
  const { dir, settings, team } = shippedMappo();
  const ids = settings.robotIds;
  // A namespace of its own per test process, so parallel runs on one ROS domain do not meet.
  const NS = `/sg_test_${process.pid}`;
  const robotNs = (id: string) => `${NS}${namespaceForId(id)}`;
  let rcl: Rclnodejs;
  let tester: Node;
  let work: string;
  const twists: TwistMsg[][] = ids.map(() => []);
  const posePubs: Publisher<'geometry_msgs/msg/PoseStamped'>[] = [];

  function writeLaunch(name: string, trial: boolean, link: object = {}): string {
    const file = join(work, `${name}.yaml`);
    const launch = {
      name,
      swarm: readManifest(dir).training.config.env,
      link: { kind: 'ros2', node: 'swarmguard', namespace: NS, robots: Object.fromEntries(ids.map((id) => [id, { namespace: robotNs(id) }])), ...link },
      policy: dir,
      duration: 60,
      trial,
      out: work,
    };
    writeFileSync(file, JSON.stringify(launch)); // JSON is YAML
    return file;
  }

  function nowMs(): number {
    return Number(tester.getClock().now().nanoseconds) / 1e6;
  }

  /** Every robot on a circle around the arena's centre, stamped now; resolves when the link holds these poses. */
  async function publishPoses(link: Ros2Link): Promise<number> {
    const stamp = nowMs();
    ids.forEach((_, i) => {
      const a = (2 * Math.PI * i) / ids.length;
      posePubs[i]!.publish({ header: { stamp: msToTime(stamp), frame_id: 'arena' }, pose: { position: { x: 1 + 0.5 * Math.cos(a), y: 1 + 0.5 * Math.sin(a), z: 0 }, orientation: quaternionFromYaw(a + Math.PI) } });
    });
    await until('the link to hold the poses just published', () => link.poses().every((p) => p !== null && Math.abs(p.stampMs - stamp) < 0.01));
    return stamp;
  }

  async function openRun(name: string, trial: boolean, linkOptions: object = {}): Promise<{ launch: Launch; link: Ros2Link; run: TrialRun; control: RunController; service: Ros2Service; close(): Promise<void> }> {
    const launch = await loadLaunch(writeLaunch(name, trial, linkOptions));
    const link = (await createLink(launch, () => {})) as Ros2Link;
    const run = swarmTrial(launch.settings, team(), link, { safety: launch.safety, monitor: launch.monitor, trialMode: launch.trial, injections: [], seed: 1 });
    const control = new RunController(run, launch.settings);
    const service = new Ros2Service();
    await service.start({ launch, run, control, policy: { name: team().name, dir, files: {} }, runDir: work, log: () => {} });
    return {
      launch,
      link,
      run,
      control,
      service,
      async close() {
        await control.close();
        await service.stop();
        await link.stop();
      },
    };
  }

  async function call(service: string): Promise<TriggerResponseMsg> {
    const client: Client<'std_srvs/srv/Trigger'> = tester.createClient('std_srvs/srv/Trigger', `${NS}/swarmguard/${service}`);
    try {
      expect(await client.waitForService(10_000)).toBe(true);
      return (await client.sendRequestAsync({}, { timeout: 10_000 })) as TriggerResponseMsg;
    } finally {
      tester.destroyClient(client);
    }
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'swarmguard-ros2-'));
    rcl = await acquireRos();
    tester = new rcl.Node('swarmguard_tester', NS);
    ids.forEach((id, i) => {
      posePubs.push(tester.createPublisher('geometry_msgs/msg/PoseStamped', `${robotNs(id)}/pose`));
      tester.createSubscription('geometry_msgs/msg/Twist', `${robotNs(id)}/cmd_vel`, (msg: unknown) => {
        twists[i]!.push(msg as TwistMsg);
      });
    });
    tester.spin();
  }, 60_000);

  afterAll(async () => {
    tester?.destroy();
    await releaseRos();
    rmSync(work, { recursive: true, force: true });
  });

  it('a PoseStamped on a robot’s topic becomes that robot’s pose, stamped with its header', async () => {
    const r = await openRun('poses', false);
    try {
      expect(await r.link.ready(200)).toEqual(ids); // nobody has published yet
      const stamp = await publishPoses(r.link);
      expect(await r.link.ready(200)).toEqual([]);
      const p = r.link.poses()[2]!;
      const a = (2 * Math.PI * 2) / ids.length;
      expect(p.x).toBeCloseTo(1 + 0.5 * Math.cos(a), 9);
      expect(p.y).toBeCloseTo(1 + 0.5 * Math.sin(a), 9);
      expect(Math.cos(p.theta - (a + Math.PI))).toBeCloseTo(1, 9);
      expect(p.stampMs).toBeCloseTo(stamp, 2);
      expect(r.link.swarm.inbox.refused.every((n) => n === 0)).toBe(true);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('a run drives every robot through its own namespaced cmd_vel with the Twist of its wheel commands', async () => {
    const r = await openRun('drive', false);
    try {
      for (let k = 0; k < 5; k++) {
        await publishPoses(r.link);
        const before = twists.map((t) => t.length);
        await r.run.step();
        await until('a Twist on every cmd_vel', () => twists.every((t, i) => t.length > before[i]!));
      }
      const rec = r.run.records.at(-1)!;
      expect(rec.stopped.every((s) => s === null)).toBe(true);
      ids.forEach((_, i) => {
        const want = twistMessage(rec.commands[2 * i]!, rec.commands[2 * i + 1]!, settings.robots[i]!);
        const got = twists[i]!.at(-1)!;
        expect(got.linear.x).toBeCloseTo(want.linear.x, 9);
        expect(got.angular.z).toBeCloseTo(want.angular.z, 9);
      });
      expect(twists.some((t) => Math.abs(t.at(-1)!.linear.x) > 1e-3)).toBe(true);
    } finally {
      await r.close();
    }
  }, 120_000);

  it('with cmdVelType TwistStamped every cmd_vel is a TwistStamped, stamped with the node clock in cmdVelFrameId', async () => {
    const stamped: TwistStampedMsg[][] = ids.map(() => []);
    const subs = ids.map((id, i) =>
      tester.createSubscription('geometry_msgs/msg/TwistStamped', `${robotNs(id)}/cmd_vel_stamped`, (msg: unknown) => {
        stamped[i]!.push(msg as TwistStampedMsg);
      }),
    );
    const r = await openRun('stamped', false, { cmdVel: 'cmd_vel_stamped', cmdVelType: 'geometry_msgs/msg/TwistStamped', cmdVelFrameId: 'base_link' });
    try {
      expect(r.link.swarm.node.getParameter('cmd_vel_type').value).toBe('geometry_msgs/msg/TwistStamped');
      await publishPoses(r.link);
      const before = nowMs();
      await r.run.step();
      await until('a TwistStamped on every cmd_vel', () => stamped.every((t) => t.length > 0));
      const after = nowMs();
      const rec = r.run.records.at(-1)!;
      ids.forEach((_, i) => {
        const got = stamped[i]!.at(-1)!;
        const want = twistMessage(rec.commands[2 * i]!, rec.commands[2 * i + 1]!, settings.robots[i]!);
        expect(got.header.frame_id).toBe('base_link');
        expect(timeToMs(got.header.stamp)).toBeGreaterThanOrEqual(before - 1);
        expect(timeToMs(got.header.stamp)).toBeLessThanOrEqual(after + 1);
        expect(got.twist.linear.x).toBeCloseTo(want.linear.x, 9);
        expect(got.twist.angular.z).toBeCloseTo(want.angular.z, 9);
      });
    } finally {
      await r.close();
      for (const sub of subs) tester.destroySubscription(sub);
    }
  }, 120_000);

  it('~/estop stops every robot (zero Twists) until ~/release', async () => {
    const r = await openRun('estop', false);
    try {
      await publishPoses(r.link);
      await r.run.step();
      const res = await call('estop');
      expect(res.success).toBe(true);
      expect(r.control.state.eStopped).toMatch(/ROS 2 ~\/estop \(ros2\)/);
      await publishPoses(r.link);
      const before = twists.map((t) => t.length);
      await r.run.step();
      await until('a Twist on every cmd_vel', () => twists.every((t, i) => t.length > before[i]!));
      expect(r.run.records.at(-1)!.stopped.every((s) => s === 'e-stop')).toBe(true);
      expect(twists.every((t) => t.at(-1)!.linear.x === 0 && t.at(-1)!.angular.z === 0)).toBe(true);
      expect((await call('release')).success).toBe(true);
      expect(r.control.state.eStopped).toBeNull();
    } finally {
      await r.close();
    }
  }, 120_000);

  it('~/inject is refused outside trial mode, and carries out the inject.* request in a trial; ~/end_injection ends it', async () => {
    const benign = await openRun('no-trial', false);
    try {
      const res = await call('inject');
      expect(res.success).toBe(false);
      expect(res.message).toMatch(/refused outside trial mode/);
      expect(benign.link.swarm.node.hasParameter('inject.robot')).toBe(false);
    } finally {
      await benign.close();
    }
    const trial = await openRun('trial', true);
    try {
      const node = trial.link.swarm.node;
      const set = node.setParameters([
        new rcl.Parameter('inject.robot', STRING, ids[1]),
        new rcl.Parameter('inject.attack', STRING, 'fault:spin'),
        new rcl.Parameter('inject.seconds', DOUBLE, 2.0),
      ]);
      expect(set.every((s: { successful: boolean }) => s.successful)).toBe(true);
      const res = await call('inject');
      expect(res).toMatchObject({ success: true, message: expect.stringContaining(`${ids[1]} compromised by fault:spin`) });
      // ~/end_injection ends it at once; a second call has nothing left to end.
      expect(await call('end_injection')).toMatchObject({ success: true, message: expect.stringContaining(`${ids[1]}'s injections ended`) });
      expect(await call('end_injection')).toMatchObject({ success: false, message: expect.stringContaining(`no injection on ${ids[1]}`) });
    } finally {
      await trial.close();
    }
  }, 120_000);

  it('the ROS 2 node entry (what the ROS 2 launch file runs) honours --ros-args: namespace, node name, parameter overrides', async () => {
    const ns = `${NS}/entry`;
    // Its own cmd_vel topics: this node's Twist subscriptions must not meet its TwistStamped publishers.
    const file = writeLaunch('entry', false, { cmdVel: 'cmd_vel_entry' });
    const args = ['-r', `__ns:=${ns}`, '-r', '__node:=sg', '-p', 'safety.max_pose_age_ms:=250.0', '-p', 'cmd_vel_type:=geometry_msgs/msg/TwistStamped'];
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'src/bin/swarmguard-ros2.js'), file, '--ros-args', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const params = tester.createParameterClient(`${ns}/sg`);
    try {
      expect(await params.waitForService(60_000), output).toBe(true);
      expect((await params.getParameter('safety.max_pose_age_ms')).value).toBe(250);
      expect((await params.getParameter('cmd_vel_type')).value).toBe('geometry_msgs/msg/TwistStamped');
      expect((await params.getParameter('monitor.flag_at')).value).toBe(0.75);
    } finally {
      tester.destroyParameterClient(params);
      child.kill('SIGINT'); // as ros2 launch stops it: the run ends, zero cmd_vel, run folder written
    }
    expect(await exited, output).toBe(0);
  }, 180_000);

  it('parameters: a valid set reaches the safety layer; clear_at above flag_at is refused with its reason', async () => {
    const r = await openRun('params', false);
    try {
      const node = r.link.swarm.node;
      const ok = node.setParameter(new rcl.Parameter('safety.max_pose_age_ms', DOUBLE, 150.0));
      expect(ok.successful).toBe(true);
      expect(r.run.parts.safety.settings.maxPoseAgeMs).toBe(150);
      const bad = node.setParameter(new rcl.Parameter('monitor.clear_at', DOUBLE, 0.95));
      expect(bad.successful).toBe(false);
      expect(bad.reason).toMatch(/monitor.clear_at \(0.95\) must be below monitor.flag_at/);
      expect(r.run.parts.monitor.settings.clearAt).toBe(r.launch.monitor.clearAt);
    } finally {
      await r.close();
    }
  }, 60_000);
});
