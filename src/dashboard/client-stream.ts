// Frames to one dashboard client without ever queueing unboundedly or lagging: the client acks each frame it
// has drawn; with MAX_IN_FLIGHT frames unacknowledged (or the socket's own buffer full) a new tick only
// replaces the waiting one (coalesced), and the latest is sent once the client catches up. A client that
// keeps falling behind gets lite frames (no per-robot monitor detail) at most every LITE_INTERVAL_MS, and
// full ones again after RECOVER_MS without falling behind. Events are never coalesced: they ride with the
// next frame sent (at most MAX_PENDING_EVENTS waiting; beyond that the oldest are dropped and counted).
import type { Detail } from './protocol.js';

export const MAX_IN_FLIGHT = 2;
export const HIGH_WATER_BYTES = 256 * 1024;
export const LITE_INTERVAL_MS = 200;
export const RECOVER_MS = 10_000;
export const MAX_PENDING_EVENTS = 500;
/** Over the last SLOW_WINDOW ticks, a client held back on more than SLOW_SHARE of them is slow. */
const SLOW_WINDOW = 20;
const SLOW_SHARE = 0.25;

export interface FrameSource {
  /** The latest tick's frame body at this detail (frameBody), encoded once per tick and detail; null: none yet. */
  body(detail: Detail): string | null;
}

export interface Socket {
  send(data: string): void;
  readonly bufferedAmount: number;
}

export interface StreamStats {
  sent: number;
  /** Frames replaced by a newer one before they could be sent. */
  coalesced: number;
  bytes: number;
  droppedEvents: number;
  detail: Detail;
}

export class ClientStream {
  private seq = 0;
  private acked = 0;
  private waiting = false;
  private events: string[] = [];
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private readonly recent: boolean[] = [];
  private lastSlowAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | null = null;
  readonly stats: StreamStats = { sent: 0, coalesced: 0, bytes: 0, droppedEvents: 0, detail: 'full' };

  constructor(
    private readonly socket: Socket,
    private readonly source: FrameSource,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Events of the latest tick, already JSON. */
  addEvents(events: readonly string[]): void {
    this.events.push(...events);
    const over = this.events.length - MAX_PENDING_EVENTS;
    if (over > 0) {
      this.events.splice(0, over);
      this.stats.droppedEvents += over;
    }
  }

  /** A new tick is there to send. */
  offer(): void {
    if (this.waiting) this.stats.coalesced++;
    this.waiting = true;
    const held = !this.canSend();
    this.note(held);
    this.flush();
  }

  /** Frame `seq` was drawn; false when no such frame was sent (a bad ack). */
  ack(seq: number): boolean {
    if (seq > this.seq) return false;
    this.acked = Math.max(this.acked, seq);
    this.flush();
    return true;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiting = false;
  }

  private canSend(): boolean {
    return this.seq - this.acked < MAX_IN_FLIGHT && this.socket.bufferedAmount < HIGH_WATER_BYTES;
  }

  private flush(): void {
    if (!this.waiting || !this.canSend()) return;
    const wait = this.stats.detail === 'lite' ? this.lastSentAt + LITE_INTERVAL_MS - this.now() : 0;
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
      return;
    }
    const body = this.source.body(this.stats.detail);
    if (body === null) return;
    this.seq++;
    const data = `{"type":"frame","seq":${this.seq},"events":[${this.events.join(',')}],${body}}`;
    this.events = [];
    this.waiting = false;
    this.lastSentAt = this.now();
    this.stats.sent++;
    this.stats.bytes += data.length;
    this.socket.send(data);
  }

  /** Slow or not at this tick: switches between full and lite frames. */
  private note(held: boolean): void {
    const t = this.now();
    this.recent.push(held);
    if (this.recent.length > SLOW_WINDOW) this.recent.shift();
    if (held) this.lastSlowAt = t;
    const heldShare = this.recent.filter(Boolean).length / SLOW_WINDOW;
    if (this.stats.detail === 'full' && heldShare > SLOW_SHARE) this.stats.detail = 'lite';
    else if (this.stats.detail === 'lite' && t - this.lastSlowAt > RECOVER_MS) {
      this.stats.detail = 'full';
      this.recent.length = 0;
    }
  }
}
