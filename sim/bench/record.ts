// npm run bench:record — what recording a run costs: per tick, the recorder's time (encoding every
// channel's JSON and writing the MCAP chunks, compressing them, flushed every tick) and the file size, per
// tick and per robot-hour, with zstd-compressed chunks (the default) and uncompressed ones, for 10, 50 and
// 100 robots; and reading the file back. The ticks are a real 30 s trial of 10 robots (the shipped EIR-MAPPO
// policy with its beliefs, an adversary injected, default noise); larger swarms repeat its robots under new
// ids. Min/median/max over BENCH_REPEATS (default 5) repeats, one process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxTeam } from '../../src/policy/team.js';
import { loadLaunch } from '../../src/launch/launch.js';
import { releaseRun } from '../../src/runtime/run-spec.js';
import { SimLink } from '../sim-link.js';
import { swarmTrial, type RunEvent, type TickRecord } from '../../src/runtime/trial.js';
import { readRecording } from '../../src/recording/reader.js';
import { runHeader } from '../../src/recording/service.js';
import { CHUNK_COMPRESSIONS } from '../../src/recording/compression.js';
import { McapRunWriter, type RecordingHeader } from '../../src/recording/writer.js';
import { PROJECT_ROOT } from '../../src/core/swarm-config.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const SIZES = [10, 50, 100];

const quantiles = (xs: number[]): [number, number, number] => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[0]!, s[Math.floor(s.length / 2)]!, s[s.length - 1]!];
};

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-bench-record-'));
try {
  const policy = join(PROJECT_ROOT, 'policies', 'eir-mappo-rendezvous');
  const launchPath = join(dir, 'launch.yaml');
  writeFileSync(launchPath, `name: bench\nswarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 7 }\npolicy: ${policy}\nduration: 30\ntrial: true\ninjections: [{ robot: epuck-3, at: 5, duration: 15, attack: ${policy} }]\nout: ${dir}\n`);
  const launch = await loadLaunch(launchPath);
  const team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
  const link = new SimLink(launch.settings, 'fast', launch.seed);
  const run = swarmTrial(launch.settings, team, link, { safety: launch.safety, monitor: launch.monitor, trialMode: true, injections: launch.injections, seed: launch.seed });
  const ticks: { record: TickRecord; events: RunEvent[] }[] = [];
  let reported = 0;
  while (run.tick < launch.ticks) {
    await run.step();
    ticks.push({ record: run.records.at(-1)!, events: run.events.slice(reported) });
    reported = run.events.length;
    link.advance();
  }
  await team.release();
  const period = launch.settings.controlPeriod;
  const base = runHeader(launch, { name: team.name, dir: policy, files: team.fileHashes });
  console.log(`recording ${ticks.length} ticks (${ticks.length * period} s, ${run.events.length} events) of a trial; ${REPEATS} repeats, min / median / max\n`);
  console.log('robots | chunks | record, µs per tick        | file, bytes per tick | bytes per robot-second | MB per robot-hour | read back, µs per tick');
  console.log('------ | ------ | -------------------------- | -------------------- | ---------------------- | ----------------- | ----------------------');
  for (const N of SIZES) {
    const k = N / 10;
    const ids = Array.from({ length: N }, (_, i) => `epuck-${i}`);
    const widen = <T>(xs: readonly T[], per = 1) => Array.from({ length: k }, () => xs).flat().slice(0, N * per);
    const records = ticks.map(({ record: r, events }) => ({
      record: {
        ...r,
        poses: widen(r.poses),
        truePoses: r.truePoses && widen(r.truePoses),
        intended: widen(r.intended, 2),
        commands: widen(r.commands, 2),
        stopped: widen(r.stopped),
        belief: widen(r.belief),
        consistency: widen(r.consistency),
        suspicion: widen(r.suspicion),
        flagged: widen(r.flagged),
      },
      events,
    }));
    const header: RecordingHeader = { ...base, robotIds: ids, settings: { ...base.settings, swarm: { ...launch.settings, robotIds: ids, robots: widen(launch.settings.robots) } } };
    for (const compression of CHUNK_COMPRESSIONS) {
      const write: number[] = [];
      const read: number[] = [];
      let bytes = 0;
      for (let rep = 0; rep < REPEATS; rep++) {
        const path = join(dir, `bench-${N}-${compression}.mcap`);
        const t0 = performance.now();
        const w = await McapRunWriter.open(path, header, { compression });
        for (const { record, events } of records) {
          w.tick(record, events);
          await w.flush();
        }
        await w.close();
        write.push(((performance.now() - t0) * 1000) / records.length);
        bytes = w.bytes;
        const t1 = performance.now();
        await readRecording(path);
        read.push(((performance.now() - t1) * 1000) / records.length);
      }
      const f = (xs: number[]) => quantiles(xs).map((x) => Math.round(x)).join(' / ');
      const perRobotSecond = bytes / (N * records.length * period);
      console.log(
        `${String(N).padStart(6)} | ${compression.padEnd(6)} | ${f(write).padEnd(26)} | ${String(Math.round(bytes / records.length)).padStart(20)} | ${String(Math.round(perRobotSecond)).padStart(22)} | ${((perRobotSecond * 3600) / 1e6).toFixed(1).padStart(17)} | ${f(read)}`,
      );
    }
  }
  await releaseRun(launch);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
