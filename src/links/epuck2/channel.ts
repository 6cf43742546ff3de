// One robot's lock-step exchange over a byte stream (a TCP socket or a serial port): a request carrying the
// wheel command goes out, the reply comes back, then the next request. The runtime's send() starts an
// exchange; a command that arrives while one is still under way replaces any waiting command and goes out
// as soon as the reply is in (counted as coalesced). Every failure - a refused reply, a timeout - drains the
// stream until it has been quiet for a moment, so a late reply is never taken for the next one; a run of
// failures or a closed stream reconnects with exponential backoff. Nothing here blocks: a dead robot only
// ever costs its own timers. Every failure is counted; the log gets a line when a kind of failure starts,
// a count while it repeats and a line when it is over (FaultLog).
import type { Duplex } from 'node:stream';
import type { FaultLog } from '../../runtime/fault-log.js';
import type { Epuck2Actuators } from './actuators.js';
import type { LockStepProtocol, RejectReason } from './protocol.js';
import type { Epuck2Sensors } from './sensors.js';
import { emptyRejections, LatencyWindow, type LinkHealth } from './stats.js';

/** Opens the byte stream to one robot (resolves once it is open). */
export interface Connector {
  /** For messages: host:port or a device path. */
  readonly describe: string;
  open(): Promise<Duplex>;
  /** Closes a stream it opened, releasing the device (default: destroy). */
  close?(stream: Duplex): Promise<void>;
}

export interface ChannelSettings {
  /** A request without a complete reply after this long has timed out, ms. */
  timeoutMs: number;
  /** Failures in a row (timeouts, refused replies) before the stream is closed and reopened. */
  failuresBeforeReconnect: number;
  /** Reconnection delay: initialMs, doubled per failed attempt up to maxMs. */
  backoff: { initialMs: number; maxMs: number };
  /** After a failure, bytes are discarded until none has arrived for this long, ms. */
  quietMs: number;
}

export const DEFAULT_CHANNEL: ChannelSettings = { timeoutMs: 250, failuresBeforeReconnect: 3, backoff: { initialMs: 100, maxMs: 2000 }, quietMs: 20 };

type State = 'idle' | 'connecting' | 'ready' | 'waiting' | 'draining' | 'backoff' | 'stopped';

/** Checks a decoded reply against what the robot can have done (odometry); a refusal's reason and detail, or null. */
export type ReplyCheck = (sensors: Epuck2Sensors, nowMs: number) => { reason: RejectReason; detail: string } | null;

/** What the channel tells its owner, and asks it. */
export interface ChannelHooks {
  /** A reply that passed the check: the robot's sensors, at clock time nowMs. */
  onReply(sensors: Epuck2Sensors, nowMs: number): void;
  check: ReplyCheck;
  /** The command about to be written (the owner may hold the robot still) and, once returned, written. */
  outgoing?(a: Epuck2Actuators): Epuck2Actuators;
  /** A stream opened after the first: the robot may have rebooted meanwhile. */
  reconnected?(): void;
  /** Where failures are logged, keyed by the channel's `source`. */
  faults: FaultLog;
  /** Clock, ms. */
  now?(): number;
}

export class LockStepChannel {
  private state: State = 'idle';
  private stream: Duplex | null = null;
  private pending: Epuck2Actuators | null = null;
  private rx: Buffer[] = [];
  private rxBytes = 0;
  private sentAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private failuresInRow = 0;
  private attempts = 0;
  private opened = 0;
  private healthy = false;
  /** When the last reply passed (NaN before the first). */
  private lastGoodAt = Number.NaN;
  /** A stream opened after the first has not had a good reply yet. */
  private reopened = false;
  /** The previous stream's close, awaited before reopening (a serial device stays locked until closed). */
  private closing: Promise<void> = Promise.resolve();
  private readonly latency = new LatencyWindow();
  private readonly now: () => number;
  /** The robot as the log names it. */
  readonly source: string;
  private readonly stats = { exchanges: 0, timeouts: 0, reconnects: 0, coalesced: 0, rejected: emptyRejections() };

  constructor(
    readonly id: string,
    private readonly protocol: LockStepProtocol,
    private readonly connector: Connector,
    private readonly settings: ChannelSettings,
    private readonly hooks: ChannelHooks,
  ) {
    this.now = hooks.now ?? (() => performance.now());
    this.source = `${protocol.name} ${id} (${connector.describe})`;
  }

  /** Open, and its last exchange succeeded. */
  get connected(): boolean {
    return this.healthy && this.stream !== null;
  }

