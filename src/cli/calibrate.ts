// `swarmguard calibrate <run.mcap> [--robots <file>] [--write]`: fits every robot's wheel radius, wheel
// distance and command latency to a recording, shows how much closer the twin gets to the recording with
// them, writes <recording>-calibration.json and, with --write, the robots file's overrides.
// `swarmguard calibrate --drive <launch.yaml> [--twin] [--write]` first records the calibration drive on the
// launch file's robots (src/recording/drive.ts; --twin: robots served by the protocol twin), then calibrates on it.
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { robotsFilePath } from '../core/swarm-config.js';
import { calibrate, calibrationTable, fittedParams, writeRobotsFile, type RobotFit } from '../recording/calibrate.js';
import { compareWithTwin } from '../../sim/sim2real-compare.js';
import { readRecording, recordingNote, RecordingError, type RecordedRun } from '../recording/reader.js';
import { runCalibrationDrive } from './calibration-drive.js';
import { UserError } from '../core/user-error.js';

export interface CalibrateOptions {
  drive?: string;
  /** Times the calibration drive repeats its moves (26 s each). */
  repeats?: number;
  /** With drive: serve the robots from the link's protocol twin in this process. */
  twin?: boolean;
  robots?: string;
  write?: boolean;
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface CalibrateResult {
  recording: string;
  fits: RobotFit[];
  /** The twin's mean position error over the recording (every robot and tick), m: with the recorded and the fitted parameters. */
  errorBefore: number;
  errorAfter: number;
  /** The robots file written (--write), else null. */
  wrote: string | null;
}

/** The robots file the recorded launch file used (its swarm.robotsFile), else the default one. */
function recordedRobotsFile(run: RecordedRun): string {
  let file: unknown;
  try {
    file = (parseYaml(run.launchText) as { swarm?: { robotsFile?: unknown } } | null)?.swarm?.robotsFile;
  } catch {
    // An unreadable launch text: the default file.
  }
  return robotsFilePath(typeof file === 'string' ? file : undefined, dirname(run.source));
}

export async function runCalibrate(recording: string | undefined, o: CalibrateOptions, log: (line: string) => void = (l) => console.log(l)): Promise<CalibrateResult> {
  if (recording && o.drive) throw new UserError('calibrate: give a recording or --drive <launch.yaml>, not both');
  if (!recording && !o.drive) throw new UserError('calibrate: give a recording (run.mcap) or --drive <launch.yaml>');
  if (o.twin && !o.drive) throw new UserError('calibrate: --twin serves the robots of a calibration drive: give --drive <launch.yaml>');
  let path = recording!;
  if (o.drive) {
    const drive = await runCalibrationDrive(o.drive, { quiet: o.quiet, signal: o.signal, repeats: o.repeats, twin: o.twin }, log);
    if (drive.interrupted) throw new RecordingError(`${drive.recording}: the calibration drive was interrupted after ${drive.ticks} ticks; not calibrating on it`);
    path = drive.recording;
  }
  const run = await readRecording(path);
  const note = recordingNote(run);
  if (note) log(note);
  const fits = calibrate(run);
  const before = compareWithTwin(run).meanPosition;
  const after = compareWithTwin(run, { robots: fittedParams(run, fits) }).meanPosition;
  log(`calibration on ${path} (${run.records.length} ticks, tracked poses; change against the recorded parameters):`);
  for (const line of calibrationTable(fits)) log(line);
  log(`twin driven by the recorded commands, mean position error over the run: ${(100 * before).toFixed(1)} cm with the recorded parameters, ${(100 * after).toFixed(1)} cm with the fitted ones`);
  const json = join(dirname(path), `${basename(path, '.mcap')}-calibration.json`);
  writeFileSync(json, `${JSON.stringify({ recording: path, fits, errorBeforeM: before, errorAfterM: after }, null, 1)}\n`);
  const robotsFile = o.robots ?? recordedRobotsFile(run);
  if (o.write) {
    writeRobotsFile(robotsFile, fits);
    log(`written: ${json}; robots file ${robotsFile} (overrides for ${fits.map((f) => f.id).join(', ')})`);
  } else log(`written: ${json}; --write puts the fitted values into ${robotsFile}`);
  return { recording: path, fits, errorBefore: before, errorAfter: after, wrote: o.write ? robotsFile : null };
}
