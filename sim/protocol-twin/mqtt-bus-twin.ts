// The bus twin: the live twin (sim/live.ts, its physics and noise model) behind the MQTT contract, as a robot
// bridge would be. Each simulated robot is its own participant (own connection, retained status, last will):
// it publishes its tracked pose at the control rate (with the tick of the last command it got, so the link
// can measure round trips) and its IR proximity (sim/protocol-twin/ir-model.ts), and obeys `.../cmd`. A
// robot whose commands stop for `commandTimeoutMs` stops, as a real bridge's watchdog should (an e-puck2
// itself keeps its last command forever).
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import { LiveTwin } from '../live.js';
import { proximityReadings } from './ir-model.js';
import { BusClient } from '../../src/links/mqtt/client.js';
import { SwarmTopics, type QosTable } from '../../src/links/mqtt/topics.js';

export interface BusTwinOptions {
  url: string;
  swarm: string;
  settings: SwarmSettings;
  seed: number;
  commandTimeoutMs: number;
  qos: QosTable;
  username?: string;
  password?: string;
  /** Keep trying to reach the broker this long (twin-serve may start before `swarmguard run`), ms. */
  connectTimeoutMs?: number;
  waitForBroker?: boolean;
  log: (line: string) => void;
}

export interface BusTwinRobotStats {
  /** Commands received (valid ones; refused ones are counted by each robot's client). */
  commands: number;
  /** Of those, commands that turn a wheel. */
  driving: number;
  /** Times the watchdog stopped the robot for want of commands. */
  watchdogStops: number;
}

/** Wall-clock ms with sub-ms resolution, strictly increasing within a process (pose `t`). */
const wallMs = () => performance.timeOrigin + performance.now();

export class BusTwin {
  readonly live: LiveTwin;
  readonly topics: SwarmTopics;
  readonly stats: BusTwinRobotStats[];
  private readonly clients: BusClient[] = [];
  private readonly silent: boolean[];
  private readonly lastCmdAt: number[];
  private readonly lastTick: (number | null)[];
  private readonly moving: boolean[];
  private readonly radius: Float64Array;

  private constructor(private readonly o: BusTwinOptions) {
    this.live = new LiveTwin(o.settings, { seed: o.seed });
    this.topics = new SwarmTopics(o.swarm);
    const n = this.live.robotIds.length;
    this.stats = Array.from({ length: n }, () => ({ commands: 0, driving: 0, watchdogStops: 0 }));
    this.silent = new Array<boolean>(n).fill(false);
    this.lastCmdAt = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
    this.lastTick = new Array<number | null>(n).fill(null);
    this.moving = new Array<boolean>(n).fill(false);
    this.radius = Float64Array.from(o.settings.robots, (r) => r.bodyRadius);
  }

  static async start(o: BusTwinOptions): Promise<BusTwin> {
    const t = new BusTwin(o);
    try {
      for (const [k, id] of t.live.robotIds.entries()) {
        const client = await BusClient.connect({
          url: o.url,
          who: `bus twin ${id}`,
          clientId: `swarmguard-twin-${o.swarm}-${id}-${process.pid}`,
          username: o.username,
          password: o.password,
          status: { topic: t.topics.status(`robot/${id}`), extra: { id, twin: true } },
          connectTimeoutMs: o.connectTimeoutMs,
          waitForBroker: o.waitForBroker,
          log: o.log,
        });
        t.clients.push(client);
        await client.subscribe(t.topics.robot(id, 'cmd'), 'cmd', o.qos.cmd, (_topic, msg) => {
          t.live.submitCommand(id, msg.left, msg.right);
          t.lastCmdAt[k] = performance.now();
          t.lastTick[k] = msg.tick;
          t.moving[k] = msg.left !== 0 || msg.right !== 0;
          t.stats[k]!.commands++;
          if (t.moving[k]) t.stats[k]!.driving++;
        });
      }
    } catch (err) {
      await t.stop();
      throw err;
    }
    t.live.on('tick', () => t.onTick());
    t.live.start();
    return t;
  }

  get ids(): readonly string[] {
    return this.live.robotIds;
  }

  /** Robot k stops publishing (its bridge hangs; its connection stays up) until setSilent(k, false). */
  setSilent(k: number, silent: boolean): void {
    this.silent[k] = silent;
  }

  truePoses(): { x: number; y: number; theta: number }[] {
    return this.live.getTruePoses().map((p) => ({ x: p.x, y: p.y, theta: p.heading }));
  }

  private onTick(): void {
    const now = performance.now();
    const w = this.live.world;
    const arena = { width: w.settings.arenaWidth, height: w.settings.arenaHeight };
    const poses = this.live.getPoses();
    for (const [k, id] of this.ids.entries()) {
      if (this.moving[k] && now - this.lastCmdAt[k]! > this.o.commandTimeoutMs) {
        this.live.submitCommand(id, 0, 0);
        this.moving[k] = false;
        this.stats[k]!.watchdogStops++;
      }
      if (this.silent[k]) continue;
      const p = poses[k]!;
      const c = this.clients[k]!;
      const tick = this.lastTick[k];
      c.publish(this.topics.robot(id, 'pose'), { t: wallMs(), x: p.x, y: p.y, theta: p.heading, ...(tick === null ? {} : { tick }) }, this.o.qos.pose);
      c.publish(this.topics.robot(id, 'proximity'), { t: wallMs(), ps: proximityReadings(w.truth, k, this.ids.length, this.radius, arena) }, this.o.qos.proximity);
    }
  }

  async stop(): Promise<void> {
    this.live.stop();
    this.live.removeAllListeners('tick');
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
  }
}
