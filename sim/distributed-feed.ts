// `swarmguard feed <launch.yaml>`: the pose feed of a distributed run when the twin stands in for the robots
// (link kind `sim`): the simulator twin of the launch file (same swarm, noise and seed as `swarmguard run`)
// publishing every robot's tracked pose and obeying `.../cmd`.
//   lockstep: publishes tick k's poses with `tick: k`, waits for every robot's command for tick k, then steps
//             the twin one period; a robot whose command has not come within stepTimeoutMs, or whose agent
//             is offline, is stopped for that tick (the lock-step command watchdog). Deterministic: the
//             twin sees exactly the commands of the single-process fast run.
//   live:     the twin paced to the wall clock; poses published at every twin tick, commands applied as they
//             come; a robot whose commands stop for commandTimeoutMs is stopped (the command watchdog).
// It starts once every agent and the monitor have said they are ready (retained status, `ready: true`), under
// a trial id of its own (in its status), having cleared the last trial's retained `done`; it ends the trial
// with a retained `done` of that id, whatever ends it (the last tick, a signal, an error).
// Under monitor.onFlag isolate-and-stop the feed is the robots' bridge that enforces the monitor's hold (its
// `.../isolation` mask): a held robot's wheels are zeroed whatever its agent (maybe the compromised party)
// sends. Lock-step, tick k's commands are applied once tick k's mask has come too; live, the latest mask holds.
// Live, it is also where the operator's e-stop is carried out (`swarmguard operator <launch> estop <robot|all>`,
// `.../control/feed`): an e-stopped robot's wheels are zeroed until a release names it, whatever its agent sends;
// the monitor's hold and the e-stop are lifted each by its own (BridgeStops). The feed answers every order on
// `.../events` (`e-stop`, `release`, or `order-refused` naming why), which the operator's command waits for.
// Broker outages are ridden out. Lock-step: time stands still while the feed is cut off; once back it waits
// for everyone who was ready to be back (bounded by outageTimeoutMs) and publishes the last ticks' poses again
// (the agents answer a repeated pose with their last ticks' commands again). Live: the twin's time goes on, so every robot
// is stopped the moment the connection drops (its commands cannot come) and driven again by the next ones.
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../src/core/config-file.js';
import { CONTROL_QOS, DEFAULT_QOS, ISOLATION_QOS } from '../src/links/mqtt/topics.js';
import type { StopOrderMsg } from '../src/links/mqtt/schemas.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { SimLink } from './sim-link.js';
import { SwarmInbox } from '../src/distributed/inbox.js';
import { BridgeStops } from '../src/distributed/bridge-stops.js';
import { EStopLog, type EStopRecord } from './e-stop-log.js';
import { hearsMasks } from '../src/distributed/config.js';
import { followPeers, joinBus, type Participant } from '../src/distributed/participant.js';
import { FaultLog } from '../src/runtime/fault-log.js';

