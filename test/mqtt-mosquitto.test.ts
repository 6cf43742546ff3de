// The MQTT link and bus twin against Debian's mosquitto, with the same password file format and the shipped
// ACL (launch/mqtt/acl) as the embedded broker.
import { afterEach, describe, expect, it } from 'vitest';
import { runLaunch } from '../src/cli/run.js';
import { expectUnauthorisedCannotCommand } from './helpers/mqtt-auth.js';
import { mosquittoSkipReason, startMosquitto, type Mosquitto } from '../sim/mosquitto.js';
import { mqttLaunch, PASSWORDS, SHIPPED_ACL, startTwin, tempDir, until, writePasswordFile } from './helpers/mqtt.js';

const skip = mosquittoSkipReason();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function mosquitto(dir: string): Promise<Mosquitto> {
  const m = await startMosquitto({ passwordFile: writePasswordFile(dir), aclFile: SHIPPED_ACL });
  cleanup.push(() => m.stop());
  return m;
}

describe.skipIf(skip !== null)(`MQTT against Debian's mosquitto${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('swarmguard run drives every robot of the bus twin through mosquitto, both logged in under the shipped ACL', async () => {
    const dir = tempDir('mosquitto-run');
    const m = await mosquitto(dir);
    const twin = await startTwin(m.url, 'mosq', { username: 'twin', password: PASSWORDS.twin });
    cleanup.push(() => twin.stop());
    const path = mqttLaunch(dir, 'mosq', m.url, '  credentials: { username: controller, passwordEnv: SG_TEST_MQTT_PASSWORD }\n');
    process.env.SG_TEST_MQTT_PASSWORD = PASSWORDS.controller;
    const ac = new AbortController();
    const lines: string[] = [];
    const running = runLaunch(path, { quiet: true, console: false, signal: ac.signal }, (l) => lines.push(l));
    try {
      await until('every robot driven 20 times', () => twin.stats.every((s) => s.driving >= 20), 60_000);
    } finally {
      ac.abort();
    }
    const sum = await running;
    for (const h of sum.links!) expect(h.exchanges, h.id).toBeGreaterThan(0);
    expect(sum.stops['no-pose']).toBe(0);
    expect(m.output()).not.toMatch(/denied/i);
  });

  it('an anonymous, a wrong-password and an ACL-forbidden client cannot command a robot; the controller can', async () => {
    const m = await mosquitto(tempDir('mosquitto-auth'));
    await expectUnauthorisedCannotCommand(m.url, (f) => cleanup.push(f));
  });
});
