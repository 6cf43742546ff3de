// Per-robot link statistics, shared by the e-puck2 and MQTT links (their faults are logged through
// src/runtime/fault-log.ts).
import { REJECT_REASONS, type RejectReason } from './protocol.js';

import type { LinkHealth } from '../../runtime/link.js';

export type { LinkHealth };

/** An e-puck2 robot's link health: the runtime's, and its odometry's rebases. */
export interface Epuck2Health extends LinkHealth {
  /** Step-counter readings taken as a new reference instead of motion (a reset: the robot rebooted; or a gap too long to unwrap). */
  rebases: number;
}

export const LATENCY_WINDOW = 4096;

export class LatencyWindow {
  private readonly ring = new Float64Array(LATENCY_WINDOW);
  private n = 0;
  max = 0;

  add(ms: number): void {
    this.ring[this.n % LATENCY_WINDOW] = ms;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  /** The latencies in the window, oldest first not guaranteed. */
  samples(): number[] {
    return Array.from(this.ring.subarray(0, Math.min(this.n, LATENCY_WINDOW)));
  }

  /** The q-quantile (nearest rank) of the window, NaN when empty. */
  quantile(q: number): number {
    const k = Math.min(this.n, LATENCY_WINDOW);
    if (k === 0) return Number.NaN;
    const sorted = Array.from(this.ring.subarray(0, k)).sort((a, b) => a - b);
    return sorted[Math.min(k - 1, Math.max(0, Math.ceil(q * k) - 1))]!;
  }
}

export function emptyRejections(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}
