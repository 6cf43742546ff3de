// Everything the dashboard refuses (malformed messages, missing or wrong tokens, lock-outs, bad Host or
// Origin headers...), counted by kind and logged once per burst: the first of a kind is logged at once,
// later ones within `quietMs` only as a count when the next one after the quiet spell arrives.
export type RefusalKind =
  | 'malformed'
  | 'no-token'
  | 'wrong-token'
  | 'locked-out'
  | 'replay'
  | 'unknown-attack'
  | 'rejected-by-run'
  | 'bad-host'
  | 'bad-origin'
  | 'bad-ack'
  | 'too-many-clients'
  | 'not-found';

export class Refusals {
  readonly counts: Partial<Record<RefusalKind, number>> = {};
  private readonly burst = new Map<RefusalKind, { lastLog: number; unlogged: number }>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly quietMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  count(kind: RefusalKind, detail: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const t = this.now();
    const b = this.burst.get(kind);
    if (b && t - b.lastLog < this.quietMs) {
      b.unlogged++;
      return;
    }
    const more = b?.unlogged ? ` (and ${b.unlogged} more since the last one logged)` : '';
    this.burst.set(kind, { lastLog: t, unlogged: 0 });
    this.log(`dashboard: refused (${kind}): ${detail}${more}`);
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, n) => a + n, 0);
  }
}
