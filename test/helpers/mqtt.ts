// Shared by the MQTT tests: the auth files (users of launch/mqtt/acl), a launch file over an MQTT broker, a
// bus twin, an observer, and waiting for conditions without timing assertions.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusTwin } from '../../sim/protocol-twin/mqtt-bus-twin.js';
import { passwordEntry } from '../../src/links/mqtt/passwd.js';
import { DEFAULT_QOS } from '../../src/links/mqtt/topics.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../../src/core/swarm-config.js';

export const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
/** A policy with a belief network. */
export const EIR = join(PROJECT_ROOT, 'policies', 'eir-mappo-rendezvous');
export const SHIPPED_ACL = join(PROJECT_ROOT, 'launch', 'mqtt', 'acl');
export const PASSWORDS = { controller: 'c0ntroller-pw', twin: 'tw1n-pw', observer: 'obs-pw', 'epuck-1': 'r0bot-1-pw' } as const;

export function tempDir(what: string): string {
  return mkdtempSync(join(tmpdir(), `swarmguard-mqtt-${what}-`));
}

/** A password file with the users of PASSWORDS (one `$7$` entry each), in `dir`. */
export function writePasswordFile(dir: string): string {
  const path = join(dir, 'passwd');
  writeFileSync(path, Object.entries(PASSWORDS).map(([u, p]) => passwordEntry(u, p)).join('\n') + '\n', { mode: 0o600 });
  return path;
}

export function settings10() {
  return resolveSwarmConfig({ robots: 10, noise: 'off' }, 'test');
}

/** A launch file (swarm `name`) whose mqtt link uses the broker at `url`. */
export function mqttLaunch(dir: string, name: string, url: string, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `name: ${name}\nswarm: { robots: 10, noise: 'off' }\npolicy: ${MAPPO}\nduration: 120\nlink:\n  kind: mqtt\n  broker: ${url}\n${extra}out: ${join(dir, 'runs')}\n`);
  return path;
}

export function startTwin(url: string, swarm: string, login: { username?: string; password?: string } = {}): Promise<BusTwin> {
  return BusTwin.start({ url, swarm, settings: settings10(), seed: 3, commandTimeoutMs: 500, qos: DEFAULT_QOS, ...login, log: () => undefined });
}

/** Resolves once `cond()` holds; rejects naming `what` after `timeoutMs` (a generous bound, not a measurement). */
export async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
