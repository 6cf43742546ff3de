// The login and ACL checks both brokers must pass (embedded aedes and mosquitto, same password file and the
// shipped launch/mqtt/acl): nobody but the controller gets a command to a robot.
import mqtt from 'mqtt';
import { expect } from 'vitest';
import { BusClient } from '../../src/links/mqtt/client.js';
import { encodePayload } from '../../src/links/mqtt/schemas.js';
import { SwarmTopics } from '../../src/links/mqtt/topics.js';
import { PASSWORDS, sleep, startTwin, until } from './mqtt.js';

const quiet = () => undefined;

export async function expectUnauthorisedCannotCommand(url: string, addCleanup: (f: () => Promise<void>) => void): Promise<void> {
  const swarm = 'auth';
  const T = new SwarmTopics(swarm);
  const twin = await startTwin(url, swarm, { username: 'twin', password: PASSWORDS.twin });
  addCleanup(() => twin.stop());
  const target = T.robot(twin.ids[0]!, 'cmd');
  const cmd = (tick: number) => encodePayload({ t: Date.now(), tick, left: 0.5, right: 0.5 });

  // No login, a wrong password, an unknown user: refused at the door.
  await expect(BusClient.connect({ url, who: 'anonymous', connectTimeoutMs: 5000, log: quiet })).rejects.toThrow(/cannot connect/);
  await expect(BusClient.connect({ url, who: 'wrong password', username: 'controller', password: 'not-it', connectTimeoutMs: 5000, log: quiet })).rejects.toThrow(/cannot connect/);
  await expect(BusClient.connect({ url, who: 'unknown user', username: 'mallory', password: 'x', connectTimeoutMs: 5000, log: quiet })).rejects.toThrow(/cannot connect/);

  // Logged in but not allowed: a robot may not listen to another robot's commands...
  const robot1 = await BusClient.connect({ url, who: 'epuck-1', username: 'epuck-1', password: PASSWORDS['epuck-1'], log: quiet });
  addCleanup(() => robot1.close());
  // (aedes refuses the subscription; mosquitto 2.0 grants it and delivers nothing: either way nothing arrives).
  let overheard = 0;
  await robot1.subscribe(target, 'cmd', 0, () => overheard++).catch((err: Error) => expect(err.message).toMatch(/refused the subscription/));
  // ...nor send any; a read-only observer may not either.
  for (const [user, password] of [['epuck-1', PASSWORDS['epuck-1']], ['observer', PASSWORDS.observer]] as const) {
    const c = await mqtt.connectAsync(url, { username: user, password, reconnectPeriod: 0 });
    addCleanup(() => c.endAsync(true));
    c.on('error', quiet);
    for (let tick = 0; tick < 5; tick++) c.publish(target, cmd(tick), { qos: 0 });
  }
  await sleep(500);
  expect(twin.stats[0]!.commands).toBe(0);

  // The controller's command does arrive (so the silence above was the ACL, not a broken path).
  const controller = await BusClient.connect({ url, who: 'controller', username: 'controller', password: PASSWORDS.controller, log: quiet });
  addCleanup(() => controller.close());
  controller.publish(target, { t: Date.now(), tick: 100, left: 0.5, right: 0.5 }, 0);
  await until('the controller command at the twin', () => twin.stats[0]!.commands === 1);
  await sleep(300);
  expect(twin.stats.map((s) => s.commands)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  expect(overheard).toBe(0);
}
