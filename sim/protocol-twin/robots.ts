// What the protocol twin's robots do with a request and what they answer, whatever the wire: the live twin
// executes wheel commands given in steps/s, the step counters are the twin's own wheel rotation, proximity
// and ToF come from its geometry (ir-model.ts), the rest are plausible constants. Faults to test clients
// with are set per robot here and applied by the servers; reboot() restarts a robot as a power cycle does.
import { stepsPerSecondToCommand } from '../../src/core/kinematics.js';
import { toInt16, type Epuck2Sensors } from '../../src/links/epuck2/sensors.js';
import { LiveTwin } from '../live.js';
import { DEFAULT_IR, proximityReadings, tofMillimetres, type IrModel } from './ir-model.js';

/** A reply fault applied to the robot's next replies: cut short, padded, step counters corrupted, wrong header. */
export const REPLY_FAULTS = ['short', 'long', 'corrupt', 'bad-header'] as const;
export type ReplyFault = (typeof REPLY_FAULTS)[number];

export interface TwinRobotStats {
  /** Requests answered (faulty replies included). */
  replies: number;
  /** Requests read while silent (not answered, not executed). */
  ignored: number;
  /** Bytes the robot could not parse as a request. */
  badRequests: number;
  /** Connections accepted. */
  connections: number;
}

export class TwinRobots {
  private readonly faults: ReplyFault[][];
  private readonly silent: boolean[];
  private readonly radius: Float64Array;
  /** Per wheel (robot k's at 2k, 2k+1): the wheel steps at the robot's last boot, which its counters start from. */
  private readonly bootSteps: Float64Array;
  /** Per robot: twin ticks left until a rebooting robot is up again (0: up). */
  private readonly booting: number[];
  readonly stats: TwinRobotStats[];

  constructor(
    readonly twin: LiveTwin,
    private readonly selector: number,
    private readonly ir: IrModel = DEFAULT_IR,
  ) {
    const n = twin.robotIds.length;
    this.faults = Array.from({ length: n }, () => []);
    this.silent = new Array<boolean>(n).fill(false);
    this.radius = Float64Array.from(twin.world.settings.robots, (r) => r.bodyRadius);
    this.stats = Array.from({ length: n }, () => ({ replies: 0, ignored: 0, badRequests: 0, connections: 0 }));
    this.bootSteps = new Float64Array(2 * n);
    this.booting = new Array<number>(n).fill(0);
    twin.on('tick', () => {
      for (let k = 0; k < n; k++) {
        if (this.booting[k] === 0) continue;
        this.booting[k]!--;
        this.zeroCounters(k);
      }
    });
  }

  get count(): number {
    return this.twin.robotIds.length;
  }

  /** The next `count` replies of robot k carry this fault. */
  injectFault(k: number, fault: ReplyFault, count = 1): void {
    for (let i = 0; i < count; i++) this.faults[this.check(k)]!.push(fault);
  }

  /** Robot k stops answering (its radio is gone: requests are neither executed nor answered) or comes back. */
  setSilent(k: number, silent: boolean): void {
    this.silent[this.check(k)] = silent;
  }

  isSilent(k: number): boolean {
    return this.silent[k]! || this.booting[k]! > 0;
  }

  /**
   * Robot k reboots: its motors stop, it answers nothing for `bootTicks` twin ticks, and its step counters
   * read 0 when it is up again (whatever its wheels still did while it booted: commands already on their
   * way through the twin's latency).
   */
  reboot(k: number, bootTicks = 5): void {
    if (!(Number.isInteger(bootTicks) && bootTicks >= 1)) throw new RangeError(`protocol twin: reboot takes at least one tick to boot, got ${bootTicks}`);
    this.setSpeeds(this.check(k), 0, 0);
    this.booting[k] = bootTicks;
    this.zeroCounters(k);
  }

  private zeroCounters(k: number): void {
    this.bootSteps[2 * k] = this.twin.world.wheelSteps[2 * k]!;
    this.bootSteps[2 * k + 1] = this.twin.world.wheelSteps[2 * k + 1]!;
  }

  /** Takes robot k's next reply fault, if any. */
  takeFault(k: number): ReplyFault | null {
    return this.faults[k]!.shift() ?? null;
  }

  /** Robot k executes wheel speeds in steps/s from the next tick on (the firmware clamps them). */
  setSpeeds(k: number, left: number, right: number): void {
    const p = this.twin.world.settings.robots[k]!;
    this.twin.submitCommand(this.twin.robotIds[k]!, stepsPerSecondToCommand(left, p), stepsPerSecondToCommand(right, p));
  }

  sensors(k: number): Epuck2Sensors {
    const w = this.twin.world;
    const arena = { width: w.settings.arenaWidth, height: w.settings.arenaHeight };
    return {
      acc: [0, 0, 2048],
      gyro: [0, 0, 0],
      proximity: proximityReadings(w.truth, k, this.count, this.radius, arena, this.ir),
      ambient: new Array<number>(8).fill(3700),
      tofMm: tofMillimetres(w.truth, k, this.count, this.radius, arena),
      leftSteps: toInt16(w.wheelSteps[2 * k]! - this.bootSteps[2 * k]!),
      rightSteps: toInt16(w.wheelSteps[2 * k + 1]! - this.bootSteps[2 * k + 1]!),
      batteryRaw: 3500,
      selector: this.selector,
      ground: [600, 600, 600],
      button: 0,
    };
  }

  /** A reply with robot k's pending fault applied: `good` is the reply as the protocol has it. */
  faulty(k: number, good: Buffer, corrupt: () => Buffer, header: number | null): Buffer {
    const fault = this.takeFault(k);
    if (fault === 'short') return good.subarray(0, Math.floor(good.length / 2));
    if (fault === 'long') return Buffer.concat([good, Buffer.alloc(7, 0x55)]);
    if (fault === 'corrupt') return corrupt();
    if (fault === 'bad-header') {
      const b = Buffer.from(good);
      // A protocol without a header byte gets its first byte changed instead.
      b[0] = header === null ? b[0]! ^ 0xff : 0x01;
      return b;
    }
    return good;
  }

  private check(k: number): number {
    if (!(Number.isInteger(k) && k >= 0 && k < this.count)) throw new RangeError(`protocol twin: no robot ${k} (swarm of ${this.count})`);
    return k;
  }
}

/** The sensor block with both step counters moved by half their range: a jump no wheel can make. */
export function corruptSteps(s: Epuck2Sensors): Epuck2Sensors {
  return { ...s, leftSteps: toInt16(s.leftSteps + 20000), rightSteps: toInt16(s.rightSteps - 20000) };
}
