// The fault campaign (`npm run chaos`): segment after segment, one link each in turn (rigs.ts: Wi-Fi twin,
// Bluetooth twin, MQTT with the embedded broker, MQTT with mosquitto), a live `swarmguard run` of the
// shipped policy (runtime-process.ts) while a seeded schedule injects faults into the robots' side (reboots,
// dropped links, corrupted replies, hung bridges, broker restarts) and into the runtime itself (SIGKILL and a
// restart, SIGTERM and a restart, ticks delayed by freezing it). After each fault it waits for the swarm to
// recover (every robot's pose fresh again in a tick of the runtime) and checks the invariants on what the
// runtime really did (invariants.ts on its probe, its recording, its events); each runtime that ends
// (killed, stopped, the segment over) is checked as a whole.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeStreams, type RandomStream } from '../../src/core/random.js';
import { randomPassword } from '../../src/links/mqtt/logins.js';
import { readRecording } from '../../src/recording/reader.js';
import { scanRecording } from '../../src/recording/scan.js';
import { CHUNK_BYTES } from '../../src/recording/writer.js';
import { recordLoss, recoveryMs, staleActions, unexplainedJumps, unlocated, type PoseJump, type RecordLoss, type StaleAction } from './invariants.js';
import { MAX_POSE_AGE_MS, startRig, type Rig, type RigFault, type RigKind } from './rigs.js';
import { RuntimeProcess, sleep } from './runtime-process.js';

export const RUNTIME_FAULTS = ['runtime-kill', 'runtime-term', 'tick-delay'] as const;
export type FaultKind = RigFault | (typeof RUNTIME_FAULTS)[number];

export interface CampaignOptions {
  /** Minutes of faults (segments run until their fault time adds up to this). */
  minutes: number;
  seed: number;
  out: string;
  /** Length of one segment (one rig, one swarm), s. */
  segmentS: number;
  rigs: readonly RigKind[];
  /** Wait between two faults, s: uniform in [min, max]. */
  gapS: [number, number];
  log: (line: string) => void;
}

export interface FaultResult {
  kind: FaultKind;
  rig: RigKind;
  segment: number;
  target: string;
  detail: string;
  atMs: number;
  endMs: number;
  /** From the fault's end to the first tick with every robot's pose fresh, ms (null: not within the wait). */
  recoveryMs: number | null;
  problems: string[];
}

export interface RuntimeResult {
  rig: RigKind;
  segment: number;
  launch: string;
  runDir: string | null;
  /** How the campaign ended it. */
  endedBy: 'SIGKILL' | 'SIGTERM (fault)' | 'SIGTERM (segment over)' | 'exited by itself';
  exit: { code: number | null; signal: string | null };
  loss: RecordLoss | null;
  stale: (StaleAction & { atMs: number })[];
  jumps: (PoseJump & { atMs: number })[];
  flagsAtMs: number[];
  problems: string[];
}

export interface CampaignResult {
  options: Omit<CampaignOptions, 'log'>;
  startedAt: string;
  faultMinutes: number;
  faults: FaultResult[];
  runtimes: RuntimeResult[];
  /** Robots the operator placed after their odometry lost its reference (relocate). */
  relocations: number;
}

