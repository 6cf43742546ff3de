// How a run (or a replay, or the calibration drive) ends early, and why: a signal (SIGINT: Ctrl-C; SIGTERM: a
// service manager, `docker stop`, `kill`; SIGHUP: the terminal closed), a fatal error anywhere in the process
// (an uncaught exception or an unhandled rejection), the caller's AbortSignal (a test, an embedding program),
// or the run itself (a control tick failed). Every cause ends the run the same way, through its normal
// shutdown (robots stopped, files written); each has the exit code the command then ends with.

export const END_CAUSES = ['SIGINT', 'SIGTERM', 'SIGHUP', 'fatal-error', 'tick-failed', 'caller'] as const;
export type EndCause = (typeof END_CAUSES)[number];

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type HandledSignal = (typeof SIGNALS)[number];

/**
 * The exit code of a command ended by each cause: 128 + the signal's number for a signal (what a shell
 * reports for a process the signal killed), 1 for an error. The caller's signal ends no process: 0.
 */
export const EXIT_CODES: Readonly<Record<EndCause, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129, 'fatal-error': 1, 'tick-failed': 1, caller: 0 };

/** Signals after the first that cut the shutdown short (npm forwards Ctrl-C's SIGINT, so one Ctrl-C can arrive twice). */
const SIGNALS_TO_FORCE = 3;
/** A shutdown begun by a signal or a fatal error that takes longer than this exits the process anyway. */
const DEFAULT_DEADLINE_MS = 20_000;

export interface InterruptionOptions {
  /** Told why the run is ending (once), and about further signals. Default: stderr. */
  log?: (line: string) => void;
  /** Also end on an uncaught exception or unhandled rejection anywhere in the process (a run: its robots must be stopped). */
  fatalErrors?: boolean;
  /** After a signal or a fatal error, exit the process if the shutdown has not finished within this long (ms). */
  deadlineMs?: number;
}

export class Interruption {
  private readonly controller = new AbortController();
  private endCause: EndCause | null = null;
  private fatal: Error | null = null;
  private signals = 0;
  private deadline: NodeJS.Timeout | null = null;
  private readonly log: (line: string) => void;
  private readonly onSignal = (signal: HandledSignal) => this.signalled(signal);
  private readonly onFatal = (err: unknown) => this.failed(err);
  private readonly onCaller = () => this.end('caller');

  constructor(
    private readonly external?: AbortSignal,
    private readonly o: InterruptionOptions = {},
  ) {
    this.log = o.log ?? ((line) => console.error(line));
    for (const s of SIGNALS) process.on(s, this.onSignal);
    if (o.fatalErrors) {
      process.on('uncaughtException', this.onFatal);
      process.on('unhandledRejection', this.onFatal);
    }
    if (external?.aborted) this.end('caller');
    else external?.addEventListener('abort', this.onCaller, { once: true });
  }

  /** Fires when the run is interrupted. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Why the run was ended early (the first cause; null: it was not). */
  get cause(): EndCause | null {
    return this.endCause;
  }

  /** The uncaught exception or unhandled rejection that ended it, if one did. */
  get fatalError(): Error | null {
    return this.fatal;
  }

  /** The exit code for how the run ended (0: it was not ended early, or the caller ended it). */
  get exitCode(): number {
    return this.endCause ? EXIT_CODES[this.endCause] : 0;
  }

  /** Ends the run from inside (a tick failed). */
  interrupt(cause: EndCause = 'tick-failed'): void {
    this.end(cause);
  }

  /** Stops listening for signals, fatal errors and the caller's signal (however the run ended). */
  dispose(): void {
    for (const s of SIGNALS) process.off(s, this.onSignal);
    process.off('uncaughtException', this.onFatal);
    process.off('unhandledRejection', this.onFatal);
    this.external?.removeEventListener('abort', this.onCaller);
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  private end(cause: EndCause): void {
    if (this.endCause) return;
    this.endCause = cause;
    this.controller.abort();
  }

  private signalled(signal: HandledSignal): void {
    this.signals++;
    if (this.signals === 1) {
      this.log(`${signal}: ending the run (robots stopped, files written; ${SIGNALS_TO_FORCE} signals exit at once)`);
      this.end(signal);
      this.armDeadline();
    } else if (this.signals >= SIGNALS_TO_FORCE) {
      this.log(`${signal} again (${this.signals} signals): exiting now, without finishing the shutdown`);
      process.exit(this.exitCode || EXIT_CODES[signal]);
    } else this.log(`${signal} again: still shutting down (${SIGNALS_TO_FORCE - this.signals} more to exit at once)`);
  }

  private failed(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.fatal || this.endCause === 'fatal-error') {
      this.log(`another fatal error while shutting down: ${error.stack ?? error.message}`);
      return;
    }
    this.fatal = error;
    this.log(`fatal error, ending the run: ${error.stack ?? error.message}`);
    // A run already ending for another cause keeps it; the error is still reported in its summary.
    if (this.endCause === null) this.end('fatal-error');
    this.armDeadline();
  }

  /** A process-level ending must end the process, even if the shutdown hangs. */
  private armDeadline(): void {
    if (this.deadline) return;
    const ms = this.o.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.deadline = setTimeout(() => {
      this.log(`the shutdown did not finish within ${ms / 1000} s: exiting`);
      process.exit(this.exitCode || 1);
    }, ms);
    this.deadline.unref();
  }
}
