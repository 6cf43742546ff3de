// A small bus client over the `mqtt` package: connects with username/password, announces its participant's
// retained `online` status (the broker publishes the `offline` last will if the connection dies; close()
// publishes it itself), publishes JSON payloads with `v: 1` and delivers only payloads that pass their schema.
// Refused payloads are counted per kind and reason; faults are logged through FaultLog (a line when a kind of
// fault starts at a topic or the broker connection, a count while it repeats, a line once it is over). After a lost
// connection it reconnects by itself, renews every subscription and only then re-announces `online`: whoever
// sees a participant's `online` knows it is subscribed again.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { DEFAULT_FAULT_LOG, FaultLog, type FaultLogSettings } from '../../runtime/fault-log.js';
import { decodePayload, encodePayload, REFUSAL_REASONS, type Payload, type PayloadKind, type RefusalReason } from './schemas.js';
import { filterCovers, type Qos } from './topics.js';

export interface BusClientOptions {
  /** mqtt://host:port (mqtts:// and ws:// work as the mqtt package supports them). */
  url: string;
  /** Who this is in log lines (`mqtt controller`). */
  who: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** The participant's status topic: `online` (retained) on every connect, `offline` as last will and on close. */
  status?: { topic: string; extra?: Record<string, unknown> };
  /** The first connection must succeed within this, ms (a refused login fails at once). */
  connectTimeoutMs?: number;
  /** Keep trying while the broker is unreachable (a robot or twin started before the broker), until connectTimeoutMs. */
  waitForBroker?: boolean;
  /** Between reconnection attempts, ms. */
  reconnectMs?: number;
  log: (line: string) => void;
  /** The fault log's clock and settings (tests). */
  now?: () => number;
  faultLog?: FaultLogSettings;
}

/** `retained`: delivered from the broker's store on (re)subscription, not published just now. */
type Handler<K extends PayloadKind> = (topic: string, msg: Payload<K>, receivedMs: number, retained: boolean) => void;

interface Subscription {
  filter: string;
  qos: Qos;
  kind: PayloadKind;
  handler: Handler<PayloadKind>;
}

export type RefusalCounts = Record<RefusalReason, number>;

export function emptyRefusals(): RefusalCounts {
  return Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as RefusalCounts;
}

export class BusClient {
  private readonly subs: Subscription[] = [];
  /** Payloads refused per kind, by reason. */
  readonly refused = new Map<PayloadKind, RefusalCounts>();
  /** Told of every refusal (the link counts them per robot). */
  onRefused: ((topic: string, kind: PayloadKind, reason: RefusalReason) => void) | null = null;
  private readonly faults: FaultLog;
  private closed = false;
  /** Connected, and (after a reconnection) subscribed again and announced. */
  private up = false;
  /** Connections lost so far: a round trip that spans a loss proves nothing. */
  lost = 0;
  private readonly connectionListeners = new Set<(up: boolean) => void>();

