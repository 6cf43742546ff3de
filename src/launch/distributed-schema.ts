// The launch file's `distributed:` block: how the processes of a distributed run (one agent per robot, the
// pose feed, the monitor) reach the broker and keep time. Part of the launch file's schema; the processes
// themselves are in src/distributed/ (README there).
import { z } from 'zod';
import { envName } from '../core/config-file.js';

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
     * feed, operator). `swarmguard distributed --embedded` makes one up for the run when it is unset (then
     * nobody outside the run can log in, `swarmguard operator` included).
     */
    passwordEnv: envName.default(DEFAULT_PASSWORD_ENV),
    /** true: every process connects without a login (and --embedded accepts anonymous clients): anyone reaching the broker can command the robots. Deliberate only; warned about. */
    allowAnonymous: z.boolean().default(false),
  })
  .strict();

export type DistributedConfig = z.output<typeof DistributedSchema>;

