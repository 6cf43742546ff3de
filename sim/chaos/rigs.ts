// The robots' side of the fault campaign, in the campaign's own process: what the runtime under test drives
// and what the faults are done to. Per link:
//   wifi, bt         the protocol twin (sim/protocol-twin) on loopback TCP ports / socat PTY pairs: robots
//                    reboot (counters back to 0, silent while booting), their link drops (port or PTY gone,
//                    back after a while), replies come corrupted (cut short, padded, counters or header wrong);
//   mqtt-embedded    the bus twin (src/links/mqtt/bus-twin.ts) against the runtime's embedded broker (logins
//                    from a password file, the shipped ACL): killing the runtime takes the broker with it;
//   mqtt-mosquitto   the bus twin against Debian's mosquitto (same logins and ACL), restarted gracefully
//                    (SIGTERM: every client's last will published) or hard (SIGKILL).
// Both MQTT rigs: a robot's bridge hangs (stops publishing) for a while.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT, type SwarmSettings } from '../../src/core/swarm-config.js';
import { REPLY_FAULTS } from '../protocol-twin/robots.js';
import { ProtocolTwin } from '../protocol-twin/twin.js';
import { startMosquitto, type Mosquitto } from '../mosquitto.js';
import { BusTwin } from '../protocol-twin/mqtt-bus-twin.js';
import { passwordEntry } from '../../src/links/mqtt/passwd.js';
import { DEFAULT_QOS } from '../../src/links/mqtt/topics.js';
import { loadLaunch } from '../../src/launch/launch.js';
import { releaseRun } from '../../src/runtime/run-spec.js';
import { maxWheelSpeed } from '../../src/core/robot-params.js';
import type { RandomStream } from '../../src/core/random.js';
import { sleep } from './runtime-process.js';

export const RIG_KINDS = ['wifi', 'bt', 'mqtt-embedded', 'mqtt-mosquitto'] as const;
export type RigKind = (typeof RIG_KINDS)[number];

/** Faults done to the robots' side; the runtime's own (kill, SIGTERM, frozen ticks) are the campaign's (campaign.ts). */
export type RigFault = 'robot-reboot' | 'link-drop' | 'corrupt-replies' | 'bridge-hang' | 'broker-restart-graceful' | 'broker-restart-hard';

export interface InjectedFault {
  /** What it was done to (a robot id, the broker). */
  target: string;
  detail: string;
  /** Wall time the fault was over (the link back, the broker up again; the moment it was done for one-off faults), ms. */
  endMs: number;
}

export interface Rig {
  readonly kind: RigKind;
  readonly ids: readonly string[];
  readonly faults: readonly RigFault[];
  /** The fastest any robot can drive, m/s (a pose that moves faster jumped). */
  readonly maxSpeedMps: number;
  /** Environment the runtime needs (its broker password). */
  readonly env: Record<string, string>;
  /** A launch file for a runtime starting now (`name`: the swarm's, the same for every runtime of a rig: MQTT topics carry it) (e-puck2: its odometry starts from where the robots truly are, as an operator measures them). */
  launch(name: string, out: string, durationS: number): Record<string, unknown>;
  /** After a runtime has been started: resolves once the robots' side is connected (the bus twin to the runtime's embedded broker). */
  ready(): Promise<void>;
  inject(fault: RigFault, rng: RandomStream): Promise<InjectedFault>;
  /** Where every robot truly is (the operator's measurement), where the link's pose comes from odometry; null: from a tracker. */
  truePoses(): { x: number; y: number; theta: number }[] | null;
  /**
   * After the runtime was killed outright: an e-puck2 keeps its last command, so the operator stops every robot
   * by hand before placing them for the next runtime; an MQTT bridge's watchdog stops them by itself.
   */
  stopByHand(): void;
  /** The wheel command every robot executes now (normalised). */
  commands(): (readonly [number, number])[];
  stop(): Promise<void>;
}

export const CHAOS_PASSWORD_ENV = 'SWARMGUARD_CHAOS_PASSWORD';
export const MAX_POSE_AGE_MS = 300;

function shipped(file: string): Record<string, any> {
  const l = parse(readFileSync(join(PROJECT_ROOT, 'launch', file), 'utf8')) as Record<string, any>;
  l.policy = join(PROJECT_ROOT, 'launch', l.policy);
  l.trial = false;
  delete l.injections;
  l.safety = { ...(l.safety ?? {}), maxPoseAgeMs: MAX_POSE_AGE_MS };
  return l;
}

