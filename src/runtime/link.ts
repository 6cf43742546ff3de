// Links to robots: each a small adapter behind one interface. The runtime reads the latest pose of every
// robot (with the time it was measured) and sends normalised wheel commands; it never assumes a link
// delivers on time, which is why the safety layer checks every pose's age.
import type { TimedPose } from './safety.js';

/** A link's health for one robot (what `health()` reports, the bench prints). */
export interface LinkHealth {
  id: string;
  /** Connected, and the last exchange succeeded. */
  connected: boolean;
  /** Completed exchanges (a good reply to a request, or a message received). */
  exchanges: number;
  /** Round trip, request written to reply complete, ms: p50 and p99 over recent exchanges, max over all. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Replies or messages refused, by reason. */
  rejected: Record<string, number>;
  /** Requests that got no complete reply in time. */
  timeouts: number;
  /** Connections opened after the first. */
  reconnects: number;
  /** Commands replaced by a newer one before they could go out (the previous exchange was still under way). */
  coalesced: number;
}

export interface RobotLink {
  readonly kind: string;
  readonly ids: readonly string[];
  /** The latest pose of every robot (robot i's at i; null if none yet); read within the tick: a link may rewrite the array and its poses on the next call. */
  poses(): (TimedPose | null)[];
  /** Sends robot i its command for the coming tick. */
  send(i: number, left: number, right: number): void;
  /** True poses, where the link knows them (the twin): ground truth for pictures, never for controllers. */
  truePoses?(): { x: number; y: number; theta: number }[];
  /**
   * The same true poses as the twin's own state arrays (robot i's at i), read within the tick: what the run's
   * record copies every tick, without truePoses()' object per robot.
   */
  trueState?(): { readonly x: Float64Array; readonly y: Float64Array; readonly heading: Float64Array };
  /** Robot i's latest IR proximity readings ps0..ps7 (raw, higher = closer), null if none: the safety layer's obstacle check. */
  proximity?(i: number): readonly number[] | null;
  /** Per-robot link statistics (exchanges, latency, refused replies, timeouts, reconnects), where the link keeps them. */
  health?(): LinkHealth[];
  /** Clock the link stamps poses with, ms. */
  now(): number;
  start(): void;
  /** Resolves once every robot has reported a pose or timeoutMs has passed; the ids still silent (links that connect). */
  ready?(timeoutMs: number): Promise<string[]>;
  /** Where robot i is reached (host:port, a device path, a topic), for messages about it. */
  address?(i: number): string;
  stop(): Promise<void>;
}

/**
 * A twin serving a link's robots in this process (the protocol twin of the e-puck2 links, the MQTT bus twin):
 * the link stops it first and may show its ground truth (pictures only, never controllers).
 */
export interface InProcessTwin {
  stop(): Promise<void>;
  truePoses?(): { x: number; y: number; theta: number }[];
}

/** How long a run or drive waits for the robots' first poses before it starts, ms. */
export const READY_TIMEOUT_MS = 5000;

/** Robots that never answered when a run or a calibration drive started: nothing was driven. */
export class SilentRobotsError extends Error {
  override readonly name = 'SilentRobotsError';
}

/** The robots named by id with where the link looked for them: "epuck-0 (127.0.0.1:31000), epuck-1 (...)". */
export function describeRobots(link: RobotLink, ids: readonly string[]): string {
  return ids
    .map((id) => {
      const i = link.ids.indexOf(id);
      const where = i >= 0 ? link.address?.(i) : undefined;
      return where ? `${id} (${where})` : id;
    })
    .join(', ');
}
