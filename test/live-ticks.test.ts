// Live ticking in a distributed run: each process ticks on its own clock and skips ticks when a tick overruns
// (the control scheduler). A tick is numbered by its due time, so processes that skipped different ticks still
// name the same moment alike; the monitor maps the agents' numbers (their ground truth) onto the ticks it ran.
import { describe, expect, it } from 'vitest';
import { liveTicks, tickAtDue } from '../src/distributed/tick-pump.js';
import { ManualClock } from './helpers.js';

describe('liveTicks', () => {
  it('numbers each tick by its due time: an overrun skips due times, the count of ticks run goes on by one', async () => {
    const clock = new ManualClock();
    const seen: { k: number; due: number; nowMs: number }[] = [];
    const run = liveTicks({
      ticks: 6,
      periodMs: 100,
      clock,
      // Tick 2 overruns by two and a half periods (the machine busy): due times 3 and 4 pass while it runs.
      step: async (k, nowMs, due) => {
        seen.push({ k, due, nowMs });
        if (k === 2) clock.t += 250;
      },
      until: () => false,
      onError: (err) => {
        throw err;
      },
    });
    for (let i = 0; i < 12 && seen.length < 6; i++) await clock.advanceAsync(100);
    await clock.advanceAsync(100);
    expect(await run).toBe(6);
    expect(seen.map((s) => s.k)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.map((s) => s.due)).toEqual([0, 1, 2, 5, 6, 7]);
    // Each tick ran at its due time on the process's clock.
    expect(seen.map((s) => s.nowMs)).toEqual(seen.map((s) => s.due * 100));
  });
});

describe('tickAtDue', () => {
  it('is the identity where no tick was skipped (lock-step, or a live process that kept up)', () => {
    const own = tickAtDue([0, 1, 2, 3, 4]);
    expect([0, 1, 2, 3, 4, 5, 7].map(own)).toEqual([0, 1, 2, 3, 4, 5, 7]);
  });

  it("maps another process's due-time tick to the first tick this one ran at or after it; past its last tick, on by periods", () => {
    // This monitor ran due times 0, 1, 2, then skipped 3 and 4 (an overrun), then 5, 6, 9.
    const own = tickAtDue([0, 1, 2, 5, 6, 9]);
    // An agent's injection starting at its tick 4 (due time 4) reached this monitor's 4th tick (k = 3, due 5):
    // the first it ran at or after that moment; its own count had fallen two behind.
    expect(own(4)).toBe(3);
    expect(own(3)).toBe(3);
    expect(own(5)).toBe(3);
    expect(own(2)).toBe(2);
    expect(own(7)).toBe(5);
    expect(own(9)).toBe(5);
    expect(own(10)).toBe(6);
    expect(own(12)).toBe(8);
    // Before its first tick: its first.
    expect(tickAtDue([3, 4])(1)).toBe(0);
    // A monitor that ran no tick: due times as they are.
    expect(tickAtDue([])(4)).toBe(4);
  });
});
