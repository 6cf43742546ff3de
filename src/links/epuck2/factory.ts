// Builds an e-puck2 link from its launch options; with `twin: true` the protocol twin serving the robots is
// started first, in this process, and stopped with the link.
import type { SimSettings } from '../../core/swarm-config.js';
import { ProtocolTwin } from '../../../sim/protocol-twin/twin.js';
import { channelSettings, odometrySettings, resolveEpuck2Robots, type Epuck2LinkConfig } from './config.js';
import { Epuck2Link } from './link.js';
import { sercomProtocol } from './sercom-codec.js';
import { serialConnector, tcpConnector } from './transports.js';
import { wifiProtocol } from './wifi-codec.js';

export async function createEpuck2Link(cfg: Epuck2LinkConfig, settings: SimSettings, source: string, log?: (line: string) => void): Promise<Epuck2Link> {
  const robots = resolveEpuck2Robots(cfg, settings, source);
  const wifi = cfg.kind === 'epuck2-wifi';
  let twin: ProtocolTwin | null = null;
  let endpoints: (number | string)[] = robots.map((r) => (wifi ? r.port! : r.device!));
  if (cfg.twin) {
    twin = await ProtocolTwin.start(settings, {
      protocol: wifi ? 'wifi' : 'sercom',
      seed: cfg.seed,
      startPoses: robots.map((r) => ({ x: r.start.x, y: r.start.y, heading: r.start.theta })),
      endpoints,
    });
    endpoints = [...twin.endpoints];
  }
  const link = new Epuck2Link({
    kind: cfg.kind,
    protocol: wifi ? wifiProtocol : sercomProtocol,
    channel: channelSettings(cfg),
    odometry: odometrySettings(cfg),
    log,
    robots: robots.map((r, k) => ({
      id: r.id,
      params: settings.robots[k]!,
      start: r.start,
      connector: wifi && 'connectTimeoutMs' in cfg ? tcpConnector(r.host!, endpoints[k] as number, cfg.connectTimeoutMs) : serialConnector(endpoints[k] as string, r.baudRate!),
    })),
  });
  if (twin) link.attachTwin(twin);
  return link;
}
