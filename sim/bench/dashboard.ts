// npm run bench:dashboard — the dashboard server at 10 Hz for 10 and 100 robots (BENCH_SECONDS, default 8,
// per size):
//   1. frame size as the clients receive it, bytes: full (every monitor signal) and lite (what a slow client gets);
//   2. per-tick cost on the run's thread, ms: tick() (what the control tick pays) and the flush that follows
//      it (encoding once per detail level and sending to every client), p50 / p99 / max;
//   3. delivery to two clients in their own processes: one that draws at once and one that takes 250 ms
//      per frame (slower than the tick rate): frames/s received, detail level, lag (tick handed to the
//      server -> frame received) p50 / p99 / max, and frames coalesced for it.
// The records are synthetic (random-walk poses in the arena, random monitor signals, one flag): frame size
// and cost depend on the robot count, not on what the robots do.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/core/swarm-config.js';
import { DashboardServer } from '../../src/dashboard/server.js';
import type { TickRecord } from '../../src/runtime/trial.js';
import { quantile } from './link-bench.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const HZ = 10;
const SLOW_DRAW_MS = 250;
const ARENA = 2;

function records(n: number, ticks: number): TickRecord[] {
  const pose = Array.from({ length: n }, () => ({ x: Math.random() * ARENA, y: Math.random() * ARENA, theta: Math.random() * 6 - 3 }));
  const out: TickRecord[] = [];
  for (let t = 0; t < ticks; t++) {
    for (const p of pose) {
      p.theta += 0.2 * (Math.random() - 0.5);
      p.x = Math.min(ARENA, Math.max(0, p.x + 0.01 * Math.cos(p.theta)));
      p.y = Math.min(ARENA, Math.max(0, p.y + 0.01 * Math.sin(p.theta)));
    }
    const poses = pose.map((p) => ({ ...p }));
    const susp = pose.map(() => Math.random());
    out.push({
      tick: t,
      timeMs: t * 100,
      poses,
      truePoses: poses,
      intended: pose.flatMap(() => [Math.random(), Math.random()]),
      commands: pose.flatMap(() => [Math.random(), Math.random()]),
      stopped: pose.map(() => null),
      belief: susp.map((s) => s / 2),
      consistency: susp,
      suspicion: susp,
      flagged: pose.map((_, i) => i === 3),
      compromised: [3],
    });
  }
  return out;
}

function client(port: number, drawMs: number): Promise<{ child: ChildProcess; result: Promise<{ tick: number; detail: string; bytes: number; at: number }[]> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'sim/bench/dashboard-client.ts'), String(port), String(SECONDS + 1), String(drawMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let opened: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const result = new Promise<{ tick: number; detail: string; bytes: number; at: number }[]>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('open\n')) opened();
    });
    child.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('['));
      if (line) resolve(JSON.parse(line));
      else reject(new Error(`bench client: no result (${out})`));
    });
  });
  return open.then(() => ({ child, result }));
}

const ms = (x: number) => x.toFixed(3).padStart(8);

async function bench(n: number): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => `epuck-${i}`);
  const recs = records(n, SECONDS * HZ + 20);
  const server = new DashboardServer({ arena: { width: ARENA, height: ARENA }, ids, bodyRadius: ids.map(() => 0.037), controlPeriod: 1 / HZ, trialMode: true, flagAt: 0.8, clearAt: 0.3, cusumThreshold: 40, port: 0, log: () => undefined });
  const port = await server.listen();
  const fast = await client(port, 0);
  const slow = await client(port, SLOW_DRAW_MS);
  const sentAt = new Map<number, number>();
  const tickMs: number[] = [];
  const flushMs: number[] = [];
  const start = performance.now();
  for (let k = 0; k < SECONDS * HZ; k++) {
    const due = start + (k * 1000) / HZ;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    const r = recs[k]!;
    sentAt.set(r.tick, performance.timeOrigin + performance.now());
    const t0 = performance.now();
    server.tick(r, k % 50 === 0 ? [{ tick: r.tick, kind: 'flag', robot: ids[3]!, suspicion: 0.9, evidence: { belief: 0.5, consistency: 0.9, cusum: 50, observers: 4 } }] : []);
    const t1 = performance.now();
    await new Promise((res) => setImmediate(res)); // the server's flush was queued first: it has run by now
    flushMs.push(performance.now() - t1);
    tickMs.push(t1 - t0);
  }
  const streams = server.stats().streams;
  const [fastFrames, slowFrames] = await Promise.all([fast.result, slow.result]);
  await server.close();
  console.log(`\n${n} robots at ${HZ} Hz for ${SECONDS} s (${SECONDS * HZ} ticks):`);
  const mean = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, x) => a + x, 0) / xs.length) : NaN);
  const size = (d: string) => mean([...fastFrames, ...slowFrames].filter((f) => f.detail === d).map((f) => f.bytes));
  console.log(`  frame size as received, mean: full ${size('full')} B, lite ${size('lite')} B`);
  console.log(`  per tick, ms:  tick() p50 ${ms(quantile(tickMs, 0.5))} p99 ${ms(quantile(tickMs, 0.99))} max ${ms(Math.max(...tickMs))}`);
  console.log(`                 flush   p50 ${ms(quantile(flushMs, 0.5))} p99 ${ms(quantile(flushMs, 0.99))} max ${ms(Math.max(...flushMs))}   (2 clients)`);
  for (const [name, frames, stats] of [['fast client', fastFrames, streams[0]], [`slow client (${SLOW_DRAW_MS} ms per frame)`, slowFrames, streams[1]]] as const) {
    const lag = frames.filter((f) => sentAt.has(f.tick)).map((f) => f.at - sentAt.get(f.tick)!);
    const lites = frames.filter((f) => f.detail === 'lite').length;
    console.log(
      `  ${name}: ${(frames.length / SECONDS).toFixed(1)} frames/s (${lites} lite), lag ms p50 ${ms(quantile(lag, 0.5))} p99 ${ms(quantile(lag, 0.99))} max ${ms(Math.max(...lag))}, coalesced ${stats?.coalesced ?? '?'}`,
    );
  }
  fast.child.kill();
  slow.child.kill();
}

console.log(`bench:dashboard (${process.platform}, node ${process.version})`);
for (const n of [10, 100]) await bench(n);
