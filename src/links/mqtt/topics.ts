// The MQTT topic layout every participant shares (README.md): `swarmguard/v1/<swarm>/...`, one prefix per
// swarm (the launch file's `name`). A new payload version gets a new prefix segment, never a changed payload.
import { UserError } from '../../core/user-error.js';
export const TOPIC_ROOT = 'swarmguard/v1';

/** Per-robot message kinds (`.../robot/<id>/<kind>`). */
export const ROBOT_KINDS = ['pose', 'proximity', 'cmd', 'belief', 'suspicion'] as const;
export type RobotTopicKind = (typeof ROBOT_KINDS)[number];

/** Names that can appear in a topic level: no wildcards, no separators, no empty level. */
const LEVEL = /^[A-Za-z0-9_.-]+$/;

export function isTopicLevel(s: string): boolean {
  return LEVEL.test(s);
}

function level(what: string, s: string): string {
  if (!isTopicLevel(s)) throw new UserError(`${what} '${s}' cannot be an MQTT topic level (letters, digits, _ . - only)`);
  return s;
}

/**
 * Whether the MQTT filter `filter` (`+` one level, `#` the rest) matches `topic`, or, when `topic` is itself a
 * filter, covers all of it (`a/+/pose` does not cover `a/#`: the ACL's rule for subscriptions).
 */
export function filterCovers(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let k = 0; k < f.length; k++) {
    if (f[k] === '#') return true;
    if (k >= t.length || t[k] === '#') return false;
    if (f[k] !== '+' && f[k] !== t[k]) return false;
  }
  return f.length === t.length;
}

/** Who carries out an operator's order in a distributed live run (`.../control/<recipient>`). */
export const CONTROL_RECIPIENTS = ['monitor', 'feed', 'agents'] as const;
export type ControlRecipient = (typeof CONTROL_RECIPIENTS)[number];

/** Every topic of one swarm. */
export class SwarmTopics {
  readonly prefix: string;

  constructor(readonly swarm: string) {
    this.prefix = `${TOPIC_ROOT}/${level('swarm name', swarm)}`;
  }

  robot(id: string, kind: RobotTopicKind): string {
    return `${this.prefix}/robot/${level('robot id', id)}/${kind}`;
  }

  /** Subscription filter for one kind of every robot (`.../robot/+/pose`). */
  everyRobot(kind: RobotTopicKind): string {
    return `${this.prefix}/robot/+/${kind}`;
  }

  get alerts(): string {
    return `${this.prefix}/alerts`;
  }

  get events(): string {
    return `${this.prefix}/events`;
  }

  /**
   * A distributed run's isolation mask (monitor.onFlag isolate / isolate-and-stop): which robots every agent
   * leaves out of its observation and belief pairs, and which ones the robots' bridges (the feed) hold still,
   * tick by tick. Only the monitor may publish it (the run's ACL).
   */
  get isolation(): string {
    return `${this.prefix}/isolation`;
  }

  /**
   * A distributed live run's operator orders (`swarmguard operator`), one topic per recipient: `monitor` (what a
   * flag does from now on), `feed` (the robots' bridge: e-stop and release of robots) and `agents` (an injection:
   * every agent hears it, the victim's runs it, the others make its draws from the run's random stream). Only
   * the operator may publish them, each recipient reads only its own (the run's ACL). One topic per recipient rather than one
   * topic with kinds: the broker's ACL then says who carries out what (least privilege: the feed never hears
   * what a flag does, the monitor never an e-stop order), and everything on a recipient's topic is for it, so a
   * payload that is not one of its orders is refused and counted rather than skipped as someone else's.
   */
  control(recipient: ControlRecipient): string {
    return `${this.prefix}/control/${recipient}`;
  }

  /** A distributed trial's end (retained): whoever ends the trial publishes it; the next trial's feed clears it. */
  get done(): string {
    return `${this.prefix}/done`;
  }

  /** `controller`, `monitor`, `feed`, `agent/<id>`, `robot/<id>`. */
  status(role: string): string {
    return `${this.prefix}/status/${role.split('/').map((p) => level('status role part', p)).join('/')}`;
  }

  /** Every participant's status (`.../status/#`). */
  get everyStatus(): string {
    return `${this.prefix}/status/#`;
  }

  /** The robot id and kind of a per-robot topic of this swarm, or null. */
  parseRobot(topic: string): { id: string; kind: RobotTopicKind } | null {
    const head = `${this.prefix}/robot/`;
    if (!topic.startsWith(head)) return null;
    const rest = topic.slice(head.length).split('/');
    if (rest.length !== 2 || !isTopicLevel(rest[0]!)) return null;
    const kind = rest[1] as RobotTopicKind;
    return ROBOT_KINDS.includes(kind) ? { id: rest[0]!, kind } : null;
  }

  /** The role of a status topic of this swarm (`agent/epuck-3`), or null. */
  parseStatus(topic: string): string | null {
    const head = `${this.prefix}/status/`;
    return topic.startsWith(head) && topic.length > head.length ? topic.slice(head.length) : null;
  }
}

export type Qos = 0 | 1 | 2;

/** Default QoS per stream: sensor data and commands are latest-wins (0), alerts, events and status reliable (1). */
export const DEFAULT_QOS = {
  pose: 0,
  proximity: 0,
  cmd: 0,
  belief: 0,
  suspicion: 0,
  alerts: 1,
  events: 1,
  status: 1,
} as const satisfies Record<string, Qos>;

export type Stream = keyof typeof DEFAULT_QOS;
/** The distributed run's isolation mask (`.../isolation`): one small message per tick that lock-step waits for, reliable. */
export const ISOLATION_QOS: Qos = 1;
/** The operator's orders (`.../control`): rare and must arrive. */
export const CONTROL_QOS: Qos = 1;
export type QosTable = Record<Stream, Qos>;