/** How long after a fault a stale action, a jump or a flag is charged to it, ms. */
export const ATTRIBUTION_MS = 30_000;
/** Tracker / odometry noise a pose may move by beyond what the robot can drive, m. */
export const JUMP_SLACK_M = 0.05;
/** Recovered: every robot's pose fresh in every tick for this long, ms. */
const RECOVERY_HOLD_MS = 2000;
/** The operator places a robot whose pose has been unknown for this long (its odometry lost its reference), ms. */
const RELOCATE_AFTER_MS = 1000;
/** A fault not recovered from within this long is a failed check, ms. */
const RECOVERY_WAIT_MS = 60_000;

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const rng = makeStreams(o.seed, 1)[0]!;
  const password = randomPassword();
  const result: CampaignResult = { options: { minutes: o.minutes, seed: o.seed, out: o.out, segmentS: o.segmentS, rigs: o.rigs, gapS: o.gapS }, startedAt: new Date().toISOString(), faultMinutes: 0, faults: [], runtimes: [], relocations: 0 };
  const t0 = Date.now();
  const logPath = join(o.out, 'processes.log');
  const progress = (line: string) => {
    const s = Math.round((Date.now() - t0) / 1000);
    o.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}`);
  };
  let faultMs = 0;
  for (let segment = 0; faultMs < o.minutes * 60_000; segment++) {
    const kind = o.rigs[segment % o.rigs.length]!;
    const dir = join(o.out, `segment-${String(segment).padStart(2, '0')}-${kind}`);
    mkdirSync(dir, { recursive: true });
    // The robots' side logs with the processes (processes.log): the console keeps to the faults and their checks.
    const rig = await startRig(kind, dir, o.seed + segment, password, (l) => appendFileSync(logPath, `${new Date().toISOString()} ${l}\n`));
    const seg = new Segment(segment, rig, dir, logPath, result, progress);
    try {
      if (!(await seg.startRuntime())) {
        progress(`segment ${segment} (${kind}): the runtime did not start; skipped (see ${logPath})`);
        continue;
      }
      const from = Date.now();
      const end = from + Math.min(o.segmentS * 1000, o.minutes * 60_000 - faultMs);
      progress(`segment ${segment}: ${kind}, ${rig.ids.length} robots, ${Math.round((end - from) / 1000)} s of faults`);
      for (;;) {
        await sleep(rng.range(o.gapS[0], o.gapS[1]) * 1000);
        if (Date.now() >= end) break;
        const fault = pickFault(rig, rng);
        const r = await seg.inject(fault, rng);
        progress(`${fault} ${r.target}: ${r.detail}; ${r.recoveryMs === null ? 'NOT recovered' : `recovered in ${(r.recoveryMs / 1000).toFixed(2)} s`}${r.problems.length ? `; FAILED: ${r.problems.join('; ')}` : ''} | ${totals(result, seg)}`);
      }
      faultMs += Date.now() - from;
      result.faultMinutes = faultMs / 60_000;
      await seg.endRuntime('SIGTERM (segment over)');
      progress(`segment ${segment} over (robots placed by the operator so far: ${result.relocations}) | ${totals(result, null)}`);
    } finally {
      seg.close();
      await seg.endRuntime('SIGTERM (segment over)').catch(() => undefined);
      await rig.stop();
    }
    writeFileSync(join(o.out, 'chaos.partial.json'), JSON.stringify(result));
  }
  return result;
}

function pickFault(rig: Rig, rng: RandomStream): FaultKind {
  const all: FaultKind[] = [...rig.faults, ...RUNTIME_FAULTS];
  // The runtime's restarts take seconds each: they come half as often as the others.
  const weights = all.map((k) => (k === 'runtime-kill' || k === 'runtime-term' ? 0.5 : 1));
  let x = rng.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < all.length; i++) if ((x -= weights[i]!) < 0) return all[i]!;
  return all.at(-1)!;
}

function totals(r: CampaignResult, seg: Segment | null): string {
  const live = seg?.liveChecks() ?? { stale: 0, jumps: 0 };
  const stale = r.runtimes.reduce((n, x) => n + x.stale.length, 0) + live.stale;
  const jumps = r.runtimes.reduce((n, x) => n + x.jumps.length, 0) + live.jumps;
  const lost = r.runtimes.reduce((n, x) => n + (x.loss?.lost ?? 0), 0);
  const flags = r.runtimes.reduce((n, x) => n + x.flagsAtMs.length, 0);
  const failed = r.faults.filter((f) => f.problems.length).length + r.runtimes.filter((x) => x.problems.length).length;
  return `faults ${r.faults.length}, stale-pose actions ${stale}, unexplained jumps ${jumps}, records lost ${lost}, false flags ${flags}, failed checks ${failed}`;
}

/** One rig and the runtimes that drive it, one after another. */
class Segment {
  private rt: RuntimeProcess | null = null;
  private runs = 0;
  private readonly placing: NodeJS.Timeout;

  constructor(
    readonly index: number,
    readonly rig: Rig,
    readonly dir: string,
    readonly logPath: string,
    readonly result: CampaignResult,
    readonly progress: (line: string) => void,
  ) {
    // The operator: a robot whose pose has been unknown for a while (its odometry rebased) is placed where it truly is.
    this.placing = setInterval(() => {
      const truth = this.rig.truePoses();
      if (!this.rt?.running || !truth) return;
      for (const i of unlocated(this.rt.ticks(), RELOCATE_AFTER_MS)) {
        this.rt.relocate(i, truth[i]!);
        this.result.relocations++;
      }
    }, RELOCATE_AFTER_MS / 2);
  }

  close(): void {
    clearInterval(this.placing);
  }

  /** A new runtime; resolves once it ticks (false: it did not within 90 s). */
  async startRuntime(): Promise<boolean> {
    const n = this.runs++;
    const out = join(this.dir, `run-${n}`);
    const launchPath = join(this.dir, `launch-${n}.yaml`);
    writeFileSync(launchPath, stringify(this.rig.launch(`chaos-${this.rig.kind}`, out, 3600)));
    this.rt = new RuntimeProcess(launchPath, join(this.dir, `probe-${n}.jsonl`), out, this.logPath, { ...process.env, ...this.rig.env });
    await this.rig.ready();
    return this.rt.ticking(0, 90_000);
  }

  /** The invariants so far on the runtime still running (for the progress line). */
  liveChecks(): { stale: number; jumps: number } {
    if (!this.rt) return { stale: 0, jumps: 0 };
    const ticks = this.rt.ticks();
    return { stale: staleActions(ticks, MAX_POSE_AGE_MS).length, jumps: unexplainedJumps(ticks, this.rig.maxSpeedMps, JUMP_SLACK_M).length };
  }

  async inject(kind: FaultKind, rng: RandomStream): Promise<FaultResult> {
    const atMs = Date.now();
    const problems: string[] = [];
    let target = 'runtime';
    let detail: string;
    let endMs: number;
    if (!this.rt?.running) {
      const exit = this.rt ? await this.endRuntime('exited by itself') : null;
      problems.push(`the runtime had exited by itself before this fault (${JSON.stringify(exit)})`);
      await this.startRuntime();
    }
    if (kind === 'tick-delay') {
      const ms = Math.round(rng.range(300, 2500));
      await this.rt!.freeze(ms);
      detail = `frozen (SIGSTOP) for ${ms} ms`;
      endMs = Date.now();
    } else if (kind === 'runtime-kill') {
      await this.endRuntime('SIGKILL');
      this.rig.stopByHand();
      detail = `SIGKILL${this.rig.kind === 'mqtt-embedded' ? ' (its embedded broker with it)' : ''}, started again`;
      if (!(await this.startRuntime())) problems.push('the restarted runtime did not tick within 90 s');
      endMs = this.rt!.startedAt;
    } else if (kind === 'runtime-term') {
      const r = await this.endRuntime('SIGTERM (fault)');
      if (r.exit.code !== 143) problems.push(`SIGTERM: exit ${r.exit.code ?? r.exit.signal}, not 143`);
      detail = `SIGTERM (exit ${r.exit.code ?? r.exit.signal}), started again`;
      if (!(await this.startRuntime())) problems.push('the restarted runtime did not tick within 90 s');
      endMs = this.rt!.startedAt;
    } else {
      const f = await this.rig.inject(kind, rng);
      target = f.target;
      detail = f.detail;
      endMs = f.endMs;
    }
    let recovered: number | null = null;
    const until = Date.now() + RECOVERY_WAIT_MS;
    while (recovered === null && Date.now() < until && this.rt!.running) {
      recovered = recoveryMs(this.rt!.ticks(), endMs, MAX_POSE_AGE_MS, RECOVERY_HOLD_MS);
      if (recovered === null) await sleep(100);
    }
    if (recovered === null) problems.push(`no tick with every robot's pose fresh within ${RECOVERY_WAIT_MS / 1000} s`);
    const r: FaultResult = { kind, rig: this.rig.kind, segment: this.index, target, detail, atMs, endMs, recoveryMs: recovered, problems };
    this.result.faults.push(r);
    return r;
  }

  /** Ends the runtime running now (if any) and checks it as a whole. */
  async endRuntime(how: RuntimeResult['endedBy']): Promise<RuntimeResult> {
    const rt = this.rt!;
    this.rt = null;
    if (!rt) throw new Error('no runtime');
    const exit = how === 'exited by itself' ? await rt.exited : await rt.end(how === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM');
    const problems: string[] = [];
    // SIGTERM: every robot sent a stop, and it is what each executes now.
    if (how.startsWith('SIGTERM')) {
      const moving = this.rig.commands().flatMap((c, k) => (c[0] !== 0 || c[1] !== 0 ? [`${this.rig.ids[k]} (${c[0].toFixed(2)}, ${c[1].toFixed(2)})`] : []));
      if (moving.length) problems.push(`after SIGTERM still driving: ${moving.join(', ')}`);
      if (exit.code !== 143) problems.push(`SIGTERM: exit ${exit.code ?? exit.signal}, not 143`);
    }
    const ticks = rt.ticks();
    const runDir = existsSync(rt.runsDir) ? (readdirSync(rt.runsDir).map((d) => join(rt.runsDir, d))[0] ?? null) : null;
    const killed = how === 'SIGKILL' || how === 'exited by itself';
    let loss: RecordLoss | null = null;
    const flagsAtMs: number[] = [];
    if (!runDir) problems.push('no run folder');
    else {
      const mcap = join(runDir, 'run.mcap');
      try {
        const rec = await readRecording(mcap);
        if (!killed && !rec.closed) problems.push('run.mcap not closed after a SIGTERM');
        loss = recordLoss(ticks.length, rec.records.map((r) => r.tick), killed, await ticksPerChunk(mcap));
        if (loss.lost > 0) problems.push(`${loss.lost} records lost (ran ${loss.ran}, recorded ${loss.recorded}, gaps ${loss.gaps}, tail ${loss.tail}, a chunk holds ${loss.ticksPerChunk.toFixed(0)})`);
      } catch (err) {
        problems.push(`run.mcap unreadable: ${(err as Error).message}`);
      }
      if (!killed && !existsSync(join(runDir, 'summary.json'))) problems.push('no summary.json after a SIGTERM');
      const eventsPath = join(runDir, 'events.jsonl');
      if (existsSync(eventsPath)) {
        for (const line of readFileSync(eventsPath, 'utf8').split('\n')) {
          if (!line) continue;
          const e = JSON.parse(line) as { kind: string; tick: number };
          if (e.kind === 'flag') flagsAtMs.push(ticks[e.tick]?.wallMs ?? ticks.at(-1)?.wallMs ?? Date.now());
        }
      } else problems.push('no events.jsonl');
    }
    const at = (tick: number) => ticks[tick]?.wallMs ?? 0;
    const r: RuntimeResult = {
      rig: this.rig.kind,
      segment: this.index,
      launch: rt.launchPath,
      runDir,
      endedBy: how,
      exit: { code: exit.code, signal: exit.signal },
      loss,
      stale: staleActions(ticks, MAX_POSE_AGE_MS).map((s) => ({ ...s, atMs: at(s.tick) })),
      jumps: unexplainedJumps(ticks, this.rig.maxSpeedMps, JUMP_SLACK_M).map((j) => ({ ...j, atMs: at(j.tick) })),
      flagsAtMs,
      problems,
    };
    this.result.runtimes.push(r);
    if (problems.length) this.progress(`runtime ended by ${how}: FAILED: ${problems.join('; ')}`);
    return r;
  }
}

/**
 * The most ticks one chunk of this recording can hold: the chunk size over the smallest tick in it (a tick's
 * messages vary: the first ones carry the scene and many events, later ones a third of that; the ticks a
 * killed run lost cannot be weighed, so each is taken as small as the smallest one seen).
 */
export async function ticksPerChunk(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const scan = await scanRecording(handle, statSync(path).size);
    // A message record in a chunk: opcode, length, channel, sequence, log and publish times (31 bytes), then its data.
    const perTick = new Map<bigint, number>();
    for (const m of scan.messages) perTick.set(m.logTime, (perTick.get(m.logTime) ?? 0) + 31 + m.data.byteLength);
    const smallest = Math.min(...perTick.values());
    return perTick.size > 0 ? CHUNK_BYTES / smallest : Number.POSITIVE_INFINITY;
  } finally {
    await handle.close();
  }
}

