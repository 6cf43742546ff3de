// `swarmguard monitor <launch.yaml>`: the SwarmMonitor of a distributed run, fed only by the bus. It hears
// every robot's pose and command and every agent's belief; it knows the deployed policy, so it runs the
// whole team itself (the batched OnnxTeam, exactly as the single-process run does) for the command each
// robot's policy intends, and compares it with the motion the tracker sees; the beliefs are the agents'
// own. It publishes every robot's suspicion, the flags and clears (`.../alerts` and `.../events`), keeps
// the agents' events (injections: the ground truth; safety stops) and at the end prints the summary of
// `swarmguard run` and writes a run folder.
import { z } from 'zod';
import type { BusClient } from '../links/mqtt/client.js';
import { publishVerdicts } from '../links/mqtt/service.js';
import { DEFAULT_QOS, type SwarmTopics } from '../links/mqtt/topics.js';
import { aggregateBeliefs, SwarmMonitor } from '../monitor/monitor.js';
import { OnnxTeam } from '../policy/team.js';
import { recordFinishedRun } from '../recording/service.js';
import { loadLaunch, releaseLaunch, type Launch } from '../runtime/launch.js';
import { STOP_REASONS, type SafetyLayer, type StopReason } from '../runtime/safety.js';
import { SwarmView } from '../runtime/swarm-view.js';
import { expectedCommands, monitorView, outcomes, swarmSafety, type RunEvent, type TickRecord } from '../runtime/trial.js';
import { formatSummary, newRunDir, writeRunFolder, type RunSummary } from '../runtime/run-folder.js';
import { uncompromisedOutcome } from '../runtime/team-outcome.js';
import { SwarmInbox, type TimeMode } from './inbox.js';
import { followFeed, joinBus, posesFlowing, type Participant } from './participant.js';
import { liveTicks, TickPump } from './tick-pump.js';

/** The agents' events the monitor keeps (its own flags and clears it does not take back from the bus). */
const AgentEventSchema = z.union([
  z.object({ tick: z.number().int().nonnegative(), kind: z.enum(['injection-start', 'injection-end']), robot: z.string().min(1), attack: z.string().min(1) }),
  z.object({ tick: z.number().int().nonnegative(), kind: z.literal('stop'), robot: z.string().min(1), reason: z.enum(STOP_REASONS) }),
]);

export class MonitorNode {
  readonly view: SwarmView;
  readonly inbox: SwarmInbox;
  readonly monitor: SwarmMonitor;
  readonly records: TickRecord[] = [];
  readonly events: RunEvent[] = [];
  /** Events from the bus that are not an agent's injection or stop event (counted, not kept). */
  ignoredEvents = 0;
  /** Agents that went offline without ending their run (their last will), with the tick the monitor was at. */
  readonly offline: { role: string; tick: number }[] = [];
  /** Robots whose agent is offline now: their commands and beliefs are not waited for. */
  private readonly agentGone = new Set<number>();
  private readonly agentSeen = new Set<number>();
  private readonly safety: SafetyLayer;
  private readonly intended: Float32Array;
  private readonly expected: Float32Array;
  private readonly commands: Float32Array;
  private readonly stopped: (string | null)[];
  private readonly pairBeliefs: Float64Array;

  constructor(
    private readonly launch: Launch,
    private readonly team: OnnxTeam,
    private readonly bus: BusClient,
    private readonly topics: SwarmTopics,
    mode: TimeMode,
  ) {
    const s = launch.settings;
    const N = s.robotIds.length;
    this.view = SwarmView.forPolicy(team, N, s.controlPeriod);
    this.inbox = new SwarmInbox(s.robotIds, mode);
    this.monitor = new SwarmMonitor(s.robotIds, s.robots, launch.monitor);
    this.safety = swarmSafety(s, launch.safety);
    this.intended = new Float32Array(2 * N);
    this.expected = new Float32Array(2 * N);
    this.commands = new Float32Array(2 * N);
    this.stopped = new Array<string | null>(N).fill(null);
    this.pairBeliefs = new Float64Array(N * N);
    team.setForgetAfter(launch.forgetAfterTicks);
    team.resetEnv(0);
  }

  /** Lock-step: tick k has everything (poses, every command, every belief), or the feed has moved past it. */
  complete(k: number): boolean {
    const N = this.launch.settings.robotIds.length;
    if (this.inbox.newestPoseTick > k) return true;
    const live = N - this.agentGone.size;
    return this.inbox.posesHeard(k) === N && this.inbox.commandsHeard(k) >= live && (!this.team.usesBeliefs || this.inbox.beliefsHeard(k) >= live);
  }

