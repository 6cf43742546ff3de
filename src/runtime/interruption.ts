// How a run (or a replay, or the calibration drive) ends early: Ctrl-C (SIGINT), the caller's AbortSignal
// (a test, an embedding program), or the run itself (a control tick failed).
export class Interruption {
  private readonly controller = new AbortController();
  private readonly abort = () => this.controller.abort();

  constructor(private readonly external?: AbortSignal) {
    process.on('SIGINT', this.abort);
    if (external?.aborted) this.abort();
    else external?.addEventListener('abort', this.abort, { once: true });
  }

  /** Fires when the run is interrupted. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Ends the run from inside (a tick failed). */
  interrupt(): void {
    this.abort();
  }

  /** Stops listening for Ctrl-C and the caller's signal (however the run ended). */
  dispose(): void {
    process.off('SIGINT', this.abort);
    this.external?.removeEventListener('abort', this.abort);
  }
}
