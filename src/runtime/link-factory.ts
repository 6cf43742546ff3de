// The link a launch file asks for. One case per link kind; each kind's options live in its own module. Links
// that need optional software (rclnodejs for ros2) load it here, only when asked for, and fail naming what is missing.
import { ConfigError } from '../core/config-file.js';
import { createEpuck2Link } from '../links/epuck2/factory.js';
import type { Launch, LinkConfig } from './launch.js';
import type { RobotLink } from './link.js';
import { SimLink } from './sim-link.js';

export interface CreateLinkOptions {
  /** Serve the robots from the link's protocol twin in this process, as `twin: true` in the launch file would (`--twin`). */
  twin?: boolean;
}

/** The launch file's link options with the in-process twin on; refused for a link that has no protocol twin. */
function withTwin(cfg: LinkConfig, source: string): LinkConfig {
  switch (cfg.kind) {
    case 'sim':
      return cfg; // the twin already
    case 'epuck2-wifi':
    case 'epuck2-bt':
    case 'mqtt':
      return { ...cfg, twin: true };
    default:
      throw new ConfigError(`${source}: link.kind: --twin serves the e-puck2 (epuck2-wifi, epuck2-bt) and mqtt links' robots from a protocol twin; the ${cfg.kind} link has none`);
  }
}

export async function createLink(launch: Launch, log: (line: string) => void = (l) => console.log(l), o: CreateLinkOptions = {}): Promise<RobotLink> {
  const cfg = o.twin ? withTwin(launch.link, launch.source) : launch.link;
  switch (cfg.kind) {
    case 'sim':
      return new SimLink(launch.settings, launch.mode, launch.seed);
    case 'epuck2-wifi':
    case 'epuck2-bt':
      return createEpuck2Link(cfg, launch.settings, launch.source, log);
    case 'ros2': {
      const { Ros2Link } = await import('../links/ros2/link.js');
      return Ros2Link.open(cfg, launch.settings.robotIds, launch.settings.robots, log, `${launch.source}: link`);
    }
    case 'mqtt': {
      const { createMqttLink } = await import('../links/mqtt/factory.js');
      return createMqttLink(cfg, launch.name, launch.settings, launch.source, log);
    }
  }
}

/** What to check when robots do not answer: their power and reach, or, without robots, the protocol twin. */
export function silentRobotsHint(launch: Launch, o: CreateLinkOptions = {}): string {
  const cfg = launch.link;
  const twinnable = (cfg.kind === 'epuck2-wifi' || cfg.kind === 'epuck2-bt' || cfg.kind === 'mqtt') && !cfg.twin && !o.twin;
  return twinnable
    ? `Are the robots switched on and in reach? Without robots: add --twin (the protocol twin serves them in this process), or run \`swarmguard twin-serve ${launch.source}\` in another terminal first`
    : 'Are the robots switched on and in reach?';
}
