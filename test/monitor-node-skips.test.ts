// The distributed monitor in live mode when it cannot keep up: it skips ticks (control-scheduler overruns
// under load) while the robots go on executing their agents' commands. A benign swarm, driven by its policy
// every tick as the agents drive it, must not be flagged by a monitor that runs only every third tick (motion
// measured over three periods, from the poses' own stamps); the same monitor flags a spinning robot once it
// keeps up again.
import { describe, expect, it } from 'vitest';
import { distributedTestFiles } from './helpers/distributed-launch.js';
import { monitoredLive } from './helpers/live-monitor.js';

const PASSWORD_ENV = 'SWARMGUARD_MONITOR_NODE_SKIPS_TEST_PASSWORD';
const files = distributedTestFiles('monitor-node-skips', PASSWORD_ENV);

/**
 * The live monitor node fed by the twin (test/helpers/live-monitor.ts), run only at the due ticks `runs` says;
 * `spin` (tick): from then on robot epuck-3 executes a full spin instead of its policy's command.
 */
const monitored = (name: string, ticks: number, runs: (due: number) => boolean, spin = Infinity) =>
  monitoredLive(files, PASSWORD_ENV, name, ticks, runs, (i, due) => (i === 3 && due >= spin ? { kind: 'spin' } : null));

describe('the distributed monitor skipping ticks (live)', () => {
  it('flags nobody in a benign swarm while it runs only every third tick', async () => {
    // Keeping up for 3 s, then overloaded for 12 s (two ticks of every three skipped), then keeping up again.
    const r = await monitored('skips-benign', 200, (due) => due < 30 || due >= 150 || due % 3 === 0);
    expect(r.flags).toEqual([]);
    expect(r.ran).toBe(30 + 40 + 50);
  }, 120_000);

  it('still flags a spinning robot once it keeps up again', async () => {
    const r = await monitored('skips-spin', 200, (due) => due < 30 || due >= 150 || due % 3 === 0, 150);
    expect(r.flags.map((f) => f.robot)).toEqual(['epuck-3']);
    // Flagged within 5 s of the spin's start (the monitor's own ticks: 120 ran before tick 150).
    expect(r.flags[0]!.tick).toBeLessThan(120 + 50);
  }, 120_000);
});
