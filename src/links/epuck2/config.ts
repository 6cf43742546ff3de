// Launch-file options of the e-puck2 links (`link: { kind: epuck2-wifi | epuck2-bt, ... }`), validated with
// zod and resolved against the swarm: every robot of the swarm needs an address and a start pose, and no
// other robot may be named.
import { z } from 'zod';
import { ConfigError } from '../../core/config-file.js';
import type { SwarmSettings } from '../../core/swarm-config.js';
import { DEFAULT_CHANNEL, type ChannelSettings } from './channel.js';
import { DEFAULT_ODOMETRY, type OdometrySettings, type PlanarPose } from './odometry.js';
import { WIFI_DEFAULT_PORT } from './wifi-codec.js';

const StartPoseSchema = z.object({ x: z.number(), y: z.number(), theta: z.number().default(0) }).strict();

/** Options both e-puck2 links share. */
const common = {
  /** A request without a complete reply after this long has timed out, ms. */
  timeoutMs: z.number().positive().max(60_000).default(DEFAULT_CHANNEL.timeoutMs),
  /** Failures in a row (timeouts, refused replies) before the connection is reopened. */
  failuresBeforeReconnect: z.number().int().min(1).max(1000).default(DEFAULT_CHANNEL.failuresBeforeReconnect),
  /** Reconnection delay, doubled per failed attempt. */
  backoff: z
    .object({ initialMs: z.number().positive(), maxMs: z.number().positive() })
    .strict()
    .default(DEFAULT_CHANNEL.backoff)
    .refine((b) => b.initialMs <= b.maxMs, 'backoff.initialMs must not exceed backoff.maxMs'),
  /** After a failure, incoming bytes are discarded until none arrived for this long, ms. */
  quietMs: z.number().min(0).max(10_000).default(DEFAULT_CHANNEL.quietMs),
  odometry: z
    .object({ toleranceMs: z.number().min(0), rebaseAfter: z.number().int().min(1) })
    .strict()
    .partial()
    .default({}),
  /** Serve the robots from an in-process protocol twin (hardware-free demo) instead of real robots. */
  twin: z.boolean().default(false),
  /** The in-process twin's seed. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
};

export const Epuck2WifiLinkSchema = z
  .object({
    kind: z.literal('epuck2-wifi'),
    /** Per robot id: the robot's address (the robot is the TCP server) and where it starts. */
    robots: z.record(
      z.string(),
      z
        .object({
          host: z.string().min(1).default('127.0.0.1'),
          /** 1000 on a robot; 0 lets an in-process twin pick a free port. */
          port: z.number().int().min(0).max(65535).default(WIFI_DEFAULT_PORT),
          start: StartPoseSchema,
        })
        .strict(),
    ),
    connectTimeoutMs: z.number().positive().max(60_000).default(2000),
    ...common,
  })
  .strict();

export const Epuck2BtLinkSchema = z
  .object({
    kind: z.literal('epuck2-bt'),
    /** Per robot id: the serial device of its Bluetooth SPP connection (e.g. /dev/rfcomm0) and where it starts. */
    robots: z.record(
      z.string(),
      z.object({ device: z.string().min(1), baudRate: z.number().int().positive().default(115200), start: StartPoseSchema }).strict(),
    ),
    ...common,
  })
  .strict();

export type Epuck2WifiLinkConfig = z.output<typeof Epuck2WifiLinkSchema>;
export type Epuck2BtLinkConfig = z.output<typeof Epuck2BtLinkSchema>;
export type Epuck2LinkConfig = Epuck2WifiLinkConfig | Epuck2BtLinkConfig;

export interface ResolvedEpuck2Robot {
  id: string;
  start: PlanarPose;
  /** host + port (Wi-Fi) or device + baud rate (Bluetooth). */
  host?: string;
  port?: number;
  device?: string;
  baudRate?: number;
}

/** The link's robots in swarm order; refuses robots missing, unknown, or starting outside the arena. */
export function resolveEpuck2Robots(cfg: Epuck2LinkConfig, settings: SwarmSettings, source: string): ResolvedEpuck2Robot[] {
  const ids = settings.robotIds;
  const named = Object.keys(cfg.robots);
  const unknown = named.filter((id) => !ids.includes(id));
  if (unknown.length) throw new ConfigError(`${source}: link.robots: unknown robot id(s) ${unknown.join(', ')} (swarm ids: ${ids.join(', ')})`);
  const missing = ids.filter((id) => !(id in cfg.robots));
  if (missing.length) throw new ConfigError(`${source}: link.robots: no entry for ${missing.join(', ')} (every robot needs its address and start pose)`);
  return ids.map((id, k) => {
    const r = cfg.robots[id]!;
    const m = settings.robots[k]!.bodyRadius;
    if (!(r.start.x >= m && r.start.x <= settings.arenaWidth - m && r.start.y >= m && r.start.y <= settings.arenaHeight - m)) {
      throw new ConfigError(`${source}: link.robots.${id}.start: (${r.start.x}, ${r.start.y}) puts the robot outside the ${settings.arenaWidth} m x ${settings.arenaHeight} m arena`);
    }
    if ('port' in r) {
      if (r.port === 0 && !cfg.twin) throw new ConfigError(`${source}: link.robots.${id}.port: 0 is only for an in-process twin (twin: true)`);
      return { id, start: r.start, host: r.host, port: r.port };
    }
    return { id, start: r.start, device: r.device, baudRate: r.baudRate };
  });
}

export function channelSettings(cfg: Epuck2LinkConfig): ChannelSettings {
  return { timeoutMs: cfg.timeoutMs, failuresBeforeReconnect: cfg.failuresBeforeReconnect, backoff: cfg.backoff, quietMs: cfg.quietMs };
}

export function odometrySettings(cfg: Epuck2LinkConfig): OdometrySettings {
  return { ...DEFAULT_ODOMETRY, ...cfg.odometry };
}
