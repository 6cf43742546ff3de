// Keeps a log readable while faults repeat. Per source (a robot) and kind of fault: one line when the fault
// starts, then at most one line per `reportEveryMs` counting the repeats, then one line once it has not
// recurred for `quietMs` (noticed when the source reports that it works again: settle()). A fault that
// happened once is its first line alone. Counting in statistics is the caller's job: this only decides
// what is worth a line.

export interface FaultLogSettings {
  /** While a fault repeats, at most one line per this long counting the repeats, ms. */
  reportEveryMs: number;
  /** A fault that has not recurred for this long is over, ms. */
  quietMs: number;
}

export const DEFAULT_FAULT_LOG: FaultLogSettings = { reportEveryMs: 10_000, quietMs: 5_000 };

interface Episode {
  startedAt: number;
  lastAt: number;
  /** Occurrences since the episode started. */
  total: number;
  /** Occurrences not yet in a line. */
  unreported: number;
  lineAt: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class FaultLog {
  /** Per source, per kind: the ongoing episode. */
  private readonly episodes = new Map<string, Map<string, Episode>>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly settings: FaultLogSettings = DEFAULT_FAULT_LOG,
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const [name, v] of Object.entries(settings)) {
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`fault log: ${name} must be a finite number of ms >= 0, got ${v}`);
    }
  }

  /** One occurrence of a fault of `kind` at `source`; `detail` is logged if it starts an episode. */
  fault(source: string, kind: string, detail: string): void {
    const at = this.now();
    let kinds = this.episodes.get(source);
    if (!kinds) this.episodes.set(source, (kinds = new Map()));
    const e = kinds.get(kind);
    if (!e) {
      kinds.set(kind, { startedAt: at, lastAt: at, total: 1, unreported: 0, lineAt: at });
      this.log(`${source}: ${kind}: ${detail}`);
      return;
    }
    e.total++;
    e.unreported++;
    e.lastAt = at;
    if (at - e.lineAt >= this.settings.reportEveryMs) {
      this.log(`${source}: ${kind}: ${e.unreported} more in the last ${seconds(at - e.lineAt)} (${e.total} since it started ${seconds(at - e.startedAt)} ago)`);
      e.unreported = 0;
      e.lineAt = at;
    }
  }

  /** `source` works again: every kind of fault it has not had for quietMs is over. */
  settle(source: string): void {
    const kinds = this.episodes.get(source);
    if (!kinds) return;
    const at = this.now();
    for (const [kind, e] of kinds) if (at - e.lastAt >= this.settings.quietMs) this.end(source, kind, e, `none for ${seconds(at - e.lastAt)}`);
    if (kinds.size === 0) this.episodes.delete(source);
  }

  /** Ends every episode (the run is over): the repeats not logged yet get their line. */
  close(): void {
    for (const [source, kinds] of this.episodes) for (const [kind, e] of kinds) this.end(source, kind, e, 'at stop');
    this.episodes.clear();
  }

  /** The kinds of fault ongoing at `source`. */
  ongoing(source: string): string[] {
    return [...(this.episodes.get(source)?.keys() ?? [])];
  }

  private end(source: string, kind: string, e: Episode, why: string): void {
    this.episodes.get(source)?.delete(kind);
    if (e.total > 1) this.log(`${source}: ${kind}: over, ${why} (${e.total} in ${seconds(e.lastAt - e.startedAt)})`);
  }
}
