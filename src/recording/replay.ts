// Plays a recording back into sinks at any speed: every tick's record and the events reported with it, in
// order, paced by the recorded link clock divided by the speed (drift-free: tick k is due at
// start + (t_k - t_0) / speed). A sink receives exactly what a run service receives from a live run
// (RunService.tick), so anything that shows a live run can show a replayed one.
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { TerminalStatus } from '../runtime/status-text.js';
import type { RecordedRun } from './reader.js';
import { UserError } from '../core/user-error.js';

/** What a replay sink is told before the first tick: the recorded run (settings, ids, policy, launch text). */
export type ReplayInfo = Omit<RecordedRun, 'records' | 'events' | 'eventsAt'>;

export interface ReplaySink {
  readonly name: string;
  start?(info: ReplayInfo): void | Promise<void>;
  /** One recorded tick and the events reported with it, as RunService.tick gets them in a live run. */
  tick(record: TickRecord, events: readonly RunEvent[]): void;
  stop?(): void | Promise<void>;
}

export interface ReplayOptions {
  /** Playback speed: 1 = as recorded, 10 = ten times faster; Infinity = as fast as possible. */
  speed: number;
  /** Ends the playback early. */
  signal?: AbortSignal;
  /** Injectable for tests: the clock (ms) and the wait. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReplayResult {
  ticks: number;
  events: number;
  interrupted: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function replay(run: RecordedRun, sinks: readonly ReplaySink[], o: ReplayOptions): Promise<ReplayResult> {
  if (!(o.speed > 0)) throw new UserError(`replay speed must be > 0, got ${o.speed}`);
  const now = o.now ?? (() => performance.now());
  const sleep = o.sleep ?? defaultSleep;
  const { records, eventsAt, events: _events, ...info } = run;
  const started: ReplaySink[] = [];
  let ticks = 0;
  let events = 0;
  try {
    for (const s of sinks) {
      await s.start?.(info);
      started.push(s);
    }
    const t0 = records[0]?.timeMs ?? 0;
    const wall0 = now();
    for (const rec of records) {
      if (o.signal?.aborted) break;
      if (Number.isFinite(o.speed)) {
        const wait = wall0 + (rec.timeMs - t0) / o.speed - now();
        if (wait > 0) await sleep(wait);
        if (o.signal?.aborted) break;
      }
      const evs = eventsAt.get(rec.tick) ?? [];
      for (const s of started) s.tick(rec, evs);
      ticks++;
      events += evs.length;
    }
  } finally {
    for (const s of started.reverse()) await s.stop?.();
  }
  return { ticks, events, interrupted: ticks < records.length };
}

/** The terminal: event lines as they come, the status table redrawn (every `every` ticks) on a terminal. */
export class TerminalSink implements ReplaySink {
  readonly name = 'terminal';
  private status: TerminalStatus | null = null;
  private info: ReplayInfo | null = null;

  constructor(
    private readonly log: (line: string) => void,
    private readonly tty: boolean,
    private readonly every = 5,
  ) {}

  start(info: ReplayInfo): void {
    this.info = info;
    this.status = new TerminalStatus(this.log, this.tty, info.robotIds, info.controlPeriod);
    this.status.line(`swarmguard replay ${info.name}: ${info.robotIds.length} robots, recorded ${info.startedAt} (${info.kind}, link ${info.linkKind}, policy ${info.policy.name || '-'})`);
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    const info = this.info!;
    const status = this.status!;
    for (const e of events) status.event(e);
    if (record.tick % this.every !== 0) return;
    const p = info.controlPeriod;
    status.table(`swarmguard replay ${info.name}: ${(record.tick * p).toFixed(1)} / ${(info.settings.ticks * p).toFixed(0)} s`, record);
  }
}
