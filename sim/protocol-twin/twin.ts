// The protocol twin: the live twin paced at its control period behind the real robots' wire protocols, so
// the real client code runs unchanged against simulated robots (tests, benchmarks, hardware-free demos).
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import { LiveTwin } from '../live.js';
import type { Pose } from '../world.js';
import { TwinRobots } from './robots.js';
import { SercomTwinServer } from './sercom-server.js';
import { WifiTwinServer } from './wifi-server.js';

/** Selector positions (docs/epuck2.md): 15 Wi-Fi, 3 Bluetooth sercom. */
const SELECTOR = { wifi: 15, sercom: 3 } as const;

export type TwinProtocol = 'wifi' | 'sercom';

export interface ProtocolTwinOptions {
  protocol: TwinProtocol;
  seed: number;
  startPoses: readonly Pose[];
  /** wifi: a port per robot (0: any free port); sercom: the device path per robot the client opens. */
  endpoints: readonly (number | string)[];
}

export class ProtocolTwin {
  readonly live: LiveTwin;
  readonly robots: TwinRobots;
  readonly wifi: WifiTwinServer | null;
  readonly sercom: SercomTwinServer | null;
  private bound: (number | string)[] = [];

  private constructor(settings: SwarmSettings, readonly options: ProtocolTwinOptions) {
    if (options.startPoses.length !== settings.robotIds.length) throw new RangeError(`${options.startPoses.length} start poses for ${settings.robotIds.length} robots`);
    this.live = new LiveTwin(settings, { seed: options.seed, startPoses: options.startPoses });
    this.robots = new TwinRobots(this.live, SELECTOR[options.protocol]);
    this.wifi = options.protocol === 'wifi' ? new WifiTwinServer(this.robots) : null;
    this.sercom = options.protocol === 'sercom' ? new SercomTwinServer(this.robots) : null;
  }

  /** Starts serving every robot and the twin's clock. */
  static async start(settings: SwarmSettings, options: ProtocolTwinOptions): Promise<ProtocolTwin> {
    const t = new ProtocolTwin(settings, options);
    try {
      if (t.wifi) t.bound = await t.wifi.listen(options.endpoints.map((e) => (typeof e === 'number' ? e : Number.NaN)));
      if (t.sercom) {
        await t.sercom.open(options.endpoints.map(String));
        t.bound = [...options.endpoints];
      }
    } catch (err) {
      await t.stop();
      throw err;
    }
    t.live.start();
    return t;
  }

  /** Where each robot is served: TCP ports (wifi) or device paths (sercom). */
  get endpoints(): readonly (number | string)[] {
    return this.bound;
  }

  /** Robot k disconnects: Wi-Fi closes its connection and port, sercom removes its PTY pair, until restore(k). */
  async disconnect(k: number): Promise<void> {
    await (this.wifi ?? this.sercom)!.takeDown(k);
  }

  /**
   * Robot k reboots (TwinRobots.reboot: motors stopped, silent while it boots, step counters back to 0); on
   * Wi-Fi its TCP connection is gone too, as the robot's server restarts.
   */
  reboot(k: number, bootTicks?: number): void {
    this.robots.reboot(k, bootTicks);
    this.wifi?.dropConnection(k);
  }

  async restore(k: number): Promise<void> {
    await (this.wifi ?? this.sercom)!.bringUp(k);
  }

  /** Ground truth of the robots it serves (pictures only). */
  truePoses(): { x: number; y: number; theta: number }[] {
    return this.live.getTruePoses().map((p) => ({ x: p.x, y: p.y, theta: p.heading }));
  }

  async stop(): Promise<void> {
    this.live.stop();
    await this.wifi?.close();
    await this.sercom?.close();
  }
}