/** The swarm's settings as `swarmguard run` resolves them from a launch file. */
async function settingsOf(launch: Record<string, unknown>, dir: string): Promise<SwarmSettings> {
  const path = join(dir, 'settings-probe.yaml');
  writeFileSync(path, JSON.stringify(launch));
  const l = await loadLaunch(path);
  await releaseRun(l);
  return l.settings;
}

export async function startRig(kind: RigKind, dir: string, seed: number, password: string, log: (line: string) => void): Promise<Rig> {
  return kind === 'wifi' || kind === 'bt' ? Epuck2Rig.start(kind, dir, seed) : MqttRig.start(kind, dir, seed, password, log);
}

class Epuck2Rig implements Rig {
  readonly faults = ['robot-reboot', 'link-drop', 'corrupt-replies'] as const;
  readonly env = {};
  readonly maxSpeedMps: number;

  private constructor(
    readonly kind: 'wifi' | 'bt',
    private readonly base: Record<string, any>,
    private readonly twin: ProtocolTwin,
  ) {
    this.maxSpeedMps = Math.max(...twin.live.world.settings.robots.map(maxWheelSpeed));
  }

  static async start(kind: 'wifi' | 'bt', dir: string, seed: number): Promise<Epuck2Rig> {
    const base = shipped(kind === 'wifi' ? 'demo-wifi.yaml' : 'demo-bt.yaml');
    const settings = await settingsOf(base, dir);
    const starts = settings.robotIds.map((id) => {
      const s = base.link.robots[id].start as { x: number; y: number; theta: number };
      return { x: s.x, y: s.y, heading: s.theta };
    });
    const endpoints = kind === 'wifi' ? starts.map(() => 0) : settings.robotIds.map((id) => `/tmp/swarmguard-chaos-${process.pid}-${id}`);
    const twin = await ProtocolTwin.start(settings, { protocol: kind === 'wifi' ? 'wifi' : 'sercom', seed, startPoses: starts, endpoints });
    return new Epuck2Rig(kind, base, twin);
  }

  get ids(): readonly string[] {
    return this.twin.live.robotIds;
  }

  launch(name: string, out: string, durationS: number): Record<string, unknown> {
    const truth = this.twin.live.getTruePoses();
    const robots = Object.fromEntries(
      this.ids.map((id, k) => {
        const start = { x: truth[k]!.x, y: truth[k]!.y, theta: truth[k]!.heading };
        const where = this.kind === 'wifi' ? { port: this.twin.endpoints[k] as number } : { device: this.twin.endpoints[k] as string };
        return [id, { ...where, start }];
      }),
    );
    return { ...this.base, name, out, duration: durationS, record: true, link: { ...this.base.link, twin: false, robots } };
  }

  async ready(): Promise<void> {}

  async inject(fault: RigFault, rng: RandomStream): Promise<InjectedFault> {
    const k = rng.int(0, this.ids.length - 1);
    const id = this.ids[k]!;
    if (fault === 'robot-reboot') {
      const bootTicks = rng.int(3, 20);
      this.twin.reboot(k, bootTicks);
      return { target: id, detail: `rebooted, ${bootTicks} twin ticks to boot`, endMs: Date.now() };
    }
    if (fault === 'link-drop') {
      const ms = Math.round(rng.range(500, 4000));
      await this.twin.disconnect(k);
      await sleep(ms);
      await this.twin.restore(k);
      return { target: id, detail: `${this.kind === 'wifi' ? 'port' : 'PTY'} gone for ${ms} ms`, endMs: Date.now() };
    }
    if (fault === 'corrupt-replies') {
      const what = REPLY_FAULTS[rng.int(0, REPLY_FAULTS.length - 1)]!;
      const count = rng.int(1, 6);
      this.twin.robots.injectFault(k, what, count);
      return { target: id, detail: `${count} ${what} replies`, endMs: Date.now() };
    }
    throw new RangeError(`the ${this.kind} rig has no fault ${fault}`);
  }

  commands(): (readonly [number, number])[] {
    return this.ids.map((id) => this.twin.live.command(id));
  }

  stopByHand(): void {
    this.ids.forEach((_, k) => this.twin.robots.setSpeeds(k, 0, 0));
  }

  truePoses(): { x: number; y: number; theta: number }[] {
    return this.twin.live.getTruePoses().map((p) => ({ x: p.x, y: p.y, theta: p.heading }));
  }

  stop(): Promise<void> {
    return this.twin.stop();
  }
}

