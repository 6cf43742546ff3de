// The e-puck2 link: one lock-step channel per robot over Wi-Fi (TCP) or Bluetooth sercom (a serial port),
// wheel odometry from the step counters as the pose source, proximity for the safety layer, per-robot health.
// Poses are stamped with the time their reply arrived, so a robot whose link stalls goes stale and the
// safety layer stops it; the other robots' channels are independent of it. A robot whose step counters
// reset (it rebooted) has no pose until relocate(): the safety layer stops it (no-pose), and the link
// itself writes only stops to it meanwhile, so not even a command queued before the reset was seen moves it.
import { commandToStepsPerSecond } from '../../core/kinematics.js';
import type { RobotParams } from '../../core/robot-params.js';
import { DEFAULT_FAULT_LOG, FaultLog, type FaultLogSettings } from '../../runtime/fault-log.js';
import type { InProcessTwin, RobotLink } from '../../runtime/link.js';
import type { TimedPose } from '../../runtime/safety.js';
import { LockStepChannel, type ChannelSettings, type Connector } from './channel.js';
import { WheelOdometry, type OdometrySettings, type PlanarPose } from './odometry.js';
import type { LockStepProtocol } from './protocol.js';
import type { Epuck2Sensors } from './sensors.js';
import type { Epuck2Health } from './stats.js';

export interface Epuck2Robot {
  id: string;
  params: RobotParams;
  /** Where the robot stands when the link starts: the origin of its odometry (arena frame). */
  start: PlanarPose;
  connector: Connector;
}

export interface Epuck2LinkOptions {
  kind: string;
  protocol: LockStepProtocol;
  robots: readonly Epuck2Robot[];
  channel: ChannelSettings;
  odometry: OdometrySettings;
  log?: (line: string) => void;
  /** How repeated faults are logged (one line as a fault starts, counts while it repeats, one when over). */
  faultLog?: FaultLogSettings;
  /** Clock the link stamps poses and times faults with, ms (default performance.now). */
  now?: () => number;
}

export class Epuck2Link implements RobotLink {
  readonly kind: string;
  readonly ids: readonly string[];
  private readonly channels: LockStepChannel[];
  private readonly odometry: WheelOdometry[];
  private readonly stamps: number[];
  private readonly sensors: (Epuck2Sensors | null)[];
  private readonly params: RobotParams[];
  private readonly addresses: string[];
  private readonly faults: FaultLog;
  private readonly log: (line: string) => void;
  private readonly clock: () => number;
  /** Extra work to release on stop (an in-process twin). */
  private readonly onStop: (() => Promise<void>)[] = [];

  constructor(o: Epuck2LinkOptions) {
    this.kind = o.kind;
    this.ids = o.robots.map((r) => r.id);
    this.params = o.robots.map((r) => r.params);
    this.addresses = o.robots.map((r) => r.connector.describe);
    this.odometry = o.robots.map((r) => new WheelOdometry(r.params, r.start, o.odometry));
    this.stamps = o.robots.map(() => Number.NaN);
    this.sensors = o.robots.map(() => null);
    this.clock = o.now ?? (() => performance.now());
    this.log = o.log ?? ((line: string) => console.warn(line));
    this.faults = new FaultLog(this.log, o.faultLog ?? DEFAULT_FAULT_LOG, this.clock);
    this.channels = o.robots.map((r, i) => {
      const odometry = this.odometry[i]!;
      const channel: LockStepChannel = new LockStepChannel(r.id, o.protocol, r.connector, o.channel, {
        onReply: (s, at) => {
          this.sensors[i] = s;
          this.stamps[i] = at;
        },
        check: (s, at) => {
          const u = odometry.update(s.leftSteps, s.rightSteps, at);
          if (!u.ok) return { reason: 'implausible-steps', detail: u.detail };
          if (u.rebased) this.faults.fault(channel.source, 'odometry rebased', `${u.rebased}: taken as the new reference, not as motion; pose unknown, robot held stopped until relocated`);
          return null;
        },
        // Until its counters are checked (after a reconnect) and while its pose is unknown, the robot gets stops only.
        outgoing: (a) => {
          const out = odometry.holdStill ? { ...a, left: 0, right: 0 } : a;
          odometry.commanded(out.left, out.right);
          return out;
        },
        reconnected: () => odometry.reconnected(),
        faults: this.faults,
        now: this.clock,
      });
      return channel;
    });
  }

