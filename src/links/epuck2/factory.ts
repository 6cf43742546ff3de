// Builds an e-puck2 link from its launch options. Where its robots are a protocol twin in this process
// (`twin: true`), the composition root (src/cli/link-factory.ts) starts the twin and passes its endpoints.
import type { SwarmSettings } from '../../core/swarm-config.js';
import { channelSettings, odometrySettings, type Epuck2LinkConfig, type ResolvedEpuck2Robot } from './config.js';
import { Epuck2Link } from './link.js';
import { sercomProtocol } from './sercom-codec.js';
import { serialConnector, tcpConnector } from './transports.js';
import { wifiProtocol } from './wifi-codec.js';

/** The link to `robots` (resolveEpuck2Robots); `endpoints` replaces each robot's port or device (a twin's). */
export function createEpuck2Link(
  cfg: Epuck2LinkConfig,
  settings: SwarmSettings,
  robots: readonly ResolvedEpuck2Robot[],
  log?: (line: string) => void,
  endpoints: readonly (number | string)[] = robots.map((r) => (cfg.kind === 'epuck2-wifi' ? r.port! : r.device!)),
): Epuck2Link {
  const wifi = cfg.kind === 'epuck2-wifi';
  return new Epuck2Link({
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
}
