// `swarmguard replay <run.mcap> --dashboard [port]`: the recording shown on the live dashboard. The server is
// the live one without a controller (every control refused: a recording cannot be steered). Playback waits
// for the first viewer, so nothing is played to an empty page, and the page stays up after the last tick
// until the replay is stopped (Ctrl-C), so the end of the run can be looked at: the page is told the replay
// has ended, with the flags against the ground truth of what it played.
import type { ReplayInfo, ReplaySink } from '../recording/replay.js';
import { formatOutcomes } from '../runtime/run-folder.js';
import { outcomes, type RunEvent, type TickRecord } from '../runtime/trial.js';
import { DashboardServer } from './server.js';

export interface DashboardReplayOptions {
  host?: string;
  /** 0: any free port. */
  port: number;
  /** Start playing only once a viewer has connected (default true). */
  waitForViewer?: boolean;
  /** Ends the wait for a viewer and the wait after the end (Ctrl-C). */
  signal?: AbortSignal;
  /** Keep serving after the last tick until `signal` aborts (default true). */
  holdAtEnd?: boolean;
  log: (line: string) => void;
}

export class DashboardReplaySink implements ReplaySink {
  readonly name = 'dashboard';
  private current: DashboardServer | null = null;
  private info: ReplayInfo | null = null;
  /** What has been played (the records and events are the recording's own objects): the summary at the end. */
  private readonly played: { records: TickRecord[]; events: RunEvent[] } = { records: [], events: [] };

  constructor(private readonly o: DashboardReplayOptions) {}

  /** The running server (its url and stats). */
  get server(): DashboardServer | null {
    return this.current;
  }

  async start(info: ReplayInfo): Promise<void> {
    const swarm = info.settings.swarm;
    const server = new DashboardServer({
      title: `${info.name} (replay)`,
      arena: { width: swarm.arenaWidth, height: swarm.arenaHeight },
      ids: info.robotIds,
      bodyRadius: swarm.robots.map((r) => r.bodyRadius),
      controlPeriod: info.controlPeriod,
      trialMode: info.trial,
      flagAt: info.settings.monitor.flagAt,
      clearAt: info.settings.monitor.clearAt,
      cusumThreshold: info.settings.monitor.consistency.threshold,
      controller: null,
      host: this.o.host,
      port: this.o.port,
      log: this.o.log,
    });
    await server.listen();
    this.current = server;
    this.info = info;
    this.o.log(`dashboard: ${server.url(false)}  (replay of ${info.path}; no controls)`);
    if (this.o.waitForViewer ?? true) {
      this.o.log('replay: waiting for a viewer to open the dashboard (Ctrl-C stops)');
      await until(() => server.stats().clients > 0, this.o.signal);
    }
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.played.records.push(record);
    this.played.events.push(...events);
    this.current?.tick(record, events);
  }

  async stop(): Promise<void> {
    const server = this.current;
    if (!server) return;
    server.end({ reason: this.o.signal?.aborted ? 'interrupted' : 'completed', summary: this.summary() });
    if ((this.o.holdAtEnd ?? true) && !this.o.signal?.aborted) {
      this.o.log('replay: at the end of the recording; the dashboard stays up until Ctrl-C');
      await until(() => false, this.o.signal);
    }
    this.current = null;
    await server.close();
  }

  /** The flags against the ground truth of the ticks played, as the run's summary gives them. */
  private summary(): string[] | null {
    const info = this.info;
    const { records, events } = this.played;
    if (!info || records.length === 0) return null;
    const played = `replayed ${records.length} ticks (${(records.length * info.controlPeriod).toFixed(1)} s) of ${info.path}`;
    return [played, ...formatOutcomes(outcomes({ parts: { ids: info.robotIds }, records, events }), info.controlPeriod)];
  }
}

/** Resolves once `cond` holds or `signal` aborts (polled: a viewer's arrival has no event of its own here). */
async function until(cond: () => boolean, signal: AbortSignal | undefined): Promise<void> {
  while (!cond() && !signal?.aborted) await new Promise((r) => setTimeout(r, 100));
}
