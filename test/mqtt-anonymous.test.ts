// Secure by default: with every shipped launch file that puts robots on MQTT, the broker side started as the
// runtime starts it refuses an anonymous client, and a wheel command it tries to send never reaches a robot.
// The attacker is a raw socket writing CONNECT, PUBLISH and PINGREQ back to back (an answered PINGREQ means
// the broker took the PUBLISH); a login's command sent after it marks when the attacker's would have arrived.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { startRunBroker } from '../src/distributed/launcher.js';
import { BusClient } from '../src/links/mqtt/client.js';
import type { MqttLink } from '../src/links/mqtt/link.js';
import { SwarmTopics } from '../src/links/mqtt/topics.js';
import { createLink } from '../src/cli/link-factory.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { mosquittoSkipReason, startMosquitto } from '../sim/mosquitto.js';
import { PASSWORDS, startTwin, tempDir, until, writePasswordFile } from './helpers/mqtt.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

const LAUNCH = join(PROJECT_ROOT, 'launch');
const quiet = () => undefined;

/** Every shipped launch file (launch/*.yaml, launch/mqtt/*.yaml) whose robots or processes talk MQTT. */
function shippedMqttLaunchFiles(): string[] {
  const files = [LAUNCH, join(LAUNCH, 'mqtt')].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.yaml')).map((f) => join(d, f)));
  return files.filter((f) => {
    const l = parse(readFileSync(f, 'utf8')) as Record<string, any>;
    return l?.link?.kind === 'mqtt' || l?.mqtt !== undefined || l?.distributed !== undefined;
  });
}

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}
const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
};
const packet = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, ...remainingLength(body.length)]), body]);

/**
 * An anonymous client's CONNECT, a QoS 0 PUBLISH of a wheel command to `topic`, then a PINGREQ, written at
 * once on one socket. Resolves 'refused' when the broker closes the connection before answering the ping,
 * 'accepted' when it answers it (the publish was taken: the broker handles a connection's packets in order).
 */
function anonymousCommand(url: string, topic: string): Promise<'refused' | 'accepted'> {
  const { hostname, port } = new URL(url);
  const connect = packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str(`intruder-${process.pid}`)]));
  const cmd = JSON.stringify({ v: 1, t: Date.now(), tick: 7, left: 1, right: 1 });
  const publish = packet(0x30, Buffer.concat([str(topic), Buffer.from(cmd)]));
  const ping = Buffer.from([0xc0, 0]);
  return new Promise((resolve) => {
    const s = createConnection({ host: hostname, port: Number(port) }, () => s.write(Buffer.concat([connect, publish, ping])));
    let seen = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      // CONNACK (4 bytes) then PINGRESP (0xd0 0x00).
      if (seen.includes(Buffer.from([0xd0, 0]))) {
        s.destroy();
        resolve('accepted');
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve('refused'));
  });
}

/** The mqtt package's own anonymous connection: refused at the door. */
async function expectAnonymousRefused(url: string): Promise<void> {
  await expect(mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 }).then((c) => c.endAsync(true))).rejects.toThrow(/Not authorized|Bad username or password|Connection refused/i);
}

/** A copy of a shipped launch file in `dir`, its paths absolute, `edit` applied. */
function copyLaunch(file: string, dir: string, edit: (l: Record<string, any>) => void): string {
  const l = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  const base = dirname(file);
  l.policy = resolve(base, l.policy);
  l.out = join(dir, 'runs');
  for (const inj of l.injections ?? []) if (!String(inj.attack).includes(':')) inj.attack = resolve(base, inj.attack);
  if (l.link?.embedded?.aclFile) l.link.embedded.aclFile = resolve(base, l.link.embedded.aclFile);
  edit(l);
  const path = join(dir, basename(file));
  writeFileSync(path, stringify(l));
  return path;
}

/** `swarmguard run`'s side of an mqtt launch file (the link: its embedded broker, its in-process twin): an intruder cannot drive a robot. */
async function expectLinkRefusesAnonymous(file: string): Promise<void> {
  const dir = tempDir('anon-link');
  const l0 = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  const env: Record<string, string> = {};
  const path = copyLaunch(file, dir, (l) => {
    // Another port than the shipped one (a run may hold it), and no noise: a robot left alone stays exactly still.
    l.link.embedded = { ...l.link.embedded, port: 0 };
    l.swarm = { ...l.swarm, noise: 'off' };
    if (l.link.embedded.passwordFile) l.link.embedded.passwordFile = writePasswordFile(dir);
  });
  for (const c of [l0.link.credentials, l0.link.twinCredentials]) if (c) env[c.passwordEnv] = PASSWORDS[c.username as 'controller' | 'twin'];
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const launch = await loadLaunch(path);
  cleanup.push(() => releaseRun(launch));
  const link = (await createLink(launch, quiet)) as MqttLink;
  process.env = saved;
  cleanup.push(() => link.stop());
  expect(link.broker, `${file}: the link starts its broker`).not.toBeNull();
  expect(link.truePoses, `${file}: a twin in the run's process`).toBeDefined();
  const url = link.broker!.url;
  await until('every robot of the twin', () => link.poses().every((q) => q !== null));
  const before = link.truePoses!()[0]!;

  await expectAnonymousRefused(url);
  expect(await anonymousCommand(url, link.topics.robot(link.ids[0]!, 'cmd')), file).toBe('refused');
  // The controller's stop, sent after: once its echo comes back, anything the intruder got through would have come first.
  link.send(0, 0, 0);
  await until("the robot's echo of the controller's command", () => link.latencySamples().length > 0);
  const after = link.truePoses!()[0]!;
  expect(Math.hypot(after.x - before.x, after.y - before.y), `${file}: robot 0 moved`).toBeLessThan(1e-9);
  expect(link.broker!.refused.login).toBeGreaterThanOrEqual(2);
}