  private constructor(
    readonly mqtt: MqttClient,
    private readonly o: BusClientOptions,
  ) {
    this.faults = new FaultLog(o.log, o.faultLog ?? DEFAULT_FAULT_LOG, o.now ?? (() => performance.now()));
    mqtt.on('message', (topic, payload, packet) => this.deliver(topic, payload, packet.retain));
    let first = true;
    mqtt.on('connect', () => {
      // Nagle's algorithm against the peer's delayed ACK holds small messages back ~40 ms: off, as for the robots' TCP links.
      (mqtt.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      if (first) {
        // The caller subscribes after connect() resolves.
        first = false;
        this.announce('online');
        this.setUp(true);
        return;
      }
      void this.resubscribe();
    });
    mqtt.on('close', () => {
      if (!this.up) return;
      this.lost++;
      this.setUp(false);
    });
  }

  /** Every subscription renewed (clean session: the broker forgot them), then `online` announced. */
  private async resubscribe(): Promise<void> {
    try {
      for (const filter of new Set(this.subs.map((s) => s.filter))) {
        await this.mqtt.subscribeAsync(filter, { qos: this.subs.find((s) => s.filter === filter)!.qos });
      }
    } catch (err) {
      // The connection dropped again meanwhile: the next 'connect' starts over.
      if (this.mqtt.connected) this.problem('broker', 'resubscribe', (err as Error).message);
      return;
    }
    if (!this.mqtt.connected || this.closed) return;
    this.announce('online');
    this.setUp(true);
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    for (const l of [...this.connectionListeners]) l(up);
  }

  /** Connected and subscribed (false from a lost connection until it is renewed). */
  get connected(): boolean {
    return this.up && !this.closed;
  }

  /** Told of every loss (false) and renewal (true) of the connection; returns the unsubscriber. */
  onConnection(listener: (up: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /**
   * Whether the broker still answers this connection: the retained status re-published with QoS 1 and
   * acknowledged before any loss of the connection. A broker shutting down publishes every client's last will
   * and then drops us too: a will is only a participant's own loss if our connection outlived it.
   */
  async roundTrip(): Promise<boolean> {
    const s = this.o.status;
    if (!this.connected || !s) return false;
    const lost = this.lost;
    let off: () => void = () => {};
    const dropped = new Promise<boolean>((resolve) => (off = this.onConnection((up) => up || resolve(false))));
    const acked = this.mqtt.publishAsync(s.topic, statusPayload('online', s.extra), { qos: 1, retain: true }).then(
      () => true,
      () => false,
    );
    try {
      return (await Promise.race([acked, dropped])) && this.lost === lost && this.connected;
    } finally {
      off();
    }
  }

  /** Connects; rejects naming the broker and the reason if the broker refuses or does not answer in time. */
  static async connect(o: BusClientOptions): Promise<BusClient> {
    const opts: IClientOptions = {
      clientId: o.clientId ?? `swarmguard-${Math.random().toString(16).slice(2, 10)}`,
      username: o.username,
      password: o.password,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: o.reconnectMs ?? 1000,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      keepalive: 10,
      // resubscribe() renews the subscriptions itself, before re-announcing the status.
      resubscribe: false,
      // Latest-wins streams (QoS 0: poses, commands) are dropped while disconnected, not replayed stale on reconnection.
      queueQoSZero: false,
    };
    if (o.status) opts.will = { topic: o.status.topic, payload: Buffer.from(statusPayload('offline', o.status.extra)), qos: 1, retain: true };
    const client = mqtt.connect(o.url, opts);
    // The 'connect' listener that announces the status must be in place before the first CONNACK.
    const bus = new BusClient(client, o);
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        cleanup();
        client.end(true);
        reject(new Error(`${o.who}: cannot connect to ${o.url}: ${why}`));
      };
      const onConnect = () => {
        cleanup();
        resolve();
      };
      // Network errors carry a string code (ECONNREFUSED); a refused login a numeric CONNACK return code.
      const onError = (err: Error & { code?: unknown }) => {
        if (o.waitForBroker && typeof err.code === 'string') return;
        fail(err.message);
      };
      const timer = setTimeout(() => fail(`no answer within ${o.connectTimeoutMs ?? 5000} ms`), o.connectTimeoutMs ?? 5000);
      const cleanup = () => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
      };
      client.on('connect', onConnect);
      client.on('error', onError);
    });
    // Later errors (a dropped connection) are retried by the client; they are logged, never thrown.
    // After close() only the end of the connection is left: a late acknowledgement failing is no problem.
    client.on('error', (err) => bus.closed || bus.problem('broker', 'connection', err.message));
    client.on('offline', () => bus.problem('broker', 'connection', 'broker unreachable, reconnecting'));
    client.on('connect', () => bus.faults.settle(bus.source('broker')));
    return bus;
  }

  /** Publishes `body` with `v: 1` added. Fire and forget: while disconnected QoS 0 is dropped, QoS 1-2 queued. */
  publish(topic: string, body: object, qos: Qos, retain = false): void {
    if (this.closed) return;
    this.mqtt.publish(topic, encodePayload(body), { qos, retain }, (err) => {
      // While disconnected the broker's fault has said so already; one line per topic would only repeat it.
      if (err && !this.closed && this.mqtt.connected) this.problem(`publish ${topic}`, 'publish failed', err.message);
    });
  }

  /**
   * Publishes `body` (retained if asked) and resolves once the broker has acknowledged it (QoS 1), false if it
   * did not within `waitMs` (a message that must be out before this process goes: the end of a trial).
   */
  async publishAcked(topic: string, body: object, retain: boolean, waitMs = CLOSE_WAIT_MS): Promise<boolean> {
    if (this.closed) return false;
    return within(waitMs, this.mqtt.publishAsync(topic, encodePayload(body), { qos: 1, retain }));
  }

  /** Deletes the retained message of `topic` (an empty retained payload); subscribers skip empty payloads. */
  async clearRetained(topic: string, waitMs = CLOSE_WAIT_MS): Promise<boolean> {
    if (this.closed) return false;
    return within(waitMs, this.mqtt.publishAsync(topic, '', { qos: 1, retain: true }));
  }

  /** Subscribes to `filter`; `handler` gets only payloads that pass the schema of `kind`. */
  async subscribe<K extends PayloadKind>(filter: string, kind: K, qos: Qos, handler: Handler<K>): Promise<void> {
    this.subs.push({ filter, qos, kind, handler: handler as Handler<PayloadKind> });
    // MQTT 3.1.1 answers a refused subscription (ACL) with return code 128, which the client reports as an error.
    const refused = () => new Error(`${this.o.who}: the broker refused the subscription to ${filter} (ACL?)`);
    const granted = await this.mqtt.subscribeAsync(filter, { qos }).catch((err: Error) => {
      throw /Subscribe error/.test(err.message) ? refused() : err;
    });
    if (granted.some((g) => g.qos === 128)) throw refused();
  }

  /** Total payloads refused, over every kind and reason. */
  refusedTotal(): number {
    let n = 0;
    for (const c of this.refused.values()) for (const r of REFUSAL_REASONS) n += c[r];
    return n;
  }

  private deliver(topic: string, payload: Buffer, retained: boolean): void {
    // An empty payload is a retained message being deleted (clearRetained), not a message.
    if (payload.length === 0) return;
    const receivedMs = Date.now();
    // A message arrived: the broker connection works (its fault ends once it has been quiet for long enough).
    this.faults.settle(this.source('broker'));
    for (const s of this.subs) {
      if (!filterCovers(s.filter, topic)) continue;
      const d = decodePayload(s.kind, payload);
      if (!d.ok) {
        let c = this.refused.get(s.kind);
        if (!c) this.refused.set(s.kind, (c = emptyRefusals()));
        c[d.reason]++;
        this.problem(topic, d.reason, `refused a ${s.kind} payload: ${d.detail}`);
        this.onRefused?.(topic, s.kind, d.reason);
        continue;
      }
      this.faults.settle(this.source(topic));
      s.handler(topic, d.msg, receivedMs, retained);
    }
  }

  /** Where a fault is, in log lines: the broker (its URL) or a topic. */
  private source(key: string): string {
    return `${this.o.who} ${key === 'broker' ? this.o.url : key}`;
  }

  private problem(key: string, kind: string, detail: string): void {
    this.faults.fault(this.source(key), kind, detail);
  }

  private announce(state: 'online' | 'offline'): void {
    const s = this.o.status;
    if (s && !this.closed) this.mqtt.publish(s.topic, statusPayload(state, s.extra), { qos: 1, retain: true });
  }

  /** Publishes the retained `offline` status (a graceful exit sends no will) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    const s = this.o.status;
    // A broker that has just gone away never acknowledges: neither step may wait for it for long.
    if (s && this.mqtt.connected) {
      await within(CLOSE_WAIT_MS, this.mqtt.publishAsync(s.topic, statusPayload('offline', s.extra), { qos: 1, retain: true }));
    }
    this.closed = true;
    this.up = false;
    this.faults.close();
    if (!(await within(CLOSE_WAIT_MS, this.mqtt.endAsync()))) await this.mqtt.endAsync(true).catch(() => {});
  }
}

const CLOSE_WAIT_MS = 1000;

/** Whether `p` settled successfully within `ms`. */
async function within(ms: number, p: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function statusPayload(state: 'online' | 'offline', extra: Record<string, unknown> = {}): string {
  return encodePayload({ ...extra, state, t: Date.now() });
}
