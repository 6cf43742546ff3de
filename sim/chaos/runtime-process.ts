// The runtime under test as the campaign drives it: one `swarmguard run` process (runtime-child.ts, the CLI's
// run with its link probed) per launch file, which the campaign kills (SIGKILL), stops (SIGTERM), freezes
// (SIGSTOP/SIGCONT: its ticks delayed) and restarts. Its output is appended to the campaign's log.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readProbe, type ProbeTick } from './probe.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'runtime-child.ts');

export interface RuntimeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class RuntimeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<RuntimeExit>;
  private exit: RuntimeExit | null = null;
  /** Wall time it was started, ms. */
  readonly startedAt = Date.now();

  constructor(
    readonly launchPath: string,
    readonly probePath: string,
    readonly runsDir: string,
    logPath: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CHILD, launchPath, probePath], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const tag = `[runtime ${this.child.pid}] `;
    for (const s of [this.child.stdout!, this.child.stderr!]) createInterface({ input: s }).on('line', (l) => appendFileSync(logPath, `${new Date().toISOString()} ${tag}${l}\n`));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
  }

  get running(): boolean {
    return this.exit === null;
  }

  ticks(): ProbeTick[] {
    return readProbe(this.probePath);
  }

  /** Resolves once the runtime has run a tick at or after `afterWallMs`; false if it exited or timeoutMs passed first. */
  async ticking(afterWallMs: number, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && this.running) {
      if (this.ticks().some((t) => t.wallMs >= afterWallMs)) return true;
      await sleep(200);
    }
    return false;
  }

  /** Robot i's pose, as an operator who placed it gives it (the e-puck2 links' relocate()). */
  relocate(i: number, pose: { x: number; y: number; theta: number }): void {
    if (this.running && this.child.connected) this.child.send({ relocate: i, pose });
  }

  /** Ends it with `signal` and waits (SIGKILL after graceMs if it does not go: the runtime's own shutdown gives up after 20 s). */
  async end(signal: NodeJS.Signals, graceMs = 60_000): Promise<RuntimeExit> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Freezes it for ms (SIGSTOP, then SIGCONT): its ticks are late, as on a machine that stalls. */
  async freeze(ms: number): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGSTOP');
    await sleep(ms);
    if (this.running) this.child.kill('SIGCONT');
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
