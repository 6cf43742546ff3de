// The ROS 2 link's benchmark, one entry of `npm run bench:links` (LINK_BENCHES in sim/bench/links.ts), or on
// its own: `node --import tsx sim/bench/ros2-link.ts`. Needs a sourced ROS 2 and a built rclnodejs; prints
// why it is skipped otherwise. 10 robots on one swarmguard node, a tester node in the same process playing
// tracker and drivers (so one clock measures both ends; DDS still carries every message):
//   1. round trip: the tester publishes a robot's PoseStamped; as soon as the link accepts it, a command is
//      sent; the time until the tester receives that robot's Twist. Lock-step per robot, for
//      BENCH_SECONDS (default 10) s, p50 / p99 / max over every robot's exchanges;
//   2. the highest rate the link sustains: every robot's pose published and answered at each rate for
//      BENCH_RATE_SECONDS (default 3) s; sustained when every pose arrived and every Twist came back
//      (rclnodejs 1.8.1 was reported delivering a 10 Hz topic at ~1.7 Hz: this is the check).
import { pathToFileURL } from 'node:url';
import type { Node, Publisher } from 'rclnodejs';
import { resolveSwarmConfig } from '../../src/core/swarm-config.js';
import { Ros2LinkSchema } from '../../src/links/ros2/config.js';
import { Ros2Link } from '../../src/links/ros2/link.js';
import { acquireRos, releaseRos, ros2Availability, systemProbe } from '../../src/links/ros2/loader.js';
import { msToTime, quaternionFromYaw } from '../../src/links/ros2/messages.js';
import { namespaceForId } from '../../src/links/ros2/names.js';
import { ControlScheduler } from '../../src/runtime/scheduler.js';
import { formatResult, lockstepLatency, RATE_SECONDS, rateLadder, ROBOTS, type LinkBench, type LinkBenchResult } from './link-bench.js';

interface Rig {
  link: Ros2Link;
  tester: Node;
  posePubs: Publisher<'geometry_msgs/msg/PoseStamped'>[];
  twists: number[];
  /** When each robot's last pose was published, ms (performance clock), or null once answered. */
  pending: (number | null)[];
  samples: number[];
  stop(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const settings = resolveSwarmConfig({ robots: ROBOTS, noise: 'off' });
  const ns = `/sg_bench_${process.pid}`;
  const robotNs = (id: string) => `${ns}${namespaceForId(id)}`;
  const options = Ros2LinkSchema.parse({ kind: 'ros2', namespace: ns, robots: Object.fromEntries(settings.robotIds.map((id) => [id, { namespace: robotNs(id) }])) });
  const link = await Ros2Link.open(options, settings.robotIds, settings.robots, (l) => console.log(l));
  const rcl = await acquireRos();
  const tester = new rcl.Node('swarmguard_bench_tester', ns);
  const r: Rig = {
    link,
    tester,
    posePubs: [],
    twists: new Array<number>(ROBOTS).fill(0),
    pending: new Array<number | null>(ROBOTS).fill(null),
    samples: [],
    async stop() {
      tester.destroy();
      await releaseRos();
      await link.stop();
    },
  };
  settings.robotIds.forEach((id, i) => {
    r.posePubs.push(tester.createPublisher('geometry_msgs/msg/PoseStamped', `${robotNs(id)}/pose`));
    tester.createSubscription('geometry_msgs/msg/Twist', `${robotNs(id)}/cmd_vel`, () => {
      r.twists[i]!++;
      const t0 = r.pending[i];
      if (t0 !== null && t0 !== undefined) {
        r.samples.push(performance.now() - t0);
        r.pending[i] = null;
      }
    });
  });
  tester.spin();
  // The controller's side: answer every accepted pose with a command at once.
  link.swarm.inbox.onPose = (i) => link.send(i, 0.2, 0.2);
  // Wait until both ends have matched (a pose goes through and is answered).
  const end = Date.now() + 15_000;
  while (r.twists.some((n) => n === 0)) {
    if (Date.now() > end) throw new Error('ros2 bench: the link and the tester never matched (DDS discovery?)');
    publishAll(r);
    await new Promise((res) => setTimeout(res, 100));
  }
  r.samples.length = 0;
  return r;
}

function publishPose(r: Rig, i: number): void {
  const stamp = Number(r.tester.getClock().now().nanoseconds) / 1e6;
  r.pending[i] = performance.now();
  r.posePubs[i]!.publish({ header: { stamp: msToTime(stamp), frame_id: 'arena' }, pose: { position: { x: 0.2 + 0.16 * i, y: 1, z: 0 }, orientation: quaternionFromYaw(1.57) } });
}

function publishAll(r: Rig): void {
  for (let i = 0; i < ROBOTS; i++) publishPose(r, i);
}

async function drive(r: Rig, hz: number, seconds: number): Promise<{ ticks: number; sustained: boolean; why: string }> {
  const posesBefore = r.link.swarm.inbox.received.reduce((a, b) => a + b, 0);
  const twistsBefore = r.twists.reduce((a, b) => a + b, 0);
  const total = Math.round(hz * seconds);
  let ticks = 0;
  const scheduler = new ControlScheduler(1000 / hz, () => {
    if (ticks >= total) return;
    publishAll(r);
    ticks++;
  });
  scheduler.start();
  while (ticks < total) await new Promise((res) => setTimeout(res, 20));
  await scheduler.stop();
  await new Promise((res) => setTimeout(res, 300));
  const poses = r.link.swarm.inbox.received.reduce((a, b) => a + b, 0) - posesBefore;
  const twists = r.twists.reduce((a, b) => a + b, 0) - twistsBefore;
  const want = ticks * ROBOTS;
  const skipped = scheduler.stats.skippedTicks;
  const sustained = poses === want && twists === want && skipped === 0;
  return { ticks, sustained, why: sustained ? 'every pose delivered and answered' : `${poses}/${want} poses delivered, ${twists}/${want} Twists back, ${skipped} ticks skipped` };
}

async function run(): Promise<LinkBenchResult> {
  const name = 'ros2 (rclnodejs, one node, loopback DDS)';
  let r = await rig();
  let latencyMs: LinkBenchResult['latencyMs'];
  try {
    latencyMs = await lockstepLatency(r, publishPose);
  } finally {
    await r.stop();
  }
  r = await rig();
  try {
    return { link: name, latencyMs, ...(await rateLadder((hz) => drive(r, hz, RATE_SECONDS))) };
  } finally {
    await r.stop();
  }
}

/** The entry for LINK_BENCHES. */
export const ROS2_LINK_BENCH: LinkBench = {
  name: 'ros2 (rclnodejs, one node, loopback DDS)',
  unavailable(): string | null {
    const a = ros2Availability(systemProbe());
    return a.ok ? null : `ROS 2 not sourced or rclnodejs not built: ${a.missing.join('; ')}`;
  },
  run,
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const why = ROS2_LINK_BENCH.unavailable();
  if (why) {
    console.log(`${ROS2_LINK_BENCH.name}: skipped (${why})`);
  } else {
    const res = await run();
    console.log(`${res.link}: ${ROBOTS} robots`);
    for (const line of formatResult(res, 'pose -> cmd_vel round trip')) console.log(line);
  }
}
