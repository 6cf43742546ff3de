// npm run bench:run-memory — whether a run's memory grows with its length: `swarmguard run` (runLaunch, the
// whole command: tick path, summary, run folder) over the sim link in fast mode, quiet, no recording, with the
// belief policy (policies/eir-mappo-local-sparse) at constant density, once per length, each in its own
// process; prints the peak resident memory and the peak heap in use per length.
// usage: npm run bench:run-memory -- [--robots N] [--ticks 1000,10000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLaunch } from '../../src/cli/run.js';
import { PROJECT_ROOT } from '../../src/core/swarm-config.js';
import { arenaSide } from './runtime-args.js';

interface Job {
  robots: number;
  ticks: number;
}

async function measure(job: Job): Promise<{ peakRssMb: number; heapMb: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-bench-run-memory-'));
  try {
    const side = arenaSide(job.robots);
    const path = join(dir, 'launch.yaml');
    writeFileSync(
      path,
      `name: memory\nswarm: { robots: ${job.robots}, arena: { width: ${side}, height: ${side} }, observation: local, maxNeighbours: 4, sensingRadius: 0.6, noise: default }\n` +
        `link: { kind: sim, mode: fast, seed: 1 }\npolicy: ${join(PROJECT_ROOT, 'policies/eir-mappo-local-sparse')}\nduration: ${(job.ticks * 0.1).toFixed(1)}\nrecord: false\nout: ${dir}\n`,
    );
    const t0 = performance.now();
    // The heap in use, sampled while the run goes (the fast loop yields every 10 ticks).
    let heap = 0;
    const sampler = setInterval(() => (heap = Math.max(heap, process.memoryUsage().heapUsed)), 100);
    try {
      await runLaunch(path, { quiet: true, console: false }, () => {});
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - t0) / 1000;
    return { peakRssMb: (process.resourceUsage().maxRSS * 1024) / 2 ** 20, heapMb: heap / 2 ** 20, seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function inChild(job: Job): Promise<{ peakRssMb: number; heapMb: number; seconds: number }> {
  const node = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(job)];
  return new Promise((resolve, reject) => {
    const child = spawn(node[0]!, node.slice(1), { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`bench:run-memory: ${job.ticks} ticks failed (exit ${code}): ${err.trim() || out.trim()}`));
    });
  });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  console.log(JSON.stringify(await measure(JSON.parse(argv[1]!) as Job)));
} else {
  const flag = (name: string, dflt: string) => {
    const k = argv.indexOf(name);
    return k >= 0 && argv[k + 1] ? argv[k + 1]! : dflt;
  };
  const robots = Number(flag('--robots', '200'));
  const lengths = flag('--ticks', '1000,10000').split(',').map(Number);
  if (!(Number.isInteger(robots) && robots >= 2) || !lengths.every((t) => Number.isInteger(t) && t >= 1)) {
    console.error('usage: npm run bench:run-memory -- [--robots N] [--ticks 1000,10000]');
    process.exit(2);
  }
  console.log(`bench:run-memory: swarmguard run, ${robots} robots, belief policy, sim fast, no recording; load average ${loadavg()[0]!.toFixed(1)}`);
  for (const ticks of lengths) {
    const r = await inChild({ robots, ticks });
    console.log(`  ${String(ticks).padStart(6)} ticks: peak RSS ${Math.round(r.peakRssMb)} MB, peak heap in use ${r.heapMb.toFixed(0)} MB (${r.seconds.toFixed(0)} s)`);
  }
  console.log(`load average at the end ${loadavg()[0]!.toFixed(1)}`);
}
