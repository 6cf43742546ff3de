// `swarmguard recover <run.mcap> [-o out] [--force]`: a recording cut off by a killed process or a power loss
// copied into a closed, indexed file (default run.recovered.mcap next to it) up to its last complete tick;
// prints what it kept and what was cut off. A recording that is already closed is left alone.
import { recoverRecording, type RecoverResult } from '../recording/recover.js';

export interface RecoverOptions {
  out?: string;
  force?: boolean;
}

export async function runRecover(path: string, o: RecoverOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<RecoverResult> {
  const r = await recoverRecording(path, o);
  const run = r.run;
  const first = run.records[0]?.tick ?? 0;
  const kept = `${run.records.length} ticks (${(run.records.length * run.controlPeriod).toFixed(1)} s, ticks ${first} to ${first + run.records.length - 1}) and ${run.events.length} events`;
  if (r.to === null) {
    log(`${path} is closed and indexed (${kept}): nothing to recover, no copy written`);
    return r;
  }
  const t = run.truncated!;
  log(`recovered ${path} -> ${r.to}`);
  log(`  kept: ${kept}, up to the last complete tick; run ${run.name}, ${run.robotIds.length} robots, link ${run.linkKind}, started ${run.startedAt}`);
  log(`  cut off: ${t.reason}; ${r.fileBytes - r.readBytes} of ${r.fileBytes} bytes unreadable; the last tick read (${r.droppedMessages} messages) left out, the cut may have taken part of it`);
  log(`  the copy is closed and indexed (${r.writtenBytes} bytes): replay, compare and calibrate read it as any recording`);
  return r;
}
