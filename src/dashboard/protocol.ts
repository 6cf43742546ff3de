// The dashboard's WebSocket protocol (JSON text messages), one place for both directions.
//
// Server -> client:
//   {type:'auth-needed'}                    viewing needs the token (the dashboard listens beyond loopback)
//   {type:'welcome', ...Welcome}            the swarm, the arena, what the controls offer, the current flags
//   {type:'frame', seq, detail, events, tick, t, poses, susp, flagged, ...}   one tick; ack it with its seq
//   {type:'run-ended', ...RunEnded}         the run (or the replay) is over: nothing more comes, don't reconnect
//   {type:'result', id, message}            a control carried out
//   {type:'error', id, reason}              a message refused, and why
// Client -> server: ClientMessage below. A client acks every frame it has drawn; the server keeps at most
// a couple of frames unacknowledged per client and otherwise sends only the latest one when the client
// catches up (slow clients see fewer frames, never old ones).
import { z } from 'zod';
import type { RunEnd } from '../runtime/services.js';
import type { TickRecord } from '../runtime/trial.js';
import type { Evidence } from '../monitor/monitor.js';
import type { ShownEvent } from './events.js';
import { ON_FLAG_ACTIONS, type OnFlag } from '../runtime/isolation.js';

const Token = z.string().max(256);

const ActionSchema = z.discriminatedUnion('kind', [
  // The reason is printed on the operator's terminal and recorded: no control characters.
  z.object({ kind: z.literal('estop'), reason: z.string().max(200).regex(/^\P{Cc}*$/u, 'printable text only').optional() }).strict(),
  z.object({ kind: z.literal('release') }).strict(),
  z.object({ kind: z.literal('stop') }).strict(),
  z.object({ kind: z.literal('start') }).strict(),
  /** What a flag does from now on (the console's `onflag`). */
  z.object({ kind: z.literal('on-flag'), onFlag: z.enum(ON_FLAG_ACTIONS) }).strict(),
  z
    .object({
      kind: z.literal('inject'),
      robot: z.string().min(1).max(100),
      attack: z.string().min(1).max(200),
      seconds: z.number().positive().max(3600),
    })
    .strict(),
  /** Ends the robot's injections now (the console's `end`). */
  z.object({ kind: z.literal('end-injection'), robot: z.string().min(1).max(100) }).strict(),
]);

export const ClientMessageSchema = z.discriminatedUnion('type', [
  /** The token, shown once per connection: to view when viewing needs it, and to be exempt from later lock-outs. */
  z.object({ type: z.literal('hello'), token: Token }).strict(),
  /** Frame `seq` has been drawn. */
  z.object({ type: z.literal('ack'), seq: z.number().int().min(0) }).strict(),
  /** An operator action; `id` comes back in the reply. The token is checked before anything else. */
  z.object({ type: z.literal('control'), id: z.number().int().min(0).max(2 ** 31).optional(), token: Token.optional(), action: ActionSchema }).strict(),
]);

export type ClientMessage = z.output<typeof ClientMessageSchema>;
export type DashboardAction = z.output<typeof ActionSchema>;

/** Parses one message; the error names what is wrong (for the refusal reply). */
export function parseClientMessage(data: string): { ok: true; msg: ClientMessage } | { ok: false; why: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  const r = ClientMessageSchema.safeParse(raw);
  if (r.success) return { ok: true, msg: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, why: `${issue.path.length ? issue.path.join('.') : 'message'}: ${issue.message}` };
}

export interface Welcome {
  title: string;
  ids: readonly string[];
  arena: { width: number; height: number };
  bodyRadius: readonly number[];
  controlPeriod: number;
  trialMode: boolean;
  flagAt: number;
  clearAt: number;
  /** The consistency detector's CUSUM value at which it reaches suspicion 1 (the CUSUM is capped at twice it). */
  cusumThreshold: number;
  /** 'live' (controls through the run's controller) or 'replay' (no controls). */
  mode: 'live' | 'replay';
  /** Why the page's controls are off (a replay, a run that has ended); null: they are on. */
  controlsOff: string | null;
  /** Attack names the injection control offers (trial mode). */
  attacks: string[];
  /** Robots flagged now, with the evidence of their flag; the latest events. */
  flags: Record<string, { suspicion: number; evidence: Evidence; tick: number }>;
  events: ShownEvent[];
  eStopped: string | null;
  paused: boolean;
  /** What a flag does now (monitor.onFlag), and the robots isolated now. */
  onFlag: OnFlag;
  isolated: string[];
  /** The run is over (a replay held at its end): how it ended. */
  ended: RunEnded | null;
}

/** How the run ended (the `run-ended` message, and the welcome of a page that joins after it). */
export interface RunEnded {
  reason: RunEnd['reason'];
  /** The last tick shown and its time, s (null: none was). */
  tick: number | null;
  t: number | null;
  /** The summary's lines, as the terminal prints them (null: none, e.g. the run failed). */
  summary: string[] | null;
}

/** Full frames carry every monitor signal; lite ones (slow clients) only poses, suspicion and flags. */
export type Detail = 'full' | 'lite';

const milli = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) : null);

/**
 * One tick's frame body without its per-client parts (seq, events): a JSON object's members, no braces.
 * Poses in mm and mrad, signals in thousandths: integers keep frames small.
 */
export function frameBody(r: TickRecord, detail: Detail, o: { controlPeriod: number; trialMode: boolean; eStopped: string | null; paused: boolean; isolated?: readonly number[] }): string {
  const poses: (number | null)[] = [];
  for (const p of r.truePoses ?? r.poses) poses.push(milli(p.x), milli(p.y), milli(p.theta));
  const flagged: number[] = [];
  r.flagged.forEach((f, i) => f && flagged.push(i));
  const body: Record<string, unknown> = {
    detail,
    tick: r.tick,
    t: Math.round(r.tick * o.controlPeriod * 1000) / 1000,
    poses,
    susp: r.suspicion.map(milli),
    flagged,
    // Robots left out of the others' observations (monitor.onFlag isolate or isolate-and-stop).
    isolated: o.isolated ?? [],
    eStopped: o.eStopped,
    paused: o.paused,
  };
  // Ground truth is for trials only.
  if (o.trialMode) body.compromised = r.compromised;
  if (detail === 'full') {
    body.belief = r.belief.map((b) => (b === null ? null : milli(b)));
    body.consistency = r.consistency.map(milli);
    body.stopped = r.stopped.flatMap((s, i) => (s === null ? [] : [[i, s]]));
  }
  return JSON.stringify(body).slice(1, -1);
}
