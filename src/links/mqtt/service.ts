// The run's MQTT telemetry (a RunService): per robot its neighbours' beliefs and the monitor's suspicion
// every tick, every RunEvent on `.../events`, flags and clears on `.../alerts`, and the controller's retained
// status with its last will. On the mqtt link it publishes on the link's own connection; for any other link
// the launch file's `mqtt:` block names the broker (embedded: started here) and this service connects itself.
import { dirname, resolve } from 'node:path';
import type { RunContext, RunService } from '../../runtime/services.js';
import type { RunEvent, TickRecord } from '../../runtime/trial.js';
import type { EmbeddedBroker } from './broker.js';
import type { BusClient } from './client.js';
import { resolveBus, type BusOptions } from './config.js';
import type { MqttLink } from './link.js';
import { SwarmTopics, type QosTable } from './topics.js';

/**
 * The `about` of observer i's belief payload: P(j compromised) for every other robot j with `include(j)`, the
 * sum over the compromised types in order (as the monitor's aggregateBeliefs sums it, so a mean over the
 * published values is the monitor's), clipped to [0, 1] (float32 softmax outputs can sum a hair above 1).
 */
export function beliefAbout(beliefs: Float32Array, R: number, ids: readonly string[], i: number, include: (j: number) => boolean = () => true): Record<string, number> {
  const N = ids.length;
  const about: Record<string, number> = {};
  for (let j = 0; j < N; j++) {
    if (j === i || !include(j)) continue;
    let p = 0;
    for (let r = 0; r < R; r++) p += beliefs[(i * N + j) * R + r]!;
    about[ids[j]!] = Math.min(1, Math.max(0, p));
  }
  return about;
}

/**
 * What the monitor concluded at one tick: every robot's suspicion, and the events (every one on `.../events`,
 * flags and clears on `.../alerts` too). The telemetry service's and the distributed monitor's.
 */
export function publishVerdicts(bus: BusClient, T: SwarmTopics, qos: QosTable, ids: readonly string[], record: TickRecord, events: readonly RunEvent[]): void {
  for (const [i, id] of ids.entries()) {
    bus.publish(
      T.robot(id, 'suspicion'),
      { tick: record.tick, belief: record.belief[i] ?? null, consistency: record.consistency[i], suspicion: record.suspicion[i], flagged: record.flagged[i] },
      qos.suspicion,
    );
  }
  for (const e of events) {
    bus.publish(T.events, e, qos.events);
    if (e.kind === 'flag' || e.kind === 'clear') bus.publish(T.alerts, e, qos.alerts);
  }
}

export class MqttTelemetry implements RunService {
  readonly name = 'mqtt';
  /** Where the ticks go, from start() until stop(). */
  private out: { bus: BusClient; topics: SwarmTopics; qos: QosTable; parts: RunContext['run']['parts'] } | null = null;
  /** What this service opened itself (not the link's): closed on stop. */
  private own: { bus: BusClient; broker: EmbeddedBroker | null } | null = null;

  /** `block`: the launch file's `mqtt:` telemetry block (null: only with the mqtt link, on its connection). */
  constructor(private readonly block: BusOptions | null) {}

  async start(ctx: RunContext): Promise<void> {
    const { parts } = ctx.run;
    if (parts.link.kind === 'mqtt') {
      const link = parts.link as MqttLink;
      this.out = { bus: link.bus, topics: link.topics, qos: link.qos, parts };
      return;
    }
    // The broker and client libraries load only for runs that publish (run.ts imports this module always).
    const { connectController, embeddedLogins } = await import('./link.js');
    const block = this.block;
    if (!block) throw new Error(`the MQTT telemetry needs the mqtt link or an mqtt: block in ${ctx.launch.source}`);
    const cfg = resolveBus(block, dirname(resolve(ctx.launch.source)), `${ctx.launch.source}: mqtt`);
    const topics = new SwarmTopics(ctx.launch.name);
    const { bus, broker } = await connectController({ swarm: ctx.launch.name, bus: cfg, who: 'mqtt telemetry', statusExtra: { robots: parts.ids, link: parts.link.kind }, log: ctx.log });
    this.out = { bus, topics, qos: cfg.qos, parts };
    this.own = { bus, broker };
    ctx.log(`mqtt: telemetry on ${broker ? `${broker.url} (embedded broker, ${embeddedLogins(cfg)})` : cfg.url} under ${topics.prefix}/`);
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    if (!this.out) return;
    const { bus, topics: T, qos, parts } = this.out;
    const { ids, team } = parts;
    const N = ids.length;
    const R = team.beliefsPerPair;
    const beliefs = team.lastBeliefs;
    // Robot i's belief that each other robot is compromised.
    if (R > 0 && beliefs.length >= N * N * R) {
      for (const [i, id] of ids.entries()) bus.publish(T.robot(id, 'belief'), { tick: record.tick, about: beliefAbout(beliefs, R, ids, i) }, qos.belief);
    }
    publishVerdicts(bus, T, qos, ids, record, events);
  }

  async stop(): Promise<void> {
    const own = this.own;
    this.own = null;
    this.out = null;
    if (own) {
      await own.bus.close();
      await own.broker?.close();
    }
  }
}