class MqttRig implements Rig {
  readonly faults: readonly RigFault[];
  readonly maxSpeedMps: number;
  private twin: BusTwin | null = null;
  private starting: Promise<BusTwin> | null = null;

  private constructor(
    readonly kind: 'mqtt-embedded' | 'mqtt-mosquitto',
    readonly ids: readonly string[],
    private readonly base: Record<string, any>,
    private readonly settings: SwarmSettings,
    private readonly seed: number,
    private readonly password: string,
    private readonly broker: { url: string; mosquitto: Mosquitto | null },
    private readonly log: (line: string) => void,
  ) {
    this.maxSpeedMps = Math.max(...settings.robots.map(maxWheelSpeed));
    this.faults = kind === 'mqtt-mosquitto' ? ['bridge-hang', 'broker-restart-graceful', 'broker-restart-hard'] : ['bridge-hang'];
  }

  static async start(kind: 'mqtt-embedded' | 'mqtt-mosquitto', dir: string, seed: number, password: string, log: (line: string) => void): Promise<MqttRig> {
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, ['controller', 'twin'].map((u) => passwordEntry(u, password)).join('\n') + '\n', { mode: 0o600 });
    const acl = join(PROJECT_ROOT, 'launch/mqtt/acl');
    const base = shipped('mqtt-demo.yaml');
    let url: string;
    let mosquitto: Mosquitto | null = null;
    if (kind === 'mqtt-mosquitto') {
      mosquitto = await startMosquitto({ passwordFile: passwd, aclFile: acl });
      url = mosquitto.url;
      base.link = { kind: 'mqtt', broker: url };
    } else {
      const { freePort } = await import('./ports.js');
      const port = await freePort();
      url = `mqtt://127.0.0.1:${port}`;
      base.link = { kind: 'mqtt', broker: 'embedded', embedded: { host: '127.0.0.1', port, passwordFile: passwd, aclFile: acl } };
    }
    base.link = { ...base.link, credentials: { username: 'controller', passwordEnv: CHAOS_PASSWORD_ENV }, twin: false, commandTimeoutMs: 500 };
    // The launch file is checked here as the runtime will check it: with its password in the environment.
    process.env[CHAOS_PASSWORD_ENV] = password;
    const settings = await settingsOf(base, dir);
    return new MqttRig(kind, settings.robotIds, base, settings, seed, password, { url, mosquitto }, log);
  }

  get env(): Record<string, string> {
    return { [CHAOS_PASSWORD_ENV]: this.password };
  }

  launch(name: string, out: string, durationS: number): Record<string, unknown> {
    // The bus twin connects once there is a broker: with the embedded one, after the runtime has started it.
    this.starting ??= BusTwin.start({
      url: this.broker.url,
      swarm: name,
      settings: this.settings,
      seed: this.seed,
      commandTimeoutMs: 500,
      qos: DEFAULT_QOS,
      username: 'twin',
      password: this.password,
      connectTimeoutMs: 120_000,
      waitForBroker: true,
      log: (l) => this.log(`[bus twin] ${l}`),
    }).then((t) => (this.twin = t));
    return { ...this.base, name, out, duration: durationS, record: true };
  }

  async ready(): Promise<void> {
    await this.starting;
  }

  async inject(fault: RigFault, rng: RandomStream): Promise<InjectedFault> {
    const twin = this.twin!;
    if (fault === 'bridge-hang') {
      const k = rng.int(0, this.ids.length - 1);
      const ms = Math.round(rng.range(500, 3000));
      twin.setSilent(k, true);
      await sleep(ms);
      twin.setSilent(k, false);
      return { target: this.ids[k]!, detail: `bridge silent for ${ms} ms`, endMs: Date.now() };
    }
    if ((fault === 'broker-restart-graceful' || fault === 'broker-restart-hard') && this.broker.mosquitto) {
      const signal = fault === 'broker-restart-graceful' ? 'SIGTERM' : 'SIGKILL';
      await this.broker.mosquitto.restart(signal);
      return { target: 'mosquitto', detail: `${signal}, started again`, endMs: Date.now() };
    }
    throw new RangeError(`the ${this.kind} rig has no fault ${fault}`);
  }

  commands(): (readonly [number, number])[] {
    return this.ids.map((id) => this.twin?.live.command(id) ?? ([0, 0] as const));
  }

  stopByHand(): void {}

  truePoses(): null {
    return null;
  }

  async stop(): Promise<void> {
    await (await this.starting?.catch(() => null))?.stop();
    await this.broker.mosquitto?.stop();
  }
}
