// The MQTT contract's pieces on their own: topics, payload validation, mosquitto password and ACL files,
// `swarmguard mqtt-passwd`, and the launch-file sections.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mqttPasswd } from '../src/cli/mqtt-passwd.js';
import { AclFile } from '../src/links/mqtt/acl.js';
import { decodePayload, MAX_PAYLOAD_BYTES } from '../src/links/mqtt/schemas.js';
import { PasswordFile, passwordEntry, withEntry } from '../src/links/mqtt/passwd.js';
import { filterCovers, SwarmTopics } from '../src/links/mqtt/topics.js';
import { loadLaunch } from '../src/launch/launch.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { MAPPO, SHIPPED_ACL, tempDir } from './helpers/mqtt.js';

describe('MQTT topics', () => {
  it('lays out one swarm under swarmguard/v1/<swarm> and parses its robot topics back', () => {
    const T = new SwarmTopics('demo');
    expect(T.robot('epuck-3', 'pose')).toBe('swarmguard/v1/demo/robot/epuck-3/pose');
    expect(T.everyRobot('cmd')).toBe('swarmguard/v1/demo/robot/+/cmd');
    expect(T.status('agent/epuck-3')).toBe('swarmguard/v1/demo/status/agent/epuck-3');
    expect([T.alerts, T.events]).toEqual(['swarmguard/v1/demo/alerts', 'swarmguard/v1/demo/events']);
    expect(T.parseRobot('swarmguard/v1/demo/robot/epuck-3/pose')).toEqual({ id: 'epuck-3', kind: 'pose' });
    expect(T.parseRobot('swarmguard/v1/other/robot/epuck-3/pose')).toBeNull();
    expect(T.parseRobot('swarmguard/v1/demo/robot/epuck-3/odometry')).toBeNull();
    expect(T.parseStatus('swarmguard/v1/demo/status/robot/epuck-1')).toBe('robot/epuck-1');
    expect(() => T.robot('a/b', 'pose')).toThrow(/robot id 'a\/b'/);
    expect(() => new SwarmTopics('#')).toThrow(/swarm name/);
    expect(filterCovers('a/+/c', 'a/b/c')).toBe(true);
    expect(filterCovers('a/#', 'a/b/c')).toBe(true);
    expect(filterCovers('a/+', 'a/b/c')).toBe(false);
  });
});

describe('MQTT payloads', () => {
  const good = '{"v":1,"t":12.5,"x":0.5,"y":0.25,"theta":-1,"tick":3}';
  it.each([
    ['not JSON', '{"v":1,', 'bad-json'],
    ['NaN (not JSON)', '{"v":1,"t":1,"x":NaN,"y":0,"theta":0}', 'bad-json'],
    ['an array', '[1]', 'not-object'],
    ['null', 'null', 'not-object'],
    ['another version', '{"v":2,"t":1,"x":0,"y":0,"theta":0}', 'wrong-version'],
    ['no version', '{"t":1,"x":0,"y":0,"theta":0}', 'wrong-version'],
    ['a string for a number', '{"v":1,"t":1,"x":"0","y":0,"theta":0}', 'schema'],
    ['a missing field', '{"v":1,"t":1,"x":0,"y":0}', 'schema'],
    ['a negative time', '{"v":1,"t":-1,"x":0,"y":0,"theta":0}', 'schema'],
    ['a huge number (Infinity)', '{"v":1,"t":1,"x":1e999,"y":0,"theta":0}', 'schema'],
    ['too large', `{"v":1,"pad":"${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`, 'too-large'],
  ])('a pose that is %s is refused as %s', (_what, payload, reason) => {
    const d = decodePayload('pose', payload);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toBe(reason);
  });

  it('takes good payloads of every kind, and refuses commands outside [-1, 1] and proximity without 8 readings', () => {
    expect(decodePayload('pose', Buffer.from(good))).toEqual({ ok: true, msg: { v: 1, t: 12.5, x: 0.5, y: 0.25, theta: -1, tick: 3 } });
    expect(decodePayload('cmd', '{"v":1,"t":1,"tick":4,"left":-1,"right":1}').ok).toBe(true);
    expect(decodePayload('cmd', '{"v":1,"t":1,"tick":4,"left":-1.5,"right":1}').ok).toBe(false);
    expect(decodePayload('proximity', `{"v":1,"t":1,"ps":[${new Array(8).fill(40).join(',')}]}`).ok).toBe(true);
    expect(decodePayload('proximity', '{"v":1,"t":1,"ps":[1,2,3]}').ok).toBe(false);
    expect(decodePayload('suspicion', '{"v":1,"tick":2,"belief":null,"consistency":0.1,"suspicion":0.1,"flagged":false}').ok).toBe(true);
    expect(decodePayload('alerts', '{"v":1,"tick":2,"kind":"flag","robot":"epuck-3","suspicion":0.9,"evidence":{"consistency":0.5}}').ok).toBe(true);
    expect(decodePayload('status', '{"v":1,"state":"offline","t":5,"robots":["a"]}').ok).toBe(true);
  });
});

