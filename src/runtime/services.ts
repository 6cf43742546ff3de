// Run services: what a run feeds besides the robots (the web dashboard, the MCAP recorder, ROS 2 and MQTT
// telemetry). Each is started before the first tick, told about every tick and the events it produced, and
// stopped however the run ends. A service that fails while running is reported and dropped; it never
// stops the robots' control loop.
import type { RunSpec } from './run-spec.js';
import type { RunController } from './control.js';
import type { RunEvent, TickRecord, TrialRun } from './trial.js';

export interface RunContext {
  launch: RunSpec;
  run: TrialRun;
  control: RunController;
  /** The policy's name and the sha256 of its files, from its manifest. */
  policy: { name: string; dir: string; files: Record<string, string> };
  /** The run's folder (created before the services start): everything a service writes goes there. */
  runDir: string;
  log: (line: string) => void;
}

/** How a run ended, told to every service as the run stops it (a viewer can be told the run is over). */
export interface RunEnd {
  /** 'completed': its duration ran out; 'interrupted': a signal (Ctrl-C, SIGTERM, SIGHUP) or the caller's; 'failed': an error ended it (a failed tick, a fatal error). */
  reason: 'completed' | 'interrupted' | 'failed';
  /** The summary's lines as the terminal prints them (summaryLines); null if they could not be made. */
  summary: string[] | null;
}

export interface RunService {
  readonly name: string;
  start(ctx: RunContext): Promise<void>;
  /** After every tick: its record and the events it produced (in order). Must not block for long. */
  tick(record: TickRecord, events: readonly RunEvent[]): void;
  /** The run is over (`end` says how), or, without `end`, this service alone is dropped while the run goes on. */
  stop(end?: RunEnd): Promise<void>;
}

/** Runs services side by side; a failing one is logged once and dropped, the others go on. */
export class RunServices {
  private readonly active: RunService[] = [];

  constructor(private readonly log: (line: string) => void) {}

  async start(services: readonly RunService[], ctx: RunContext): Promise<void> {
    for (const s of services) {
      try {
        await s.start(ctx);
        this.active.push(s);
      } catch (err) {
        // A service that cannot start leaves nothing half-running: the ones already started are stopped.
        // The error keeps its class (a ConfigError is reported as bad input), its message names the service.
        await this.stop();
        if (err instanceof Error) {
          err.message = `${s.name}: ${err.message}`;
          throw err;
        }
        throw new Error(`${s.name}: ${String(err)}`);
      }
    }
  }

  /** How many services are running (none: a tick's record need not be built). */
  get running(): number {
    return this.active.length;
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    for (const s of [...this.active]) {
      try {
        s.tick(record, events);
      } catch (err) {
        this.log(`${s.name} failed and was stopped: ${(err as Error).message}`);
        this.active.splice(this.active.indexOf(s), 1);
        void s.stop().catch(() => {});
      }
    }
  }

  /** Stops every service; `end`: the run is over, and how (none: the services go, e.g. one failed to start). */
  async stop(end?: RunEnd): Promise<void> {
    const all = this.active.splice(0);
    const results = await Promise.allSettled(all.map((s) => s.stop(end)));
    results.forEach((r, k) => {
      if (r.status === 'rejected') this.log(`${all[k]!.name}: stopping failed: ${(r.reason as Error).message}`);
    });
  }
}
