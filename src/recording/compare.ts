// sim2real: the recorded commands fed into the twin (sim/world.ts, noise off: the exact kinematic model
// with the recorded robots' parameters and contacts) from the recorded start poses, open loop, and how far
// the twin's trajectories drift from the recorded ones over time. Against the true poses where the link
// recorded them (the twin), the tracked poses otherwise (real robots).
import type { Pose } from '../../sim/world.js';
import { RendezvousWorld } from '../../sim/world.js';
import { NO_NOISE } from '../../sim/noise.js';
import { robotColour } from '../../sim/picture.js';
import { escapeXml } from '../../sim/svg-text.js';
import type { SimSettings } from '../../sim/config.js';
import { wrapAngle } from '../core/kinematics.js';
import type { RobotParams } from '../core/robot-params.js';
import type { RecordedRun } from './reader.js';
import { RecordingError } from './reader.js';

export interface ErrorAt {
  /** Time since the start, s. */
  t: number;
  /** Per robot (null: not located in the recording at that tick). */
  position: (number | null)[];
  heading: (number | null)[];
  swarm: { meanPosition: number; maxPosition: number; meanHeading: number; maxHeading: number };
}

export interface Comparison {
  recording: string;
  robotIds: readonly string[];
  /** 'true': against the recorded true poses; 'tracked': against the tracker's. */
  reference: 'true' | 'tracked';
  /** The robot parameters the twin ran with (the recording's, or a robots file's). */
  robots: readonly RobotParams[];
  robotsSource: string;
  controlPeriod: number;
  /** Position error (m) per tick and robot: [tick][robot]; NaN where the recording has no pose. */
  positionError: number[][];
  headingError: number[][];
  /** At 1 s, 5 s and the end (those within the recording). */
  checkpoints: ErrorAt[];
  /** Per robot over the whole run: mean and max position error, m. */
  perRobot: { id: string; meanPosition: number; maxPosition: number }[];
  /** Over the whole run and every robot: mean position error, m. */
  meanPosition: number;
}

/** Mean of the finite values (NaN: none). */
const finiteMean = (xs: readonly number[]) => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Number.NaN;
};

/** The recording's swarm with the twin's noise off and, if given, other robot parameters. */
function twinSettings(run: RecordedRun, robots?: readonly RobotParams[]): SimSettings {
  const swarm = run.settings.swarm;
  return { ...swarm, robots: robots ?? swarm.robots, noise: NO_NOISE, episodeSteps: Math.max(swarm.episodeSteps, run.records.length + 1) };
}

/** The recorded reference poses of tick k: true where recorded, tracked otherwise. */
function reference(run: RecordedRun, k: number): { x: number; y: number; theta: number }[] {
  const r = run.records[k]!;
  return r.truePoses ?? r.poses;
}

export function compareWithTwin(run: RecordedRun, o: { robots?: readonly RobotParams[]; robotsSource?: string } = {}): Comparison {
  const T = run.records.length;
  if (T < 2) throw new RecordingError(`${run.path}: ${T} recorded tick(s): nothing to compare`);
  const ids = run.robotIds;
  const settings = twinSettings(run, o.robots);
  const start = reference(run, 0);
  const missing = start.findIndex((p) => ![p.x, p.y, p.theta].every(Number.isFinite));
  if (missing >= 0) throw new RecordingError(`${run.path}: robot ${ids[missing]} has no pose at the first tick: the twin has no start pose for it`);
  const world = new RendezvousWorld(settings, { envs: 1, seed: 1, autoReset: false });
  try {
    world.resetEnv(0, start.map((p): Pose => ({ x: p.x, y: p.y, heading: p.theta })));
  } catch (err) {
    throw new RecordingError(`${run.path}: the recorded start poses do not fit the twin: ${(err as Error).message}`);
  }
  const positionError: number[][] = [new Array<number>(ids.length).fill(0)];
  const headingError: number[][] = [new Array<number>(ids.length).fill(0)];
  for (let k = 0; k + 1 < T; k++) {
    world.step(run.records[k]!.commands);
    const twin = world.poses(0);
    const ref = reference(run, k + 1);
    positionError.push(twin.map((p, i) => Math.hypot(p.x - ref[i]!.x, p.y - ref[i]!.y)));
    headingError.push(twin.map((p, i) => Math.abs(wrapAngle(p.heading - ref[i]!.theta))));
  }
  const at = (k: number): ErrorAt => {
    const known = (xs: number[]) => xs.map((v) => (Number.isFinite(v) ? v : null));
    const finite = (xs: number[]) => xs.filter(Number.isFinite);
    const pos = finite(positionError[k]!);
    const hd = finite(headingError[k]!);
    return {
      t: k * run.controlPeriod,
      position: known(positionError[k]!),
      heading: known(headingError[k]!),
      swarm: { meanPosition: finiteMean(pos), maxPosition: Math.max(...pos), meanHeading: finiteMean(hd), maxHeading: Math.max(...hd) },
    };
  };
  const marks = [...new Set([Math.round(1 / run.controlPeriod), Math.round(5 / run.controlPeriod)].filter((k) => k < T - 1).concat(T - 1))];
  return {
    recording: run.path,
    robotIds: ids,
    reference: run.records[0]!.truePoses ? 'true' : 'tracked',
    robots: settings.robots,
    robotsSource: o.robotsSource ?? 'the recording',
    controlPeriod: run.controlPeriod,
    positionError,
    headingError,
    checkpoints: marks.map(at),
    perRobot: ids.map((id, i) => {
      const e = positionError.map((row) => row[i]!);
      return { id, meanPosition: finiteMean(e), maxPosition: Math.max(...e.filter(Number.isFinite)) };
    }),
    meanPosition: finiteMean(positionError.flat()),
  };
}

