// A run's folder, `<out>/<name>-<time>`: its path, the files written at the end (events.jsonl,
// trajectory.svg, suspicion.svg, summary.json) and the summary printed then. Shared by `swarmguard run`,
// the distributed monitor and the calibration drive.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trajectorySvg } from '../../sim/picture.js';
import { attackName } from '../../sim/team-eval.js';
import type { Launch } from './launch.js';
import type { LinkHealth } from './link.js';
import type { SchedulerStats } from './scheduler.js';
import { suspicionSvg } from './suspicion-picture.js';
import { formatTeamOutcome, type TeamOutcome } from './team-outcome.js';
import type { RobotOutcome, RunEvent, TickRecord } from './trial.js';

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
}

/** A run folder's time stamp, e.g. 20260105-141503. */
function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A run folder's path: `<out>/<name>-<time>`, or `<out>/<name>-<what>-<time>` (created). */
export function newRunDir(launch: Launch, what?: string): string {
  const runDir = join(launch.outDir, `${launch.name}-${what ? `${what}-` : ''}${stamp()}`);
  mkdirSync(runDir, { recursive: true });
  return runDir;
}

/** Everything a run produced, in its folder: events.jsonl, trajectory.svg, suspicion.svg, summary.json. */
export function writeRunFolder(summary: RunSummary, launch: Launch, policyName: string, records: readonly TickRecord[], events: readonly RunEvent[]): void {
  const s = launch.settings;
  const runDir = summary.runDir;
  writeFileSync(join(runDir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''));
  const N = s.robotIds.length;
  const traj = new Float64Array(records.length * N * 3);
  records.forEach((r, t) => (r.truePoses ?? r.poses).forEach((p, i) => traj.set([p.x, p.y, p.theta], (t * N + i) * 3)));
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
    suspicionSvg({ title: `${launch.name}: monitor suspicion per robot`, ids: s.robotIds, records, events, controlPeriod: s.controlPeriod, flagAt: launch.monitor.flagAt, clearAt: launch.monitor.clearAt }),
  );
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ launch: launch.source, policy: policyName, ...summary }, null, 2)}\n`);
}

/** The final summary: flags against the ground truth, safety stops, scheduler health, where the files are. */
export function formatSummary(sum: RunSummary, launch: Launch): string[] {
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
export function summaryLines(sum: RunSummary, launch: Launch): string[] {
  const p = launch.settings.controlPeriod;
  const lines = [`\nsummary (${(sum.ticks * p).toFixed(1)} s${sum.interrupted ? ', interrupted' : ''}):`, ...formatOutcomes(sum.outcomes, p)];
  const scored = sum.uncompromised ? ` (${sum.uncompromised.robots.length} of ${sum.outcomes.length})` : '';
  lines.push(`  uncompromised robots${scored}: ${formatTeamOutcome(sum.uncompromised, launch.settings.gatherDiameter)}`);
  const stops = Object.entries(sum.stops).filter(([, n]) => n > 0);
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
  return lines;
}
