// sim2real: the recorded commands fed into the twin (sim/world.ts, noise off: the exact kinematic model
// with the recorded robots' parameters and contacts) from the recorded start poses, open loop, and how far
// the twin's trajectories drift from the recorded ones over time. Against the true poses where the link
// recorded them (the twin), the tracked poses otherwise (real robots).
import type { Pose } from './world.js';
import { RendezvousWorld } from './world.js';
import { NO_NOISE } from '../src/core/noise.js';
import { robotColour } from '../src/pictures/trajectory-picture.js';
import { leftMarginFor, pictureSize, plotFrame, polyline, svgDocument, timeTicks } from '../src/pictures/chart.js';
import { placeLabels, textSvg, type Label } from '../src/pictures/svg-text.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import { wrapAngle } from '../src/core/kinematics.js';
import type { RobotParams } from '../src/core/robot-params.js';
import type { RecordedRun } from '../src/recording/reader.js';
import { RecordingError } from '../src/recording/reader.js';

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
function twinSettings(run: RecordedRun, robots?: readonly RobotParams[]): SwarmSettings {
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

const PLOT_W = 554;
const PLOT_H = 248;
const PAD = { left: 56, top: 36, bottom: 36 };
const FONT = 11;
const LEGEND_LINE = 13;

/** Position error over time: one line per robot, the swarm mean thick and black; the legend right of the plot. */
export function comparisonSvg(c: Comparison, title: string): string {
  const n = c.robotIds.length;
  const T = c.positionError.length;
  const mean = c.positionError.map((row) => finiteMean(row) || 0);
  // A loop, not Math.max(...): a long recording has more values than a call takes arguments.
  let top = 0.01;
  for (const row of c.positionError) for (const e of row) if (Number.isFinite(e) && e > top) top = e;
  const py = (e: number) => PAD.top + (1 - e / top) * PLOT_H;
  const yTicks = [0, 0.5, 1].map((f) => ({ at: py(f * top), text: `${(100 * f * top).toFixed(1)} cm` }));
  // Room left of the plot for the widest error label.
  const box = { left: leftMarginFor(yTicks, FONT, PAD.left), top: PAD.top, width: PLOT_W, height: PLOT_H };
  const plotRight = box.left + PLOT_W;
  const px = (k: number) => box.left + (k / Math.max(1, T - 1)) * PLOT_W;
  const colour = (k: number) => robotColour(k, n);
  const line = (ys: number[], stroke: string, width: number) => polyline(ys.flatMap((y, k): [number, number][] => (Number.isFinite(y) ? [[px(k), py(y)]] : [])), stroke, width);
  const titleLabel: Label = { text: title, x: box.left, y: 20, size: 13, bold: true };
  const seconds = (T - 1) * c.controlPeriod;
  const out = [textSvg(titleLabel), ...plotFrame(box, { xTicks: timeTicks(seconds, (s) => px(s / c.controlPeriod), PLOT_W, FONT), yTicks, font: FONT })];
  c.robotIds.forEach((_, i) => out.push(...line(c.positionError.map((row) => row[i]!), colour(i), 1.2)));
  out.push(...line(mean, '#000', 2.5));
  const legend = placeLabels([
    { text: 'swarm mean', x: plotRight + 4, y: PAD.top + 10, size: FONT, bold: true, colour: '#000' },
    ...c.robotIds.map((id, i) => ({ text: id, x: plotRight + 4, y: PAD.top + 26 + LEGEND_LINE * i, size: FONT, colour: colour(i) })),
  ]);
  for (const l of legend) out.push(textSvg(l, `fill="${l.colour}"`));
  return svgDocument(pictureSize(box, PAD.bottom, [titleLabel, ...legend]), FONT, out);
}
