// The MQTT link: every robot's pose from `.../robot/<id>/pose` (stamped with its receive time on this link's
// clock: sender clocks are not trusted to be synchronised), proximity from `.../proximity` if the robot
// publishes it, wheel commands out on `.../cmd`. The link's bus client is the controller's participant (its
// retained status and last will); the telemetry service publishes on it too. With the embedded broker the
// link starts it first and stops it last; with `twin: true` the bus twin serves the robots in this process.
import { clampCommand } from '../../core/kinematics.js';
import type { InProcessTwin, LinkHealth, RobotLink } from '../../runtime/link.js';
import type { TimedPose } from '../../runtime/safety.js';
import { LatencyWindow } from '../epuck2/stats.js';
import { DEFAULT_FAULT_LOG, FaultLog } from '../../runtime/fault-log.js';
import { EmbeddedBroker } from './broker.js';
import { BusClient, emptyRefusals } from './client.js';
import type { RefusalReason } from './schemas.js';
import type { ResolvedBus } from './config.js';
import type { PoseMsg } from './schemas.js';
import { SwarmTopics, type QosTable } from './topics.js';

/** Pose refusals the link adds to the schema's (REFUSAL_REASONS). */
export const POSE_ORDER_REFUSAL = 'out-of-order';
/** Commands remembered per robot to match the echo in its poses (latency). */
const SENT_RING = 256;
/** This many out-of-order poses in a row: the sender's clock went back (a restarted bridge); its poses are taken again. */
export const CLOCK_REBASE_AFTER = 5;

interface RobotState {
  pose: TimedPose | null;
  /** Sender clock of the last accepted pose (out-of-order check), and out-of-order poses in a row since. */
  lastT: number;
  backwards: number;
  /** Its source in the fault log (`mqtt <id>`). */
  source: string;
  proximity: readonly number[] | null;
  received: number;
  rejected: Record<RefusalReason | typeof POSE_ORDER_REFUSAL, number>;
  online: boolean | null;
  latency: LatencyWindow;
  seq: number;
  sentAt: Float64Array;
  lastEcho: number;
  reconnects: number;
}

interface MqttLinkParts {
  swarm: string;
  ids: readonly string[];
  bus: BusClient;
  qos: QosTable;
  broker: EmbeddedBroker | null;
  log: (line: string) => void;
}

/**
 * The controller's participant on the bus (its retained status and last will), after starting the embedded
 * broker if the bus is the embedded one (closed again if the connection fails). The link's and, for other
 * links, the telemetry service's.
 */
export async function connectController(o: { swarm: string; bus: ResolvedBus; who: string; statusExtra: Record<string, unknown>; log: (line: string) => void }): Promise<{ bus: BusClient; broker: EmbeddedBroker | null }> {
  const broker = o.bus.embedded ? await EmbeddedBroker.start({ ...o.bus.embedded, log: o.log }) : null;
  try {
    const bus = await BusClient.connect({
      url: broker ? broker.url : o.bus.url!,
      who: o.who,
      clientId: `swarmguard-controller-${o.swarm}-${process.pid}`,
      username: o.bus.username,
      password: o.bus.password,
      status: { topic: new SwarmTopics(o.swarm).status('controller'), extra: o.statusExtra },
      connectTimeoutMs: o.bus.connectTimeoutMs,
      log: o.log,
    });
    return { bus, broker };
  } catch (err) {
    await broker?.close();
    throw err;
  }
}

/** How the embedded broker of `bus` checks logins, for the start line. */
export function embeddedLogins(bus: ResolvedBus): string {
  const e = bus.embedded;
  if (e?.passwordFile) return e.aclFile ? 'logins and ACL checked' : 'logins checked';
  if (e?.logins) return `only this run's generated logins: ${e.logins.users.join(', ')}`;
  return 'ANONYMOUS clients accepted: allowAnonymous';
}

