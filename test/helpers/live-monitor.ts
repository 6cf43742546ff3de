// A live distributed monitor node fed by the twin as the bus would feed it, for the tests of what it scores:
// the demo's ten robots driven by their policy every tick (the single-process trial drives the twin), each
// robot's executed command replaced where a test says so, the poses and commands published as the live feed and
// the agents publish them, and the node run at the due ticks a test says.
import { MonitorNode } from '../../src/distributed/monitor-node.js';
import { loadLaunch } from '../../src/launch/launch.js';
import type { BusClient } from '../../src/links/mqtt/client.js';
import { SwarmTopics } from '../../src/links/mqtt/topics.js';
import { OnnxTeam } from '../../src/policy/team.js';
import { releaseRun } from '../../src/runtime/run-spec.js';
import { swarmTrial } from '../../src/runtime/trial.js';
import { SimLink } from '../../sim/sim-link.js';
import { commandStop } from '../../sim/distributed-feed.js';
import { writeDistributedLaunch } from './distributed-launch.js';

/** What MonitorNode.step uses of its bus: publishing (dropped here) and whether it is connected. */
const quietBus = { publish: () => {}, connected: true } as unknown as BusClient;

/** What robot i's bridge executes at a due tick instead of the command its policy gives now. */
export type Override = { kind: 'stop'; reason: string } | { kind: 'keep' } | { kind: 'spin' } | null;

/**
 * The demo's ten robots on the twin (its noise model), every robot commanded by the policy every tick as its
 * agent would, except where `override(i, due)` says: a stop (its agent's safety stop or the feed's watchdog:
 * the poses after it carry `stop`, its command heard as the agent's stop), the robot keeping the last command it
 * executed (its agent stalled: no command heard), or a full spin. A live monitor node hears every pose and
 * command and runs at the due ticks `runs` says. Returns its flags and its node.
 */
export async function monitoredLive(files: { dir: string }, passwordEnv: string, name: string, ticks: number, runs: (due: number) => boolean, override: (i: number, due: number) => Override) {
  const path = writeDistributedLaunch(files.dir, name, passwordEnv, (l) => {
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
