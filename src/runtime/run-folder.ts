// A run's folder, `<out>/<name>-<time>`: its path, events.jsonl (appended as the run reports its events, so a
// killed process loses none of those already reported), the files written at the end (trajectory.svg,
// suspicion.svg, summary.json) and the summary printed then. Shared by `swarmguard run`, the distributed
// monitor and the calibration drive.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { trajectorySvg } from '../pictures/trajectory-picture.js';
import { attackName } from '../attacks/attack.js';
import { haltLine, type HaltReport } from './halt.js';
import { isolationLine, type IsolationSummary } from './isolation.js';
import type { EndCause } from './interruption.js';
import type { RunSpec } from './run-spec.js';
import type { LinkHealth } from './link.js';
import type { SchedulerStats } from './scheduler.js';
import { suspicionSvg } from './suspicion-picture.js';
import { formatTeamOutcome, type TeamOutcome } from './team-outcome.js';
import type { RobotOutcome, RunEvent, TickRecord } from './trial.js';
import { picturesOfRecords, type RunPictures } from './run-pictures.js';

export interface RunSummary {
  runDir: string;
  ticks: number;
  outcomes: RobotOutcome[];
  /** The rendezvous outcome of the robots never injected during the run, at its end (uncompromisedOutcome). */
  uncompromised: TeamOutcome | null;
  stops: Record<string, number>;
  scheduler: SchedulerStats | null;
  /** Per-robot link statistics, where the link keeps them. */
  links: LinkHealth[] | null;
  interrupted: boolean;
  /** How the run ended (`swarmguard run`; the distributed monitor does not say). */
  ended?: RunEnding;
  /** The stop every robot was sent at the end, and how the link confirmed it (`swarmguard run`). */
  halt?: HaltReport;
  /** What the monitor's flags led to: isolations (monitor.onFlag), counted (`swarmguard run`). */
  isolations?: IsolationSummary;
}

/** How a run ended: its duration ran out, a cause ended it early (interruption.ts), or an error was thrown through it. */
export interface RunEnding {
  by: 'completed' | EndCause | 'error';
  /** What `swarmguard run` exits with: 0, 128 + the signal's number, or 1 for an error. */
  exitCode: number;
  /** The error that ended it (fatal-error, tick-failed, error). */
  error?: string;
}

export const EVENTS_FILE = 'events.jsonl';

/**
 * events.jsonl, appended as the run reports its events: one write() per event line, so a process killed
 * (SIGKILL) loses none of the lines already written, and a line is never half written unless the disk
 * fills or the machine loses power mid-write. A write that fails is reported once; the file is then written
 * whole at the end (rewrite()).
 */
export class EventsFile {
  private fd: number | null;
  private failure: Error | null = null;

  constructor(
    readonly path: string,
    private readonly log: (line: string) => void,
  ) {
    this.fd = openSync(path, 'a');
  }

  /** True while every event so far is in the file. */
  get complete(): boolean {
    return this.failure === null;
  }

  append(events: readonly RunEvent[]): void {
    if (this.fd === null || this.failure) return;
    try {
      for (const e of events) {
        const line = Buffer.from(`${JSON.stringify(e)}\n`);
        for (let done = 0; done < line.length; ) done += writeSync(this.fd, line, done, line.length - done);
      }
    } catch (err) {
      this.failure = err as Error;
      this.log(`${this.path}: appending events failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it is written whole at the end`);
    }
  }