export class MqttLink implements RobotLink {
  readonly kind = 'mqtt';
  readonly ids: readonly string[];
  readonly topics: SwarmTopics;
  readonly bus: BusClient;
  readonly qos: QosTable;
  readonly broker: EmbeddedBroker | null;
  /** Poses for ids that are not in the swarm (logged once per id). */
  readonly unknownRobots = new Map<string, number>();
  /** Told after robot i's pose was accepted (the link benchmark answers it at once). */
  onPose: ((i: number) => void) | null = null;
  private readonly robots: RobotState[];
  private readonly index: Map<string, number>;
  private readonly log: (line: string) => void;
  /** Faults per robot: a line when one starts, a count while it repeats, a line once it is over. */
  private readonly faults: FaultLog;
  private attached: InProcessTwin | null = null;

  private constructor(p: MqttLinkParts) {
    this.ids = p.ids;
    this.topics = new SwarmTopics(p.swarm);
    this.bus = p.bus;
    this.qos = p.qos;
    this.broker = p.broker;
    this.log = p.log;
    this.faults = new FaultLog(p.log, DEFAULT_FAULT_LOG, () => this.now());
    this.index = new Map(p.ids.map((id, i) => [id, i]));
    this.robots = p.ids.map((id) => ({
      pose: null,
      lastT: Number.NEGATIVE_INFINITY,
      backwards: 0,
      source: `mqtt ${id}`,
      proximity: null,
      received: 0,
      rejected: { ...emptyRefusals(), [POSE_ORDER_REFUSAL]: 0 },
      online: null,
      latency: new LatencyWindow(),
      seq: 0,
      sentAt: new Float64Array(SENT_RING).fill(Number.NaN),
      lastEcho: -1,
      reconnects: 0,
    }));
    this.bus.onRefused = (topic, kind, reason) => {
      if (kind !== 'pose' && kind !== 'proximity') return;
      const r = this.robotOf(topic);
      if (r) r.rejected[reason]++;
    };
  }

  /** Starts the embedded broker if asked for, connects as the controller and subscribes to the robots' topics. */
  static async open(o: { swarm: string; ids: readonly string[]; bus: ResolvedBus; log: (line: string) => void }): Promise<MqttLink> {
    // Every id must be a topic level: checked before anything starts.
    const topics = new SwarmTopics(o.swarm);
    o.ids.forEach((id) => topics.robot(id, 'pose'));
    const { bus, broker } = await connectController({ swarm: o.swarm, bus: o.bus, who: 'mqtt controller', statusExtra: { robots: o.ids }, log: o.log });
    const link = new MqttLink({ swarm: o.swarm, ids: o.ids, bus, qos: o.bus.qos, broker, log: o.log });
    try {
      await link.subscribe();
    } catch (err) {
      await link.stop();
      throw err;
    }
    if (broker) o.log(`mqtt: embedded broker on ${broker.url} (${embeddedLogins(o.bus)})`);
    return link;
  }

  private async subscribe(): Promise<void> {
    const T = this.topics;
    await this.bus.subscribe(T.everyRobot('pose'), 'pose', this.qos.pose, (topic, msg) => this.onPoseMsg(topic, msg));
    await this.bus.subscribe(T.everyRobot('proximity'), 'proximity', this.qos.proximity, (topic, msg) => {
      const r = this.robotOf(topic);
      if (r) r.proximity = msg.ps;
    });
    await this.bus.subscribe(`${T.prefix}/status/robot/+`, 'status', this.qos.status, (topic, msg) => {
      const r = this.robotOf(topic);
      if (!r) return;
      if (msg.state === 'online' && r.online === false) {
        r.reconnects++;
        // A restarted robot or bridge may start its clock again.
        r.lastT = Number.NEGATIVE_INFINITY;
      }
      r.online = msg.state === 'online';
    });
  }

  /** The twin (or anything else) this link stops first. */
  attach(a: InProcessTwin): void {
    this.attached = a;
    if (a.truePoses) this.truePoses = () => a.truePoses!();
  }

