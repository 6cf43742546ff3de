// `swarmguard twin-serve <launch.yaml>`: the protocol twin serving the launch file's swarm over the e-puck2
// protocol its link names (Wi-Fi: a TCP port per robot on 127.0.0.1; Bluetooth sercom: a PTY per robot at
// the device path), so `swarmguard run` on the same file drives simulated robots with the real client code.
import { dirname, resolve } from 'node:path';
import { ConfigError, loadYamlFile } from '../core/config-file.js';
import { resolveSwarmConfig } from '../core/swarm-config.js';
import { ProtocolTwin } from '../../sim/protocol-twin/twin.js';
import { resolveEpuck2Robots } from '../links/epuck2/config.js';
import { LaunchSchema } from '../launch/launch.js';
import type { BusTwin } from '../../sim/protocol-twin/mqtt-bus-twin.js';
import { brokerUrl, resolveBus, resolveCredentials } from '../links/mqtt/config.js';

export interface TwinServeOptions {
  /** Serve this long, s (default: until Ctrl-C). */
  duration?: number;
  seed?: number;
}

export async function serveTwin(path: string, o: TwinServeOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<ProtocolTwin> {
  const file = loadYamlFile(path, LaunchSchema);
  const link = file.link;
  if (link.kind !== 'epuck2-wifi' && link.kind !== 'epuck2-bt') throw new ConfigError(`${path}: link.kind: twin-serve serves the e-puck2 links (epuck2-wifi, epuck2-bt) and mqtt, not '${link.kind}'`);
  if (link.twin) throw new ConfigError(`${path}: link.twin: this launch file starts its own twin (twin: true); twin-serve is for twin: false`);
  const settings = resolveSwarmConfig(file.swarm, `${path}: swarm`, dirname(resolve(path)));
  const robots = resolveEpuck2Robots(link, settings, path);
  const wifi = link.kind === 'epuck2-wifi';
  const twin = await ProtocolTwin.start(settings, {
    protocol: wifi ? 'wifi' : 'sercom',
    seed: o.seed ?? link.seed,
    startPoses: robots.map((r) => ({ x: r.start.x, y: r.start.y, heading: r.start.theta })),
    endpoints: robots.map((r) => (wifi ? r.port! : r.device!)),
  });
  log(`swarmguard twin-serve: ${robots.length} simulated e-puck2 robots speaking ${wifi ? 'the Wi-Fi protocol' : 'advanced sercom v2'} at ${1 / settings.controlPeriod} Hz`);
  robots.forEach((r, k) => log(`  ${r.id.padEnd(10)} ${wifi ? `127.0.0.1:${twin.endpoints[k]}` : twin.endpoints[k]}`));
  log(`now: swarmguard run ${path}   (Ctrl-C stops the twin)`);
  return twin;
}

/**
 * The bus twin for an mqtt launch file, on the link's broker: an external one (broker: mqtt://...) or the
 * embedded broker of `swarmguard run` on the same file (started before or after this: the robots keep trying
 * for a minute), logging in with link.twinCredentials.
 */
export async function serveBusTwin(path: string, o: TwinServeOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<BusTwin> {
  const file = loadYamlFile(path, LaunchSchema);
  const link = file.link;
  if (link.kind !== 'mqtt') throw new ConfigError(`${path}: link.kind: the bus twin serves the mqtt link, not '${link.kind}'`);
  if (link.twin) throw new ConfigError(`${path}: link.twin: this launch file starts its own twin (twin: true); twin-serve is for twin: false`);
  const base = dirname(resolve(path));
  const settings = resolveSwarmConfig(file.swarm, `${path}: swarm`, base);
  const bus = resolveBus(link, base, `${path}: link`);
  if (bus.embedded?.logins) {
    throw new ConfigError(`${path}: link.embedded.passwordFile: missing: the embedded broker of swarmguard run then accepts only logins it makes up for its own process, so the twin could not log in (give a passwordFile and twinCredentials: launch/mqtt/secure.yaml)`);
  }
  if (bus.embedded && bus.embedded.port === 0) throw new ConfigError(`${path}: link.embedded.port: 0 (any free port) cannot be found by another process: give a port`);
  const url = bus.url ?? brokerUrl(bus.embedded!.host, bus.embedded!.port);
  // The MQTT libraries load only for this command (program.ts imports this module for every command).
  const { BusTwin } = await import('../../sim/protocol-twin/mqtt-bus-twin.js');
  log(`swarmguard twin-serve: ${settings.robotIds.length} simulated e-puck2 robots on the MQTT bus ${url} at ${1 / settings.controlPeriod} Hz (waiting for the broker${bus.embedded ? ': the embedded one starts with swarmguard run' : ''})`);
  const twin = await BusTwin.start({
    url,
    swarm: file.name,
    settings,
    seed: o.seed ?? link.seed,
    commandTimeoutMs: link.commandTimeoutMs,
    qos: bus.qos,
    ...resolveCredentials(link.twinCredentials, `${path}: link.twinCredentials`),
    connectTimeoutMs: Math.max(60_000, bus.connectTimeoutMs),
    waitForBroker: true,
    log,
  });
  log(`  robots ${settings.robotIds.join(', ')} online under ${twin.topics.prefix}/`);
  log(`now: swarmguard run ${path}   (Ctrl-C stops the twin)`);
  return twin;
}

/** Serves until Ctrl-C / SIGTERM or the duration is over. */
export async function runTwinServe(path: string, o: TwinServeOptions = {}): Promise<void> {
  const kind = loadYamlFile(path, LaunchSchema).link.kind;
  const twin: { stop(): Promise<void> } = kind === 'mqtt' ? await serveBusTwin(path, o) : await serveTwin(path, o);
  await new Promise<void>((done) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      done();
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    if (o.duration !== undefined) setTimeout(finish, o.duration * 1000).unref();
  });
  await twin.stop();
}
