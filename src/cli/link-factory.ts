// The link a launch file asks for, and the twin behind it where the robots are simulated: one case per link
// kind; each kind's options live in its own module. This is the composition root's job because only here may
// the runtime's links meet the simulator's twins (src/ below the CLI never imports sim/). Links that need
// optional software (rclnodejs for ros2) load it here, only when asked for, and fail naming what is missing.
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/config-file.js';
import { resolveEpuck2Robots, type Epuck2LinkConfig } from '../links/epuck2/config.js';
import { createEpuck2Link } from '../links/epuck2/factory.js';
import type { Epuck2Link } from '../links/epuck2/link.js';
import type { Launch, LinkConfig } from '../launch/launch.js';
import type { MqttLinkOptions } from '../links/mqtt/config.js';
import type { MqttLink } from '../links/mqtt/link.js';
import type { RobotLink } from '../runtime/link.js';
import { SimLink } from '../../sim/sim-link.js';
import { ProtocolTwin } from '../../sim/protocol-twin/twin.js';

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
      return openEpuck2Link(cfg, launch, log);
    case 'ros2': {
      const { Ros2Link } = await import('../links/ros2/link.js');
      return Ros2Link.open(cfg, launch.settings.robotIds, launch.settings.robots, log, `${launch.source}: link`);
    }
    case 'mqtt':
      return openMqttLink(cfg, launch, log);
  }
}

/** An e-puck2 link; with `twin: true` the protocol twin serving its robots is started first and stops with the link. */
async function openEpuck2Link(cfg: Epuck2LinkConfig, launch: Launch, log: (line: string) => void): Promise<Epuck2Link> {
  const robots = resolveEpuck2Robots(cfg, launch.settings, launch.source);
  if (!cfg.twin) return createEpuck2Link(cfg, launch.settings, robots, log);
  const wifi = cfg.kind === 'epuck2-wifi';
  const twin = await ProtocolTwin.start(launch.settings, {
    protocol: wifi ? 'wifi' : 'sercom',
    seed: cfg.seed,
    startPoses: robots.map((r) => ({ x: r.start.x, y: r.start.y, heading: r.start.theta })),
    endpoints: robots.map((r) => (wifi ? r.port! : r.device!)),
  });
  const link = createEpuck2Link(cfg, launch.settings, robots, log, twin.endpoints);
  link.attachTwin(twin);
  return link;
}

/** The MQTT link (starting the embedded broker unless a URL is given); with `twin: true` the bus twin serves its robots. */
async function openMqttLink(cfg: MqttLinkOptions, launch: Launch, log: (line: string) => void): Promise<MqttLink> {
  const [{ checkMqttLink }, { MqttLink }] = await Promise.all([import('../links/mqtt/config.js'), import('../links/mqtt/link.js')]);
  const { bus, twinLogin } = checkMqttLink(cfg, dirname(resolve(launch.source)), `${launch.source}: link`);
  const link = await MqttLink.open({ swarm: launch.name, ids: launch.settings.robotIds, bus, log });
  if (!cfg.twin) return link;
  try {
    const { BusTwin } = await import('../../sim/protocol-twin/mqtt-bus-twin.js');
    const twin = await BusTwin.start({
      url: link.broker ? link.broker.url : bus.url!,
      swarm: launch.name,
      settings: launch.settings,
      seed: cfg.seed,
      commandTimeoutMs: cfg.commandTimeoutMs,
      qos: bus.qos,
      ...twinLogin,
      connectTimeoutMs: bus.connectTimeoutMs,
      log,
    });
    link.attach(twin);
    return link;
  } catch (err) {
    await link.stop();
    throw err;
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
