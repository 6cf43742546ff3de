import { describe, expect, it } from 'vitest';
import { FaultLog } from '../src/runtime/fault-log.js';

/** A fault log on a hand-driven clock, and the lines it wrote. */
function faultLog(settings = { reportEveryMs: 10_000, quietMs: 5_000 }) {
  const clock = { ms: 0 };
  const lines: string[] = [];
  const log = new FaultLog((l) => lines.push(l), settings, () => clock.ms);
  return { clock, lines, log };
}

describe('fault log: one line as a fault starts, counts while it repeats, one when it is over', () => {
  it('a fault every 0.7 s for 30 s: the first line, a count every 10 s, and the end once it has been quiet', () => {
    const { clock, lines, log } = faultLog();
    let faults = 0;
    for (let tick = 0; tick < 300; tick++) {
      clock.ms = tick * 100;
      if (tick % 7 === 6) {
        log.fault('robot-3', 'refused reply (corrupt)', `bad reply ${++faults}`);
      } else log.settle('robot-3');
    }
    // 10 s of good exchanges after the last fault.
    for (let tick = 300; tick < 400; tick++) {
      clock.ms = tick * 100;
      log.settle('robot-3');
    }
    expect(faults).toBe(42);
    expect(lines[0]).toBe('robot-3: refused reply (corrupt): bad reply 1');
    const counts = lines.filter((l) => / more in the last /.test(l));
    expect(counts.length).toBeGreaterThanOrEqual(2);
    expect(counts.length).toBeLessThanOrEqual(3);
    expect(lines.at(-1)).toMatch(/^robot-3: refused reply \(corrupt\): over, none for 5\.0 s \(42 in 28\.7 s\)$/);
    expect(lines.length).toBe(1 + counts.length + 1);
    // The counts add up: every occurrence is in a line.
    const counted = counts.map((l) => Number(/: (\d+) more/.exec(l)![1]));
    expect(1 + counted.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(42);
    expect(log.ongoing('robot-3')).toEqual([]);
  });

  it('keys by source and kind: faults of one robot or kind neither hide nor end another\'s', () => {
    const { clock, lines, log } = faultLog();
    log.fault('a', 'timeout', 'no reply');
    log.fault('b', 'timeout', 'no reply');
    log.fault('a', 'connection lost', 'closed');
    expect(lines).toEqual(['a: timeout: no reply', 'b: timeout: no reply', 'a: connection lost: closed']);
    clock.ms = 3000;
    log.fault('a', 'timeout', 'again');
    clock.ms = 6000;
    log.settle('a'); // connection lost quiet for 6 s: over (once: no line); timeout only 3 s
    expect(log.ongoing('a')).toEqual(['timeout']);
    expect(log.ongoing('b')).toEqual(['timeout']);
    expect(lines).toHaveLength(3);
    clock.ms = 8000;
    log.settle('a');
    expect(lines.at(-1)).toBe('a: timeout: over, none for 5.0 s (2 in 3.0 s)');
    // A fault after its episode ended starts a new one, with its own first line.
    log.fault('a', 'timeout', 'new episode');
    expect(lines.at(-1)).toBe('a: timeout: new episode');
  });

  it('a fault that happens once is its first line alone; close() ends the rest with their totals', () => {
    const { clock, lines, log } = faultLog();
    log.fault('r', 'odometry rebased', 'counters reset');
    clock.ms = 60_000;
    log.settle('r');
    expect(lines).toEqual(['r: odometry rebased: counters reset']);
    for (let k = 0; k < 5; k++) log.fault('r', 'cannot connect', 'refused');
    log.close();
    expect(lines.slice(1)).toEqual(['r: cannot connect: refused', 'r: cannot connect: over, at stop (5 in 0.0 s)']);
    expect(log.ongoing('r')).toEqual([]);
  });

  it('refuses settings that are not durations, naming them', () => {
    expect(() => new FaultLog(() => undefined, { reportEveryMs: -1, quietMs: 5000 })).toThrow(/reportEveryMs/);
    expect(() => new FaultLog(() => undefined, { reportEveryMs: 1000, quietMs: Number.NaN })).toThrow(/quietMs/);
  });
});
