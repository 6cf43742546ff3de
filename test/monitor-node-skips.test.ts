// The distributed monitor in live mode when it cannot keep up: it skips ticks (control-scheduler overruns
// under load) while the robots go on executing their agents' commands. A benign swarm, driven by its policy
// every tick as the agents drive it, must not be flagged by a monitor that runs only every third tick (motion
// measured over three periods, from the poses' own stamps); the same monitor flags a spinning robot once it
// keeps up again.
import { describe, expect, it } from 'vitest';
import { MonitorNode } from '../src/distributed/monitor-node.js';
import { loadLaunch } from '../src/launch/launch.js';
import type { BusClient } from '../src/links/mqtt/client.js';
import { SwarmTopics } from '../src/links/mqtt/topics.js';
import { OnnxTeam } from '../src/policy/team.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { swarmTrial } from '../src/runtime/trial.js';
import { SimLink } from '../sim/sim-link.js';
import { distributedTestFiles, writeDistributedLaunch } from './helpers/distributed-launch.js';

const PASSWORD_ENV = 'SWARMGUARD_MONITOR_NODE_SKIPS_TEST_PASSWORD';
const files = distributedTestFiles('monitor-node-skips', PASSWORD_ENV);

/** What MonitorNode.step uses of its bus: publishing (dropped here) and whether it is connected. */
const quietBus = { publish: () => {}, connected: true } as unknown as BusClient;

/**
 * The demo's ten robots on the twin (its noise model), every robot commanded by the policy every tick as its
 * agent would (the single-process trial drives the twin); a live monitor node hears every pose and command but
 * runs only at the due ticks `runs` says. `spin` (tick): from then on robot epuck-3 is sent a full spin
 * instead. Returns the node's flags.
 */
async function monitored(name: string, ticks: number, runs: (due: number) => boolean, spin = Infinity) {
  const path = writeDistributedLaunch(files.dir, name, PASSWORD_ENV, (l) => {
    l.injections = [];
    l.distributed.mode = 'live';
    l.duration = ticks / 10;
  });
  const launch = await loadLaunch(path);
  const driver = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
  const team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
  try {
    for (const t of [driver, team]) t.setForgetAfter(launch.forgetAfterTicks);
    const link = new SimLink(launch.settings, 'fast', launch.seed);
    const trial = swarmTrial(launch.settings, driver, link, { safety: launch.safety, monitor: launch.monitor, trialMode: false, injections: [], seed: launch.seed });
    const node = new MonitorNode(launch, team, quietBus, new SwarmTopics(launch.name), 'live');
    const ids = launch.settings.robotIds;
    const victim = ids.indexOf('epuck-3');
    let own = 0;
    for (let due = 0; due < ticks; due++) {
      await trial.step();
      if (due >= spin) link.send(victim, 1, -1);
      // The robots' poses of this tick as the feed publishes them (the twin's stamps).
      link.poses().forEach((p, i) => node.inbox.pose(ids[i]!, { v: 1, t: p!.stampMs, x: p!.x, y: p!.y, theta: p!.theta }, p!.stampMs));
      if (runs(due)) await node.step(own++, link.now(), due);
      // The commands the robots were sent this tick, as their agents publish them.
      ids.forEach((id, i) => {
        const [left, right] = link.twin.commandAt(i);
        node.inbox.command(id, { v: 1, t: link.now(), tick: due, left, right });
      });
      link.advance();
    }
    return { flags: node.events.filter((e) => e.kind === 'flag').map((e) => ({ tick: e.tick, robot: (e as { robot: string }).robot })), ran: own };
  } finally {
    await driver.release();
    await team.release();
    await releaseRun(launch);
  }
}

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
