// Payloads of the MQTT contract (README.md), validated with zod on receipt. Every payload is a JSON object
// with `v: 1`; a payload that is not JSON, has another version or fails its schema is refused with one of
// REFUSAL_REASONS. Unknown extra keys are ignored (additive fields stay compatible within v1).
import { z } from 'zod';

export const PAYLOAD_VERSION = 1;

const finite = z.number(); // zod 4 refuses NaN and +-Infinity
const time = finite.nonnegative();
const tick = z.number().int().nonnegative();
const unit = finite.min(-1).max(1);
const probability = finite.min(0).max(1);

/**
 * `stop`: the robot's bridge executed a stop, not a command of the robot's policy, over the step that led to this
 * pose (the distributed live feed: no command yet, its command watchdog, its outage stop, or a zero command its
 * agent's safety layer stopped); absent: it executed the command its agent sent.
 */
export const PoseSchema = z.object({ v: z.literal(1), t: time, x: finite, y: finite, theta: finite, tick: tick.optional(), stop: z.string().min(1).max(40).optional() });
export const ProximitySchema = z.object({ v: z.literal(1), t: time, ps: z.array(finite).length(8) });
/** `stopped`: why the sender's safety layer zeroed this command (a distributed agent says so; absent: it passed). */
export const CmdSchema = z.object({ v: z.literal(1), t: time, tick, left: unit, right: unit, stopped: z.string().min(1).max(40).optional() });
export const BeliefSchema = z.object({ v: z.literal(1), tick, about: z.record(z.string(), probability) });
export const SuspicionSchema = z.object({
  v: z.literal(1),
  tick,
  belief: probability.nullable(),
  consistency: probability,
  suspicion: probability,
  flagged: z.boolean(),
});
/** A RunEvent (src/runtime/trial.ts) with the version: every event has a tick and a kind. */
export const EventSchema = z.looseObject({ v: z.literal(1), tick, kind: z.string().min(1) });
export const AlertSchema = z.looseObject({
  v: z.literal(1),
  tick,
  kind: z.enum(['flag', 'clear']),
  robot: z.string().min(1),
  suspicion: probability,
  evidence: z.looseObject({}),
});
export const StatusSchema = z.looseObject({ v: z.literal(1), state: z.enum(['online', 'offline']), t: time });
/**
 * The end of a distributed trial (retained on `.../done`): `trial` = the id the feed announced in its status
 * (a done of another trial ends nothing), `ticks` run, `interrupted` = ended before the launch file's duration.
 */
export const DoneSchema = z.looseObject({ v: z.literal(1), t: time, trial: z.string().min(1).max(64), by: z.string().min(1).max(64), ticks: tick, interrupted: z.boolean() });

/**
 * A distributed run's isolation mask for one tick (`.../isolation`, the monitor's only): `leftOut` are left out
 * of every other robot's observation and belief pairs (onFlag isolate), `held` are held still by their bridge
 * and seen by the others as still bodies (isolate-and-stop); every robot not named takes part as usual.
 */
export const IsolationSchema = z.object({
  v: z.literal(1),
  tick,
  leftOut: z.array(z.string().min(1).max(64)).max(10_000),
  held: z.array(z.string().min(1).max(64)).max(10_000),
});

/**
 * An operator's order to a distributed live run's monitor (`.../control/monitor`, the operator's only): `onFlag`,
 * what a flag does from now on (report, isolate, isolate-and-stop: checked by the monitor, as cmd.stopped is by
 * its reader).
 */
export const ControlSchema = z.object({ v: z.literal(1), t: time, kind: z.literal('on-flag'), onFlag: z.string().min(1).max(40) });

/** Robots an order names: ids (each a topic level, checked by the receiver against its swarm) or `all`. */
const orderRobots = z.union([z.literal('all'), z.array(z.string().min(1).max(64)).min(1).max(10_000)]);
/** Printed on terminals and recorded: no control characters. */
const printable = z.string().max(200).regex(/^\P{Cc}*$/u, 'printable text only');
/**
 * An operator's order to a distributed live run's robot bridge, the feed (`.../control/feed`, the operator's
 * only): `estop` holds the robots named still until a `release` names them (the monitor's hold is its own: a
 * release does not lift it). `order` is the sender's id for it, which the feed's answer on `.../events` (the
 * `e-stop` / `release` event, or `order-refused`) carries back. Strict: an order with a key it does not know is
 * refused whole rather than half understood.
 */
export const StopOrderSchema = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(1), t: time, order: z.string().min(1).max(64), kind: z.literal('estop'), robots: orderRobots, reason: printable.min(1) }).strict(),
  z.object({ v: z.literal(1), t: time, order: z.string().min(1).max(64), kind: z.literal('release'), robots: orderRobots }).strict(),
]);

