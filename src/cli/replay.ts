// `swarmguard replay <run.mcap> [--speed x]`: plays a recording back into the terminal (event lines and the
// status table), as the run showed it live. Ctrl-C stops the playback.
import { readRecording } from '../recording/reader.js';
import { replay, TerminalSink, type ReplayResult, type ReplaySink } from '../recording/replay.js';

export interface ReplayCliOptions {
  speed: number;
  quiet?: boolean;
}

export async function runReplay(path: string, o: ReplayCliOptions, log: (line: string) => void = (l) => console.log(l), extraSinks: ReplaySink[] = []): Promise<ReplayResult> {
  const run = await readRecording(path);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const sinks = [new TerminalSink(log, !o.quiet && process.stderr.isTTY), ...extraSinks];
    const result = await replay(run, sinks, { speed: o.speed, signal: controller.signal });
    log(`replayed ${result.ticks} of ${run.records.length} ticks (${(result.ticks * run.controlPeriod).toFixed(1)} s), ${result.events} events${result.interrupted ? ', interrupted' : ''}`);
    return result;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
