// `swarmguard feed <launch.yaml>`: the pose feed of a distributed run when the twin stands in for the robots
// (link kind `sim`): the simulator twin of the launch file (same swarm, noise and seed as `swarmguard run`)
// publishing every robot's tracked pose and obeying `.../cmd`.
//   lockstep: publishes tick k's poses with `tick: k`, waits for every robot's command for tick k, then steps
//             the twin one period; a robot whose command has not come within stepTimeoutMs, or whose agent
//             is offline, is stopped for that tick (the lock-step command watchdog). Deterministic: the
//             twin sees exactly the commands of the single-process fast run.
//   live:     the twin paced to the wall clock; poses published at every twin tick, commands applied as they
//             come; a robot whose commands stop for commandTimeoutMs is stopped (the command watchdog).
// It starts once every agent and the monitor have said they are ready (retained status, `ready: true`).
import { ConfigError } from '../core/config-file.js';
import { BurstLog } from '../links/epuck2/stats.js';
import { DEFAULT_QOS } from '../links/mqtt/topics.js';
import { loadLaunch, releaseLaunch } from '../runtime/launch.js';
import { SimLink } from '../runtime/sim-link.js';
import { SwarmInbox } from './inbox.js';
import { joinBus, type Participant } from './participant.js';

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
  /** The twin's true and tracked poses after the last step. */
  finalTruePoses: { x: number; y: number; theta: number }[];
  finalPoses: { x: number; y: number; theta: number }[];
  /** Payloads refused by the bus client (not JSON, another version, failing the schema). */
  refused: number;
  interrupted: boolean;
}

export async function runFeed(path: string, o: FeedOptions = {}): Promise<FeedSummary> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  let participant: Participant | null = null;
  let link: SimLink | null = null;
  try {
    if (launch.link.kind !== 'sim') throw new ConfigError(`${path}: link.kind: the feed is the simulator twin (kind sim); with real robots their tracker publishes the poses`);
    const p = await joinBus(launch, { role: 'feed', user: 'feed', broker: o.broker, log });
    participant = p;
    const bus = p.bus;
    const cfg = p.config;
    const ids = launch.settings.robotIds;
    const N = ids.length;
    link = new SimLink(launch.settings, cfg.mode === 'lockstep' ? 'fast' : 'live', launch.seed);
    const inbox = new SwarmInbox(ids, cfg.mode);
    const lastCommandMs = new Array<number>(N).fill(-Infinity);
    let wake: (() => void) | null = null;
    await bus.subscribe(p.topics.everyRobot('cmd'), 'cmd', DEFAULT_QOS.cmd, (topic, msg, receivedMs) => {
      const r = p.topics.parseRobot(topic);
      const i = r ? ids.indexOf(r.id) : -1;
      if (i < 0) return;
      inbox.command(r!.id, msg);
      if (cfg.mode === 'live') {
        lastCommandMs[i] = receivedMs;
        link!.send(i, msg.left, msg.right);
      }
      wake?.();
    });
    // Who is there: agents and the monitor announce `ready` once subscribed; an agent's last will says it is gone.
    const ready = new Set<string>();
    const offline = new Set<string>();
    await bus.subscribe(p.topics.everyStatus, 'status', DEFAULT_QOS.status, (topic, msg) => {
      const role = p.topics.parseStatus(topic);
      if (!role) return;
      if (msg.state === 'online' && msg.ready === true) {
        ready.add(role);
        offline.delete(role);
      } else if (msg.state === 'offline') {
        ready.delete(role);
        offline.add(role);
      }
      wake?.();
    });
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
    const roles = [...ids.map((id) => `agent/${id}`), 'monitor'];
    if (!(await waitFor(() => roles.every((r) => ready.has(r)), cfg.startTimeoutMs))) {
      if (o.signal?.aborted) throw new Error('swarmguard feed: interrupted before the start');
      throw new Error(`swarmguard feed: not ready after ${cfg.startTimeoutMs} ms: ${roles.filter((r) => !ready.has(r)).join(', ')}`);
    }
    p.ready();
    const watchdogStops = Object.fromEntries(ids.map((id) => [id, 0]));
    const burst = new BurstLog('swarmguard feed: command watchdog', log);
    const t0 = Date.now();
    let ticks = 0;
    log(`swarmguard feed: ${launch.name}, ${N} robots, ${cfg.mode}, ${launch.ticks} ticks`);
    if (cfg.mode === 'lockstep') {
      for (let k = 0; k < launch.ticks && !o.signal?.aborted; k++) {
        link.poses().forEach((pose, i) => {
          if (pose) bus.publish(p.topics.robot(ids[i]!, 'pose'), { t: pose.stampMs, x: pose.x, y: pose.y, theta: pose.theta, tick: k }, DEFAULT_QOS.pose);
        });
        const waited = (i: number) => inbox.commandAt(i, k) !== null || offline.has(`agent/${ids[i]}`);
        await waitFor(() => ids.every((_, i) => waited(i)), cfg.stepTimeoutMs);
        ids.forEach((id, i) => {
          const c = inbox.commandAt(i, k);
          if (c) link!.send(i, c.left, c.right);
          else {
            link!.send(i, 0, 0);
            watchdogStops[id]!++;
            burst.problem(id, `no command for tick ${k}${offline.has(`agent/${id}`) ? ' (agent offline)' : ''}: stopped`);
          }
        });
        inbox.done(k);
        link.advance();
        ticks++;
      }
    } else {
      const periodMs = launch.settings.controlPeriod * 1000;
      link.twin.on('tick', () => {
        const now = Date.now();
        ticks++;
        link!.poses().forEach((pose, i) => {
          // A robot never commanded stands still already; one whose commands stopped is stopped.
          if (Number.isFinite(lastCommandMs[i]!) && now - lastCommandMs[i]! > cfg.commandTimeoutMs) {
            link!.send(i, 0, 0);
            watchdogStops[ids[i]!]!++;
          }
          if (pose) bus.publish(p.topics.robot(ids[i]!, 'pose'), { t: now, x: pose.x, y: pose.y, theta: pose.theta }, DEFAULT_QOS.pose);
        });
      });
      link.start();
      await waitFor(() => ticks >= launch.ticks, launch.ticks * periodMs + 60_000);
    }
    const wallMs = Date.now() - t0;
    const summary: FeedSummary = {
      mode: cfg.mode,
      ticks,
      wallMs,
      ticksPerSecond: ticks / Math.max(1e-3, wallMs / 1000),
      watchdogStops,
      finalTruePoses: link.truePoses(),
      finalPoses: link.poses().map((q) => ({ x: q!.x, y: q!.y, theta: q!.theta })),
      refused: bus.refusedTotal(),
      interrupted: ticks < launch.ticks,
    };
    const stopped = Object.entries(watchdogStops).filter(([, n]) => n > 0);
    log(`swarmguard feed: ${ticks} ticks in ${(wallMs / 1000).toFixed(1)} s (${summary.ticksPerSecond.toFixed(1)} ticks/s); watchdog stops: ${stopped.length ? stopped.map(([id, n]) => `${id} ${n}`).join(', ') : 'none'}${summary.refused ? `; ${summary.refused} payloads refused` : ''}`);
    return summary;
  } finally {
    await link?.stop();
    await participant?.close();
    await releaseLaunch(launch);
  }
}
