// `swarmguard operator <launch.yaml> <order>`: an operator's order to a distributed live run, over the run's bus as
// the `operator` login, in the words of `swarmguard run`'s console (src/runtime/console.ts, whose parser reads
// them first):
//   onflag <report|isolate|isolate-and-stop>          to the monitor (`.../control/monitor`): what a flag does
//   estop <robot-id>[,<robot-id>...]|all [reason]       to the feed, the robots' bridge (`.../control/feed`):
//   release <robot-id>[,<robot-id>...]|all              the robots' wheels zeroed until released
//   inject <robot-id>[,<robot-id>...] <attack> [seconds] [on=<s> off=<s>]   to every agent (`.../control/agents`),
//                                                       in a trial: the victim's runs the attack
//   end <robot-id>[,<robot-id>...]                      to every agent: their injections end at once
// The console's `estop [reason]` and `release` are the whole swarm's (one process holds every robot); over the
// bus the bridge stops robots one by one, so the robots come first, as `inject` names them (`all`: the swarm).
// Its ACL lets only this login give orders and each recipient read only its own. The recipient carries the order
// out and answers on `.../events` (the monitor's `on-flag`, the feed's `e-stop` / `release`, or `order-refused`
// naming why; the victims' agents' `injection-order`), which this command waits for: it says when the order took
// effect, or that nobody answered. An injection is checked here as the launch file's are (trial mode, the robots,
// the timing, the attack loaded once) before anything is sent; it names the tick it starts at, INJECT_LEAD_S after
// the newest tick of the robots' commands heard (the agents number ticks alike), so that every agent starts it at
// the same tick (each keeps its copy of the run's random stream by mirroring the draws). An `end` names its tick
// the same way.
import { randomBytes } from 'node:crypto';
import { loadLaunch, type Launch } from '../launch/launch.js';
import { BusClient } from '../links/mqtt/client.js';
import { CONTROL_QOS, DEFAULT_QOS, SwarmTopics } from '../links/mqtt/topics.js';
import { UserError } from '../core/user-error.js';
import { attackName, isBuiltinAttack, loadAttack, resolveAttackRef } from '../attacks/attack.js';
import { parseConsoleCommand } from '../runtime/console.js';
import { injectionTicks, robotIndices } from '../runtime/injection-timing.js';
import type { OnFlag } from '../runtime/isolation.js';
import { releaseRun } from '../runtime/run-spec.js';
import { credentials, OPERATOR_USER } from './config.js';
import { distributedConfig } from './participant.js';

/** How long the operator waits for the monitor's answer, ms. */
export const ORDER_ANSWER_MS = 5000;