  health(): LinkHealth {
    return {
      id: this.id,
      connected: this.connected,
      exchanges: this.stats.exchanges,
      latencyMs: { p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99), max: this.latency.max },
      rejected: { ...this.stats.rejected },
      timeouts: this.stats.timeouts,
      reconnects: this.stats.reconnects,
      coalesced: this.stats.coalesced,
    };
  }

  /** Round-trip times of the recent exchanges, ms (for benchmarks that pool robots). */
  latencySamples(): number[] {
    return this.latency.samples();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  /** The command for the next exchange: sent now if the stream is free, else as soon as it is. */
  request(a: Epuck2Actuators): void {
    if (this.state === 'stopped') return;
    if (this.pending !== null || this.state === 'waiting') this.stats.coalesced++;
    this.pending = a;
    if (this.state === 'ready') this.sendPending();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.clearTimer();
    const s = this.stream;
    this.stream = null;
    if (s) this.closing = this.closeStream(s);
    await this.closing;
  }

  private connect(): void {
    this.state = 'connecting';
    this.closing.then(() => this.connector.open()).then(
      (stream) => {
        if (this.state !== 'connecting') {
          void this.closeStream(stream);
          return;
        }
        this.stream = stream;
        if (this.opened++ > 0) {
          this.stats.reconnects++;
          this.reopened = true;
          this.hooks.reconnected?.();
        }
        stream.on('data', (chunk: Buffer) => this.onData(stream, chunk));
        stream.on('error', (err) => this.lost(stream, `stream error: ${err.message}`));
        stream.on('close', () => this.lost(stream, 'stream closed'));
        this.state = 'ready';
        // A fresh connection starts with an exchange: the first pose, and a stop unless a command waits.
        this.pending ??= { left: 0, right: 0 };
        this.sendPending();
      },
      (err: Error) => {
        if (this.state !== 'connecting') return;
        this.fault('cannot connect', err.message);
        this.backoff();
      },
    );
  }

  private lost(stream: Duplex, why: string): void {
    if (stream !== this.stream || this.state === 'stopped') return;
    this.fault('connection lost', why);
    this.dropStream();
    this.backoff();
  }

  private dropStream(): void {
    this.clearTimer();
    this.healthy = false;
    const s = this.stream;
    this.stream = null;
    if (s) this.closing = this.closeStream(s);
  }

  /** Closes a stream, never failing and never taking longer than a second. */
  private closeStream(s: Duplex): Promise<void> {
    s.removeAllListeners('data');
    s.on('error', () => undefined);
    const close = this.connector.close ? this.connector.close(s) : Promise.resolve(void s.destroy());
    return Promise.race([close.catch(() => undefined), new Promise<void>((r) => setTimeout(r, 1000).unref())]);
  }

  private backoff(): void {
    const { initialMs, maxMs } = this.settings.backoff;
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.connect();
    }, delay);
  }

  private sendPending(): void {
    const a = this.pending;
    const s = this.stream;
    if (!a || !s) return;
    this.pending = null;
    this.rx = [];
    this.rxBytes = 0;
    this.state = 'waiting';
    this.sentAt = this.now();
    s.write(this.protocol.encodeRequest(this.hooks.outgoing ? this.hooks.outgoing(a) : a));
    this.timer = setTimeout(() => this.onTimeout(), this.settings.timeoutMs);
  }

  private onData(stream: Duplex, chunk: Buffer): void {
    if (stream !== this.stream) return;
    if (this.state === 'draining') {
      this.quietTimer();
      return;
    }
    if (this.state !== 'waiting') {
      this.fail('stray-bytes', `${chunk.length} byte(s) with no request outstanding`);
      return;
    }
    if (this.rxBytes === 0 && chunk.length > 0) {
      const bad = this.protocol.checkFirstByte(chunk[0]!);
      if (bad && !bad.ok) return this.fail(bad.reason, bad.detail);
    }
    this.rx.push(chunk);
    this.rxBytes += chunk.length;
    if (this.rxBytes < this.protocol.replyBytes) return;
    const at = this.now();
    const reply = this.rx.length === 1 ? this.rx[0]! : Buffer.concat(this.rx);
    const decoded = this.protocol.decodeReply(reply);
    if (!decoded.ok) return this.fail(decoded.reason, decoded.detail);
    const refused = this.hooks.check(decoded.sensors, at);
    if (refused) return this.fail(refused.reason, refused.detail);
    this.clearTimer();
    this.stats.exchanges++;
    this.latency.add(at - this.sentAt);
    this.failuresInRow = 0;
    this.attempts = 0;
    this.healthy = true;
    if (this.reopened) {
      // Logged like a fault: a connection that keeps dropping must not write a line per reconnect either.
      const down = Number.isFinite(this.lastGoodAt) ? ` after ${((at - this.lastGoodAt) / 1000).toFixed(1)} s without a good reply` : '';
      this.fault('reconnected', `exchanging again${down}`);
      this.reopened = false;
    }
    this.lastGoodAt = at;
    this.hooks.faults.settle(this.source);
    this.state = 'ready';
    this.hooks.onReply(decoded.sensors, at);
    if (this.pending) this.sendPending();
  }

  private onTimeout(): void {
    this.timer = null;
    if (this.state !== 'waiting') return;
    this.stats.timeouts++;
    if (this.rxBytes > 0) this.fail('short', `${this.rxBytes} of ${this.protocol.replyBytes} bytes before the ${this.settings.timeoutMs} ms timeout`);
    else this.failed('timeout', `no reply within ${this.settings.timeoutMs} ms`);
  }

  private fail(reason: RejectReason, detail: string): void {
    this.stats.rejected[reason]++;
    this.failed(`refused reply (${reason})`, detail);
  }

  /** After any failure: drain the stream (or reconnect after a run of failures). */
  private failed(kind: string, detail: string): void {
    this.clearTimer();
    this.healthy = false;
    this.fault(kind, detail);
    if (++this.failuresInRow >= this.settings.failuresBeforeReconnect) {
      this.failuresInRow = 0;
      this.dropStream();
      this.backoff();
      return;
    }
    this.state = 'draining';
    this.quietTimer();
  }

  private fault(kind: string, detail: string): void {
    this.hooks.faults.fault(this.source, kind, detail);
  }

  private quietTimer(): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'draining') return;
      this.state = 'ready';
      if (this.pending) this.sendPending();
    }, this.settings.quietMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
