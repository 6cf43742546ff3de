// Fits each robot's wheel radius, wheel distance and command latency (whole ticks) to a recording: least
// squares on the motion the tracker saw between consecutive ticks given the commands sent. Per tick k and
// latency L the robot executes the command sent at k - L, so (src/core/kinematics.ts)
//   turn        dθ_k = (R / b) · z_k,   z_k = 2π·(maxSteps/stepsPerRev)·(right - left)·dt
//   advance     s_k  = R · x_k,         x_k = 2π·(maxSteps/stepsPerRev)·(left + right)/2 · dt · sinc(dθ_k / 2)
// (s_k: the displacement projected on the mean heading, the chord of the arc driven, hence the sinc). Both
// are linear in one unknown, R and g = R / b, solved in closed form for each L; the L that explains the
// most of the motion wins. Ticks where a robot touches (or nearly touches) another robot or a wall are left
// out: contacts move robots whatever their wheels do. Tracked poses are used, as on real robots.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isMap, parseDocument } from 'yaml';
import { parseWithSchema } from '../core/config-file.js';
import { estimateTwist } from '../core/kinematics.js';
import { loadRobotsFile, MAX_LATENCY_TICKS, RobotsFileSchema, type RobotParams } from '../core/robot-params.js';
import { RecordingError, type RecordedRun } from './reader.js';

/** Gap (m) under which a robot counts as touching another robot or a wall for the fit. */
const CONTACT_GAP = 0.01;
/** A tick drives straight (turns) when the wheels' sum (difference) is above this, normalised. */
const MOVING = 0.2;
/** Ticks of each kind of motion a fit needs: fewer carry too little information on a parameter. */
const MIN_EXCITATION_TICKS = 20;

export interface RobotFit {
  id: string;
  wheelRadius: number;
  wheelDistance: number;
  latencyTicks: number;
  /** The parameters the recording was made with, for comparison. */
  before: { wheelRadius: number; wheelDistance: number; latencyTicks: number | null };
  /** Ticks used, and the RMS residuals of the advance (m) and the turn (rad) per tick. */
  ticks: number;
  rmsAdvance: number;
  rmsTurn: number;
  /** Fraction of the measured motion (advance and turn, sum of squares) the fit leaves unexplained, per latency tried. */
  unexplained: number[];
}

const sinc = (a: number) => (Math.abs(a) < 1e-9 ? 1 : Math.sin(a) / a);

interface Sample {
  /** Measured advance (m) and turn (rad) over the tick. */
  s: number;
  dth: number;
  /** Index of the tick whose motion this is. */
  k: number;
}

/** The ticks of robot i whose motion is usable: poses known at both ends, no contact with a robot or a wall. */
function samples(run: RecordedRun, i: number): Sample[] {
  const sw = run.settings.swarm;
  const radius = sw.robots.map((r) => r.bodyRadius);
  const clear = (k: number) => {
    const ps = run.records[k]!.poses;
    const p = ps[i]!;
    if (![p.x, p.y, p.theta].every(Number.isFinite)) return false;
    const r = radius[i]! + CONTACT_GAP;
    if (p.x < r || p.y < r || p.x > sw.arenaWidth - r || p.y > sw.arenaHeight - r) return false;
    return ps.every((q, j) => j === i || !(Math.hypot(q.x - p.x, q.y - p.y) < radius[i]! + radius[j]! + CONTACT_GAP));
  };
  const out: Sample[] = [];
  for (let k = 0; k + 1 < run.records.length; k++) {
    if (!clear(k) || !clear(k + 1)) continue;
    const a = run.records[k]!.poses[i]!;
    const b = run.records[k + 1]!.poses[i]!;
    // Over one tick (dt = 1): the advance along the mean heading and the turn, as the tracker sees them.
    const { linear, angular } = estimateTwist(a.x, a.y, a.theta, b.x, b.y, b.theta, 1);
    out.push({ s: linear, dth: angular, k });
  }
  return out;
}