export interface FeedOptions {
  broker?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface FeedSummary {
  mode: 'lockstep' | 'live';
  ticks: number;
  /** Wall time from tick 0 to the end, ms, and the tick rate that makes. */
  wallMs: number;
  ticksPerSecond: number;
  /** Per robot: ticks it was stopped because its command did not come (or its agent was offline). */
  watchdogStops: Record<string, number>;
  /** Per robot: ticks its wheels were held still because the monitor's isolation mask said so (isolate-and-stop). */
  heldTicks: Record<string, number>;
  /** Live, per robot: ticks its wheels were zeroed by the operator's e-stop (whatever else held it too). */
  eStoppedTicks: Record<string, number>;
  /**
   * Live: every e-stop of a robot, from the feed's tick it took effect at to the one its release did (null: in
   * force at the end); `travelM` how far the robot moved (true pose) from two twin ticks after the e-stop (its
   * stop taken effect) to its release, `othersTravelM` the farthest any robot the bridge did not stop then moved
   * meanwhile (the others drove on; null: it stopped every robot), `afterReleaseM` how far it moved in the second
   * after its release (driving again, or still held by the monitor; null: released less than a second before the end).
   */
  eStops: EStopRecord[];
  /** The operator's orders carried out, and those refused (lock-step run, unknown robot id: logged, answered). */
  orders: { applied: number; refused: number };
  /** The twin's true and tracked poses after the last step. */
  finalTruePoses: { x: number; y: number; theta: number }[];
  finalPoses: { x: number; y: number; theta: number }[];
  /** Payloads refused by the bus client (not JSON, another version, failing the schema). */
  refused: number;
  interrupted: boolean;
  /** This trial's id (in the feed's status and its done). */
  trial: string;
  /**
   * The feed's lost connections: the tick it was at when it lost the broker and when it had it back; live, how
   * far any robot moved (true pose) from two twin ticks after the loss (its stop taken effect) to the return.
   */
  outages: { fromTick: number; toTick: number; ms: number; travelM: number | null }[];
}


/**
 * Live: why a robot executing this command executes a stop rather than its policy's command, for the poses
 * that follow (`stop` in the pose message): the agent's safety stop reason, only when the command is a stop
 * (zero wheels), so a `stopped` claim never excuses motion; null for a command that drives, or zero by choice.
 */
export function commandStop(msg: { left: number; right: number; stopped?: string }): string | null {
  return msg.stopped !== undefined && msg.left === 0 && msg.right === 0 ? msg.stopped : null;
}

export async function runFeed(path: string, o: FeedOptions = {}): Promise<FeedSummary> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  let participant: Participant | null = null;
  let link: SimLink | null = null;
  const trial = randomUUID();
  let started = false;
  let ticks = 0;
  let finished = false;
  try {
    if (launch.link.kind !== 'sim') throw new ConfigError(`${path}: link.kind: the feed is the simulator twin (kind sim); with real robots their tracker publishes the poses`);
    const p = await joinBus(launch, { role: 'feed', user: 'feed', broker: o.broker, log, extra: { trial } });
    participant = p;
    const bus = p.bus;
    const cfg = p.config;
    const ids = launch.settings.robotIds;
    const N = ids.length;
    // The last trial's done (retained) must not end this one: cleared before anyone is told this trial's id.
    await bus.clearRetained(p.topics.done);
    link = new SimLink(launch.settings, cfg.mode === 'lockstep' ? 'fast' : 'live', launch.seed);
    const inbox = new SwarmInbox(ids, cfg.mode);
    const lastCommandMs = new Array<number>(N).fill(-Infinity);
    // Live: per robot, the stop it executes instead of a policy command (commandStop, 'watchdog', 'outage', and
    // 'no-command' until its first command comes: it stands still), published with the poses it leads to, so
    // that the monitor does not score a stop as its policy's motion. A robot held by the monitor's mask is not
    // marked: the monitor expects it still.
    const executingStop = new Array<string | null>(N).fill('no-command');
    let wake: (() => void) | null = null;
    // The monitor's hold (isolate-and-stop): enforced here, at the robot, never left to its agent.
    const isolating = launch.onFlag !== 'report';
    const listens = hearsMasks(launch.onFlag, cfg.mode);
    const mask = new Uint8Array(N);
    // The monitor's hold (the mask) and the operator's e-stop, each lifted only by its own.
    const bridge = new BridgeStops(mask);
    await bus.subscribe(p.topics.everyRobot('cmd'), 'cmd', DEFAULT_QOS.cmd, (topic, msg, receivedMs) => {
      const r = p.topics.parseRobot(topic);
      const i = r ? ids.indexOf(r.id) : -1;
      if (i < 0) return;
      inbox.command(r!.id, msg);
      if (cfg.mode === 'live') {
        lastCommandMs[i] = receivedMs;
        // Held by the monitor: it expects the robot still (no mark); e-stopped: a stop, not its policy's motion.
        executingStop[i] = bridge.held(i) ? null : bridge.eStopped(i) !== null ? 'e-stop' : commandStop(msg);
        link!.send(i, ...bridge.wheels(i, msg.left, msg.right));
      }
      wake?.();
    });
    if (listens) {
      await bus.subscribe(p.topics.isolation, 'isolation', ISOLATION_QOS, (_topic, msg) => {
        inbox.isolation(msg);
        if (cfg.mode === 'live') {
          // Live: the latest mask holds from now on (a robot it holds stops at once).
          inbox.isolationAt(0, mask);
          ids.forEach((_, i) => {
            if (!bridge.held(i)) return;
            link!.send(i, 0, 0);
            executingStop[i] = null;
          });
        }
        wake?.();
      });
    }
    // The operator's e-stop and release (live): carried out at once, whole or not at all, and answered on `.../events`.
    const eStopLog = new EStopLog(ids, () => link!.truePoses(), (j) => bridge.stops(j), Math.max(1, Math.round(1 / launch.settings.controlPeriod)));
    const orders = { applied: 0, refused: 0 };
    const answer = (body: object) => bus.publish(p.topics.events, { tick: ticks, ...body }, DEFAULT_QOS.events);
    const takeOrder = (msg: StopOrderMsg) => {
      const named = msg.robots === 'all' ? [...ids] : msg.robots;
      const what = `${msg.kind} ${msg.robots === 'all' ? 'all' : msg.robots.join(',')}`;
      const unknown = named.filter((id) => !ids.includes(id));
      const why =
        cfg.mode !== 'live'
          ? "the run is lock-step, which reproduces the launch file's trial; orders are for live runs"
          : unknown.length
            ? `unknown robot id${unknown.length > 1 ? 's' : ''} ${unknown.map((id) => `'${id}'`).join(', ')} (swarm ids: ${ids.join(', ')})`
            : null;
      if (why) {
        orders.refused++;
        log(`swarmguard feed: operator order ${what} refused: ${why}`);
        return answer({ kind: 'order-refused', order: msg.order, why });
      }
      orders.applied++;
      const robots = [...new Set(named)];
      if (msg.kind === 'estop') {
        const reason = `${msg.reason} (operator)`;
        for (const id of robots) {
          const i = ids.indexOf(id);
          eStopLog.eStopped(id, reason, ticks);
          bridge.eStop(i, reason);
          link!.send(i, 0, 0);
          if (!bridge.held(i)) executingStop[i] = 'e-stop';
        }
        log(`swarmguard feed: e-stop of ${robots.join(', ')} at tick ${ticks} (${msg.reason}): wheels zeroed until released`);
        return answer({ kind: 'e-stop', robots, reason, order: msg.order });
      }
      for (const id of robots) {
        eStopLog.releasedAt(id, ticks);
        bridge.release(ids.indexOf(id));
      }
      // The monitor's hold is its own: a robot it still holds stays still (said in the answer).
      const stillHeld = robots.filter((id) => bridge.held(ids.indexOf(id)));
      log(`swarmguard feed: release of ${robots.join(', ')} at tick ${ticks}${stillHeld.length ? `; still held by the monitor: ${stillHeld.join(', ')}` : ''}`);
      return answer({ kind: 'release', robots, reason: 'operator', order: msg.order, held: stillHeld });
    };
    await bus.subscribe(p.topics.control('feed'), 'stop-order', CONTROL_QOS, (_topic, msg) => {
      takeOrder(msg);
      wake?.();
    });
    // Who is there: agents and the monitor announce `ready` once subscribed; `gone` is a participant's own
    // loss (its clean exit, or its will while our connection stays up), never a broker restart.
    const roles = [...ids.map((id) => `agent/${id}`), 'monitor'];
    const ready = new Set<string>();
    const gone = new Set<string>();
    await followPeers(bus, p.topics, p.topics.everyStatus, (role, event, msg) => {
      if (!roles.includes(role)) return;
      if (event === 'online') {
        gone.delete(role);
        if (msg.ready === true) ready.add(role);
      } else {
        ready.delete(role);
        gone.add(role);
      }
      // Without the monitor nobody can clear an isolation: its last mask stays in force (lock-step: not waited for).
      if (role === 'monitor' && listens && inbox.monitorGone !== (event === 'gone')) {
        inbox.monitorGone = event === 'gone';
        if (started) log(`swarmguard feed: the monitor ${inbox.monitorGone ? 'is gone: its last isolation mask stays in force' : 'is back'}`);
      }
      wake?.();
    });
    // A lost connection: who was ready then is expected back; live, every robot is stopped at once.
    let outage: { since: number; fromTick: number; expected: string[]; startPoses: { x: number; y: number }[] | null; settle: number } | null = null;
    const outages: FeedSummary['outages'] = [];
    const stopAll = () => ids.forEach((_, i) => link!.send(i, 0, 0));
    bus.onConnection((up) => {
      if (!up && !outage) {
        outage = { since: Date.now(), fromTick: ticks, expected: roles.filter((r) => ready.has(r) && !gone.has(r)), startPoses: null, settle: 2 };
        ready.clear();
        if (cfg.mode === 'live' && started) {
          stopAll();
          executingStop.fill('outage');
          lastCommandMs.fill(-Infinity);
        }
        log(`swarmguard feed: lost the broker at tick ${ticks}${started ? (cfg.mode === 'live' ? ': every robot stopped until it is back' : ': holding the tick until it is back') : ''}`);
      } else if (up && outage && cfg.mode === 'live') {
        endOutage();
      }
      wake?.();
    });
    const endOutage = () => {
      const o2 = outage!;
      outage = null;
      const now = link!.truePoses();
      const travelM = o2.startPoses ? Math.max(...now.map((q, i) => Math.hypot(q.x - o2.startPoses![i]!.x, q.y - o2.startPoses![i]!.y))) : null;
      outages.push({ fromTick: o2.fromTick, toTick: ticks, ms: Date.now() - o2.since, travelM });
      log(`swarmguard feed: the broker back after ${Date.now() - o2.since} ms (ticks ${o2.fromTick}-${ticks})`);
    };
    const waitFor = (done: () => boolean, ms: number) =>
      new Promise<boolean>((resolve) => {
        const finish = (ok: boolean) => {
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          wake = null;
          resolve(ok);
        };
        const onAbort = () => finish(false);
        const timer = setTimeout(() => finish(done()), ms);
        o.signal?.addEventListener('abort', onAbort, { once: true });
        wake = () => done() && finish(true);
        wake();
      });
    /** Lock-step after a lost connection: back on the broker, and everyone who was ready back too (bounded); whether there was one. */
    const regroup = async (): Promise<boolean> => {
      const o2 = outage;
      if (!o2) return false;
      const back = () => bus.connected && o2.expected.every((r) => ready.has(r) || gone.has(r));
      const left = Math.max(0, o2.since + cfg.outageTimeoutMs - Date.now());
      if (!(await waitFor(back, left)) && !o.signal?.aborted) {
        if (!bus.connected) throw new Error(`swarmguard feed: the broker unreachable for more than ${cfg.outageTimeoutMs} ms (distributed.outageTimeoutMs)`);
        const missing = o2.expected.filter((r) => !ready.has(r) && !gone.has(r));
        log(`swarmguard feed: not back within ${cfg.outageTimeoutMs} ms after the outage: ${missing.join(', ')}: taken as gone`);
        for (const r of missing) gone.add(r);
      }
      if (outage === o2) endOutage();
      return true;
    };
    if (!(await waitFor(() => bus.connected && roles.every((r) => ready.has(r)), cfg.startTimeoutMs))) {
      if (o.signal?.aborted) throw new Error('swarmguard feed: interrupted before the start');
      throw new Error(`swarmguard feed: not ready after ${cfg.startTimeoutMs} ms: ${roles.filter((r) => !ready.has(r)).join(', ')}`);
    }
    outage = null;
    p.ready();
    started = true;
    const watchdogStops = Object.fromEntries(ids.map((id) => [id, 0]));
    const heldTicks = Object.fromEntries(ids.map((id) => [id, 0]));
    const eStoppedTicks = Object.fromEntries(ids.map((id) => [id, 0]));
    // Per robot: a line when its commands start missing, a count while they keep missing, a line once they come again.
    const faults = new FaultLog(log);
    const source = (id: string) => `swarmguard feed: ${id}`;
    const t0 = Date.now();
    log(`swarmguard feed: ${launch.name}, ${N} robots, ${cfg.mode}, ${launch.ticks} ticks, trial ${trial}`);
    if (cfg.mode === 'lockstep') {
      const agentGone = (i: number) => gone.has(`agent/${ids[i]}`);
      // The last ticks' poses: after an outage the earlier ones go out again too (whoever lost them in flight
      // while the others went on needs them; whoever has them ignores them).
      const recent: { id: string; pose: object }[][] = [];
      const publishPoses = (batch: { id: string; pose: object }[]) => batch.forEach((b) => bus.publish(p.topics.robot(b.id, 'pose'), b.pose, DEFAULT_QOS.pose));
      for (let k = 0; k < launch.ticks && !o.signal?.aborted; k++) {
        const waited = (i: number) => inbox.commandAt(i, k) !== null || agentGone(i);
        // Tick k's commands are applied with tick k's mask (the monitor's, after its tick k-1).
        const masked = () => !isolating || inbox.isolationHeard(k);
        const batch = link.poses().flatMap((pose, i) => (pose ? [{ id: ids[i]!, pose: { t: pose.stampMs, x: pose.x, y: pose.y, theta: pose.theta, tick: k } }] : []));
        for (;;) {
          if (await regroup()) recent.forEach(publishPoses);
          publishPoses(batch);
          const lost = bus.lost;
          const all = await waitFor(() => (ids.every((_, i) => waited(i)) && masked()) || bus.lost !== lost, cfg.stepTimeoutMs);
          // The connection dropped while waiting: the poses may not have reached everyone; again once back.
          if (o.signal?.aborted || bus.lost === lost || (all && ids.every((_, i) => waited(i)))) break;
        }
        // A mask that has not come (the monitor too slow for stepTimeoutMs): the last one heard holds.
        if (isolating) inbox.isolationAt(k, mask);
        ids.forEach((id, i) => {
          const c = inbox.commandAt(i, k);
          if (bridge.held(i)) {
            link!.send(i, 0, 0);
            heldTicks[id]!++;
          } else if (c) {
            link!.send(i, c.left, c.right);
            faults.settle(source(id));
          } else {
            link!.send(i, 0, 0);
            watchdogStops[id]!++;
            faults.fault(source(id), 'command watchdog', `no command for tick ${k}${agentGone(i) ? ' (agent offline)' : ''}: stopped`);
          }
        });
        recent.push(batch);
        if (recent.length > 2) recent.shift();
        inbox.done(k);
        link.advance();
        ticks++;
      }
    } else {
      const periodMs = launch.settings.controlPeriod * 1000;
      link.twin.on('tick', () => {
        // The trial's last tick is its end, whether or not a message comes to wake the wait below (under load
        // the agents may be done before the twin is, and nothing else would end it until a status or the timeout).
        if (ticks >= launch.ticks) return wake?.();
        const now = Date.now();
        // A pose is stamped with the moment its tick stands for (the twin's stamp, on this wall clock): after a
        // stall the twin's catch-up ticks come at once but keep their due times.
        const stampLag = link!.now() - link!.twin.trackedStamp;
        ticks++;
        const o2 = outage;
        if (o2 && o2.startPoses === null && --o2.settle <= 0) o2.startPoses = link!.truePoses();
        eStopLog.ticked();
        link!.poses().forEach((pose, i) => {
          // What the step just taken executed (the watchdog below stops the robot from the next one on).
          const stop = executingStop[i];
          // A robot never commanded stands still already; one whose commands stopped is stopped.
          if (bridge.held(i)) heldTicks[ids[i]!]!++;
          if (bridge.eStopped(i) !== null) eStoppedTicks[ids[i]!]!++;
          if (Number.isFinite(lastCommandMs[i]!) && now - lastCommandMs[i]! > cfg.commandTimeoutMs) {
            link!.send(i, 0, 0);
            if (!bridge.held(i)) executingStop[i] = 'watchdog';
            watchdogStops[ids[i]!]!++;
            faults.fault(source(ids[i]!), 'command watchdog', `no command for ${now - lastCommandMs[i]!} ms: stopped`);
          } else if (Number.isFinite(lastCommandMs[i]!)) faults.settle(source(ids[i]!));
          if (pose) bus.publish(p.topics.robot(ids[i]!, 'pose'), { t: now - stampLag, x: pose.x, y: pose.y, theta: pose.theta, ...(stop ? { stop } : {}) }, DEFAULT_QOS.pose);
        });
        if ((o2 && now - o2.since > cfg.outageTimeoutMs) || ticks >= launch.ticks) wake?.();
      });
      link.start();
      await waitFor(() => ticks >= launch.ticks || (outage !== null && Date.now() - outage.since > cfg.outageTimeoutMs), launch.ticks * periodMs + 60_000);
      if (outage !== null && ticks < launch.ticks) throw new Error(`swarmguard feed: the broker unreachable for more than ${cfg.outageTimeoutMs} ms (distributed.outageTimeoutMs)`);
    }
    faults.close();
    eStopLog.finish();
    const wallMs = Date.now() - t0;
    const summary: FeedSummary = {
      mode: cfg.mode,
      ticks,
      wallMs,
      ticksPerSecond: ticks / Math.max(1e-3, wallMs / 1000),
      watchdogStops,
      heldTicks,
      eStoppedTicks,
      eStops: eStopLog.records,
      orders,
      finalTruePoses: link.truePoses(),
      finalPoses: link.poses().map((q) => ({ x: q!.x, y: q!.y, theta: q!.theta })),
      refused: bus.refusedTotal(),
      interrupted: ticks < launch.ticks,
      trial,
      outages,
    };
    const stopped = Object.entries(watchdogStops).filter(([, n]) => n > 0);
    log(`swarmguard feed: ${ticks} ticks in ${(wallMs / 1000).toFixed(1)} s (${summary.ticksPerSecond.toFixed(1)} ticks/s); watchdog stops: ${stopped.length ? stopped.map(([id, n]) => `${id} ${n}`).join(', ') : 'none'}${eStopLog.records.length ? `; e-stops: ${eStopLog.records.map((r) => `${r.robot} ${r.fromTick}-${r.toTick ?? 'end'}`).join(', ')}` : ''}${orders.refused ? `; ${orders.refused} orders refused` : ''}${summary.refused ? `; ${summary.refused} payloads refused` : ''}${outages.length ? `; ${outages.length} broker outage(s) ridden out` : ''}`);
    finished = true;
    return summary;
  } finally {
    await link?.stop();
    // Whatever ended the trial (its last tick, a signal, an error), everyone is told: the retained done.
    if (participant && started) {
      const done = { t: Date.now(), trial, by: 'feed', ticks, interrupted: !finished || ticks < launch.ticks };
      if (!(await participant.bus.publishAcked(participant.topics.done, done, true))) log('swarmguard feed: could not publish the end of the trial (broker unreachable): the others end after distributed.outageTimeoutMs');
    }
    await participant?.close();
    await releaseRun(launch);
  }
}