/**
 * An operator's injection into a distributed live trial (`.../control/agents`, the operator's only; every agent
 * reads it): `attack` as the launch file's injections name it (a fault, obs-noise:<eps>, a trained adversary or
 * policy folder, an attack module; a path resolved by the sender), for `seconds` (on/off: intermittent, both or
 * neither), from tick `fromTick` (the agents' numbering, periods since the start: the sender reads the ticks of
 * the robots' commands and names one a little ahead), so that every agent starts it at the same tick; one that
 * has passed it starts it at once, late. `order` is the sender's id, which the victims' answers (`injection-order` or
 * `order-refused` on `.../events`) carry back.
 */
/** What every order to the agents carries: the sender's id for it and the robots it names (ids, checked by each agent). */
const agentOrder = {
  v: z.literal(1),
  t: time,
  order: z.string().min(1).max(64),
  robots: z.array(z.string().min(1).max(64)).min(1).max(10_000),
};

export const InjectOrderSchema = z
  .object({
    ...agentOrder,
    kind: z.literal('inject'),
    attack: z.string().min(1).max(1000).regex(/^\P{Cc}*$/u, 'printable text only'),
    seconds: finite.positive().max(24 * 3600),
    on: finite.positive().optional(),
    off: finite.positive().optional(),
    fromTick: tick,
  })
  .strict();

/**
 * An operator's end of the injections running or planned on `robots` (`.../control/agents`, as injections):
 * every agent ends them at tick `atTick` (named as an injection's start is, so that all end them at the same
 * tick; one that has passed it ends them at once, late). The victims' agents answer with the run's `end-injection` event at
 * that tick, or `order-refused` when nothing was running or planned on their robot.
 */
export const EndInjectionOrderSchema = z
  .object({
    ...agentOrder,
    kind: z.literal('end-injection'),
    atTick: tick,
  })
  .strict();

/** What the agents take over `.../control/agents`: an injection, or the end of injections. */
export const AgentOrderSchema = z.discriminatedUnion('kind', [InjectOrderSchema, EndInjectionOrderSchema]);

export type PoseMsg = z.output<typeof PoseSchema>;
export type CmdMsg = z.output<typeof CmdSchema>;
export type BeliefMsg = z.output<typeof BeliefSchema>;
export type DoneMsg = z.output<typeof DoneSchema>;
export type IsolationMsg = z.output<typeof IsolationSchema>;
export type ControlMsg = z.output<typeof ControlSchema>;
export type StopOrderMsg = z.output<typeof StopOrderSchema>;
export type InjectOrderMsg = z.output<typeof InjectOrderSchema>;
export type EndInjectionOrderMsg = z.output<typeof EndInjectionOrderSchema>;
export type AgentOrderMsg = z.output<typeof AgentOrderSchema>;

export const SCHEMAS = {
  pose: PoseSchema,
  proximity: ProximitySchema,
  cmd: CmdSchema,
  belief: BeliefSchema,
  suspicion: SuspicionSchema,
  events: EventSchema,
  alerts: AlertSchema,
  status: StatusSchema,
  done: DoneSchema,
  isolation: IsolationSchema,
  control: ControlSchema,
  'stop-order': StopOrderSchema,
  'agent-order': AgentOrderSchema,
} as const;
export type PayloadKind = keyof typeof SCHEMAS;
export type Payload<K extends PayloadKind> = z.output<(typeof SCHEMAS)[K]>;

/** Why a payload was refused. */
export const REFUSAL_REASONS = ['too-large', 'bad-json', 'not-object', 'wrong-version', 'schema'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Payloads larger than this are refused before parsing (the largest legitimate one, a belief of 100 robots, is ~4 kB). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export type Decoded<K extends PayloadKind> = { ok: true; msg: Payload<K> } | { ok: false; reason: RefusalReason; detail: string };

/** Parses and validates one payload of `kind`. */
export function decodePayload<K extends PayloadKind>(kind: K, payload: Uint8Array | string): Decoded<K> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) return { ok: false, reason: 'too-large', detail: `${size} bytes (at most ${MAX_PAYLOAD_BYTES})` };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'bad-json', detail: (err as Error).message };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not-object', detail: 'the payload is not a JSON object' };
  const v = (raw as { v?: unknown }).v;
  if (v !== PAYLOAD_VERSION) return { ok: false, reason: 'wrong-version', detail: `v is ${JSON.stringify(v) ?? 'missing'} (this runtime speaks v ${PAYLOAD_VERSION})` };
  const parsed = SCHEMAS[kind].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: 'schema', detail: `${issue.path.join('.') || '(payload)'}: ${issue.message}` };
  }
  return { ok: true, msg: parsed.data as Payload<K> };
}

/** The JSON text of a payload (adds `v`). */
export function encodePayload(body: object): string {
  return JSON.stringify({ v: PAYLOAD_VERSION, ...body });
}