  async subscribe(onMessage: () => void, onFeedGone: (done: boolean) => void): Promise<void> {
    const t = this.topics;
    await this.bus.subscribe(t.everyRobot('pose'), 'pose', DEFAULT_QOS.pose, (topic, msg, receivedMs) => {
      const r = t.parseRobot(topic);
      if (r) this.inbox.pose(r.id, msg, receivedMs);
      onMessage();
    });
    await this.bus.subscribe(t.everyRobot('cmd'), 'cmd', DEFAULT_QOS.cmd, (topic, msg) => {
      const r = t.parseRobot(topic);
      if (r) this.inbox.command(r.id, msg);
      onMessage();
    });
    await this.bus.subscribe(t.everyRobot('belief'), 'belief', DEFAULT_QOS.belief, (topic, msg) => {
      const r = t.parseRobot(topic);
      if (r) this.inbox.belief(r.id, msg);
      onMessage();
    });
    await this.bus.subscribe(t.events, 'events', DEFAULT_QOS.events, (_topic, msg) => {
      const e = AgentEventSchema.safeParse(msg);
      if (e.success && this.launch.settings.robotIds.includes(e.data.robot)) this.events.push(e.data);
      else if (msg.kind !== 'flag' && msg.kind !== 'clear') this.ignoredEvents++;
    });
    await this.bus.subscribe(t.everyStatus, 'status', DEFAULT_QOS.status, (topic, msg) => {
      const role = t.parseStatus(topic);
      const i = role?.startsWith('agent/') ? this.launch.settings.robotIds.indexOf(role.slice('agent/'.length)) : -1;
      if (i < 0) return;
      const id = role!.slice('agent/'.length);
      // Only an agent seen online in this run can go (a retained `offline` may be an earlier run's). Gone,
      // its robot is stopped by the feed; only one that did not end its run (`done`) is reported.
      if (msg.state === 'offline' && this.agentSeen.has(i) && !this.agentGone.has(i)) {
        this.agentGone.add(i);
        this.inbox.agentGone(id, true);
        if (msg.done !== true) this.offline.push({ role: role!, tick: this.records.length });
      } else if (msg.state === 'online') {
        this.agentSeen.add(i);
        this.agentGone.delete(i);
        this.inbox.agentGone(id, false);
      }
      onMessage();
    });
    await followFeed(this.bus, t, onFeedGone);
  }

  /** One tick of the monitor at clock `nowMs`, from tick k's poses, commands and beliefs as heard. */
  async step(k: number, nowMs: number): Promise<void> {
    const { robotIds: ids } = this.launch.settings;
    const N = ids.length;
    const timed = this.inbox.posesAt(k);
    const poses = this.view.usable(timed);
    this.view.update(poses);
    // What each robot's policy intends from its own observation (the whole team, batched, as deployed).
    await this.team.act(this.view, this.intended);
    expectedCommands(this.safety, this.intended, timed, nowMs, this.expected);
    // Beliefs as the agents published them: observer i counts for j if j was in i's range (in i's message).
    let beliefs = null;
    if (this.team.usesBeliefs) {
      const heard = this.inbox.beliefsAt(k);
      this.pairBeliefs.fill(0);
      for (const [i, about] of heard) for (let j = 0; j < N; j++) this.pairBeliefs[i * N + j] = about[ids[j]!] ?? 0;
      beliefs = aggregateBeliefs(this.pairBeliefs, 1, N, (i, j) => heard.get(i)?.[ids[j]!] !== undefined);
    }
    const alerts = this.monitor.update(k, { poses, motion: this.view.motion, intended: this.expected, beliefs });
    // Tick k's commands as the robots were sent them: next tick's observations carry them.
    this.inbox.commandsBefore(k + 1, this.commands, this.stopped);
    this.view.sent(this.commands);
    this.records.push({
      tick: k,
      timeMs: nowMs,
      truePoses: null,
      intended: Array.from(this.intended),
      commands: Array.from(this.commands),
      stopped: this.stopped.map((s) => (s !== null && (STOP_REASONS as readonly string[]).includes(s) ? (s as StopReason) : null)),
      ...monitorView(this.view, poses, beliefs, this.monitor),
      compromised: [],
    });
    this.events.push(...alerts);
    publishVerdicts(this.bus, this.topics, DEFAULT_QOS, ids, this.records.at(-1)!, alerts);
    this.inbox.done(k);
  }

