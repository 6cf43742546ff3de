// `swarmguard replay <run.mcap> [--speed x] [--dashboard [port]]`: plays a recording back into the terminal
// (event lines and the status table), as the run showed it live, and on the dashboard when asked. Ctrl-C
// (or SIGTERM, SIGHUP) stops the playback. A recording that was cut off plays up to its last complete tick.
import { DEFAULT_DASHBOARD_PORT } from '../dashboard/config.js';
import { DashboardReplaySink } from '../dashboard/replay-sink.js';
import { readRecording, recordingNote } from '../recording/reader.js';
import { Interruption } from '../runtime/interruption.js';
import { replay, TerminalSink, type ReplayResult, type ReplaySink } from '../recording/replay.js';

export interface ReplayCliOptions {
  speed: number;
  quiet?: boolean;
  /** Serve the replay on the dashboard: true at the default port, a number at that port (0: any free one). */
  dashboard?: boolean | number;
  /** With the dashboard: start at once instead of waiting for the first viewer. */
  wait?: boolean;
  /** Ends the replay early (as Ctrl-C does). */
  signal?: AbortSignal;
}

export async function runReplay(path: string, o: ReplayCliOptions, log: (line: string) => void = (l) => console.log(l), extraSinks: ReplaySink[] = []): Promise<ReplayResult> {
  const run = await readRecording(path);
  const note = recordingNote(run);
  if (note) log(note);
  const stop = new Interruption(o.signal);
  try {
    const sinks: ReplaySink[] = [new TerminalSink(log, !o.quiet && process.stderr.isTTY), ...extraSinks];
    if (o.dashboard !== undefined && o.dashboard !== false) {
      const port = typeof o.dashboard === 'number' ? o.dashboard : DEFAULT_DASHBOARD_PORT;
      sinks.push(new DashboardReplaySink({ port, waitForViewer: o.wait ?? true, signal: stop.signal, log }));
    }
    const result = await replay(run, sinks, { speed: o.speed, signal: stop.signal });
    log(`replayed ${result.ticks} of ${run.records.length} ticks (${(result.ticks * run.controlPeriod).toFixed(1)} s), ${result.events} events${result.interrupted ? ', interrupted' : ''}`);
    return result;
  } finally {
    stop.dispose();
  }
}