  now(): number {
    return this.clock();
  }

  poses(): (TimedPose | null)[] {
    return this.odometry.map((o, i) => {
      const p = o.pose;
      return p && Number.isFinite(this.stamps[i]) ? { ...p, stampMs: this.stamps[i]! } : null;
    });
  }

  send(i: number, left: number, right: number): void {
    const p = this.params[i];
    if (!p) throw new RangeError(`${this.kind}: no robot ${i} (swarm of ${this.ids.length})`);
    if (!Number.isFinite(left) || !Number.isFinite(right)) throw new RangeError(`${this.kind}: non-finite command (${left}, ${right}) for robot '${this.ids[i]}'`);
    this.channels[i]!.request({ left: commandToStepsPerSecond(left, p), right: commandToStepsPerSecond(right, p) });
  }

  /** Robot i's latest IR proximity readings ps0..ps7 (raw, higher = closer), null before its first reply. */
  proximity(i: number): readonly number[] | null {
    return this.sensors[i]?.proximity ?? null;
  }

  /** Robot i's latest full sensor block. */
  sensorsOf(i: number): Epuck2Sensors | null {
    return this.sensors[i] ?? null;
  }

  health(): Epuck2Health[] {
    return this.channels.map((c, i) => ({ ...c.health(), rebases: this.odometry[i]!.rebases }));
  }

  /** Round-trip times of every robot's recent exchanges, pooled, ms. */
  latencySamples(): number[] {
    return this.channels.flatMap((c) => c.latencySamples());
  }

  /** Rebases counted per robot (step counters taken as a new reference: a reset, or a gap too long to unwrap). */
  odometryRebases(): number[] {
    return this.odometry.map((o) => o.rebases);
  }

  /**
   * Robot i's pose is known again (an operator placed it, a tracker saw it): odometry continues from `pose`
   * and the robot may be driven again. Until then, after a counter reset, poses() has null for it.
   */
  relocate(i: number, pose: PlanarPose): void {
    const o = this.odometry[i];
    if (!o) throw new RangeError(`${this.kind}: no robot ${i} (swarm of ${this.ids.length})`);
    o.relocate(pose);
    this.log(`${this.channels[i]!.source}: pose known again: relocated to (${pose.x.toFixed(3)}, ${pose.y.toFixed(3)}, ${pose.theta.toFixed(3)})`);
  }

  /** True poses, when the robots are an in-process protocol twin's (pictures only, never controllers). */
  truePoses?: () => { x: number; y: number; theta: number }[];

  /** The in-process protocol twin serving this link's robots: its true poses are known, and it stops with the link. */
  attachTwin(twin: InProcessTwin): void {
    if (twin.truePoses) this.truePoses = () => twin.truePoses!();
    this.onStop.push(() => twin.stop());
  }

  start(): void {
    for (const c of this.channels) c.start();
  }

  async ready(timeoutMs: number): Promise<string[]> {
    const until = performance.now() + timeoutMs;
    const silent = () => this.ids.filter((_, i) => !Number.isFinite(this.stamps[i]));
    while (silent().length > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    return silent();
  }

  /** Robot i's host:port (Wi-Fi) or serial device (Bluetooth). */
  address(i: number): string {
    return this.addresses[i] ?? '?';
  }

  async stop(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.stop()));
    this.faults.close();
    for (const fn of this.onStop.splice(0)) await fn();
  }
}