/** `swarmguard distributed --embedded`'s broker for a launch file with a distributed: block. */
async function expectDistributedEmbeddedRefusesAnonymous(file: string): Promise<void> {
  const dir = tempDir('anon-distributed');
  const path = copyLaunch(file, dir, () => undefined);
  const launch = await loadLaunch(path);
  cleanup.push(() => releaseRun(launch));
  // The variable unset: the run makes a password up.
  const saved = process.env[launch.distributed!.passwordEnv];
  delete process.env[launch.distributed!.passwordEnv];
  const run = await startRunBroker(launch, launch.distributed!, quiet);
  if (saved !== undefined) process.env[launch.distributed!.passwordEnv] = saved;
  cleanup.push(() => run.broker.close());
  const password = run.env[launch.distributed!.passwordEnv]!;
  expect(password.length).toBeGreaterThanOrEqual(16);
  const T = new SwarmTopics(launch.name);
  // The feed hears every robot's commands: it stands for the robots here.
  const feed = await BusClient.connect({ url: run.broker.url, who: 'feed', username: 'feed', password, log: quiet });
  cleanup.push(() => feed.close());
  const heard: number[] = [];
  await feed.subscribe(T.everyRobot('cmd'), 'cmd', 0, (_t, msg) => heard.push(msg.tick));
  await expectAnonymousRefused(run.broker.url);
  expect(await anonymousCommand(run.broker.url, T.robot('epuck-0', 'cmd')), file).toBe('refused');
  const agent = await BusClient.connect({ url: run.broker.url, who: 'agent', username: 'agent-epuck-0', password, log: quiet });
  cleanup.push(() => agent.close());
  agent.publish(T.robot('epuck-0', 'cmd'), { t: Date.now(), tick: 999, left: 0, right: 0 }, 0);
  await until("the agent's command at the feed", () => heard.length > 0);
  expect(heard).toEqual([999]);
}

describe('no shipped launch file lets an anonymous client command a robot', () => {
  const files = shippedMqttLaunchFiles();

  it('finds the shipped MQTT launch files', () => {
    expect(files.map((f) => f.slice(LAUNCH.length + 1)).sort()).toEqual(['distributed-demo.yaml', 'mqtt-demo.yaml', 'mqtt/secure.yaml']);
  });

  for (const file of files) {
    const l = parse(readFileSync(file, 'utf8')) as Record<string, any>;
    const name = file.slice(LAUNCH.length + 1);
    if (l.link?.kind === 'mqtt') {
      it(`${name}: the run's embedded broker refuses an anonymous client; its command never reaches the robot`, async () => {
        expect(l.link.broker ?? 'embedded', `${name}: an external broker is covered by the mosquitto configuration below`).toBe('embedded');
        await expectLinkRefusesAnonymous(file);
      }, 60_000);
    }
    if (l.distributed) {
      it(`${name}: swarmguard distributed --embedded's broker refuses an anonymous client (its password made up for the run)`, async () => {
        await expectDistributedEmbeddedRefusesAnonymous(file);
      }, 60_000);
    }
    if (l.mqtt !== undefined) {
      it(`${name}: telemetry block`, () => {
        throw new Error(`${name}: a shipped mqtt: telemetry block is not covered by this test yet`);
      });
    }
  }

  const skip = mosquittoSkipReason();
  it.skipIf(skip !== null)(`launch/mqtt/mosquitto.conf (the external broker of the launch files): anonymous clients refused, robots commanded only by a login${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const conf = readFileSync(join(LAUNCH, 'mqtt', 'mosquitto.conf'), 'utf8');
    expect(conf).toMatch(/^allow_anonymous false$/m);
    expect(conf).toMatch(/^password_file \S+$/m);
    expect(conf).toMatch(/^acl_file \S+$/m);
    // The shipped settings, with this test's password file and port (startMosquitto writes the listener).
    const dir = tempDir('anon-mosquitto');
    const m = await startMosquitto({ passwordFile: writePasswordFile(dir), aclFile: join(LAUNCH, 'mqtt', 'acl'), base: conf });
    cleanup.push(() => m.stop());
    const twin = await startTwin(m.url, 'anon', { username: 'twin', password: PASSWORDS.twin });
    cleanup.push(() => twin.stop());
    await expectAnonymousRefused(m.url);
    expect(await anonymousCommand(m.url, new SwarmTopics('anon').robot(twin.ids[0]!, 'cmd'))).toBe('refused');
    const controller = await BusClient.connect({ url: m.url, who: 'controller', username: 'controller', password: PASSWORDS.controller, log: quiet });
    cleanup.push(() => controller.close());
    controller.publish(new SwarmTopics('anon').robot(twin.ids[0]!, 'cmd'), { t: Date.now(), tick: 100, left: 0, right: 0 }, 0);
    await until("the controller's command at the robot", () => twin.stats[0]!.commands > 0);
    expect(twin.stats[0]).toMatchObject({ commands: 1, driving: 0 });
  }, 60_000);
});
