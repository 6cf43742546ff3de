// The MQTT sections of a launch file: `link: { kind: mqtt, ... }` (robots over the bus) and the top-level
// `mqtt:` telemetry block (any link kind publishes its run to a bus). Passwords never go in the file: it
// names the environment variable that holds them.
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, envName, secretFromEnv } from '../../core/config-file.js';
import { RunLogins } from './logins.js';
import { DEFAULT_QOS, type QosTable } from './topics.js';

const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);

const EmbeddedSchema = z
  .object({
    /** 127.0.0.1: only this machine; another address needs a password file. */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0: any free port (tests). */
    port: z.number().int().min(0).max(65535).default(1883),
    /** mosquitto_passwd format (`swarmguard mqtt-passwd` writes entries), relative to the launch file. */
    passwordFile: z.string().min(1).optional(),
    /** mosquitto acl_file format, relative to the launch file. */
    aclFile: z.string().min(1).optional(),
    /**
     * Without a password file the broker accepts only logins generated for this run (its own in-process
     * clients). true: anonymous clients instead, i.e. any process on this machine may command the robots
     * (a warning says so at start). Deliberate only.
     */
    allowAnonymous: z.boolean().default(false),
  })
  .strict();

const CredentialsSchema = z
  .object({
    username: z.string().min(1),
    /** The environment variable holding the password. */
    passwordEnv: envName,
  })
  .strict();

export const BusSchema = z
  .object({
    /** `embedded` (aedes, in this process, see `embedded`) or a broker URL (mqtt://host:1883, mqtts://...). */
    broker: z.union([z.literal('embedded'), z.string().regex(/^(mqtts?|wss?):\/\/\S+$/, "'embedded' or a broker URL (mqtt://host:port)")]).default('embedded'),
    embedded: EmbeddedSchema.default({ host: '127.0.0.1', port: 1883, allowAnonymous: false }),
    /** This process's login (the controller role). */
    credentials: CredentialsSchema.optional(),
    /** Per-stream QoS overrides (topics.ts DEFAULT_QOS). */
    qos: z
      .object({ pose: qos, proximity: qos, cmd: qos, belief: qos, suspicion: qos, alerts: qos, events: qos, status: qos })
      .strict()
      .partial()
      .default({}),
    connectTimeoutMs: z.number().int().positive().default(5000),
  })
  .strict();

export const MqttLinkSchema = BusSchema.extend({
  kind: z.literal('mqtt'),
  /** true: serve the robots from an in-process bus twin (bus-twin.ts), which logs in with `twinCredentials`. */
  twin: z.boolean().default(false),
  twinCredentials: CredentialsSchema.optional(),
  /** The twin's seed, and how long its robots keep their last command without a new one, ms. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  commandTimeoutMs: z.number().int().positive().default(500),
}).strict();

export type BusOptions = z.output<typeof BusSchema>;
export type MqttLinkOptions = z.output<typeof MqttLinkSchema>;

/** The URL of a broker listening on host:port (an IPv6 address in brackets). */
export function brokerUrl(host: string, port: number): string {
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The users of an embedded broker's generated logins: this process's controller and its in-process bus twin. */
const RUN_USERS = ['controller', 'twin'];

/** Where to reach the broker and how to log in, resolved against the launch file and the environment. */
export interface ResolvedBus {
  /** `logins`: the run's generated logins (no password file, anonymous not allowed). */
  embedded: { host: string; port: number; passwordFile?: string; aclFile?: string; logins?: RunLogins; allowAnonymous?: boolean } | null;
  /** null for the embedded broker until it listens (its port may be 0). */
  url: string | null;
  username?: string;
  password?: string;
  qos: QosTable;
  connectTimeoutMs: number;
}

/** The password in the environment variable `name`; refused naming `key` (the file and key that name the variable) if unset or empty. */
export function resolveCredentials(c: { username: string; passwordEnv: string } | undefined, where: string, env: NodeJS.ProcessEnv = process.env): { username?: string; password?: string } {
  if (!c) return {};
  return { username: c.username, password: secretFromEnv(c.passwordEnv, `${where}.passwordEnv`, `${c.username}'s MQTT password`, env) };
}

/** Resolves a bus section (`where` names it in errors: `launch.yaml: link`); `base` is the launch file's folder. */
export function resolveBus(o: BusOptions, base: string, where: string, env: NodeJS.ProcessEnv = process.env): ResolvedBus {
  const e = o.embedded;
  const generated = o.broker === 'embedded' && !e.passwordFile && !e.allowAnonymous;
  if (e.passwordFile && e.allowAnonymous) throw new ConfigError(`${where}.embedded.allowAnonymous: true with a passwordFile: choose logins or anonymous clients`);
  if (generated && o.credentials) {
    throw new ConfigError(`${where}.credentials: without embedded.passwordFile the embedded broker accepts only the logins it generates for this run; give a passwordFile to use these credentials`);
  }
  const embedded =
    o.broker === 'embedded'
      ? {
          host: e.host,
          port: e.port,
          ...(e.passwordFile ? { passwordFile: resolve(base, e.passwordFile) } : {}),
          ...(e.aclFile ? { aclFile: resolve(base, e.aclFile) } : {}),
          ...(e.allowAnonymous ? { allowAnonymous: true } : {}),
          ...(generated ? { logins: new RunLogins(RUN_USERS) } : {}),
        }
      : null;
  if (embedded?.aclFile && !embedded.passwordFile) throw new ConfigError(`${where}.embedded.aclFile: an ACL needs logins: give embedded.passwordFile too`);
  if (embedded?.passwordFile && !o.credentials) throw new ConfigError(`${where}.credentials: the embedded broker checks logins (embedded.passwordFile): give this process's username and passwordEnv`);
  return {
    embedded,
    url: o.broker === 'embedded' ? null : o.broker,
    ...(embedded?.logins ? embedded.logins.login('controller') : resolveCredentials(o.credentials, `${where}.credentials`, env)),
    qos: { ...DEFAULT_QOS, ...o.qos },
    connectTimeoutMs: o.connectTimeoutMs,
  };
}

/** Everything of an mqtt link that can be checked before anything runs (files' paths, password variables, the in-process twin's login), resolved. */
export function checkMqttLink(o: MqttLinkOptions, base: string, where: string, env: NodeJS.ProcessEnv = process.env): { bus: ResolvedBus; twinLogin: { username?: string; password?: string } } {
  const bus = resolveBus(o, base, where, env);
  const logins = bus.embedded?.logins;
  if (logins && !o.twin) {
    throw new ConfigError(
      `${where}.twin: false: robots, bridges and twin-serve outside this process cannot log in to the embedded broker without embedded.passwordFile (it accepts only this run's generated logins): give a passwordFile and credentials (launch/mqtt/secure.yaml), or twin: true`,
    );
  }
  if (logins && o.twinCredentials) throw new ConfigError(`${where}.twinCredentials: without embedded.passwordFile the in-process twin logs in with this run's generated login; give a passwordFile to use these credentials`);
  if (!o.twin) return { bus, twinLogin: {} };
  if (logins) return { bus, twinLogin: logins.login('twin') };
  if (bus.embedded?.passwordFile && !o.twinCredentials) throw new ConfigError(`${where}.twinCredentials: the embedded broker checks logins: give the twin's username and passwordEnv`);
  return { bus, twinLogin: resolveCredentials(o.twinCredentials, `${where}.twinCredentials`, env) };
}
