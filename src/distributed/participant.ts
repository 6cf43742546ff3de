// One process of a distributed run on the bus: its login (the role's user name, the password from the
// environment), its retained status with a last will, and the `ready` mark it publishes once it has
// subscribed to everything it needs (the feed starts tick 0 only when every participant is ready, so nobody
// misses the first poses).
import { ConfigError } from '../core/config-file.js';
import { isLoopback } from '../core/net.js';
import { BusClient } from '../links/mqtt/client.js';
import type { DoneMsg, Payload } from '../links/mqtt/schemas.js';
import { DEFAULT_QOS, SwarmTopics } from '../links/mqtt/topics.js';
import type { Launch } from '../launch/launch.js';
import { credentials } from './config.js';
import { type DistributedConfig } from '../launch/distributed-schema.js';

type StatusMsg = Payload<'status'>;

export interface Participant {
  role: string;
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
  // Whoever reaches a broker open to anonymous clients can command the robots: say so.
  if (config.allowAnonymous) {
    const where = isLoopback(new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')) ? 'any process on this machine' : 'anyone who reaches it';
    o.log(`swarmguard ${o.role}: WARNING: no login to ${url} (distributed.allowAnonymous: true): if the broker lets us in, it lets ${where} command the robots`);
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
    role: o.role,
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
 * How long our own connection must outlive a last will before the will's participant is taken as gone, ms. A
 * broker shutting down gracefully drops its clients one after another, publishing each one's will as it goes:
 * a round trip right after a will can still be answered by the broker on its way down (under load it
 * was, and five agents were taken as gone during a restart: their robots stopped for a tick by the
 * lock-step feed). mosquitto drops every client in well under this.
 */
export const WILL_SETTLE_MS = 1000;

/**
 * Follows other participants' statuses under `filter`: `online` (with its payload: `ready`...), and `gone`
 * only when the loss is the participant's own: its clean exit (`done: true`), or a last will that our own
 * connection outlives by WILL_SETTLE_MS (never lost meanwhile, and a round trip to the broker after it). A
 * broker shutting down publishes every client's will and then drops us too, and a will kept by the broker
 * from before our (re)connection is old news: neither is a participant gone, who is expected back.
 */
export async function followPeers(
  bus: BusClient,
  topics: SwarmTopics,
  filter: string,
  on: (role: string, event: 'online' | 'gone', msg: StatusMsg) => void,
  settleMs = WILL_SETTLE_MS,
): Promise<void> {
  const seq = new Map<string, number>();
  await bus.subscribe(filter, 'status', DEFAULT_QOS.status, (topic, msg, _receivedMs, retained) => {
    const role = topics.parseStatus(topic);
    if (!role) return;
    const n = (seq.get(role) ?? 0) + 1;
    seq.set(role, n);
    if (msg.state === 'online') return on(role, 'online', msg);
    if (msg.done === true) return on(role, 'gone', msg);
    if (retained) return;
    // Only if our connection outlives the will, and nothing newer about this role came meanwhile (it may be back already).
    const lost = bus.lost;
    void new Promise((r) => setTimeout(r, settleMs))
      .then(() => (bus.lost === lost ? bus.roundTrip() : false))
      .then((ours) => ours && bus.lost === lost && seq.get(role) === n && on(role, 'gone', msg));
  });
}

export interface TrialEnd {
  trial: string;
  ticks: number;
  interrupted: boolean;
  by: string;
}

/**
 * The trial a process takes part in: its id (announced in the feed's status), its end (the retained `done` of
 * that trial: a done of another trial, e.g. kept by the broker from the last one, ends nothing), and outages
 * (our own connection lost, or the feed's status offline without its done). An outage is ridden out; one
 * that lasts `outageTimeoutMs` gives the run up. `over` is called once, at the end or when giving up.
 */
export class TrialWatch {
  trial: string | null = null;
  ended: TrialEnd | null = null;
  /** Why the run was given up (an outage past outageTimeoutMs), or null. */
  gaveUp: string | null = null;
  private pending: DoneMsg | null = null;
  private ignoredTrial: string | null = null;
  private downSince: number | null = null;
  private feedAwaySince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private off: () => void = () => {};

  constructor(
    private readonly p: Participant,
    private readonly log: (line: string) => void,
    private readonly over: () => void,
  ) {}

  get isOver(): boolean {
    return this.ended !== null || this.gaveUp !== null;
  }

  async start(): Promise<void> {
    const { bus, topics } = this.p;
    this.off = bus.onConnection((up) => (this.downSince = up ? null : Date.now()));
    await bus.subscribe(topics.status('feed'), 'status', DEFAULT_QOS.status, (_t, msg) => {
      const trial = typeof msg.trial === 'string' ? msg.trial : null;
      if (msg.state === 'online') {
        this.feedAwaySince = null;
        if (trial && this.trial === null) {
          this.trial = trial;
          if (this.pending) this.consider(this.pending);
        }
      } else if (trial !== null && trial === this.trial && msg.done !== true && this.feedAwaySince === null) {
        this.feedAwaySince = Date.now();
      }
    });
    await bus.subscribe(topics.done, 'done', DEFAULT_QOS.status, (_t, msg) => this.consider(msg));
    this.timer = setInterval(() => this.check(), 250);
    this.timer.unref();
  }

  private consider(msg: DoneMsg): void {
    if (this.isOver) return;
    if (this.trial === null) {
      this.pending = msg;
      return;
    }
    if (msg.trial !== this.trial) {
      if (this.ignoredTrial !== msg.trial) this.log(`swarmguard ${this.p.role}: ignoring the done of another trial (${msg.trial}; this one is ${this.trial})`);
      this.ignoredTrial = msg.trial;
      return;
    }
    this.ended = { trial: msg.trial, ticks: msg.ticks, interrupted: msg.interrupted, by: msg.by };
    this.finish();
  }

  private check(): void {
    if (this.isOver) return;
    const limit = this.p.config.outageTimeoutMs;
    const now = Date.now();
    if (this.downSince !== null && now - this.downSince > limit) this.gaveUp = `the broker unreachable for more than ${limit} ms`;
    else if (this.feedAwaySince !== null && now - this.feedAwaySince > limit) this.gaveUp = `the feed offline for more than ${limit} ms without ending the trial`;
    if (this.gaveUp) {
      this.log(`swarmguard ${this.p.role}: giving up: ${this.gaveUp} (distributed.outageTimeoutMs)`);
      this.finish();
    }
  }

  private finish(): void {
    this.stop();
    this.over();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.off();
  }
}

/** Live mode: resolves once every robot's pose has come (tick 0 of every process is about then), or on abort. */
export function posesFlowing(signal?: AbortSignal): { check(all: boolean): void; flowing: Promise<unknown> } {
  let resolveFlow: () => void = () => {};
  const flow = new Promise<void>((resolve) => (resolveFlow = resolve));
  const aborted = new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
  return { check: (all) => all && resolveFlow(), flowing: Promise.race([flow, aborted]) };
}