describe('mosquitto password files', () => {
  // Written by Debian's mosquitto_passwd 2.0.11 (passwords 'secret' and 'hunter2').
  const fromMosquitto = [
    'alice:$7$101$9I1rEuCjNkCOO9HF$D52N8yaPJZcsKLg4l0AaZfUxUKB9vlIRFZWTbbvmyfN3xYMga/vk5dopoOQwY77aAIMQqW6b8PIbch9s/QiMzg==',
    'bob:$6$GFo8Z8ggpvDGl+SD$X5q8cUYXV4Cg3eihFdlkdM5qijxj/lFirGpWan3EjEjJS5p0iNXX+ufWoB31gHYWiYmVRFRuhkj9LOpzQZZLHA==',
  ].join('\n');

  it("verifies mosquitto_passwd's $7$ (PBKDF2-SHA512) and $6$ (SHA-512) entries", () => {
    const f = PasswordFile.parse(fromMosquitto, 'passwd');
    expect(f.verify('alice', 'secret')).toBe(true);
    expect(f.verify('alice', 'Secret')).toBe(false);
    expect(f.verify('bob', 'hunter2')).toBe(true);
    expect(f.verify('bob', 'secret')).toBe(false);
    expect(f.verify('carol', 'secret')).toBe(false);
  });

  it('writes $7$ entries it verifies, replacing a user in place and keeping the others', () => {
    const text = withEntry(fromMosquitto, 'alice', 'new-pw');
    const f = PasswordFile.parse(text, 'passwd');
    expect(f.verify('alice', 'new-pw')).toBe(true);
    expect(f.verify('alice', 'secret')).toBe(false);
    expect(f.verify('bob', 'hunter2')).toBe(true);
    expect(text.split('\n')[0]).toMatch(/^alice:\$7\$1000\$/);
    expect(passwordEntry('x', 'y')).not.toBe(passwordEntry('x', 'y'));
  });

  it('names the file and line of an entry it cannot read', () => {
    expect(() => PasswordFile.parse('alice:$7$101$a$b\nbob:plaintext\n', 'pw')).toThrow(/^pw:2: not a mosquitto password entry/);
  });

  it('swarmguard mqtt-passwd takes the password from an environment variable or stdin, never argv, and writes mode 600', async () => {
    const path = join(tempDir('passwd'), 'passwd');
    expect(await mqttPasswd(path, 'controller', { passwordEnv: 'PW' }, { PW: 'from-env' })).toBe(`${path}: added controller`);
    expect(await mqttPasswd(path, 'twin', {}, {}, async () => 'from-stdin')).toBe(`${path}: added twin`);
    expect(await mqttPasswd(path, 'twin', {}, {}, async () => 'again')).toBe(`${path}: replaced twin`);
    const f = PasswordFile.read(path);
    expect([f.verify('controller', 'from-env'), f.verify('twin', 'again')]).toEqual([true, true]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await expect(mqttPasswd(path, 'x', { passwordEnv: 'UNSET_PW' }, {})).rejects.toThrow(/UNSET_PW is not set/);
    await expect(mqttPasswd(path, 'x', {}, {}, async () => '')).rejects.toThrow(/no password on stdin/);
    writeFileSync(path, 'garbage line\n');
    await expect(mqttPasswd(path, 'x', { passwordEnv: 'PW' }, { PW: 'p' })).rejects.toThrow(/passwd:1: not a mosquitto password entry/);
    expect(readFileSync(path, 'utf8')).toBe('garbage line\n');
  });
});

describe('mosquitto ACL files', () => {
  const acl = AclFile.parse(
    ['topic read public/#', 'user alice', 'topic write a/+/cmd', 'topic deny a/secret/cmd', 'topic a/rw', 'user bob', 'topic read a/#', 'pattern write r/%u/pose', 'pattern read c/%c/#'].join('\n'),
    'acl',
  );

  it('grants per user, by access, with deny winning; patterns substitute %u and %c; anonymous gets the rules before any user', () => {
    expect(acl.canPublish('alice', 'c1', 'a/epuck-1/cmd')).toBe(true);
    expect(acl.canPublish('alice', 'c1', 'a/secret/cmd')).toBe(false);
    expect(acl.canRead('alice', 'c1', 'a/epuck-1/cmd')).toBe(false);
    expect(acl.canPublish('alice', 'c1', 'a/rw') && acl.canRead('alice', 'c1', 'a/rw')).toBe(true);
    expect(acl.canPublish('bob', 'c2', 'a/epuck-1/cmd')).toBe(false);
    expect(acl.canPublish('bob', 'c2', 'r/bob/pose')).toBe(true);
    expect(acl.canPublish('bob', 'c2', 'r/alice/pose')).toBe(false);
    expect(acl.canSubscribe('bob', 'c2', 'c/c2/x')).toBe(true);
    expect(acl.canSubscribe('bob', 'c2', 'c/c3/x')).toBe(false);
    expect(acl.canSubscribe(undefined, 'c9', 'public/news')).toBe(true);
    expect(acl.canPublish(undefined, 'c9', 'public/news')).toBe(false);
    expect(acl.canSubscribe('carol', 'c9', 'public/news')).toBe(false);
  });

  it('allows a subscription only if a rule covers the whole filter', () => {
    expect(filterCovers('a/+/pose', 'a/+/pose')).toBe(true);
    expect(filterCovers('a/+/pose', 'a/#')).toBe(false);
    expect(filterCovers('a/#', 'a/+/pose')).toBe(true);
    expect(filterCovers('a/b', 'a/+')).toBe(false);
    expect(acl.canSubscribe('bob', 'c2', '#')).toBe(false);
  });

  it('names the file and line of a rule it cannot read', () => {
    expect(() => AclFile.parse('user a\ntopic sideways a/b\n', 'acl')).toThrow(/^acl:2: 'sideways a\/b': access must be/);
    expect(() => AclFile.parse('allow all\n', 'acl')).toThrow(/^acl:1: unknown keyword 'allow'/);
  });

  it('the shipped ACL: the controller commands, the twin reports poses, a robot only its own topics, the observer only reads', () => {
    const shipped = AclFile.read(SHIPPED_ACL);
    const t = new SwarmTopics('demo');
    expect(shipped.canPublish('controller', 'c', t.robot('epuck-0', 'cmd'))).toBe(true);
    expect(shipped.canSubscribe('controller', 'c', t.everyRobot('pose'))).toBe(true);
    expect(shipped.canPublish('twin', 'c', t.robot('epuck-0', 'cmd'))).toBe(false);
    expect(shipped.canPublish('twin', 'c', t.robot('epuck-0', 'pose'))).toBe(true);
    expect(shipped.canPublish('epuck-1', 'c', t.robot('epuck-1', 'pose'))).toBe(true);
    expect(shipped.canPublish('epuck-1', 'c', t.robot('epuck-0', 'pose'))).toBe(false);
    expect(shipped.canSubscribe('epuck-1', 'c', t.robot('epuck-0', 'cmd'))).toBe(false);
    expect(shipped.canSubscribe('observer', 'c', `${t.prefix}/#`)).toBe(true);
    expect(shipped.canPublish('observer', 'c', t.robot('epuck-0', 'cmd'))).toBe(false);
    expect(shipped.canPublish(undefined, 'c', t.robot('epuck-0', 'cmd'))).toBe(false);
  });
});

describe('launch files with an mqtt link', () => {
  const file = (body: string) => {
    const path = join(tempDir('launch'), 'launch.yaml');
    writeFileSync(path, `swarm: { robots: 10 }\npolicy: ${MAPPO}\nduration: 3\n${body}`);
    return path;
  };

  it('loads with defaults (embedded broker on 127.0.0.1:1883, default QoS) and refuses bad keys by name', async () => {
    const l = await loadLaunch(file('link: { kind: mqtt, twin: true }\n'));
    expect(l.link).toMatchObject({ kind: 'mqtt', broker: 'embedded', embedded: { host: '127.0.0.1', port: 1883 }, twin: true, commandTimeoutMs: 500 });
    await expect(loadLaunch(file('link: { kind: mqtt, broker: "tcp://x" }\n'))).rejects.toThrow(/link\.broker/);
    await expect(loadLaunch(file('link: { kind: mqtt, qos: { pose: 3 } }\n'))).rejects.toThrow(/link\.qos\.pose/);
    await expect(loadLaunch(file('link: { kind: mqtt, password: hunter2 }\n'))).rejects.toThrow(/password/);
    await expect(loadLaunch(file('link: { kind: mqtt, broker: "mqtt://localhost:1883", credentials: { username: c, passwordEnv: SG_SURELY_UNSET_VAR } }\n'))).rejects.toThrow(
      /link\.credentials\.passwordEnv: the environment variable SG_SURELY_UNSET_VAR is not set/,
    );
    await expect(loadLaunch(file('link: { kind: mqtt, embedded: { aclFile: acl } }\n'))).rejects.toThrow(/link\.embedded\.aclFile: an ACL needs logins/);
    await expect(loadLaunch(file('link: { kind: mqtt, embedded: { passwordFile: pw } }\n'))).rejects.toThrow(/link\.credentials: the embedded broker checks logins/);
    await expect(loadLaunch(file('link: { kind: mqtt, twin: true }\nmqtt: { broker: embedded }\n'))).rejects.toThrow(/: mqtt: the mqtt link publishes the telemetry on its own connection/);
    await expect(loadLaunch(file('mqtt: { broker: "mqtt://localhost:1883", credentials: { username: c, passwordEnv: SG_SURELY_UNSET_VAR } }\n'))).rejects.toThrow(/: mqtt\.credentials\.passwordEnv/);
  });

  it('the embedded broker without a password file takes only the logins it generates: no outside twin, no unchecked credentials; anonymous only when asked for', async () => {
    await expect(loadLaunch(file('link: { kind: mqtt }\n'))).rejects.toThrow(/link\.twin: false: .*cannot log in to the embedded broker without embedded\.passwordFile/);
    await expect(loadLaunch(file('link: { kind: mqtt, twin: true, credentials: { username: c, passwordEnv: HOME } }\n'))).rejects.toThrow(/link\.credentials: without embedded\.passwordFile/);
    await expect(loadLaunch(file('link: { kind: mqtt, twin: true, embedded: { passwordFile: pw, allowAnonymous: true } }\n'))).rejects.toThrow(/link\.embedded\.allowAnonymous: true with a passwordFile/);
    const open = await loadLaunch(file('link: { kind: mqtt, embedded: { allowAnonymous: true } }\n'));
    expect(open.link).toMatchObject({ kind: 'mqtt', embedded: { allowAnonymous: true }, twin: false });
  });

  it('the shipped launch/mqtt/secure.yaml loads once its password variables are set, and names the one missing', async () => {
    const path = join(PROJECT_ROOT, 'launch', 'mqtt', 'secure.yaml');
    const saved = { ...process.env };
    try {
      delete process.env.SWARMGUARD_MQTT_PASSWORD;
      delete process.env.SWARMGUARD_TWIN_PASSWORD;
      await expect(loadLaunch(path)).rejects.toThrow(/link\.credentials\.passwordEnv: the environment variable SWARMGUARD_MQTT_PASSWORD is not set/);
      process.env.SWARMGUARD_MQTT_PASSWORD = 'y';
      await expect(loadLaunch(path)).rejects.toThrow(/link\.twinCredentials\.passwordEnv: the environment variable SWARMGUARD_TWIN_PASSWORD is not set/);
      process.env.SWARMGUARD_TWIN_PASSWORD = 'x';
      const l = await loadLaunch(path);
      expect(l.link).toMatchObject({ kind: 'mqtt', embedded: { passwordFile: 'passwd', aclFile: 'acl' }, twinCredentials: { username: 'twin' } });
    } finally {
      process.env = saved;
    }
  });

  it('the shipped launch/mqtt-demo.yaml loads', async () => {
    const l = await loadLaunch(join(PROJECT_ROOT, 'launch', 'mqtt-demo.yaml'));
    expect(l.link).toMatchObject({ kind: 'mqtt', twin: true });
    expect(l.settings.robotIds).toHaveLength(10);
  });
});
