// What a run shows on the terminal, live or replayed: one line per event (also the recording's log channel)
// and the status table of every robot's suspicion and flag.
import type { RunEvent, TickRecord } from './trial.js';

/** The event as a line: time since the start, what happened, to whom. */
export function describeEvent(e: RunEvent, period: number): string {
  const t = `${(e.tick * period).toFixed(1).padStart(6)} s`;
  switch (e.kind) {
    case 'injection-start':
      return `${t}  INJECT   ${e.robot} compromised by ${e.attack}`;
    case 'injection-end':
      return `${t}  RESTORE  ${e.robot} back under its policy`;
    case 'flag':
      return `${t}  FLAG     ${e.robot} suspicion ${e.suspicion.toFixed(2)} (consistency ${e.evidence.consistency.toFixed(2)}${e.evidence.belief === null ? '' : `, belief ${e.evidence.belief.toFixed(2)} from ${e.evidence.observers} observers`})`;
    case 'clear':
      return `${t}  CLEAR    ${e.robot} suspicion ${e.suspicion.toFixed(2)}`;
    case 'stop':
      return `${t}  STOP     ${e.robot}: ${e.reason}`;
    case 'attack-error':
      return `${t}  ATTACK-ERROR ${e.robot} (${e.attack}): ${e.problem}; robot stopped`;
    case 'e-stop':
      return e.robot === undefined ? `${t}  E-STOP   ${e.reason}` : `${t}  E-STOP   ${e.robot}: ${e.reason}`;
    case 'release':
      return `${t}  RELEASE  ${e.robot === undefined ? 'e-stop' : `${e.robot}'s e-stop`} released (${e.reason})`;
    case 'end-injection':
      return `${t}  END      ${e.robot}'s injections ended (${e.reason})`;
    case 'pause':
      return `${t}  STOP     every robot held (${e.reason})`;
    case 'resume':
      return `${t}  START    robots under their policies again (${e.reason})`;
    case 'isolate':
      return `${t}  ISOLATE  ${e.robot} ${e.stopped ? "held still, a still body in the others' observations and out of their beliefs," : "left out of the others' observations"} until cleared`;
    case 'isolation-end':
      return `${t}  REJOIN   ${e.robot} back in the others' observations after ${(e.ticks * period).toFixed(1)} s (${e.reason === 'cleared' ? 'cleared by the monitor' : 'onFlag set to report'})`;
    case 'probation':
      return e.state === 'started'
        ? `${t}  PROBATION ${e.robot} cleared while held: drives again, still isolated, for ${(e.ticks * period).toFixed(1)} s`
        : `${t}  HOLD     ${e.robot} flagged again on probation: held still again`;
    case 'on-flag':
      return `${t}  ON-FLAG  flags now ${e.onFlag === 'report' ? 'only reported' : e.onFlag === 'isolate' ? 'isolate the robot' : 'isolate and stop the robot'} (${e.reason})`;
  }
}

/** One row per robot: its suspicion bar, flag, and the attack compromising it (null: none). */
function robotRows(ids: readonly string[], rec: TickRecord | undefined, compromisedBy: (i: number) => string | null, isolatedNow: (i: number) => boolean): string[] {
  return ids.map((id, i) => {
    const s = rec?.suspicion[i] ?? 0;
    const bar = '#'.repeat(Math.round(10 * s)).padEnd(10, '.');
    const attack = rec?.compromised.includes(i) ? compromisedBy(i) : null;
    const isolated = isolatedNow(i) ? ' ISOLATED' : '';
    return `  ${id.padEnd(10)} [${bar}] ${s.toFixed(2)}  ${rec?.flagged[i] ? 'FLAGGED' : '       '}${isolated}  ${attack ? `compromised: ${attack}` : ''}`;
  });
}

/**
 * A run on the terminal, live or replayed: event lines, and a status table of every robot redrawn in place
 * below them (erased first so lines never interleave with it). Without a terminal only the lines are printed.
 */
export class TerminalStatus {
  private tableLines = 0;
  /** The attack compromising each robot, from the injection events shown (robot index -> attack). */
  private readonly attacks = new Map<number, string>();
  /** The robots isolated now (monitor.onFlag), from the isolation events shown. */
  private readonly isolated = new Set<number>();

  constructor(
    private readonly log: (line: string) => void,
    /** Whether to draw the table (stderr is a terminal and the caller is not quiet). */
    private readonly tty: boolean,
    private readonly ids: readonly string[],
    private readonly controlPeriod: number,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  line(text: string): void {
    this.erase();
    this.log(text);
  }

  event(e: RunEvent): void {
    if (e.kind === 'injection-start') this.attacks.set(this.ids.indexOf(e.robot), e.attack);
    if (e.kind === 'isolate') this.isolated.add(this.ids.indexOf(e.robot));
    if (e.kind === 'isolation-end') this.isolated.delete(this.ids.indexOf(e.robot));
    this.line(describeEvent(e, this.controlPeriod));
  }

  /** The table: the header line, then every robot's row at this record. */
  table(header: string, rec: TickRecord | undefined): void {
    if (!this.tty) return;
    this.erase();
    const lines = [header, ...robotRows(this.ids, rec, (i) => this.attacks.get(i) ?? null, (i) => this.isolated.has(i))];
    this.out.write(`${lines.join('\n')}\n`);
    this.tableLines = lines.length;
  }

  private erase(): void {
    if (this.tty && this.tableLines > 0) this.out.write(`\x1b[${this.tableLines}A\x1b[0J`);
    this.tableLines = 0;
  }
}