  /** The index of the swarm robot a per-robot or robot status topic is about; null (logged once per id) if none. */
  private indexOf(topic: string): number | null {
    // Every pose comes through here: a status topic is parsed only when the topic is not a per-robot one.
    const robot = this.topics.parseRobot(topic);
    const role = robot ? null : this.topics.parseStatus(topic);
    const id = robot ? robot.id : role?.startsWith('robot/') ? role.slice('robot/'.length) : null;
    if (id === null) return null;
    const i = this.index.get(id);
    if (i === undefined) {
      const n = (this.unknownRobots.get(id) ?? 0) + 1;
      this.unknownRobots.set(id, n);
      if (n === 1) this.log(`mqtt: ignoring ${topic}: '${id}' is not a robot of this swarm (${this.ids.join(', ')})`);
      return null;
    }
    return i;
  }

  private robotOf(topic: string): RobotState | null {
    const i = this.indexOf(topic);
    return i === null ? null : this.robots[i]!;
  }

  private onPoseMsg(topic: string, msg: PoseMsg): void {
    const i = this.indexOf(topic);
    if (i === null) return;
    const r = this.robots[i]!;
    if (msg.t <= r.lastT) {
      r.backwards++;
      if (r.backwards < CLOCK_REBASE_AFTER) {
        r.rejected[POSE_ORDER_REFUSAL]++;
        this.faults.fault(r.source, POSE_ORDER_REFUSAL, `refused a pose stamped t = ${msg.t}, not after the last one (${r.lastT})`);
        return;
      }
      this.log(`mqtt ${this.ids[i]}: ${CLOCK_REBASE_AFTER} poses in a row from before its last one: its clock went back (restarted?); taking its poses again`);
    }
    r.backwards = 0;
    this.faults.settle(r.source);
    const now = this.now();
    r.lastT = msg.t;
    r.pose = { x: msg.x, y: msg.y, theta: msg.theta, stampMs: now };
    r.received++;
    // A pose echoing the tick of a command measures the round trip command -> robot -> pose.
    if (msg.tick !== undefined && msg.tick > r.lastEcho && msg.tick < r.seq && r.seq - msg.tick <= SENT_RING) {
      const sent = r.sentAt[msg.tick % SENT_RING]!;
      if (Number.isFinite(sent)) r.latency.add(now - sent);
      r.lastEcho = msg.tick;
    }
    this.onPose?.(i);
  }

  poses(): (TimedPose | null)[] {
    return this.robots.map((r) => (r.pose ? { ...r.pose } : null));
  }

  proximity(i: number): readonly number[] | null {
    return this.robots[i]!.proximity;
  }

  /** Ground truth when the bus twin runs in this process (pictures only). */
  truePoses?: () => { x: number; y: number; theta: number }[];

  send(i: number, left: number, right: number): void {
    const r = this.robots[i]!;
    const tick = r.seq++;
    r.sentAt[tick % SENT_RING] = this.now();
    this.bus.publish(this.topics.robot(this.ids[i]!, 'cmd'), { t: Date.now(), tick, left: clampCommand(left), right: clampCommand(right) }, this.qos.cmd);
  }

  now(): number {
    return performance.now();
  }

  health(): LinkHealth[] {
    return this.robots.map((r, i) => {
      const lat = r.latency;
      return {
        id: this.ids[i]!,
        connected: this.bus.mqtt.connected && (r.online ?? r.received > 0),
        exchanges: r.received,
        latencyMs: { p50: lat.quantile(0.5), p99: lat.quantile(0.99), max: lat.max },
        rejected: { ...r.rejected },
        timeouts: 0,
        reconnects: r.reconnects,
        coalesced: 0,
      };
    });
  }

  /** Round trips (command -> echoing pose) of every robot, pooled (the link benchmark). */
  latencySamples(): number[] {
    return this.robots.flatMap((r) => r.latency.samples());
  }

  async ready(timeoutMs: number): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const silent = this.ids.filter((_, i) => this.robots[i]!.received === 0);
      if (silent.length === 0 || Date.now() >= end) return silent;
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Robot i's pose topic (where its pose is expected). */
  address(i: number): string {
    return this.topics.robot(this.ids[i]!, 'pose');
  }

  /** Subscribed from open() on: poses arrive before the first tick. */
  start(): void {}

  async stop(): Promise<void> {
    const a = this.attached;
    this.attached = null;
    await a?.stop();
    this.faults.close();
    await this.bus.close();
    await this.broker?.close();
  }
}