export interface OrderOptions {
  broker?: string;
  /** How long to wait for the monitor's answer, ms. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** An order a distributed live run takes over its bus; `robots`: ids, or every robot of the swarm. */
export type BusOrder =
  | { kind: 'on-flag'; onFlag: OnFlag }
  | { kind: 'estop'; robots: string[] | 'all'; reason: string }
  | { kind: 'release'; robots: string[] | 'all' }
  /** attack: as the launch file's injections name it (a path relative to the working directory). */
  | { kind: 'inject'; robots: string[]; attack: string; seconds: number; on?: number; off?: number }
  | { kind: 'end-injection'; robots: string[] };

/**
 * How long after the newest tick heard (a robot's command) an injection starts, s: every agent must have the
 * order (and the victim's its attack loaded) before that tick, so that all start it at the same tick.
 */
export const INJECT_LEAD_S = 1;

/**
 * The answer: the recipient's tick the order took effect at (the monitor's, or the feed's; `atS` that tick in
 * seconds of the trial), and what it said.
 */
export type OrderAnswer = { tick: number; atS: number } & (
  | { kind: 'on-flag'; onFlag: OnFlag }
  | { kind: 'e-stop'; robots: string[] }
  /** held: robots the release named that the monitor still holds (isolate-and-stop): they stay still. */
  | { kind: 'release'; robots: string[]; held: string[] }
  /** Every victim's agent's answer: the ticks it runs the attack (from, to: its end, excluded). */
  | { kind: 'inject'; attack: string; victims: { robot: string; fromTick: number; toTick: number }[] }
  /** Every named robot's agent ended its injections at `tick`. */
  | { kind: 'end-injection'; robots: string[] }
);

export const ORDER_USAGE =
  'onflag report|isolate|isolate-and-stop, estop <robot-id>[,<robot-id>...]|all [reason], release <robot-id>[,<robot-id>...]|all, inject <robot-id>[,<robot-id>...] <attack> [seconds] [on=<s> off=<s>], end <robot-id>[,<robot-id>...]';

/**
 * Parses the order's words with the console's parser (the same verbs and values), then the robots an e-stop or a
 * release names. Throws a UserError that says what is wrong.
 */
export function parseOrder(words: readonly string[]): BusOrder {
  const line = words.join(' ');
  const command = parseConsoleCommand(line);
  const refuse = (why: string) => new UserError(`${why} (got '${line}'; a distributed run takes over its bus: ${ORDER_USAGE})`);
  // The console reads everything after `estop` as its reason, and ignores what follows `release`: here the robots come first.
  const [target, ...rest] = words.slice(1).join(' ').trim().split(/\s+/).filter(Boolean);
  const robots = (): string[] | 'all' => {
    if (target === undefined) throw refuse(`${words[0]}: name the robots (ids separated by commas) or all`);
    return target === 'all' ? 'all' : target.split(',').filter(Boolean);
  };
  switch (command?.kind) {
    case 'on-flag':
      return { kind: 'on-flag', onFlag: command.onFlag };
    case 'estop': {
      const reason = rest.join(' ') || 'operator';
      // The feed refuses (whole) a reason it would print or record badly: said here, before anything is sent.
      if (reason.length > 200 || /\p{Cc}/u.test(reason)) throw refuse('estop: the reason must be printable text of at most 200 characters');
      return { kind: 'estop', robots: robots(), reason };
    }
    case 'release':
      if (rest.length) throw refuse(`release takes only the robots`);
      return { kind: 'release', robots: robots() };
    case 'end-injection':
      return { kind: 'end-injection', robots: command.robot.split(',').filter(Boolean) };
    case 'inject':
      return { kind: 'inject', robots: command.robot.split(',').filter(Boolean), attack: command.attack, seconds: command.seconds, ...(command.on === undefined ? {} : { on: command.on, off: command.off }) };
    default:
      throw refuse(`'${words[0] ?? ''}' is not an order over the bus`);
  }
}

/** The order's words, for log lines. */
export function describeOrder(order: BusOrder): string {
  if (order.kind === 'on-flag') return `onflag ${order.onFlag}`;
  if (order.kind === 'inject') return `inject ${order.robots.join(',')} ${order.attack} ${order.seconds}`;
  if (order.kind === 'end-injection') return `end ${order.robots.join(',')}`;
  const robots = order.robots === 'all' ? 'all' : order.robots.join(',');
  return order.kind === 'estop' ? `estop ${robots} (${order.reason})` : `release ${robots}`;
}

/** Sends the order to the live run of the launch file and resolves with its recipient's answer. */
export async function sendOrder(path: string, order: BusOrder, o: OrderOptions = {}): Promise<OrderAnswer> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  try {
    const config = distributedConfig(launch);
    if (config.mode !== 'live') {
      throw new UserError(`${launch.source}: distributed.mode is ${config.mode}: operator orders are for live runs (a lock-step run reproduces the launch file's trial)`);
    }
    // Robots named are the launch file's (the feed refuses others too, but nothing need be sent for that).
    if (order.kind !== 'on-flag' && order.robots !== 'all') robotIndices(order.robots, launch.settings.robotIds);
    // An injection: checked as the launch file's are, before anything is sent.
    const inject = order.kind === 'inject' ? await checkInjection(launch, order) : null;
    if (order.kind === 'end-injection' && !launch.trial) throw new UserError(`${launch.source}: injections: refused outside trial mode (set trial: true)`);
    const toAgents = order.kind === 'inject' || order.kind === 'end-injection';
    const recipient = order.kind === 'on-flag' ? 'monitor' : toAgents ? 'agents' : 'feed';
    const url = o.broker ?? config.broker;
    const topics = new SwarmTopics(launch.name);
    const login = credentials(config, OPERATOR_USER, launch.source);
    const bus = await BusClient.connect({
      url,
      who: 'swarmguard operator',
      // Unique: two operators (or one order right after another) must not take each other's session over.
      clientId: `swarmguard-${launch.name}-operator-${randomBytes(4).toString('hex')}`,
      ...login,
      log,
    }).catch((err: Error) => {
      // No broker there (the run is over, or another broker: --broker), or the login refused: one line, not a trace.
      throw new UserError(`${err.message} (the run's broker: --broker, else the launch file's distributed.broker)`);
    });
    try {
      const timeoutMs = o.timeoutMs ?? ORDER_ANSWER_MS;
      // The recipient's answer carries this order's id back (two operators' orders are told apart).
      const id = randomBytes(8).toString('hex');
      // An injection (or its end) names its tick: a little after the newest one the agents' commands say.
      const newestTick = toAgents ? await newestCommandTick(bus, topics, timeoutMs, url, launch.name) : -1;
      const orderTick = newestTick + Math.max(1, Math.round(INJECT_LEAD_S / launch.settings.controlPeriod));
      const ended = new Map<string, number>();
      let answered: (a: OrderAnswer | Error) => void = () => {};
      const answer = new Promise<OrderAnswer | Error>((resolve) => (answered = resolve));
      await bus.subscribe(topics.events, 'events', DEFAULT_QOS.events, (_topic, msg) => {
        const got = answerIn(msg, order, id, launch, inject, ended);
        if (got) answered(got);
      });
      const body =
        order.kind === 'on-flag'
          ? { kind: 'on-flag', onFlag: order.onFlag }
          : order.kind === 'inject'
            ? { ...order, attack: inject!.ref, order: id, fromTick: orderTick }
            : order.kind === 'end-injection'
              ? { ...order, order: id, atTick: orderTick }
              : { ...order, order: id };
      bus.publish(topics.control(recipient), { t: Date.now(), ...body }, CONTROL_QOS);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
      const got = await Promise.race([answer, timedOut]);
      clearTimeout(timer);
      if (got instanceof Error) throw got;
      if (!got) {
        const silent = order.kind === 'inject' ? order.robots.filter((r) => !inject!.victims.has(r)) : order.kind === 'end-injection' ? order.robots.filter((r) => !ended.has(r)) : [];
        const who = toAgents ? `the agent of ${silent.join(', ')}` : `the ${recipient}`;
        throw new UserError(
          `no answer from ${who} of '${launch.name}' on ${url} within ${timeoutMs / 1000} s (--timeout): is its live run going on (and the password in ${config.passwordEnv} the run's)?`,
        );
      }
      return got;
    } finally {
      await bus.close();
    }
  } finally {
    await releaseRun(launch);
  }
}

