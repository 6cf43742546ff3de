// Lock-step ticking of one process: tick k runs once everything it needs has come (ready(k)), ticks run
// one at a time and in order, and `finished` resolves after the last one (or rejects with a tick's error).
export class TickPump {
  next = 0;
  private busy = false;
  private stopped = false;
  private draining = false;
  readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (err: unknown) => void };

  constructor(
    private readonly ticks: number,
    private readonly ready: (k: number) => boolean,
    private readonly run: (k: number) => Promise<void>,
  ) {
    this.finished = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    if (ticks <= 0) this.settle.resolve();
  }

  /** Something arrived: runs every tick that has become ready. */
  poke(): void {
    if (this.busy || this.stopped) return;
    this.busy = true;
    void (async () => {
      try {
        while (!this.stopped && this.next < this.ticks && this.ready(this.next)) {
          await this.run(this.next);
          this.next++;
        }
        if (this.next >= this.ticks || this.draining) this.stop();
      } catch (err) {
        this.stopped = true;
        this.settle.reject(err);
      } finally {
        this.busy = false;
      }
    })();
  }

  /** Nothing more will come: runs the ticks ready now, then ends. */
  drain(): void {
    this.draining = true;
    this.poke();
  }

  /** Ends early (interrupted): `finished` resolves now; a tick under way completes, no other starts. */
  stop(): void {
    this.stopped = true;
    this.settle.resolve();
  }
}
