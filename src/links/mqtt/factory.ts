// Builds the MQTT link from its launch options: the embedded broker (unless a URL is given), the controller's
// connection, and with `twin: true` the bus twin serving the robots in this process.
import { dirname, resolve } from 'node:path';
import type { SimSettings } from '../../core/swarm-config.js';
import { BusTwin } from './bus-twin.js';
import { checkMqttLink, type MqttLinkOptions } from './config.js';
import { MqttLink } from './link.js';

export async function createMqttLink(cfg: MqttLinkOptions, swarm: string, settings: SimSettings, source: string, log: (line: string) => void): Promise<MqttLink> {
  const { bus, twinLogin } = checkMqttLink(cfg, dirname(resolve(source)), `${source}: link`);
  const link = await MqttLink.open({ swarm, ids: settings.robotIds, bus, log });
  if (cfg.twin) {
    try {
      const twin = await BusTwin.start({
        url: link.broker ? link.broker.url : bus.url!,
        swarm,
        settings,
        seed: cfg.seed,
        commandTimeoutMs: cfg.commandTimeoutMs,
        qos: bus.qos,
        ...twinLogin,
        connectTimeoutMs: bus.connectTimeoutMs,
        log,
      });
      link.attach(twin);
    } catch (err) {
      await link.stop();
      throw err;
    }
  }
  return link;
}
