// The campaign's table: per fault kind, how many were injected, what the runtime did wrong in the 30 s after
// them (robots commanded on a stale pose, poses that jumped with no recorded cause), records lost by the runs
// the fault ended, recovery time and false flags; totals with the must-be-zero columns. As markdown (printed
// and written as chaos.md) and as data (chaos.json, with every fault and every runtime).
import type { CampaignResult, FaultKind } from './campaign.js';
import { ATTRIBUTION_MS } from './campaign.js';
import { falseFlagsByKind } from './invariants.js';

export interface KindRow {
  kind: string;
  injected: number;
  /** Robot-ticks commanded to move on a pose older than maxPoseAgeMs, and the distinct robots. */
  staleActions: number;
  staleRobots: number;
  unexplainedJumps: number;
  recordsLost: number;
  recoveryP50S: number | null;
  recoveryMaxS: number | null;
  notRecovered: number;
  falseFlags: number;
  failedChecks: number;
}

export interface ChaosTable {
  rows: KindRow[];
  total: KindRow;
  faultMinutes: number;
  runtimes: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : null;
};

/** The kind a moment is charged to: the last fault injected at most ATTRIBUTION_MS before it, or 'none'. */
function chargedTo(faults: CampaignResult['faults'], atMs: number): string {
  let best: { kind: string; atMs: number } | null = null;
  for (const f of faults) if (f.atMs <= atMs && atMs - f.atMs <= ATTRIBUTION_MS && (!best || f.atMs > best.atMs)) best = f;
  return best?.kind ?? 'none';
}

export function chaosTable(r: CampaignResult): ChaosTable {
  const kinds = [...new Set<string>([...r.faults.map((f) => f.kind), 'none'])];
  const flags = falseFlagsByKind(r.runtimes.flatMap((x) => x.flagsAtMs), r.faults, ATTRIBUTION_MS);
  const row = (kind: string): KindRow => {
    const fs = r.faults.filter((f) => f.kind === kind);
    const rec = fs.flatMap((f) => (f.recoveryMs === null ? [] : [f.recoveryMs / 1000]));
    const stale = r.runtimes.flatMap((x) => x.stale.map((s) => ({ ...s, key: `${x.launch}#${s.robot}` }))).filter((s) => chargedTo(r.faults, s.atMs) === kind);
    // A runtime's lost records are charged to what ended it: the kill or SIGTERM fault, or the segment's end.
    const ender = (x: CampaignResult['runtimes'][number]): FaultKind | 'none' => (x.endedBy === 'SIGKILL' ? 'runtime-kill' : x.endedBy === 'SIGTERM (fault)' ? 'runtime-term' : 'none');
    return {
      kind,
      injected: fs.length,
      staleActions: stale.length,
      staleRobots: new Set(stale.map((s) => s.key)).size,
      unexplainedJumps: r.runtimes.flatMap((x) => x.jumps).filter((j) => chargedTo(r.faults, j.atMs) === kind).length,
      recordsLost: r.runtimes.filter((x) => ender(x) === kind).reduce((n, x) => n + (x.loss?.lost ?? 0), 0),
      recoveryP50S: median(rec),
      recoveryMaxS: rec.length ? Math.max(...rec) : null,
      notRecovered: fs.filter((f) => f.recoveryMs === null).length,
      falseFlags: flags[kind] ?? 0,
      failedChecks: fs.filter((f) => f.problems.length).length + r.runtimes.filter((x) => ender(x) === kind && x.problems.length).length,
    };
  };
  const rows = kinds.map(row);
  const sum = (k: keyof KindRow) => rows.reduce((n, x) => n + (x[k] as number), 0);
  const allRec = r.faults.flatMap((f) => (f.recoveryMs === null ? [] : [f.recoveryMs / 1000]));
  const total: KindRow = {
    kind: 'all',
    injected: sum('injected'),
    staleActions: sum('staleActions'),
    staleRobots: sum('staleRobots'),
    unexplainedJumps: sum('unexplainedJumps'),
    recordsLost: sum('recordsLost'),
    recoveryP50S: median(allRec),
    recoveryMaxS: allRec.length ? Math.max(...allRec) : null,
    notRecovered: sum('notRecovered'),
    falseFlags: sum('falseFlags'),
    failedChecks: sum('failedChecks'),
  };
  return { rows, total, faultMinutes: r.faultMinutes, runtimes: r.runtimes.length };
}

const s = (v: number | null) => (v === null ? '-' : v.toFixed(2));

export function chaosMarkdown(t: ChaosTable, r: CampaignResult): string[] {
  const head = '| fault kind | injected | robots on a stale pose (robot-ticks) | unexplained pose jumps | records lost | recovery p50 / max, s | not recovered | false flags | failed checks |';
  const line = (x: KindRow) => `| ${x.kind} | ${x.injected} | ${x.staleRobots} (${x.staleActions}) | ${x.unexplainedJumps} | ${x.recordsLost} | ${s(x.recoveryP50S)} / ${s(x.recoveryMaxS)} | ${x.notRecovered} | ${x.falseFlags} | ${x.failedChecks} |`;
  const tails = r.runtimes.filter((x) => x.endedBy === 'SIGKILL' && x.loss).map((x) => x.loss!.tail);
  return [
    `# swarmguard fault campaign`,
    '',
    `Seed ${r.options.seed}, ${t.faultMinutes.toFixed(1)} min of faults over links ${r.options.rigs.join(', ')}, ${t.runtimes} runtime processes, started ${r.startedAt}.`,
    '',
    head,
    '|---|---|---|---|---|---|---|---|---|',
    ...t.rows.map(line),
    line(t.total),
    '',
    `Must be zero: robots on a stale pose ${t.total.staleRobots}, unexplained pose jumps ${t.total.unexplainedJumps}, records lost ${t.total.recordsLost}.`,
    `Killed runtimes: ${tails.length}; ticks lost with their last, unfinished chunk (allowed): ${tails.length ? `${Math.min(...tails)}-${Math.max(...tails)}` : '-'}. Robots placed by the operator after their odometry lost its reference: ${r.relocations ?? 0}.`,
    `Rows: what happened within ${ATTRIBUTION_MS / 1000} s after a fault of that kind ('none': no fault that recent); records lost are charged to what ended the run; recovery: from the fault's end (link or broker back, runtime restarted or thawed) to the first tick with every robot's pose fresh.`,
    ...(t.total.failedChecks ? ['', 'Failed checks:', ...r.faults.filter((f) => f.problems.length).map((f) => `- ${f.kind} (${f.rig}, segment ${f.segment}, ${f.target}): ${f.problems.join('; ')}`), ...r.runtimes.filter((x) => x.problems.length).map((x) => `- runtime ${x.launch} ended by ${x.endedBy}: ${x.problems.join('; ')}`)] : []),
  ];
}
