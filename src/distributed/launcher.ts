// `swarmguard distributed <launch.yaml>`: starts every process of a distributed run on this machine (the
// monitor, one agent per robot, then the pose feed), each a separate `swarmguard` process talking only over
// MQTT, prefixes their output with their role, and waits for them. The broker is the launch file's (or
// --broker), or, with --embedded, an embedded broker (aedes) in this process on a free loopback port with a
// password file (mode 600, in a private temp folder) and the run's ACL: the password is the one in
// distributed.passwordEnv, or one made up for this run when that is unset, handed to the child processes in
// their environment (never on a command line). Anonymous clients only with distributed.allowAnonymous.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EmbeddedBroker } from '../links/mqtt/broker.js';
import { secretFromEnv } from '../core/config-file.js';
import { randomPassword } from '../links/mqtt/logins.js';
import { passwordEntry } from '../links/mqtt/passwd.js';
import { loadLaunch, type Launch } from '../launch/launch.js';
import { releaseRun } from '../runtime/run-spec.js';
import { agentUser, distributedAcl, OPERATOR_USER } from './config.js';
import { type DistributedConfig } from '../launch/distributed-schema.js';
import { distributedConfig } from './participant.js';

/** The `swarmguard` launcher every child process runs. */
export const SWARMGUARD_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/swarmguard.js');

export interface DistributedOptions {
  broker?: string;
  embedded?: boolean;
  /** Where the feed writes its summary (JSON). */
  feedOut?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ProcessExit {
  role: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One child `swarmguard <args>`, its output line by line to log with its role in front. */
export function spawnRole(role: string, args: string[], log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; exited: Promise<ProcessExit> } {
  const child = spawn(process.execPath, [SWARMGUARD_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (l) => log(`[${role}] ${l}`));
  const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ role, code, signal })));
  return { child, exited };
}

/**
 * The embedded broker of `swarmguard distributed --embedded`: a free loopback port, the run's users (agents,
 * monitor, feed, operator) in a password file with the run's ACL, in a private temp folder (`dir`, for the caller to
 * remove); `env` carries the password for the child processes. The password is the operator's (passwordEnv)
 * or, when that is unset, made up for this run. With allowAnonymous: anyone on this machine, warned about.
 */
export async function startRunBroker(launch: Launch, cfg: DistributedConfig, log: (line: string) => void): Promise<{ broker: EmbeddedBroker; dir: string | null; env: Record<string, string> }> {
  if (cfg.allowAnonymous) {
    const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, allowAnonymous: true, log });
    log(`swarmguard distributed: embedded broker on ${broker.url} (anonymous clients accepted: distributed.allowAnonymous)`);
    return { broker, dir: null, env: {} };
  }
  const given = process.env[cfg.passwordEnv];
  const password = given === undefined || given === '' ? randomPassword() : given;
  const ids = launch.settings.robotIds;
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-distributed-'));
  try {
    const users = [...ids.map(agentUser), 'monitor', 'feed', OPERATOR_USER];
    writeFileSync(join(dir, 'passwd'), users.map((u) => passwordEntry(u, password)).join('\n') + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'acl'), distributedAcl(launch.name, ids), { mode: 0o600 });
    const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl'), log });
    log(`swarmguard distributed: embedded broker on ${broker.url} (logins and ACL on; ${given ? `the password in ${cfg.passwordEnv}` : `a password made up for this run, passed to the processes in ${cfg.passwordEnv}`})`);
    return { broker, dir, env: { [cfg.passwordEnv]: password } };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs the whole distributed trial; resolves with every process's exit once the monitor and the feed are done. */
export async function runDistributed(path: string, o: DistributedOptions = {}): Promise<ProcessExit[]> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  await releaseRun(launch);
  const cfg = distributedConfig(launch);
  const ids = launch.settings.robotIds;
  let broker: EmbeddedBroker | null = null;
  let dir: string | null = null;
  const children: { role: string; child: ChildProcess; exited: Promise<ProcessExit> }[] = [];
  try {
    let url = o.broker ?? cfg.broker;
    let env = process.env;
    if (o.embedded) {
      const run = await startRunBroker(launch, cfg, log);
      broker = run.broker;
      dir = run.dir;
      env = { ...process.env, ...run.env };
      url = broker.url;
    } else if (!cfg.allowAnonymous) {
      // Every process would fail on it: said once, before any starts.
      secretFromEnv(cfg.passwordEnv, `${path}: distributed.passwordEnv`, "the MQTT password of the run's processes (--embedded makes one up; allowAnonymous: true for none)");
    }
    const common = [path, '--broker', url];
    const start = (role: string, args: string[]) => children.push({ role, ...spawnRole(role, args, log, env) });
    start('monitor', ['monitor', ...common]);
    for (const id of ids) start(`agent ${id}`, ['agent', '--robot', id, ...common]);
    start('feed', ['feed', ...common, ...(o.feedOut ? ['--out', o.feedOut] : [])]);
    const stopAll = () => children.forEach(({ child }) => child.exitCode === null && child.kill('SIGTERM'));
    o.signal?.addEventListener('abort', stopAll, { once: true });
    // The run is over when the feed and the monitor are; agents end on their own after the last tick.
    const main = children.filter((c) => c.role === 'feed' || c.role === 'monitor');
    const first = await Promise.race(main.map((c) => c.exited));
    if (first.code !== 0) {
      log(`swarmguard distributed: ${first.role} failed (exit ${first.code ?? first.signal}); stopping every process`);
      stopAll();
    }
    const grace = setTimeout(stopAll, 15_000);
    const exits = await Promise.all(children.map((c) => c.exited));
    clearTimeout(grace);
    o.signal?.removeEventListener('abort', stopAll);
    return exits;
  } finally {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await broker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
