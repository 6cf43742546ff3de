// `swarmguard replay <run.mcap> --dashboard [port]`: the recording shown on the live dashboard. The server is
// the live one without a controller (every control refused: a recording cannot be steered). Playback waits
// for the first viewer, so nothing is played to an empty page, and the page stays up after the last tick
// until the replay is stopped (Ctrl-C), so the end of the run can be looked at.
import type { ReplayInfo, ReplaySink } from '../recording/replay.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
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
      controller: null,
      host: this.o.host,
      port: this.o.port,
      log: this.o.log,
    });
    await server.listen();
    this.current = server;
    this.o.log(`dashboard: ${server.url(false)}  (replay of ${info.path}; no controls)`);
    if (this.o.waitForViewer ?? true) {
      this.o.log('replay: waiting for a viewer to open the dashboard (Ctrl-C stops)');
      await until(() => server.stats().clients > 0, this.o.signal);
    }
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.current?.tick(record, events);
  }

  async stop(): Promise<void> {
    const server = this.current;
    if (!server) return;
    if ((this.o.holdAtEnd ?? true) && !this.o.signal?.aborted) {
      this.o.log('replay: at the end of the recording; the dashboard stays up until Ctrl-C');
      await until(() => false, this.o.signal);
    }
    this.current = null;
    await server.close();
  }
}

/** Resolves once `cond` holds or `signal` aborts (polled: a viewer's arrival has no event of its own here). */
async function until(cond: () => boolean, signal: AbortSignal | undefined): Promise<void> {
  while (!cond() && !signal?.aborted) await new Promise((r) => setTimeout(r, 100));
}
