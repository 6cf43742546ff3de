// The feed's record of the operator's e-stops (live distributed runs): for each, the ticks it held, how far the
// robot moved meanwhile (the twin's true poses: what the bridge's stop achieved), how far the robots it did not
// stop moved (they drove on), and how far the robot moved in the second after its release. The feed's summary
// carries these; the distributed operator test reads them.

/** One e-stop of one robot. */
export interface EStopRecord {
  robot: string;
  reason: string;
  fromTick: number;
  /** The feed's tick its release took effect at; null: in force at the end. */
  toTick: number | null;
  /** How far the robot moved from two twin ticks after the e-stop (its stop taken effect) to its release, m. */
  travelM: number | null;
  /** The farthest any robot the bridge did not stop then moved meanwhile, m (null: it stopped every robot). */
  othersTravelM: number | null;
  /** How far it moved in the second after its release, m (null: released less than a second before the end). */
  afterReleaseM: number | null;
}

type Position = { readonly x: number; readonly y: number };

/** Ticks after an e-stop before its travel is measured from: the step in flight when it came still moves the robot. */
const SETTLE_TICKS = 2;

export class EStopLog {
  readonly records: EStopRecord[] = [];
  /** Open records: the poses their travel is measured from (once settled) and the robots not stopped then. */
  private readonly open = new Map<EStopRecord, { settle: number; start: readonly Position[] | null; others: number[] }>();
  /** Released records: the robot's position at the release and the ticks left of the second after it. */
  private readonly released = new Map<EStopRecord, { left: number; at: Position }>();

  /**
   * `truePoses`: the twin's true poses now, by robot index; `stops(j)`: whether the bridge stops robot j now;
   * `secondTicks`: ticks in a second.
   */
  constructor(
    private readonly ids: readonly string[],
    private readonly truePoses: () => readonly Position[],
    private readonly stops: (j: number) => boolean,
    private readonly secondTicks: number,
  ) {}

  /** Robot `robot` e-stopped at `tick` (a robot already e-stopped keeps its open record). */
  eStopped(robot: string, reason: string, tick: number): void {
    if (this.openFor(robot)) return;
    const r: EStopRecord = { robot, reason, fromTick: tick, toTick: null, travelM: null, othersTravelM: null, afterReleaseM: null };
    this.records.push(r);
    this.open.set(r, { settle: SETTLE_TICKS, start: null, others: [] });
  }

  /** Robot `robot`'s e-stop released at `tick` (nothing if it had none). */
  releasedAt(robot: string, tick: number): void {
    const r = this.openFor(robot);
    if (!r) return;
    this.close(r, tick);
    const at = this.truePoses()[this.ids.indexOf(robot)]!;
    this.released.set(r, { left: this.secondTicks, at: { x: at.x, y: at.y } });
  }

  /** After each twin tick: open records start measuring once settled; released ones finish their second. */
  ticked(): void {
    for (const e of this.open.values()) {
      if (e.start !== null || --e.settle > 0) continue;
      e.start = this.truePoses().map((q) => ({ x: q.x, y: q.y }));
      e.others = this.ids.flatMap((_, j) => (this.stops(j) ? [] : [j]));
    }
    for (const [r, a] of this.released) {
      if (--a.left > 0) continue;
      const q = this.truePoses()[this.ids.indexOf(r.robot)]!;
      r.afterReleaseM = Math.hypot(q.x - a.at.x, q.y - a.at.y);
      this.released.delete(r);
    }
  }

  /** At the run's end: e-stops still in force get their travel so far. */
  finish(): void {
    for (const r of [...this.open.keys()]) this.close(r, null);
  }

  private openFor(robot: string): EStopRecord | undefined {
    return [...this.open.keys()].find((r) => r.robot === robot);
  }

  private close(r: EStopRecord, tick: number | null): void {
    const e = this.open.get(r)!;
    const now = this.truePoses();
    const start = e.start;
    const moved = (j: number) => Math.hypot(now[j]!.x - start![j]!.x, now[j]!.y - start![j]!.y);
    r.toTick = tick;
    r.travelM = start ? moved(this.ids.indexOf(r.robot)) : null;
    r.othersTravelM = start && e.others.length ? Math.max(...e.others.map(moved)) : null;
    this.open.delete(r);
  }
}
