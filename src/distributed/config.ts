// The launch file's `distributed:` block: how the processes of a distributed run (one agent per robot, the
// pose feed, the monitor) reach the broker and keep time. The rest of the launch file (swarm, policy, safety,
// monitor, injections) is the very file `swarmguard run` uses, so a distributed trial and a single-process
// trial of the same file can be compared.
import { z } from 'zod';
import { envName, secretFromEnv } from '../core/config-file.js';

import { SwarmTopics } from '../links/mqtt/topics.js';

/** The password variable when the launch file names none. */
export const DEFAULT_PASSWORD_ENV = 'SWARMGUARD_MQTT_PASSWORD';

export const DistributedSchema = z
  .object({
    /** The broker every process connects to (mqtt://host:port); `swarmguard agent|monitor|feed --broker` overrides it. */
    broker: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'an mqtt://host:port URL').default('mqtt://127.0.0.1:1883'),
    /**
     * lockstep: the feed publishes tick k's poses (with `tick`), waits for every robot's command for tick k and
     * only then steps the twin (deterministic: reproduces `swarmguard run` in fast mode). live: every process
     * paces itself at the control period on its own clock (real robots, or the twin paced to the wall clock).
     */
    mode: z.enum(['lockstep', 'live']).default('lockstep'),
    /** Lock-step: a robot whose command for a tick has not come by then is stopped for that tick, ms. */
    stepTimeoutMs: z.number().int().positive().max(60_000).default(2000),
    /** Live: a robot whose commands stop for this long is stopped (the feed's command watchdog), ms. */
    commandTimeoutMs: z.number().int().positive().max(60_000).default(500),
    /** The feed waits this long for every agent and the monitor to be subscribed before tick 0, ms. */
    startTimeoutMs: z.number().int().positive().default(120_000),
    /**
     * How long a process rides out the loss of the broker (its own connection down) or of the feed (its status
     * offline without the trial's done) before it gives up and ends its run as interrupted, ms. A broker restart
     * (a service restart, a crash) takes a second or two; the robots are held stopped meanwhile.
     */
    outageTimeoutMs: z.number().int().positive().max(3_600_000).default(60_000),
    /**
     * The environment variable holding the broker password (user names are the roles: agent-<id>, monitor,
     * feed). `swarmguard distributed --embedded` makes one up for the run when it is unset.
     */
    passwordEnv: envName.default(DEFAULT_PASSWORD_ENV),
    /** true: every process connects without a login (and --embedded accepts anonymous clients): anyone reaching the broker can command the robots. Deliberate only; warned about. */
    allowAnonymous: z.boolean().default(false),
  })
  .strict();

export type DistributedConfig = z.output<typeof DistributedSchema>;

/** The broker login of one role (`agent-epuck-3`, `monitor`, `feed`); the password comes from the environment. */
export function credentials(cfg: DistributedConfig, user: string, source: string, env: NodeJS.ProcessEnv = process.env): { username?: string; password?: string } {
  if (cfg.allowAnonymous) return {};
  const holds = `${user}'s MQTT password; swarmguard distributed --embedded makes one up for its processes, distributed.allowAnonymous: true connects without a login`;
  return { username: user, password: secretFromEnv(cfg.passwordEnv, `${source}: distributed.passwordEnv`, holds, env) };
}

export const agentUser = (id: string): string => `agent-${id}`;

/**
 * The mosquitto ACL (acl_file format) of a distributed run: each agent reads every pose and command and
 * writes only its own robot's command and belief, the events and its own status; the monitor reads what the
 * agents and the feed publish and writes suspicion, alerts, events and its status; the feed writes poses
 * and reads commands; only the feed ends the trial (`.../done`, which the others read).
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
    '',
    'user feed',
    `topic write ${t.everyRobot('pose')}`,
    `topic read ${t.everyRobot('cmd')}`,
    `topic read ${t.everyStatus}`,
    `topic write ${t.status('feed')}`,
    `topic readwrite ${t.done}`,
  );
  return `${lines.join('\n')}\n`;
}
