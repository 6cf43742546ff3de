// What the runtime really did at its link, tick by tick, for the fault campaign's invariant checks: the
// poses the tick read (their age on the link's clock), the commands it then sent, and the link's count of
// recorded causes for a pose to move unlike the robot (odometry rebases, reconnects). Written by the runtime
// process under test (runtime-child.ts) one line per tick with a synchronous write, so a process killed
// outright loses no tick it finished; read back by the campaign.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { RobotLink } from '../../src/runtime/link.js';

export interface ProbeTick {
  /** Wall clock when the tick read its poses, ms since the epoch. */
  wallMs: number;
  /** Per robot: the age of the pose the tick read, ms on the link's clock (null: no pose). */
  ageMs: (number | null)[];
  /** Per robot: the pose read (null: none). */
  poses: ([number, number] | null)[];
  /** Normalised wheel commands sent, robot i's at 2i. */
  commands: number[];
  /** Per robot: odometry rebases + reconnects the link has counted so far (recorded causes for a pose to move unlike the robot). */
  causes: number[];
}

interface Frame {
  wallMs: number;
  ageMs: (number | null)[];
  poses: ([number, number] | null)[];
  commands: number[];
  sent: number;
}

/**
 * Watches `link` (its own methods wrapped in place, so whatever else the runtime asks of it is untouched):
 * a tick is a poses() call followed by one send() per robot, in order; sends with no poses() before them
 * (the final stop of the shutdown) are not ticks and are not written.
 */
export function probeLink(link: RobotLink, path: string): () => void {
  const fd = openSync(path, 'a');
  const n = link.ids.length;
  const poses = link.poses.bind(link);
  const send = link.send.bind(link);
  const clock = link.now.bind(link);
  let frame: Frame | null = null;
  // The tick reads the clock, then the poses: their age is taken against that reading, as the safety layer takes it.
  let lastNow: number | null = null;
  link.now = () => (lastNow = clock());
  link.poses = () => {
    const timed = poses();
    const now = lastNow ?? clock();
    lastNow = null;
    frame = {
      wallMs: Date.now(),
      ageMs: timed.map((p) => (p ? Math.round((now - p.stampMs) * 10) / 10 : null)),
      poses: timed.map((p) => (p && Number.isFinite(p.x) && Number.isFinite(p.y) ? [round4(p.x), round4(p.y)] : null)),
      commands: new Array<number>(2 * n).fill(0),
      sent: 0,
    };
    return timed;
  };
  link.send = (i, left, right) => {
    send(i, left, right);
    if (!frame) return;
    frame.commands[2 * i] = round4(left);
    frame.commands[2 * i + 1] = round4(right);
    if (++frame.sent < n) return;
    const health = link.health?.() ?? [];
    const causes = link.ids.map((_, k) => {
      const h = health[k] as { reconnects?: number; rebases?: number } | undefined;
      return (h?.reconnects ?? 0) + (h?.rebases ?? 0);
    });
    const line: ProbeTick = { wallMs: frame.wallMs, ageMs: frame.ageMs, poses: frame.poses, commands: frame.commands, causes };
    writeSync(fd, `${JSON.stringify(line)}\n`);
    frame = null;
  };
  return () => closeSync(fd);
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** A probe file's ticks, in order (a last line cut off by a kill is left out). */
export function readProbe(path: string): ProbeTick[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: ProbeTick[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as ProbeTick);
    } catch {
      // Only the last line can be partial (one write per line); anything else is a broken file.
      if (line !== text.split('\n').filter(Boolean).at(-1)) throw new Error(`${path}: unreadable probe line: ${line.slice(0, 80)}`);
    }
  }
  return out;
}