/** What the injection's check found: the attack as the agents load it, its name, and the victims' answers so far. */
interface CheckedInjection {
  ref: string;
  name: string;
  victims: Map<string, { robot: string; fromTick: number; toTick: number }>;
}

/** The newest tick the robots' commands carry, waiting up to timeoutMs for the first (the run's broker and name: said if none comes). */
async function newestCommandTick(bus: BusClient, topics: SwarmTopics, timeoutMs: number, url: string, run: string): Promise<number> {
  let newest = -1;
  await bus.subscribe(topics.everyRobot('cmd'), 'cmd', DEFAULT_QOS.cmd, (_topic, msg) => void (newest = Math.max(newest, msg.tick)));
  const heardBy = Date.now() + timeoutMs;
  while (newest < 0 && Date.now() < heardBy) await new Promise((r) => setTimeout(r, 20));
  if (newest < 0) throw new UserError(`no robot's command heard on ${url} within ${timeoutMs / 1000} s (--timeout): is the live run of '${run}' going on?`);
  return newest;
}

/**
 * The answer an event on `.../events` gives to the order (null: none, or not complete yet; an Error: refused):
 * the monitor's `on-flag` for onflag; for the others the recipient's answer naming the order's id, an injection's
 * once every victim's agent has answered (kept in `inject.victims`).
 */
