// `swarmguard compare <run.mcap> [--robots <file>]`: the twin driven open loop by the recorded commands from
// the recorded start poses; prints the divergence and writes <recording>-compare.json and -compare.svg next to it.
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadRobotsFile, resolveRobotParams } from '../core/robot-params.js';
import { compareWithTwin, comparisonJson, comparisonSvg, comparisonTable, type Comparison } from '../../sim/sim2real-compare.js';
import { readRecording, recordingNote } from '../recording/reader.js';

export interface CompareOptions {
  /** A robots file whose parameters the twin runs with instead of the recording's (e.g. after calibrate). */
  robots?: string;
}

export async function runCompare(path: string, o: CompareOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<Comparison & { files: string[] }> {
  const run = await readRecording(path);
  const note = recordingNote(run);
  if (note) log(note);
  const robots = o.robots ? resolveRobotParams(loadRobotsFile(o.robots), run.robotIds, o.robots) : undefined;
  const c = compareWithTwin(run, { robots, robotsSource: o.robots });
  const stem = join(dirname(path), `${basename(path, '.mcap')}-compare`);
  const files = [`${stem}.json`, `${stem}.svg`];
  writeFileSync(files[0]!, comparisonJson(c));
  writeFileSync(files[1]!, comparisonSvg(c, `${run.name}: twin vs recording, position error (${c.reference} poses)`));
  for (const line of comparisonTable(c)) log(line);
  log(`written: ${files.join(', ')}`);
  return { ...c, files };
}
