// The MQTT link's benchmark, entries of `npm run bench:links` (LINK_BENCHES in sim/bench/links.ts), or on its
// own: `node --import tsx sim/bench/mqtt-link.ts`. 10 robots; logins and the shipped ACL on, as deployed. A
// tester client in this process plays the robots' bridge (user `twin`), so one clock measures both ends; every
// message still goes through the broker: the embedded aedes (in this process too) or Debian's mosquitto (its
// own process).
//   1. round trip: the tester publishes a robot's pose; as soon as the link accepts it a command is sent;
//      the time until the tester receives that robot's command. Lock-step per robot at 10 Hz for
//      BENCH_SECONDS (default 10) s; p50 / p99 / max over every robot's exchanges;
//   2. the highest rate sustained: every robot's pose published at each rate for BENCH_RATE_SECONDS (default
//      3) s; sustained when every pose reached the link and every command came back, no tick skipped.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { PROJECT_ROOT, resolveSwarmConfig } from '../../src/core/swarm-config.js';
import { MqttLink } from '../../src/links/mqtt/link.js';
import { passwordEntry } from '../../src/links/mqtt/passwd.js';
import { encodePayload } from '../../src/links/mqtt/schemas.js';
import { DEFAULT_QOS } from '../../src/links/mqtt/topics.js';
import { ControlScheduler } from '../../src/runtime/scheduler.js';
import { mosquittoMissing, startMosquitto } from '../mosquitto.js';
import { formatResult, lockstepLatency, RATE_SECONDS, ROBOTS, rateLadder, type LinkBench, type LinkBenchResult, type RateTry } from './link-bench.js';

const PW = { controller: 'bench-controller', twin: 'bench-twin' };
const ACL = join(PROJECT_ROOT, 'launch', 'mqtt', 'acl');

interface Rig {
  link: MqttLink;
  tester: MqttClient;
  cmds: number;
  /** When each robot's last pose was published (performance clock), or null once its command came back. */
  pending: (number | null)[];
  samples: number[];
  stop(): Promise<void>;
}

type BrokerKind = 'embedded' | 'mosquitto';

function passwordFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'swarmguard-bench-mqtt-')), 'passwd');
  writeFileSync(path, `${passwordEntry('controller', PW.controller)}\n${passwordEntry('twin', PW.twin)}\n`, { mode: 0o600 });
  return path;
}

async function rig(kind: BrokerKind): Promise<Rig> {
  const settings = resolveSwarmConfig({ robots: ROBOTS, noise: 'off' });
  const ids = settings.robotIds;
  const files = { passwordFile: passwordFile(), aclFile: ACL };
  const mosq = kind === 'mosquitto' ? await startMosquitto(files) : null;
  const bus = {
    embedded: mosq ? null : { host: '127.0.0.1', port: 0, ...files },
    url: mosq ? mosq.url : null,
    username: 'controller',
    password: PW.controller,
    qos: DEFAULT_QOS,
    connectTimeoutMs: 5000,
  };
  const link = await MqttLink.open({ swarm: 'bench', ids, bus, log: (l) => console.log(l) });
  const tester = await mqtt.connectAsync(link.broker ? link.broker.url : mosq!.url, { username: 'twin', password: PW.twin });
  const r: Rig = {
    link,
    tester,
    cmds: 0,
    pending: new Array<number | null>(ROBOTS).fill(null),
    samples: [],
    async stop() {
      await tester.endAsync();
      await link.stop();
      await mosq?.stop();
    },
  };
  await tester.subscribeAsync(link.topics.everyRobot('cmd'), { qos: 0 });
  tester.on('message', (topic) => {
    const i = ids.indexOf(link.topics.parseRobot(topic)?.id ?? '');
    if (i < 0) return;
    r.cmds++;
    const t0 = r.pending[i];
    if (t0 !== null && t0 !== undefined) {
      r.samples.push(performance.now() - t0);
      r.pending[i] = null;
    }
  });
  // The controller's side: answer every accepted pose with a command at once.
  link.onPose = (i) => link.send(i, 0.2, 0.2);
  return r;
}

function publishPose(r: Rig, i: number): void {
  r.pending[i] = performance.now();
  const id = r.link.ids[i]!;
  r.tester.publish(r.link.topics.robot(id, 'pose'), encodePayload({ t: performance.timeOrigin + performance.now(), x: 0.2 + 0.16 * i, y: 1, theta: 1.57 }), { qos: 0 });
}

async function drive(r: Rig, hz: number, seconds: number): Promise<RateTry> {
  const posesBefore = r.link.health().reduce((a, h) => a + h.exchanges, 0);
  const cmdsBefore = r.cmds;
  const total = Math.round(hz * seconds);
  let ticks = 0;
  const scheduler = new ControlScheduler(1000 / hz, () => {
    if (ticks >= total) return;
    for (let i = 0; i < ROBOTS; i++) publishPose(r, i);
    ticks++;
  });
  scheduler.start();
  while (ticks < total) await new Promise((res) => setTimeout(res, 20));
  await scheduler.stop();
  await new Promise((res) => setTimeout(res, 300));
  const poses = r.link.health().reduce((a, h) => a + h.exchanges, 0) - posesBefore;
  const cmds = r.cmds - cmdsBefore;
  const want = ticks * ROBOTS;
  const skipped = scheduler.stats.skippedTicks;
  const sustained = poses === want && cmds === want && skipped === 0;
  return { ticks, sustained, why: sustained ? 'every pose delivered and answered' : `${poses}/${want} poses delivered, ${cmds}/${want} commands back, ${skipped} ticks skipped` };
}

async function run(kind: BrokerKind, name: string): Promise<LinkBenchResult> {
  let r = await rig(kind);
  let latencyMs: LinkBenchResult['latencyMs'];
  try {
    latencyMs = await lockstepLatency(r, publishPose);
  } finally {
    await r.stop();
  }
  r = await rig(kind);
  try {
    return { link: name, latencyMs, ...(await rateLadder((hz) => drive(r, hz, RATE_SECONDS))) };
  } finally {
    await r.stop();
  }
}

const EMBEDDED = 'mqtt (embedded aedes broker, logins + ACL)';
const MOSQUITTO = 'mqtt (Debian mosquitto, logins + ACL)';

/** The entries for LINK_BENCHES. */
export const MQTT_LINK_BENCHES: LinkBench[] = [
  { name: EMBEDDED, unavailable: () => null, run: () => run('embedded', EMBEDDED) },
  { name: MOSQUITTO, unavailable: mosquittoMissing, run: () => run('mosquitto', MOSQUITTO) },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const only = process.env.BENCH_LINKS;
  for (const b of MQTT_LINK_BENCHES.filter((x) => !only || x.name.includes(only))) {
    const why = b.unavailable();
    if (why) {
      console.log(`${b.name}: skipped (${why})`);
      continue;
    }
    const res = await b.run();
    console.log(`${res.link}: ${ROBOTS} robots`);
    for (const line of formatResult(res, 'pose -> cmd round trip')) console.log(line);
  }
}
