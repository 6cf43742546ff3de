// What the runtime does when the monitor flags a robot (launch key monitor.onFlag, the console's and the
// dashboard's `onflag`, the ROS 2 parameter monitor.on_flag):
//   report            nothing but the flag (the operator acts);
//   isolate           every other robot's observation and belief-network input leave the flagged robot out
//                     (as if it were out of range) until the monitor clears it;
//   isolate-and-stop  as isolate, and the safety layer also holds the flagged robot still until it is cleared.
// One mask serves the runtime and the twin: the observation code (src/core/observation.ts) reads it. While
// isolated a robot is still scored by the monitor, on its consistency (no robot observes it, so it has no
// belief), which is what clears it.

export const ON_FLAG_ACTIONS = ['report', 'isolate', 'isolate-and-stop'] as const;
export type OnFlag = (typeof ON_FLAG_ACTIONS)[number];
export const DEFAULT_ON_FLAG: OnFlag = 'report';

/** Parses an onFlag value; the error names the value and the ones allowed. */
export function parseOnFlag(value: string, where = 'onFlag'): OnFlag {
  if ((ON_FLAG_ACTIONS as readonly string[]).includes(value)) return value as OnFlag;
  throw new RangeError(`${where}: '${value}' is not one of ${ON_FLAG_ACTIONS.join(', ')}`);
}

export type IsolationEvent =
  /** The robot is left out of the others' observations (and held still when `stopped`). */
  | { tick: number; kind: 'isolate'; robot: string; stopped: boolean }
  /** It is back in them: the monitor cleared it, or the operator switched onFlag to report. */
  | { tick: number; kind: 'isolation-end'; robot: string; reason: 'cleared' | 'report'; ticks: number }
  /** The operator changed what a flag does. */
  | { tick: number; kind: 'on-flag'; onFlag: OnFlag; reason: string };

export class FlagResponse {
  /** 1 for every robot left out of the others' observations now (robot i at i): the observation code reads it. */
  readonly isolated: Uint8Array;
  /** The tick each isolated robot was isolated at. */
  private readonly since: Int32Array;
  private mode: OnFlag;

  constructor(
    private readonly ids: readonly string[],
    onFlag: OnFlag = DEFAULT_ON_FLAG,
  ) {
    this.mode = parseOnFlag(onFlag);
    this.isolated = new Uint8Array(ids.length);
    this.since = new Int32Array(ids.length);
  }

  get onFlag(): OnFlag {
    return this.mode;
  }

  /** Whether the safety layer holds robot i still (isolate-and-stop, while it is isolated). */
  holds(i: number): boolean {
    return this.mode === 'isolate-and-stop' && this.isolated[i] === 1;
  }

  /** Forgets every isolation (trial start). */
  reset(): void {
    this.isolated.fill(0);
  }

  /**
   * After the monitor's tick: isolates every flagged robot and ends the isolation of every cleared one
   * (nothing under report). Takes effect from the next tick's observations. Returns the changes as events.
   */
  update(tick: number, flagged: readonly boolean[]): IsolationEvent[] {
    const events: IsolationEvent[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const want = this.mode !== 'report' && flagged[i] === true;
      if (want && this.isolated[i] === 0) {
        this.isolated[i] = 1;
        this.since[i] = tick;
        events.push({ tick, kind: 'isolate', robot: this.ids[i]!, stopped: this.mode === 'isolate-and-stop' });
      } else if (!want && this.isolated[i] === 1) {
        this.isolated[i] = 0;
        events.push({ tick, kind: 'isolation-end', robot: this.ids[i]!, reason: flagged[i] ? 'report' : 'cleared', ticks: tick - this.since[i]! });
      }
    }
    return events;
  }

  /**
   * The operator changes what a flag does (robots flagged now are isolated, or released under report, at
   * once). Returns the change and the isolations it starts or ends as events.
   */
  set(onFlag: OnFlag, tick: number, flagged: readonly boolean[], who: string): IsolationEvent[] {
    this.mode = parseOnFlag(onFlag);
    return [{ tick, kind: 'on-flag', onFlag: this.mode, reason: who }, ...this.update(tick, flagged)];
  }
}
