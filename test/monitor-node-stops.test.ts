// The distributed monitor in live mode when a robot executes stops instead of its policy's commands. Under load
// an agent's poses reach it late: its safety layer stops its robot (`stale-pose`) while the monitor, whose poses
// came in time, expects the policy's motion; or an agent stalls and its robot keeps its last command until the
// feed's watchdog stops it. The live feed says so in the poses that follow (`stop`). A benign robot stopped so
// for stretches of up to a second must not be flagged (fails when the monitor scores those stops: the flags of
// benign robots in live runs, src/distributed/README.md); an attacked robot that stops on every other step and
// spins on the rest is still flagged, with the monitor scoring every step or, overloaded, every second one (its
// every interval then holds a stop: fails without the bound on the ticks excused).
import { describe, expect, it } from 'vitest';
import { MonitorNode } from '../src/distributed/monitor-node.js';
import { loadLaunch } from '../src/launch/launch.js';
import type { BusClient } from '../src/links/mqtt/client.js';
import { SwarmTopics } from '../src/links/mqtt/topics.js';
import { OnnxTeam } from '../src/policy/team.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { swarmTrial } from '../src/runtime/trial.js';
import { SimLink } from '../sim/sim-link.js';
import { commandStop } from '../sim/distributed-feed.js';
import { distributedTestFiles, writeDistributedLaunch } from './helpers/distributed-launch.js';

const PASSWORD_ENV = 'SWARMGUARD_MONITOR_NODE_STOPS_TEST_PASSWORD';
const files = distributedTestFiles('monitor-node-stops', PASSWORD_ENV);

/** What MonitorNode.step uses of its bus: publishing (dropped here) and whether it is connected. */
const quietBus = { publish: () => {}, connected: true } as unknown as BusClient;

/** What robot i's bridge executes at a due tick instead of the command its policy gives now. */
type Override = { kind: 'stop'; reason: string } | { kind: 'keep' } | { kind: 'spin' } | null;

/**
 * The demo's ten robots on the twin (its noise model), every robot commanded by the policy every tick as its
 * agent would, except where `override(i, due)` says: a stop (its agent's safety stop or the feed's watchdog:
 * the poses after it carry `stop`, its command heard as the agent's stop), the robot keeping the last command it
 * executed (its agent stalled: no command heard), or a full spin. A live monitor node hears every pose and
 * command and runs at the due ticks `runs` says. Returns its flags and its node.
 */
async function monitored(name: string, ticks: number, runs: (due: number) => boolean, override: (i: number, due: number) => Override) {
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
    // Per robot: the stop its last step executed (said with the poses after it), and the command it executes.
    const executedStop = new Array<string | null>(ids.length).fill(null);
    const executing = ids.map(() => [0, 0] as [number, number]);
    let own = 0;
    for (let due = 0; due < ticks; due++) {
      await trial.step();
      // The robots' poses of this tick as the feed publishes them (the twin's stamps, `stop` after a stop).
      link.poses().forEach((p, i) => {
        const stop = executedStop[i];
        node.inbox.pose(ids[i]!, { v: 1, t: p!.stampMs, x: p!.x, y: p!.y, theta: p!.theta, ...(stop ? { stop } : {}) }, p!.stampMs);
      });
      if (runs(due)) await node.step(own++, link.now(), due);
      ids.forEach((id, i) => {
        const o = override(i, due);
        if (o?.kind === 'keep') link.send(i, executing[i]![0], executing[i]![1]);
        else if (o?.kind === 'stop') link.send(i, 0, 0);
        else if (o?.kind === 'spin') link.send(i, 1, -1);
        const [left, right] = link.twin.commandAt(i);
        executing[i] = [left, right];
        // The command as its agent published it (a stalled agent publishes nothing; a watchdog stop is the feed's).
        const agentStop = o?.kind === 'stop' && o.reason !== 'watchdog';
        if (agentStop) node.inbox.command(id, { v: 1, t: link.now(), tick: due, left: 0, right: 0, stopped: o.reason });
        else if (o === null || o.kind === 'spin') node.inbox.command(id, { v: 1, t: link.now(), tick: due, left, right });
        executedStop[i] = o?.kind === 'stop' ? (agentStop ? commandStop({ left: 0, right: 0, stopped: o.reason }) : o.reason) : null;
      });
      link.advance();
    }
    return { flags: node.events.filter((e) => e.kind === 'flag').map((e) => ({ tick: e.tick, robot: (e as { robot: string }).robot })), ran: own, node };
  } finally {
    await driver.release();
    await team.release();
    await releaseRun(launch);
  }
}

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
