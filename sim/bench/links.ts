// npm run bench:links — the robot links against their protocol twins, 10 robots each:
//   1. round-trip latency (request written -> reply complete) p50 / p99 / max over every robot's exchanges
//      at the 10 Hz control rate for BENCH_SECONDS (default 10) s;
//   2. the highest control rate the link sustains: rates stepped up, each held for BENCH_RATE_SECONDS
//      (default 3) s; a rate is sustained when every tick of every robot got its own exchange (no command
//      waiting on the previous reply, no timeout, no tick skipped by the scheduler); a failed rate gets a
//      second try (shared machines stall) and fails only if that fails too.
// The twin runs in its own process (`swarmguard twin-serve`), as robots would. Each link type is one entry in
// LINK_BENCHES: another link adds its own function there.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, resolveSwarmConfig, type SwarmSettings } from '../../src/core/swarm-config.js';
import { loadLaunch } from '../../src/launch/launch.js';
import { createLink } from '../../src/cli/link-factory.js';
import type { RobotLink } from '../../src/runtime/link.js';
import { ControlScheduler } from '../../src/runtime/scheduler.js';
import { formatResult, LATENCY_SECONDS, RATE_SECONDS, RATES, ROBOTS, quantile, type LinkBench, type LinkBenchResult } from './link-bench.js';
import { ROS2_LINK_BENCH } from './ros2-link.js';
import { MQTT_LINK_BENCHES } from './mqtt-link.js';

/** A link under test: the link, its pooled latency samples, and how to tear everything down. */
interface Rig {
  link: RobotLink & { latencySamples(): number[] };
  stop(): Promise<void>;
}

/** Sends every robot a command every tick at `hz` for `seconds`; what the link's counters did meanwhile. */
async function drive(link: RobotLink, hz: number, seconds: number): Promise<{ ticks: number; sustained: boolean; why: string }> {
  const before = link.health!();
  let ticks = 0;
  const total = Math.round(hz * seconds);
  const scheduler = new ControlScheduler(1000 / hz, () => {
    if (ticks >= total) return;
    const u = 0.2 * Math.sin(ticks / 20);
    for (let i = 0; i < link.ids.length; i++) link.send(i, u, -u);
    ticks++;
  });
  scheduler.start();
  while (ticks < total) await new Promise((r) => setTimeout(r, 20));
  await scheduler.stop();
  await new Promise((r) => setTimeout(r, 300));
  const after = link.health!();
  const delta = (f: (h: (typeof after)[number]) => number) => after.reduce((s, h, i) => s + f(h) - f(before[i]!), 0);
  const coalesced = delta((h) => h.coalesced);
  const timeouts = delta((h) => h.timeouts);
  const exchanges = delta((h) => h.exchanges);
  const skipped = scheduler.stats.skippedTicks;
  const sustained = coalesced === 0 && timeouts === 0 && skipped === 0 && exchanges === ticks * link.ids.length;
  const why = sustained ? 'every tick served' : `${coalesced} commands waited on a reply, ${timeouts} timeouts, ${skipped} ticks skipped, ${exchanges}/${ticks * link.ids.length} exchanges`;
  return { ticks, sustained, why };
}

/** Starts `swarmguard twin-serve` on a launch file in its own process; resolves once it serves. */
function serveInChild(launchPath: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'src/bin/swarmguard.js'), 'twin-serve', launchPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('now: swarmguard run')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`twin-serve exited (${code}): ${out}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

/** An e-puck2 link against the twin served by another process, built from a launch file as `swarmguard run` does. */
async function epuck2Rig(kind: 'epuck2-wifi' | 'epuck2-bt'): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-bench-links-'));
  const settings: SwarmSettings = resolveSwarmConfig({ robots: ROBOTS, noise: 'off' });
  const robots = settings.robotIds.map((id, k) => {
    const address = kind === 'epuck2-wifi' ? `port: ${32100 + k}` : `device: ${join(dir, id)}`;
    return `    ${id}: { ${address}, start: { x: ${0.2 + 0.16 * k}, y: 1, theta: 1.57 } }`;
  });
  const path = join(dir, 'launch.yaml');
  writeFileSync(path, `swarm: { robots: ${ROBOTS}, noise: 'off' }\npolicy: ${join(PROJECT_ROOT, 'policies/mappo-rendezvous')}\nduration: 1\nlink:\n  kind: ${kind}\n  robots:\n${robots.join('\n')}\n`);
  const child = await serveInChild(path);
  const link = await createLink(await loadLaunch(path), () => undefined);
  link.start();
  const silent = await link.ready!(10_000);
  if (silent.length) throw new Error(`${kind}: no first reply from ${silent.join(', ')}`);
  return {
    link: link as Rig['link'],
    async stop() {
      await link.stop();
      await stopChild(child);
    },
  };
}

async function benchRig(name: string, rig: () => Promise<Rig>): Promise<LinkBenchResult> {
  // Latency at the deployed control rate, on a fresh link.
  let r = await rig();
  let latencyMs: LinkBenchResult['latencyMs'];
  try {
    await drive(r.link, 10, LATENCY_SECONDS);
    const xs = r.link.latencySamples();
    latencyMs = { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs), samples: xs.length };
  } finally {
    await r.stop();
  }
  // The rate ladder, on another fresh link.
  const rates: LinkBenchResult['rates'] = [];
  let maxRateHz: number | null = null;
  r = await rig();
  try {
    for (const hz of RATES) {
      // A shared machine stalls now and then: a rate fails only if a second try fails too.
      let got = await drive(r.link, hz, RATE_SECONDS);
      if (!got.sustained) {
        rates.push({ hz, ...got });
        got = await drive(r.link, hz, RATE_SECONDS);
      }
      rates.push({ hz, ...got });
      if (!got.sustained) break;
      maxRateHz = hz;
    }
  } finally {
    await r.stop();
  }
  return { link: name, latencyMs, maxRateHz, rates };
}

function hasSocat(): boolean {
  const r = spawn('socat', ['-V'], { stdio: 'ignore' });
  return r.pid !== undefined && (r.kill(), true);
}

export const LINK_BENCHES: LinkBench[] = [
  { name: 'epuck2-wifi (TCP, loopback)', unavailable: () => null, run: () => benchRig('epuck2-wifi (TCP, loopback)', () => epuck2Rig('epuck2-wifi')) },
  {
    name: 'epuck2-bt (sercom v2, PTY pair)',
    unavailable: () => (hasSocat() ? null : 'socat is not installed'),
    run: () => benchRig('epuck2-bt (sercom v2, PTY pair)', () => epuck2Rig('epuck2-bt')),
  },
  ROS2_LINK_BENCH,
  ...MQTT_LINK_BENCHES,
];

console.log(`bench:links: ${ROBOTS} robots per link against its protocol twin (own process); latency at 10 Hz for ${LATENCY_SECONDS} s, rates held ${RATE_SECONDS} s each`);
// BENCH_LINKS=wifi (a substring of the names) runs only the matching link types.
const only = process.env.BENCH_LINKS;
for (const b of LINK_BENCHES.filter((x) => !only || x.name.includes(only))) {
  const why = b.unavailable();
  if (why) {
    console.log(`\n${b.name}: skipped (${why})`);
    continue;
  }
  const load = loadavg()[0]!;
  const res = await b.run();
  console.log(`\n${res.link}   (load average ${load.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores)`);
  for (const line of formatResult(res)) console.log(line);
}
