// The distributed monitor in live mode when a robot executes stops instead of its policy's commands. Under load
// an agent's poses reach it late: its safety layer stops its robot (`stale-pose`) while the monitor, whose poses
// came in time, expects the policy's motion; or an agent stalls and its robot keeps its last command until the
// feed's watchdog stops it. The live feed says so in the poses that follow (`stop`). A benign robot stopped so
// for stretches of up to a second must not be flagged (fails when the monitor scores those stops: the flags of
// benign robots in live runs, src/distributed/README.md); an attacked robot that stops on every other step and
// spins on the rest is still flagged, with the monitor scoring every step or, overloaded, every second one (its
// every interval then holds a stop: fails without the bound on the ticks excused).
import { describe, expect, it } from 'vitest';
import { commandStop } from '../sim/distributed-feed.js';
import { distributedTestFiles } from './helpers/distributed-launch.js';
import { monitoredLive, type Override } from './helpers/live-monitor.js';

const PASSWORD_ENV = 'SWARMGUARD_MONITOR_NODE_STOPS_TEST_PASSWORD';
const files = distributedTestFiles('monitor-node-stops', PASSWORD_ENV);

/** The live monitor node fed by the twin (test/helpers/live-monitor.ts), with this file's launch files. */
const monitored = (name: string, ticks: number, runs: (due: number) => boolean, override: (i: number, due: number) => Override) =>
  monitoredLive(files, PASSWORD_ENV, name, ticks, runs, override);

const VICTIM = 5;
const ATTACKED = 3;
const within = (due: number, from: number, n: number) => due >= from && due < from + n;

describe('the distributed monitor and the stops a robot executes (live)', () => {
  it('flags nobody when a benign robot is stopped by its safety layer (stale poses) or by the watchdog for up to a second', async () => {
    const r = await monitored('stops-benign', 200, () => true, (i, due) => {
      if (i !== VICTIM) return null;
      // Its agent found its poses stale for 0.8 s, twice; then stalled for a second: its robot kept its last
      // command for 0.4 s, then the watchdog stopped it for 0.6 s.
      if (within(due, 40, 8) || within(due, 100, 8)) return { kind: 'stop', reason: 'stale-pose' };
      if (within(due, 150, 4)) return { kind: 'keep' };
      if (within(due, 154, 6)) return { kind: 'stop', reason: 'watchdog' };
      return null;
    });
    expect(r.flags).toEqual([]);
    // Exactly its stopped steps were excused (each the motion of one monitor tick), nobody else's.
    expect([...r.node.stopTicksExcused]).toEqual(r.node.inbox.ids.map((_, i) => (i === VICTIM ? 8 + 8 + 6 : 0)));
    expect([...r.node.stopTicksScored]).toEqual(r.node.inbox.ids.map(() => 0));
  }, 120_000);

  it('flags a spinning robot that stops on every other step, scored on every step', async () => {
    const r = await monitored('stops-spin', 150, () => true, (i, due) => (i !== ATTACKED || due < 60 ? null : due % 2 === 0 ? { kind: 'stop', reason: 'stale-pose' } : { kind: 'spin' }));
    expect(r.flags.map((f) => f.robot)).toEqual(['epuck-3']);
    expect(r.flags[0]!.tick).toBeLessThan(60 + 30);
  }, 120_000);

  it('flags it when every interval the monitor scores holds one of its stops (the monitor on every second step): the excuse is bounded', async () => {
    const r = await monitored('stops-spin-skips', 200, (due) => due % 2 === 0, (i, due) => (i !== ATTACKED || due < 60 ? null : due % 2 === 0 ? { kind: 'stop', reason: 'stale-pose' } : { kind: 'spin' }));
    expect(r.flags.map((f) => f.robot)).toEqual(['epuck-3']);
    // Its first 5 s of the monitor's ticks are half excused, then every interval counts (the monitor's ticks:
    // one per two steps, 30 before the spin).
    expect(r.flags[0]!.tick).toBeLessThan(30 + 50);
    expect(r.node.stopTicksScored[ATTACKED]).toBeGreaterThan(0);
  }, 120_000);
});

describe("the live feed's stops in its poses", () => {
  it("a command is a stop only if its wheels are zero: an agent's `stopped` claim never excuses motion", () => {
    expect(commandStop({ left: 0, right: 0, stopped: 'stale-pose' })).toBe('stale-pose');
    expect(commandStop({ left: 0, right: 0 })).toBeNull();
    expect(commandStop({ left: 0.5, right: -0.5, stopped: 'stale-pose' })).toBeNull();
    expect(commandStop({ left: 0, right: 1e-6, stopped: 'leaving-arena' })).toBeNull();
  });
});