/** The comparison as text: swarm and per-robot errors at each checkpoint. */
export function comparisonTable(c: Comparison): string[] {
  const cm = (m: number) => `${(100 * m).toFixed(1)} cm`;
  const deg = (r: number) => `${((r * 180) / Math.PI).toFixed(1)} deg`;
  const lines = [
    `twin vs recording ${c.recording} (${c.reference} poses; robot parameters from ${c.robotsSource}), open loop from the recorded start poses:`,
    `  ${'time'.padEnd(8)} ${'swarm mean pos'.padStart(15)} ${'max pos'.padStart(10)} ${'mean heading'.padStart(13)} ${'max heading'.padStart(12)}`,
  ];
  for (const p of c.checkpoints) {
    lines.push(`  ${`${p.t.toFixed(1)} s`.padEnd(8)} ${cm(p.swarm.meanPosition).padStart(15)} ${cm(p.swarm.maxPosition).padStart(10)} ${deg(p.swarm.meanHeading).padStart(13)} ${deg(p.swarm.maxHeading).padStart(12)}`);
  }
  lines.push(`  over the whole run: mean position error ${cm(c.meanPosition)}`);
  lines.push(`  per robot: position error at ${c.checkpoints.map((p) => `${p.t.toFixed(1)} s`).join(' / ')}, mean and max over the run`);
  c.robotIds.forEach((id, i) => {
    const at = c.checkpoints.map((p) => (p.position[i] === null ? '-' : cm(p.position[i]!))).join(' / ');
    lines.push(`    ${id.padEnd(10)} ${at}   mean ${cm(c.perRobot[i]!.meanPosition)}, max ${cm(c.perRobot[i]!.maxPosition)}`);
  });
  return lines;
}

/** The JSON written next to the recording: everything but the per-tick matrices, which become per-robot series. */
export function comparisonJson(c: Comparison): string {
  const series = (m: number[][]) => Object.fromEntries(c.robotIds.map((id, i) => [id, m.map((row) => (Number.isFinite(row[i]!) ? row[i]! : null))]));
  const { positionError, headingError, ...rest } = c;
  return `${JSON.stringify({ ...rest, positionErrorM: series(positionError), headingErrorRad: series(headingError) }, null, 1)}\n`;
}

const W = 760;
const H = 320;
const PAD = { left: 56, right: 150, top: 36, bottom: 36 };

/** Position error over time: one line per robot, the swarm mean thick and black. */
export function comparisonSvg(c: Comparison, title: string): string {
  const n = c.robotIds.length;
  const T = c.positionError.length;
  const mean = c.positionError.map((row) => finiteMean(row) || 0);
  const top = Math.max(0.01, ...c.positionError.flat().filter(Number.isFinite));
  const px = (k: number) => PAD.left + (k / Math.max(1, T - 1)) * (W - PAD.left - PAD.right);
  const py = (e: number) => PAD.top + (1 - e / top) * (H - PAD.top - PAD.bottom);
  const colour = (k: number) => robotColour(k, n);
  const line = (ys: number[], stroke: string, width: number) =>
    `<polyline points="${ys.map((y, k) => (Number.isFinite(y) ? `${px(k).toFixed(1)},${py(y).toFixed(1)}` : '')).filter(Boolean).join(' ')}" fill="none" stroke="${stroke}" stroke-width="${width}"/>`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PAD.left}" y="20" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="none" stroke="#999"/>`,
  ];
  for (const f of [0, 0.5, 1]) out.push(`<text x="${PAD.left - 6}" y="${py(f * top) + 4}" text-anchor="end">${(100 * f * top).toFixed(1)} cm</text>`);
  const seconds = (T - 1) * c.controlPeriod;
  const step = seconds > 60 ? 10 : seconds > 10 ? 5 : 1;
  for (let s = 0; s <= seconds + 1e-9; s += step) out.push(`<text x="${px(s / c.controlPeriod).toFixed(1)}" y="${H - PAD.bottom + 14}" text-anchor="middle">${s} s</text>`);
  c.robotIds.forEach((id, i) => {
    out.push(line(c.positionError.map((row) => row[i]!), colour(i), 1.2));
    out.push(`<text x="${W - PAD.right + 4}" y="${PAD.top + 26 + 13 * i}" fill="${colour(i)}">${escapeXml(id)}</text>`);
  });
  out.push(line(mean, '#000', 2.5), `<text x="${W - PAD.right + 4}" y="${PAD.top + 10}" font-weight="bold">swarm mean</text>`, '</svg>');
  return out.join('\n');
}