/** Least-squares fit of one robot (index i) of a recording. */
function fitRobot(run: RecordedRun, i: number): RobotFit {
  const id = run.robotIds[i]!;
  const p = run.settings.swarm.robots[i]!;
  const dt = run.controlPeriod;
  const perCommand = (2 * Math.PI * p.maxStepsPerSecond * dt) / p.stepsPerRevolution;
  const all = samples(run, i);
  let best: { L: number; R: number; g: number; n: number; rmsS: number; rmsT: number; u: number } | null = null;
  const unexplained: number[] = [];
  for (let L = 0; L <= MAX_LATENCY_TICKS; L++) {
    let sxx = 0, sxs = 0, sss = 0, szz = 0, szt = 0, stt = 0, n = 0, movingX = 0, movingZ = 0;
    const rows: { x: number; z: number; s: number; dth: number }[] = [];
    for (const m of all) {
      if (m.k - L < 0) continue;
      const c = run.records[m.k - L]!.commands;
      const left = c[2 * i]!;
      const right = c[2 * i + 1]!;
      const x = perCommand * ((left + right) / 2) * sinc(m.dth / 2);
      const z = perCommand * (right - left);
      rows.push({ x, z, s: m.s, dth: m.dth });
      sxx += x * x; sxs += x * m.s; sss += m.s * m.s;
      szz += z * z; szt += z * m.dth; stt += m.dth * m.dth;
      if (Math.abs(left + right) > MOVING) movingX++;
      if (Math.abs(right - left) > MOVING) movingZ++;
      n++;
    }
    if (movingX < MIN_EXCITATION_TICKS || movingZ < MIN_EXCITATION_TICKS) {
      throw new RecordingError(
        `${run.path}: robot ${id} drove straight in ${movingX} and turned in ${movingZ} usable ticks (at least ${MIN_EXCITATION_TICKS} each needed, clear of walls and robots): record a calibration drive (swarmguard calibrate --drive <launch.yaml>)`,
      );
    }
    const R = sxs / sxx;
    const g = szt / szz;
    let es = 0, et = 0;
    for (const r of rows) {
      es += (r.s - R * r.x) ** 2;
      et += (r.dth - g * r.z) ** 2;
    }
    const u = es / sss + et / stt;
    unexplained.push(u);
    if (!best || u < best.u) best = { L, R, g, n, rmsS: Math.sqrt(es / n), rmsT: Math.sqrt(et / n), u };
  }
  const b = best!;
  return {
    id,
    wheelRadius: b.R,
    wheelDistance: b.R / b.g,
    latencyTicks: b.L,
    before: { wheelRadius: p.wheelRadius, wheelDistance: p.wheelDistance, latencyTicks: p.latencyTicks ?? null },
    ticks: b.n,
    rmsAdvance: b.rmsS,
    rmsTurn: b.rmsT,
    unexplained,
  };
}

export function calibrate(run: RecordedRun): RobotFit[] {
  return run.robotIds.map((_, i) => fitRobot(run, i));
}

export function calibrationTable(fits: readonly RobotFit[]): string[] {
  const mm = (m: number) => `${(1000 * m).toFixed(2)} mm`;
  const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${((100 * (a - b)) / b).toFixed(1)}%`;
  return [
    `  ${'robot'.padEnd(10)} ${'wheel radius'.padStart(22)} ${'wheel distance'.padStart(22)} ${'latency'.padStart(8)} ${'ticks'.padStart(6)}  residual rms (advance, turn)`,
    ...fits.map(
      (f) =>
        `  ${f.id.padEnd(10)} ${`${mm(f.wheelRadius)} (${pct(f.wheelRadius, f.before.wheelRadius)})`.padStart(22)} ${`${mm(f.wheelDistance)} (${pct(f.wheelDistance, f.before.wheelDistance)})`.padStart(22)} ${String(f.latencyTicks).padStart(8)} ${String(f.ticks).padStart(6)}  ${mm(f.rmsAdvance)}, ${((f.rmsTurn * 180) / Math.PI).toFixed(2)} deg`,
    ),
  ];
}

/** Micrometres are far below what a fit can tell apart; more digits would only be noise in the file. */
const micro = (m: number) => Math.round(m * 1e6) / 1e6;

/**
 * Writes the fitted parameters under `overrides` of a robots file (comments and other keys kept), checked
 * against the robots file schema before it replaces the file (write to a temporary file, then rename).
 */
export function writeRobotsFile(path: string, fits: readonly RobotFit[]): void {
  loadRobotsFile(path); // the file as it is must be valid: a bad one is named, not overwritten
  const text = readFileSync(path, 'utf8');
  const doc = parseDocument(text);
  for (const f of fits) {
    doc.setIn(['overrides', f.id, 'wheelRadius'], micro(f.wheelRadius));
    doc.setIn(['overrides', f.id, 'wheelDistance'], micro(f.wheelDistance));
    doc.setIn(['overrides', f.id, 'latencyTicks'], f.latencyTicks);
  }
  // Block style ('overrides: {}' is a flow map), one robot per block, as a person would write it.
  const overrides = doc.get('overrides', true);
  if (isMap(overrides)) {
    overrides.flow = false;
    for (const item of overrides.items) if (isMap(item.value)) item.value.flow = false;
  }
  const out = doc.toString();
  parseWithSchema(path, RobotsFileSchema, parseDocument(out).toJS());
  const tmp = `${path}.calibrate-tmp`;
  writeFileSync(tmp, out);
  renameSync(tmp, path);
}

/** Robot parameters of the recording with the fitted values in (e.g. to compare the twin before and after). */
export function fittedParams(run: RecordedRun, fits: readonly RobotFit[]): RobotParams[] {
  return run.settings.swarm.robots.map((p, i) => ({ ...p, wheelRadius: fits[i]!.wheelRadius, wheelDistance: fits[i]!.wheelDistance, latencyTicks: fits[i]!.latencyTicks }));
}
