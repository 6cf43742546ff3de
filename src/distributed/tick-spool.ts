// The distributed monitor's ticks for its recording, spooled to a scratch file as the run goes instead of kept
// in memory: the recording carries each tick's compromised robots, known only once the agents' injection
// events have all come (late), so it is written after the run, from this file, one tick at a time. A tick is
// one fixed-size row of float64 values (its snapshot's typed arrays, every value exact: the float32 commands
// widen without loss, stop reasons and flags as small integers), read back into a TickSnapshot whose record
// is the one the tick had.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STOP_REASONS } from '../runtime/safety.js';
import { TickSnapshot } from '../runtime/tick-snapshot.js';
import type { TickRecord } from '../runtime/trial.js';

/** Values per robot: pose (3), intended and sent command (2 + 2), stop, belief, has-belief, consistency, suspicion, flagged. */
const PER_ROBOT = 13;

export class TickSpool {
  /** Ticks written. */
  ticks = 0;
  /** The last tick written (-1: none). */
  lastTick = -1;
  private readonly dir: string;
  private fd: number | null;
  private readonly row: Float64Array;

  constructor(readonly robots: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'swarmguard-monitor-ticks-'));
    this.fd = openSync(join(this.dir, 'ticks.f64'), 'w+');
    this.row = new Float64Array(2 + PER_ROBOT * robots);
  }

  /** One tick, as its snapshot holds it (true poses are not spooled: the monitor has none). */
  write(s: TickSnapshot): void {
    if (this.fd === null) throw new Error('the tick spool is closed');
    const N = this.robots;
    const r = this.row;
    r[0] = s.tick;
    r[1] = s.timeMs;
    let k = 2;
    for (let i = 0; i < 3 * N; i++) r[k++] = s.poses[i]!;
    for (let i = 0; i < 2 * N; i++) r[k++] = s.intended[i]!;
    for (let i = 0; i < 2 * N; i++) r[k++] = s.commands[i]!;
    for (let i = 0; i < N; i++) {
      const stop = s.stopped[i];
      r[k++] = stop === null || stop === undefined ? -1 : STOP_REASONS.indexOf(stop);
      r[k++] = s.belief[i]!;
      r[k++] = s.hasBelief[i]!;
      r[k++] = s.consistency[i]!;
      r[k++] = s.suspicion[i]!;
      r[k++] = s.flagged[i]!;
    }
    writeSync(this.fd, new Uint8Array(r.buffer), 0, r.byteLength, this.ticks * r.byteLength);
    this.ticks++;
    this.lastTick = s.tick;
  }

  /** Every tick written, in order, as its record (a fresh object each, with `compromisedAt` its compromised robots). */
  *records(compromisedAt: (tick: number) => number[]): Generator<TickRecord> {
    if (this.fd === null) throw new Error('the tick spool is closed');
    const N = this.robots;
    const r = new Float64Array(this.row.length);
    const s = new TickSnapshot(N);
    for (let t = 0; t < this.ticks; t++) {
      readSync(this.fd, new Uint8Array(r.buffer), 0, r.byteLength, t * r.byteLength);
      s.tick = r[0]!;
      s.timeMs = r[1]!;
      let k = 2;
      for (let i = 0; i < 3 * N; i++) s.poses[i] = r[k++]!;
      for (let i = 0; i < 2 * N; i++) s.intended[i] = r[k++]!;
      for (let i = 0; i < 2 * N; i++) s.commands[i] = r[k++]!;
      for (let i = 0; i < N; i++) {
        const stop = r[k++]!;
        s.stopped[i] = stop < 0 ? null : STOP_REASONS[stop]!;
        s.belief[i] = r[k++]!;
        s.hasBelief[i] = r[k++]!;
        s.consistency[i] = r[k++]!;
        s.suspicion[i] = r[k++]!;
        s.flagged[i] = r[k++]!;
      }
      s.compromised = compromisedAt(s.tick);
      yield s.toRecord();
    }
  }

  /** Closes and deletes the file. */
  dispose(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