  /**
   * Resolves once every agent seen in this run has left (its `offline` status is published after all its
   * events, on the same connection), or after timeoutMs: events of the last ticks are still on their way
   * when the last tick has run (QoS 1 may queue behind QoS 0).
   */
  async agentsLeft(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && [...this.agentSeen].some((i) => !this.agentGone.has(i))) await new Promise((r) => setTimeout(r, 20));
  }

  /** The run's events in tick order, and every record's compromised robots from the agents' ground truth. */
  finish(): { records: TickRecord[]; events: RunEvent[] } {
    const ids = this.launch.settings.robotIds;
    // Within a tick, the single-process run's order: the ground truth in the launch file's order, then safety
    // stops, then flags and clears, by robot (agents' events arrive in whatever order the agents ran).
    const rank = (e: RunEvent): number => {
      if (e.kind === 'injection-start' || e.kind === 'injection-end') {
        return this.launch.injections.findIndex((inj) => ids[inj.robot] === e.robot && (e.kind === 'injection-start' ? inj.fromTick : inj.toTick) === e.tick);
      }
      const robot = 'robot' in e ? ids.indexOf(e.robot) : 0;
      return (e.kind === 'stop' ? 1 : 2) * 1e6 + robot;
    };
    const events = [...this.events].sort((a, b) => a.tick - b.tick || rank(a) - rank(b));
    for (const e of events) {
      if (e.kind !== 'injection-start') continue;
      const end = events.find((x) => x.kind === 'injection-end' && x.robot === e.robot && x.tick > e.tick)?.tick ?? Infinity;
      const i = ids.indexOf(e.robot);
      for (const r of this.records) if (r.tick >= e.tick && r.tick < end && !r.compromised.includes(i)) r.compromised.push(i);
    }
    return { records: this.records, events };
  }
}

export interface MonitorRunOptions {
  broker?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface MonitorRunResult extends RunSummary {
  records: TickRecord[];
  events: RunEvent[];
  offline: { role: string; tick: number }[];
}

/** Runs the monitor of a distributed run for the launch file's duration; prints the summary, writes the run folder. */
export async function runMonitor(path: string, o: MonitorRunOptions = {}): Promise<MonitorRunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const launch = await loadLaunch(path);
  let team: OnnxTeam | null = null;
  let participant: Participant | null = null;
  try {
    team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    const p = await joinBus(launch, { role: 'monitor', user: 'monitor', broker: o.broker, log });
    participant = p;
    const bus = p.bus;
    const node = new MonitorNode(launch, team, bus, p.topics, p.config.mode);
    const periodMs = launch.settings.controlPeriod * 1000;
    let interrupted = false;
    if (p.config.mode === 'lockstep') {
      const pump = new TickPump(launch.ticks, (k) => node.complete(k), (k) => node.step(k, k * periodMs));
      // The feed gone: what it published is all there is (the ticks it reached are run, then the run ends).
      await node.subscribe(() => pump.poke(), () => pump.drain());
      o.signal?.addEventListener('abort', () => pump.stop(), { once: true });
      p.ready();
      log(`swarmguard monitor: ${launch.name}, lock-step, ${launch.ticks} ticks`);
      await pump.finished;
      interrupted = pump.next < launch.ticks;
    } else {
      let feedGone = false;
      let feedDone = false;
      const start = posesFlowing(o.signal);
      await node.subscribe(
        () => start.check(node.inbox.posesAt(0).every((q) => q !== null)),
        (done) => {
          feedGone = true;
          feedDone = done;
        },
      );
      p.ready();
      // Tick 0 is when every robot's pose has come: every process of the run counts its ticks from about then.
      await start.flowing;
      log(`swarmguard monitor: ${launch.name}, live at ${1 / launch.settings.controlPeriod} Hz`);
      const ran = await liveTicks({
        ticks: launch.ticks,
        periodMs,
        step: (k, now) => node.step(k, now),
        until: () => feedGone || o.signal?.aborted === true,
        onError: (err) => log(`swarmguard monitor: a tick failed: ${(err as Error).message}`),
      });
      // Live processes count their own ticks: a feed that ended its run ends the run, a tick short or not.
      interrupted = ran < launch.ticks && !feedDone;
    }
    if (!o.signal?.aborted) await node.agentsLeft(5000);
    const { records, events } = node.finish();
    for (const off of node.offline) log(`swarmguard monitor: ${off.role} went offline at tick ${off.tick}`);
    const stops = Object.fromEntries(STOP_REASONS.map((r) => [r, 0])) as Record<string, number>;
    for (const r of records) for (const s of r.stopped) if (s) stops[s]!++;
    const uncompromised = uncompromisedOutcome(records, launch.settings.robotIds, launch.settings);
    const summary: RunSummary = { runDir: newRunDir(launch), ticks: records.length, outcomes: outcomes({ parts: { ids: launch.settings.robotIds }, records, events }), uncompromised, stops, scheduler: null, links: null, interrupted };
    writeRunFolder(summary, launch, team.name, records, events);
    if (launch.record) await recordFinishedRun(summary.runDir, launch, { name: team.name, dir: launch.policyDir, files: team.fileHashes }, records, events);
    for (const line of formatSummary(summary, launch)) log(line);
    if (node.ignoredEvents || bus.refusedTotal()) log(`swarmguard monitor: ${bus.refusedTotal()} payloads refused, ${node.ignoredEvents} events ignored`);
    return { ...summary, records, events, offline: node.offline };
  } finally {
    await participant?.close();
    await team?.release();
    await releaseLaunch(launch);
  }
}
