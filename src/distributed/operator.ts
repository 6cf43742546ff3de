// `swarmguard operator <launch.yaml> onflag <report|isolate|isolate-and-stop>`: an operator's order to a
// distributed live run, over the run's bus as the `operator` login (its ACL: only this login gives orders on
// `.../control`, only the monitor reads them). The monitor carries the order out after its current tick, as
// `swarmguard run` does the console's, and answers with its `on-flag` event on `.../events`, which this
// command waits for: it says when the order took effect, or that nobody answered.
import { randomBytes } from 'node:crypto';
import { loadLaunch } from '../launch/launch.js';
import { BusClient } from '../links/mqtt/client.js';
import { CONTROL_QOS, DEFAULT_QOS, SwarmTopics } from '../links/mqtt/topics.js';
import { UserError } from '../core/user-error.js';
import { parseConsoleCommand } from '../runtime/console.js';
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

/** The monitor's answer: what flags do now, from which of its ticks. */
export interface OrderAnswer {
  onFlag: OnFlag;
  tick: number;
}

/**
 * Parses the order's words as the console does (`onflag isolate`); only what a flag does goes over the bus.
 * Throws a UserError that says what is wrong.
 */
export function parseOrder(words: readonly string[]): OnFlag {
  const command = parseConsoleCommand(words.join(' '));
  if (command?.kind !== 'on-flag') {
    throw new UserError(
      `a distributed run takes one order over its bus: onflag report|isolate|isolate-and-stop (got '${words.join(' ')}'; ` +
        'e-stop and injections are not carried over the bus: injections come from the launch file, and stopping the feed or the robots\' bridges stops the robots)',
    );
  }
  return command.onFlag;
}

/** Sends the order to the live run of the launch file and resolves with the monitor's answer. */
export async function sendOrder(path: string, onFlag: OnFlag, o: OrderOptions = {}): Promise<OrderAnswer> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  try {
    const config = distributedConfig(launch);
    if (config.mode !== 'live') {
      throw new UserError(`${launch.source}: distributed.mode is ${config.mode}: operator orders are for live runs (a lock-step run reproduces the launch file's trial)`);
    }
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
      let answered: (a: OrderAnswer) => void = () => {};
      const answer = new Promise<OrderAnswer>((resolve) => (answered = resolve));
      await bus.subscribe(topics.events, 'events', DEFAULT_QOS.events, (_topic, msg) => {
        if (msg.kind === 'on-flag' && msg.reason === 'operator' && msg.onFlag === onFlag) answered({ onFlag, tick: msg.tick });
      });
      bus.publish(topics.control, { t: Date.now(), kind: 'on-flag', onFlag }, CONTROL_QOS);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
      const got = await Promise.race([answer, timedOut]);
      clearTimeout(timer);
      if (!got) {
        throw new UserError(
          `no answer from the monitor of '${launch.name}' on ${url} within ${timeoutMs / 1000} s: is its live run going on (and the password in ${config.passwordEnv} the run's)?`,
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
