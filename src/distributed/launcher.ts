// `swarmguard distributed <launch.yaml>`: starts every process of a distributed run on this machine (the
// monitor, one agent per robot, then the pose feed), each a separate `swarmguard` process talking only over
// MQTT, prefixes their output with their role, and waits for them. The broker is the launch file's (or
// --broker), or, with --embedded, an embedded broker (aedes) in this process on a free loopback port, with
// a password file and the run's ACL when the launch file names a password variable.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EmbeddedBroker } from '../links/mqtt/broker.js';
import { secretFromEnv } from '../core/config-file.js';
import { passwordEntry } from '../links/mqtt/passwd.js';
import { loadLaunch, releaseLaunch } from '../runtime/launch.js';
import { agentUser, distributedAcl } from './config.js';
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

/** Runs the whole distributed trial; resolves with every process's exit once the monitor and the feed are done. */
export async function runDistributed(path: string, o: DistributedOptions = {}): Promise<ProcessExit[]> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  await releaseLaunch(launch);
  const cfg = distributedConfig(launch);
  const ids = launch.settings.robotIds;
  let broker: EmbeddedBroker | null = null;
  let dir: string | null = null;
  const children: { role: string; child: ChildProcess; exited: Promise<ProcessExit> }[] = [];
  try {
    let url = o.broker ?? cfg.broker;
    if (o.embedded) {
      let files = {};
      if (cfg.passwordEnv) {
        const password = secretFromEnv(cfg.passwordEnv, `${path}: distributed.passwordEnv`, 'the MQTT password of the run\'s processes');
        dir = mkdtempSync(join(tmpdir(), 'swarmguard-distributed-'));
        const users = [...ids.map(agentUser), 'monitor', 'feed'];
        writeFileSync(join(dir, 'passwd'), users.map((u) => passwordEntry(u, password)).join('\n') + '\n', { mode: 0o600 });
        writeFileSync(join(dir, 'acl'), distributedAcl(launch.name, ids));
        files = { passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl') };
      }
      broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, ...files, log });
      url = broker.url;
      log(`swarmguard distributed: embedded broker on ${url}${cfg.passwordEnv ? ' (logins and ACL on)' : ''}`);
    }
    const common = [path, '--broker', url];
    const start = (role: string, args: string[]) => children.push({ role, ...spawnRole(role, args, log) });
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
