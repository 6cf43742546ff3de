// The fault campaign's invariants, computed from what the runtime really did (its probe: the poses each tick
// read and the commands it sent) and what it recorded (run.mcap, events.jsonl). Pure functions: the campaign
// feeds them, test/chaos-invariants.test.ts checks them on hand-made runs.
import type { ProbeTick } from './probe.js';

export interface StaleAction {
  tick: number;
  robot: number;
  /** The pose's age when the tick read it, ms (null: it had none). */
  ageMs: number | null;
}

/** Robot-ticks that sent a robot a moving command while its pose was missing or older than maxPoseAgeMs. */
export function staleActions(ticks: readonly ProbeTick[], maxPoseAgeMs: number): StaleAction[] {
  const out: StaleAction[] = [];
  ticks.forEach((t, tick) => {
    t.ageMs.forEach((age, robot) => {
      const moving = t.commands[2 * robot] !== 0 || t.commands[2 * robot + 1] !== 0;
      if (moving && (age === null || age > maxPoseAgeMs)) out.push({ tick, robot, ageMs: age });
    });
  });
  return out;
}

export interface PoseJump {
  tick: number;
  robot: number;
  /** How far the pose moved between two consecutive measurements, and how far the robot could have, m. */
  jumpM: number;
  allowedM: number;
}

/**
 * Poses that moved between two consecutive measurements of a robot (two ticks that read poses with
 * different stamps) further than the robot can drive in the time between them (maxSpeed * dt + slackM, the
 * tracker's or odometry's noise), with no recorded cause (the link's rebase + reconnect count unchanged).
 */
export function unexplainedJumps(ticks: readonly ProbeTick[], maxSpeedMps: number, slackM: number): PoseJump[] {
  const out: PoseJump[] = [];
  const n = ticks[0]?.ageMs.length ?? 0;
  for (let robot = 0; robot < n; robot++) {
    let last: { x: number; y: number; stampMs: number; causes: number } | null = null;
    ticks.forEach((t, tick) => {
      const p = t.poses[robot];
      const age = t.ageMs[robot];
      if (!p || age === null || age === undefined) return;
      const stampMs = t.wallMs - age;
      const causes = t.causes[robot] ?? 0;
      if (last && Math.abs(stampMs - last.stampMs) > 0.5) {
        const jumpM = Math.hypot(p[0] - last.x, p[1] - last.y);
        const allowedM = (maxSpeedMps * Math.max(0, stampMs - last.stampMs)) / 1000 + slackM;
        if (jumpM > allowedM && causes === last.causes) out.push({ tick, robot, jumpM, allowedM });
      }
      if (!last || Math.abs(stampMs - last.stampMs) > 0.5 || causes !== last.causes) last = { x: p[0], y: p[1], stampMs, causes };
    });
  }
  return out;
}

export interface RecordLoss {
  /** Ticks the runtime ran (its probe) and recorded (run.mcap as the reader reads it). */
  ran: number;
  recorded: number;
  /** Ran but missing before the last recorded tick. */
  gaps: number;
  /** Ran after the last recorded tick. */
  tail: number;
  /** How many ticks one chunk holds, from the recording's own bytes per tick. */
  ticksPerChunk: number;
  /** What the invariant forbids: gaps, and a tail longer than one (the last, unfinished) chunk and the tick it split; the whole tail when the run was not killed. */
  lost: number;
}

/** Records lost by a run: `killed` runs may lose their last, unfinished chunk (ticksPerChunk ticks), nothing else. */
export function recordLoss(ran: number, recordedTicks: readonly number[], killed: boolean, ticksPerChunk: number): RecordLoss {
  const have = new Set(recordedTicks);
  const last = recordedTicks.length ? Math.max(...recordedTicks) : -1;
  let gaps = 0;
  for (let t = 0; t < Math.min(ran, last); t++) if (!have.has(t)) gaps++;
  const tail = Math.max(0, ran - 1 - last);
  // Killed: the unfinished chunk, and the tick the cut split (the reader leaves a tick out unless all of it is there).
  const allowed = killed ? Math.ceil(ticksPerChunk) + 1 : 0;
  return { ran, recorded: have.size, gaps, tail, ticksPerChunk, lost: gaps + Math.max(0, tail - allowed) };
}

/**
 * From `fromWallMs` until the swarm is whole again: the first tick from which every tick for holdMs read a
 * fresh pose (at most maxPoseAgeMs old) of every robot, ms. A fault's effect may show a little after it was
 * done (a reply timing out), hence the hold. null: not (yet) seen.
 */
export function recoveryMs(ticks: readonly ProbeTick[], fromWallMs: number, maxPoseAgeMs: number, holdMs: number): number | null {
  let since: number | null = null;
  for (const t of ticks) {
    if (t.wallMs < fromWallMs) continue;
    if (!t.ageMs.every((a) => a !== null && a <= maxPoseAgeMs)) since = null;
    else if (since === null) since = t.wallMs;
    else if (t.wallMs - since >= holdMs) return since - fromWallMs;
  }
  return null;
}

/** Robots whose pose has been missing in every tick of the last `forMs` (a robot whose odometry lost its reference, waiting to be placed). */
export function unlocated(ticks: readonly ProbeTick[], forMs: number): number[] {
  const last = ticks.at(-1);
  if (!last) return [];
  const recent = ticks.filter((t) => t.wallMs >= last.wallMs - forMs);
  if (recent.length === 0 || last.wallMs - recent[0]!.wallMs < forMs * 0.8) return [];
  return last.poses.flatMap((_, i) => (recent.every((t) => t.poses[i] === null) ? [i] : []));
}

/**
 * Each flag (the campaign's runs have no injection: every flag is false) charged to the last fault injected
 * at most windowMs before it, or to `none`: per fault kind, the false flags.
 */
export function falseFlagsByKind(flagsAtMs: readonly number[], faults: readonly { kind: string; atMs: number }[], windowMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  const sorted = [...faults].sort((a, b) => a.atMs - b.atMs);
  for (const at of flagsAtMs) {
    const cause = sorted.filter((f) => f.atMs <= at && at - f.atMs <= windowMs).at(-1);
    const kind = cause?.kind ?? 'none';
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}