  /** Writes every event anew (after a failed append). */
  rewrite(events: readonly RunEvent[]): void {
    writeFileSync(this.path, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    this.failure = null;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A run folder's time stamp, e.g. 20260105-141503. */
function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A run folder's path: `<out>/<name>-<time>`, or `<out>/<name>-<what>-<time>` (created). */
export function newRunDir(launch: RunSpec, what?: string): string {
  const runDir = join(launch.outDir, `${launch.name}-${what ? `${what}-` : ''}${stamp()}`);
  mkdirSync(runDir, { recursive: true });
  return runDir;
}

/**
 * Everything a run produced, in its folder: events.jsonl (unless `eventsWritten`: the run appended it as it
 * went, EventsFile), trajectory.svg, suspicion.svg, summary.json.
 */
export function writeRunFolder(summary: RunSummary, launch: RunSpec, policyName: string, records: readonly TickRecord[] | RunPictures, events: readonly RunEvent[], o: { eventsWritten?: boolean } = {}): void {
  const s = launch.settings;
  const runDir = summary.runDir;
  if (!o.eventsWritten) writeFileSync(join(runDir, EVENTS_FILE), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  // The pictures from every kept record, or from a streamed run's history (RunTally).
  const history = 'samples' in records ? records : picturesOfRecords(records);
  const N = s.robotIds.length;
  const traj = new Float64Array(history.samples.length * N * 3);
  history.samples.forEach((h, t) => traj.set(h.poses.subarray(0, 3 * N), t * N * 3));
  writeFileSync(
    join(runDir, 'trajectory.svg'),
    trajectorySvg({
      arenaWidth: s.arenaWidth,
      arenaHeight: s.arenaHeight,
      robotIds: s.robotIds,
      bodyRadius: s.robots.map((r) => r.bodyRadius),
      trajectory: traj,
      attacked: [...new Set(launch.injections.map((i) => i.robot))],
      attackLabel: launch.injections.map((i) => `${s.robotIds[i.robot]}: ${attackName(i.attack)}`).join(', ') || undefined,
      title: `${launch.name}: ${policyName}`,
      gatherDiameter: s.gatherDiameter,
    }),
  );
  writeFileSync(
    join(runDir, 'suspicion.svg'),
    suspicionSvg({ title: `${launch.name}: monitor suspicion per robot`, ids: s.robotIds, history, events, controlPeriod: s.controlPeriod, flagAt: launch.monitor.flagAt, clearAt: launch.monitor.clearAt }),
  );
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ launch: launch.source, policy: policyName, ...summary }, null, 2)}\n`);
}

/** The final summary: flags against the ground truth, safety stops, scheduler health, where the files are. */
export function formatSummary(sum: RunSummary, launch: RunSpec): string[] {
  return [...summaryLines(sum, launch), `  run folder: ${sum.runDir} (${existsSync(sum.runDir) ? readdirSync(sum.runDir).sort().join(', ') : 'not written'})`];
}

/** The flags against the ground truth: a line per robot compromised or falsely flagged, then the totals. */
export function formatOutcomes(outcomes: readonly RobotOutcome[], controlPeriod: number): string[] {
  const p = controlPeriod;
  const lines: string[] = [];
  for (const o of outcomes) {
    if (o.compromisedTicks === 0 && o.falseFlags === 0) continue;
    const what = o.compromisedTicks > 0 ? `compromised for ${(o.compromisedTicks * p).toFixed(1)} s` : 'never compromised';
    const caught = o.compromisedTicks === 0 ? '' : o.detectionDelayTicks === null ? ', NOT flagged' : `, flagged after ${(o.detectionDelayTicks * p).toFixed(1)} s`;
    lines.push(`  ${o.robot.padEnd(10)} ${what}${caught}${o.falseFlags ? `, ${o.falseFlags} false flag(s)` : ''}`);
  }
  const compromised = outcomes.filter((o) => o.compromisedTicks > 0);
  const detected = compromised.filter((o) => o.detectionDelayTicks !== null).length;
  const falseFlags = outcomes.reduce((s, o) => s + o.falseFlags, 0);
  lines.push(`  detected ${detected} of ${compromised.length} compromised robot(s); ${falseFlags} false flag(s)`);
  return lines;
}

/**
 * The summary without its last line (the run folder's files): what the run's services (the dashboard) are
 * told at the end, before the folder is written.
 */
export function summaryLines(sum: RunSummary, launch: RunSpec): string[] {
  const p = launch.settings.controlPeriod;
  const by = sum.ended && sum.ended.by !== 'completed' && sum.ended.by !== 'caller' ? ` by ${sum.ended.by}` : '';
  const lines = [`\nsummary (${(sum.ticks * p).toFixed(1)} s${sum.interrupted || by ? `, interrupted${by}` : ''}):`];
  if (sum.ended?.error) lines.push(`  error: ${sum.ended.error}`);
  lines.push(...formatOutcomes(sum.outcomes, p));
  const scored = sum.uncompromised ? ` (${sum.uncompromised.robots.length} of ${sum.outcomes.length})` : '';
  lines.push(`  uncompromised robots${scored}: ${formatTeamOutcome(sum.uncompromised, launch.settings.gatherDiameter)}`);
  const stops = Object.entries(sum.stops).filter(([, n]) => n > 0);
  if (sum.isolations && (sum.isolations.onFlag !== 'report' || sum.isolations.isolations > 0)) lines.push(`  ${isolationLine(sum.isolations)}`);
  lines.push(`  safety stops (robot-ticks): ${stops.length ? stops.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`);
  if (sum.scheduler) {
    const sc = sum.scheduler;
    lines.push(`  control ticks: ${sc.ticks}, latency mean ${sc.latencyMs.mean.toFixed(1)} ms / max ${sc.latencyMs.max.toFixed(1)} ms, jitter max ${sc.jitterMs.max.toFixed(1)} ms, overruns ${sc.overruns}, skipped ${sc.skippedTicks}`);
  }
  if (sum.links) {
    const total = (f: (h: LinkHealth) => number) => sum.links!.reduce((a, h) => a + f(h), 0);
    const refused = total((h) => Object.values(h.rejected).reduce((a, n) => a + n, 0));
    const p99 = Math.max(...sum.links.map((h) => (Number.isFinite(h.latencyMs.p99) ? h.latencyMs.p99 : 0)));
    lines.push(`  link: ${total((h) => h.exchanges)} exchanges, worst robot p99 ${p99.toFixed(1)} ms, ${total((h) => h.timeouts)} timeouts, ${refused} refused replies, ${total((h) => h.reconnects)} reconnects`);
  }
  if (sum.halt) lines.push(`  ${haltLine(sum.halt)}`);
  if (sum.ended && sum.ended.exitCode !== 0) lines.push(`  exit code ${sum.ended.exitCode}`);
  return lines;
}
