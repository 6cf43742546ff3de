// Credentials and the broker's access list of a distributed run (the launch file's `distributed:` block is
// src/launch/distributed-schema.ts). The rest of the launch file (swarm, policy, safety, monitor, injections) is
// the very file `swarmguard run` uses, so a distributed trial and a single-process trial of the same file can be
// compared.
import { secretFromEnv } from '../core/config-file.js';
import type { DistributedConfig } from '../launch/distributed-schema.js';
import { SwarmTopics } from '../links/mqtt/topics.js';

/** The broker login of one role (`agent-epuck-3`, `monitor`, `feed`); the password comes from the environment. */
export function credentials(cfg: DistributedConfig, user: string, source: string, env: NodeJS.ProcessEnv = process.env): { username?: string; password?: string } {
  if (cfg.allowAnonymous) return {};
  const holds = `${user}'s MQTT password; swarmguard distributed --embedded makes one up for its processes, distributed.allowAnonymous: true connects without a login`;
  return { username: user, password: secretFromEnv(cfg.passwordEnv, `${source}: distributed.passwordEnv`, holds, env) };
}

export const agentUser = (id: string): string => `agent-${id}`;

/** The login of `swarmguard operator` (orders to a live run). */
export const OPERATOR_USER = 'operator';

/**
 * Whether the agents and the feed listen to the monitor's isolation masks: when the launch file's flags act, and
 * in every live run, where the operator may make them act during the run (lock-step takes no orders).
 */
export function hearsMasks(onFlag: string, mode: 'lockstep' | 'live'): boolean {
  return onFlag !== 'report' || mode === 'live';
}

/**
 * The mosquitto ACL (acl_file format) of a distributed run: each agent reads every pose and command and
 * writes only its own robot's command and belief, the events and its own status; the monitor reads what the
 * agents and the feed publish and writes suspicion, alerts, events and its status; the feed writes poses
 * and reads commands; only the feed ends the trial (`.../done`, which the others read); only the monitor
 * publishes the isolation mask (`.../isolation`: who is left out, who is held still), which the agents and
 * the feed (the robots' bridge, which enforces the hold) read; only the operator gives orders, one topic per
 * recipient (SwarmTopics.control): what a flag does from now on (`.../control/monitor`, which only the monitor
 * reads) and e-stop / release of robots (`.../control/feed`, which only the feed, the robots' bridge, reads); the
 * operator reads the events (the answers: the monitor's `on-flag`, the feed's `e-stop` / `release`, the victims'
 * agents' `injection-order`), which the feed may write for those answers, and the robots' commands (their ticks:
 * an injection names the tick it starts at). The agents read the injections (`.../control/agents`: the victim's runs it,
 * every other makes its draws from the run's random stream) and nothing else of the operator's: an e-stop is the
 * bridge's to enforce, whatever the robot's agent (maybe the compromised party) would do.
 */
export function distributedAcl(swarm: string, ids: readonly string[]): string {
  const t = new SwarmTopics(swarm);
  const lines = [`# swarmguard distributed run '${swarm}': one user per process (mosquitto acl_file format)`];
  for (const id of ids) {
    lines.push(
      '',
      `user ${agentUser(id)}`,
      `topic read ${t.everyRobot('pose')}`,
      `topic read ${t.everyRobot('cmd')}`,
      `topic write ${t.robot(id, 'cmd')}`,
      `topic write ${t.robot(id, 'belief')}`,
      `topic write ${t.events}`,
      `topic readwrite ${t.status(`agent/${id}`)}`,
      `topic read ${t.status('feed')}`,
      `topic read ${t.status('monitor')}`,
      `topic read ${t.prefix}/status/agent/+`,
      `topic read ${t.done}`,
      `topic read ${t.isolation}`,
      `topic read ${t.control('agents')}`,
    );
  }
  lines.push(
    '',
    'user monitor',
    `topic read ${t.everyRobot('pose')}`,
    `topic read ${t.everyRobot('cmd')}`,
    `topic read ${t.everyRobot('belief')}`,
    `topic write ${t.everyRobot('suspicion')}`,
    `topic write ${t.alerts}`,
    `topic readwrite ${t.events}`,
    `topic read ${t.everyStatus}`,
    `topic write ${t.status('monitor')}`,
    `topic read ${t.done}`,
    `topic write ${t.isolation}`,
    `topic read ${t.control('monitor')}`,
    '',
    'user feed',
    `topic write ${t.everyRobot('pose')}`,
    `topic read ${t.everyRobot('cmd')}`,
    `topic read ${t.everyStatus}`,
    `topic write ${t.status('feed')}`,
    `topic readwrite ${t.done}`,
    `topic read ${t.isolation}`,
    `topic read ${t.control('feed')}`,
    `topic write ${t.events}`,
    '',
    `user ${OPERATOR_USER}`,
    `topic write ${t.control('monitor')}`,
    `topic write ${t.control('feed')}`,
    `topic write ${t.control('agents')}`,
    `topic read ${t.events}`,
    `topic read ${t.everyRobot('cmd')}`,
  );
  return `${lines.join('\n')}\n`;
}
