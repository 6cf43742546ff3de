// Debian's mosquitto for tests and the fault campaign (sim/chaos): `mosquitto -c <tmp conf>` on a free loopback port with the given password
// and ACL files, stopped by stop(). Tests skip (saying why in their name) when mosquitto is not installed,
// unless SWARMGUARD_REQUIRE_SYSTEM_DEPS is set, when its absence fails them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO = process.env.SWARMGUARD_MOSQUITTO ?? 'mosquitto';

/** Why mosquitto cannot be used here, or null (it can). */
export function mosquittoMissing(): string | null {
  const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  if (r.error) return `${MOSQUITTO} is not installed (apt-get install mosquitto; scripts/system-deps.mjs)`;
  return /mosquitto version/.test(`${r.stdout}${r.stderr}`) ? null : `${MOSQUITTO} -h did not print a mosquitto version`;
}

/** The skip reason for a describe/it title, or null when mosquitto tests must run (installed, or required). */
export function mosquittoSkipReason(): string | null {
  if (process.env.SWARMGUARD_REQUIRE_SYSTEM_DEPS) return null;
  return mosquittoMissing();
}

export interface Mosquitto {
  port: number;
  url: string;
  /** Everything mosquitto logged. */
  output(): string;
  stop(): Promise<void>;
  /**
   * Stops mosquitto with `signal` (SIGTERM: a graceful stop, as a service restart does, publishing every
   * client's last will; SIGKILL: a crash) and starts it again on the same port and files; resolves once it
   * accepts connections again.
   */
  restart(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Starts mosquitto; resolves once it accepts connections. `base`: a configuration (e.g. a shipped one) whose
 * settings are kept, all but its listener, files, user and persistence, which are this test's.
 */
export async function startMosquitto(o: { passwordFile?: string; aclFile?: string; base?: string } = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-mosquitto-'));
  const port = await freePort();
  const conf = [
    `listener ${port} 127.0.0.1`,
    // Run as whoever runs the tests (as root it would switch to the mosquitto user, who cannot read the files).
    `user ${userInfo().username}`,
    'persistence false',
    // mosquitto leaves Nagle on by default: small messages wait ~40 ms for the peer's delayed ACK.
    'set_tcp_nodelay true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    o.passwordFile ? `password_file ${o.passwordFile}` : '',
    o.aclFile ? `acl_file ${o.aclFile}` : '',
    o.base === undefined ? `allow_anonymous ${o.passwordFile ? 'false' : 'true'}` : '',
    ...(o.base ?? '').split('\n').filter((l) => !/^\s*(#|$|listener|password_file|acl_file|user|persistence)/.test(l)),
  ].join('\n');
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, `${conf}\n`);
  let out = '';
  let proc = await launch(confPath, port, (d) => (out += d));
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    output: () => out,
    stop: () => proc.stop(),
    async restart(signal) {
      await proc.stop(signal);
      proc = await launch(confPath, port, (d) => (out += d));
    },
  };
}

/** One mosquitto process on `port`; resolves once it accepts connections. */
async function launch(confPath: string, port: number, output: (d: string) => void): Promise<{ stop(signal?: NodeJS.Signals): Promise<void> }> {
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const take = (d: Buffer | string) => {
    out += d.toString();
    output(d.toString());
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  // A binary that cannot be spawned (not installed) emits 'error' and never 'exit'.
  let gone = false;
  const exited = new Promise<void>((r) => {
    child.once('exit', () => r());
    child.once('error', (err) => {
      take(`cannot run ${MOSQUITTO}: ${err.message}`);
      r();
    });
  }).then(() => {
    gone = true;
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!gone) child.kill(signal);
    await exited;
  };
  const end = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (gone || Date.now() > end) {
      await stop();
      throw new Error(`mosquitto did not start on port ${port}: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { stop };
}
