// One process of a distributed run on the bus: its login (the role's user name, the password from the
// environment), its retained status with a last will, and the `ready` mark it publishes once it has
// subscribed to everything it needs (the feed starts tick 0 only when every participant is ready, so nobody
// misses the first poses).
import { ConfigError } from '../core/config-file.js';
import { isLoopback } from '../core/net.js';
import { BusClient } from '../links/mqtt/client.js';
import { DEFAULT_QOS, SwarmTopics } from '../links/mqtt/topics.js';
import type { Launch } from '../runtime/launch.js';
import { credentials, type DistributedConfig } from './config.js';

export interface Participant {
  bus: BusClient;
  topics: SwarmTopics;
  config: DistributedConfig;
  /** Publishes the retained status `online` with `ready: true`. */
  ready(): void;
  /** Leaves the bus: the retained status `offline` with `done: true` (the last will has no `done`: a crash). */
  close(): Promise<void>;
}

/** The launch file's distributed block, refused with the file named if there is none. */
export function distributedConfig(launch: Launch): DistributedConfig {
  if (!launch.distributed) throw new ConfigError(`${launch.source}: distributed: missing (a distributed run needs the broker and mode; see src/distributed/README.md)`);
  return launch.distributed;
}

export async function joinBus(
  launch: Launch,
  o: { role: string; user: string; broker?: string; log: (line: string) => void; extra?: Record<string, unknown> },
): Promise<Participant> {
  const config = distributedConfig(launch);
  const topics = new SwarmTopics(launch.name);
  const statusTopic = topics.status(o.role);
  const url = o.broker ?? config.broker;
  const login = credentials(config, o.user, launch.source);
  // Whoever reaches an open broker can command the robots: say so when it is not this machine's.
  if (!login.username && !isLoopback(new URL(url).hostname.replace(/^\[(.*)\]$/, '$1'))) {
    o.log(`swarmguard ${o.role}: no login for ${url} (distributed.passwordEnv unset): only the broker's own rules keep others off the command topics`);
  }
  // The status payload's extra fields are read whenever it is published: `ready` flips in place.
  const extra: Record<string, unknown> = { ...o.extra, ready: false };
  const bus = await BusClient.connect({
    url,
    who: `swarmguard ${o.role}`,
    clientId: `swarmguard-${launch.name}-${o.role.replace('/', '-')}`,
    ...login,
    status: { topic: statusTopic, extra },
    log: o.log,
  });
  return {
    bus,
    topics,
    config,
    ready() {
      extra.ready = true;
      bus.publish(statusTopic, { ...extra, state: 'online', t: Date.now() }, 1, true);
    },
    async close() {
      extra.done = true;
      await bus.close();
    },
  };
}

/**
 * Calls `gone` once when the feed, having been online, goes offline: `done` true when it ended its run,
 * false when the broker published its last will (it crashed or lost its connection).
 */
export async function followFeed(bus: BusClient, topics: SwarmTopics, gone: (done: boolean) => void): Promise<void> {
  let seen = false;
  let told = false;
  await bus.subscribe(topics.status('feed'), 'status', DEFAULT_QOS.status, (_t, msg) => {
    if (msg.state === 'online') seen = true;
    else if (seen && !told) {
      told = true;
      gone(msg.done === true);
    }
  });
}

/** Live mode: resolves once every robot's pose has come (tick 0 of every process is about then), or on abort. */
export function posesFlowing(signal?: AbortSignal): { check(all: boolean): void; flowing: Promise<unknown> } {
  let resolveFlow: () => void = () => {};
  const flow = new Promise<void>((resolve) => (resolveFlow = resolve));
  const aborted = new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
  return { check: (all) => all && resolveFlow(), flowing: Promise.race([flow, aborted]) };
}