function answerIn(msg: Record<string, unknown>, order: BusOrder, id: string, launch: Launch, inject: CheckedInjection | null, ended: Map<string, number>): OrderAnswer | Error | null {
  const at = (tick: unknown) => ({ tick: Number(tick), atS: Number(tick) * launch.settings.controlPeriod });
  if (order.kind === 'on-flag') {
    return msg.kind === 'on-flag' && msg.reason === 'operator' && msg.onFlag === order.onFlag ? { kind: 'on-flag', onFlag: order.onFlag, ...at(msg.tick) } : null;
  }
  if (msg.order !== id) return null;
  const names = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  const by = typeof msg.robot === 'string' ? `the agent of ${msg.robot}` : 'the feed';
  if (msg.kind === 'order-refused') return new UserError(`${by} in '${launch.name}' refused ${describeOrder(order)}: ${String(msg.why)}`);
  if (msg.kind === 'injection-order' && inject && order.kind === 'inject') {
    inject.victims.set(String(msg.robot), { robot: String(msg.robot), fromTick: Number(msg.fromTick), toTick: Number(msg.toTick) });
    const victims = order.robots.flatMap((r) => inject.victims.get(r) ?? []);
    return victims.length === order.robots.length ? { kind: 'inject', attack: inject.name, victims, ...at(victims[0]!.fromTick) } : null;
  }
  if (msg.kind === 'end-injection' && order.kind === 'end-injection') {
    ended.set(String(msg.robot), Number(msg.tick));
    const ticks = order.robots.flatMap((r) => ended.get(r) ?? []);
    return ticks.length === order.robots.length ? { kind: 'end-injection', robots: order.robots, ...at(Math.max(...ticks)) } : null;
  }
  if (msg.kind === 'e-stop') return { kind: 'e-stop', robots: names(msg.robots), ...at(msg.tick) };
  if (msg.kind === 'release') return { kind: 'release', robots: names(msg.robots), held: names(msg.held), ...at(msg.tick) };
  return null;
}

/**
 * An injection checked as the launch file's are: a trial, a timing that fits the control period, an attack that
 * loads (its path resolved against the working directory, loaded once and released: the agents load it again).
 */
async function checkInjection(launch: Launch, order: Extract<BusOrder, { kind: 'inject' }>): Promise<CheckedInjection> {
  if (!launch.trial) throw new UserError(`${launch.source}: injections: refused outside trial mode (set trial: true)`);
  injectionTicks({ at: 0, duration: order.seconds, on: order.on, off: order.off }, launch.settings.controlPeriod, 0);
  if (order.attack === 'none') throw new UserError("inject: 'none' compromises nothing");
  const ref = isBuiltinAttack(order.attack) ? order.attack : resolveAttackRef(order.attack, process.cwd());
  const attack = await loadAttack(ref, launch.settings);
  if (attack.kind === 'adversary') await attack.adversary.release();
  return { ref, name: attackName(attack), victims: new Map() };
}

/** The answer as the command prints it. */
export function formatAnswer(a: OrderAnswer): string {
  const at = `tick ${a.tick} (${a.atS.toFixed(1)} s into the trial)`;
  switch (a.kind) {
    case 'on-flag':
      return `swarmguard operator: the monitor acts on flags with ${a.onFlag} from its tick ${a.tick + 1}`;
    case 'e-stop':
      return `swarmguard operator: e-stop of ${a.robots.join(', ')} in force at the feed from its ${at}: wheels zeroed until released`;
    case 'release':
      return (
        `swarmguard operator: e-stop of ${a.robots.join(', ')} released at the feed's ${at}` +
        (a.held.length ? `; still held by the monitor (isolate-and-stop): ${a.held.join(', ')}` : '')
      );
    case 'inject': {
      const span = (v: { fromTick: number; toTick: number }) => `ticks ${v.fromTick} to ${v.toTick - 1}`;
      return `swarmguard operator: ${a.attack} injected into ${a.victims.map((v) => `${v.robot} (${span(v)})`).join(', ')}, from ${a.atS.toFixed(1)} s into the trial, run by the victim's agent`;
    }
    case 'end-injection':
      return `swarmguard operator: the injections on ${a.robots.join(', ')} ended at ${at}: back under their policies`;
  }
}
