// `swarmguard monitor <launch.yaml>`: the SwarmMonitor of a distributed run, fed only by the bus. It hears
// every robot's pose and command and every agent's belief; it knows the deployed policy, so it runs the
// whole team itself (the batched OnnxTeam, exactly as the single-process run does) for the command each
// robot's policy intends, and compares it with the motion the tracker sees; the beliefs are the agents'
// own. It publishes every robot's suspicion, the flags and clears (`.../alerts` and `.../events`), keeps
// the agents' events (injections: the ground truth; safety stops) and at the end prints the summary of
// `swarmguard run` and writes a run folder. It keeps no tick records: each tick goes to a RunTally as
// `swarmguard run`'s do (and, for the recording, to a spool file: TickSpool), and the ground truth, which
// the agents' events bring late, is told to the tally and the recording at the end (settleCompromised).
// A broker outage is ridden out: in lock-step time stands still (the feed holds the tick); live, ticks
// without data (its own connection down, or every pose stale) score nothing, and a robot's motion across a
// gap in its poses is not scored either: no evidence from a period without data.
// Under monitor.onFlag isolate / isolate-and-stop it also owns what a flag does (FlagResponse, as `swarmguard
// run`): after its tick k it publishes tick k+1's isolation mask on `.../isolation` (which robots the agents
// leave out of their observations, which ones the robots' bridges hold still), the single-process run's
// timing (a flag raised at tick k acts from tick k+1's observations and commands), and the isolate / probation
// / isolation-end events. Live, the operator may change what a flag does during the run (`swarmguard operator`,
// `.../control/monitor`): the order takes effect after the tick it arrives in, as the console's does in `swarmguard
// run`. The operator's e-stops are the feed's (the robots' bridge) to carry out; the monitor keeps the feed's
// `e-stop` / `release` events in its record and expects an e-stopped robot to stand still, as a held one.
import { z } from 'zod';
import type { BusClient } from '../links/mqtt/client.js';
import { publishVerdicts } from '../links/mqtt/service.js';
import { CONTROL_QOS, DEFAULT_QOS, ISOLATION_QOS, type SwarmTopics } from '../links/mqtt/topics.js';
import type { ControlMsg, IsolationMsg } from '../links/mqtt/schemas.js';
import { HELD_STILL, LEFT_OUT } from '../core/observation.js';
import { FlagResponse, parseOnFlag, PROBATION_S, summariseIsolations, type OnFlag } from '../runtime/isolation.js';
import type { MeasuredMotion } from '../monitor/consistency.js';
import { aggregateBeliefs, SwarmMonitor } from '../monitor/monitor.js';
import { trainingPrior } from '../policy/pair-beliefs.js';
import { OnnxTeam } from '../policy/team.js';
import { recordFinishedRun } from '../recording/service.js';
import type { Launch } from '../launch/launch.js';
import { noStops, STOP_REASONS, type SafetyLayer, type StopReason } from '../runtime/safety.js';
import { SwarmView } from '../runtime/swarm-view.js';
import { swarmSafety, writeMonitorView, type RunEvent, type TickRecord } from '../runtime/trial.js';
import { formatSummary, newRunDir, writeRunFolder, type RunSummary } from '../runtime/run-folder.js';
import { MAX_PENDING, RunTally } from '../runtime/run-tally.js';
import { GatherWatch, recordPositions } from '../runtime/team-outcome.js';
import { TickSnapshot } from '../runtime/tick-snapshot.js';
import { TickSpool } from './tick-spool.js';
import { SwarmInbox, type TimeMode } from './inbox.js';
import { followPeers } from './participant.js';
import { runSession } from './session.js';
import { tickAtDue } from './tick-pump.js';

/**
 * Events on `.../events` not kept from the bus: the monitor's own (published by it, not taken back) and the feed's
 * and the agents' answers to orders (for the operator who gave them; an injection's ground truth is its start and end).
 */
const OWN_EVENT_KINDS: readonly string[] = ['flag', 'clear', 'isolate', 'isolation-end', 'probation', 'on-flag', 'order-refused', 'injection-order'];
/** Ticks of isolation masks sent again after an outage or when a participant comes (back) online. */
const RESEND_MASKS = 3;
/**
 * Live: a robot's motion over steps its bridge says it executed a stop on (a pose's `stop`: its agent's safety
 * stop, no command yet, the feed's watchdog or outage stop) is not scored, on at most `share` of its last `windowS` seconds of
 * the monitor's ticks; past that it is scored as any other. A stop is not its policy's command, but a robot that
 * stops on every other step and drives as it likes on the rest, while the monitor measures over both (it skips
 * ticks under load), would go unscored without the bound; with it, half its ticks still count, so an attack is
 * flagged at most about twice as late (the CUSUM neither grows nor decays on a tick not scored).
 */
export const STOP_EXCUSE = { windowS: 5, share: 0.5 } as const;

/** The agents' events the monitor keeps (its own flags and clears it does not take back from the bus). */
const AgentEventSchema = z.union([
  z.object({ tick: z.number().int().nonnegative(), kind: z.enum(['injection-start', 'injection-end']), robot: z.string().min(1), attack: z.string().min(1) }),
  z.object({ tick: z.number().int().nonnegative(), kind: z.literal('stop'), robot: z.string().min(1), reason: z.enum(STOP_REASONS) }),
  z.object({ tick: z.number().int().nonnegative(), kind: z.literal('attack-error'), robot: z.string().min(1), attack: z.string().min(1), problem: z.string() }),
  /** The operator's end of a robot's injections, as its agent carried it out. */
  z.object({ tick: z.number().int().nonnegative(), kind: z.literal('end-injection'), robot: z.string().min(1), reason: z.string().min(1) }),
]);

/** The feed's answers to the operator's e-stop and release (the robots its bridge stops, or no longer). */
const FeedEventSchema = z.object({
  tick: z.number().int().nonnegative(),
  kind: z.enum(['e-stop', 'release']),
  robots: z.array(z.string().min(1)).min(1),
  reason: z.string().min(1),
});

export class MonitorNode {
  readonly view: SwarmView;
  readonly inbox: SwarmInbox;
  readonly monitor: SwarmMonitor;
  /** The last tick, overwritten every tick (its record is built for the bus; the recording's ticks go to the spool). */
  readonly snapshot: TickSnapshot;
  /** The run's summary as it goes (no records kept): flagged ticks, the scored sets' gathering, the pictures. */
  readonly tally: RunTally;
  /** Ticks each robot was stopped by the safety layer, per reason. */
  readonly stops: Record<StopReason, number>;
  /**
   * Every tick, spooled to a scratch file, when the launch file records the run (the recording carries each
   * tick's compromised robots, which the agents' events bring late, so it is written after the run) or its
   * injections name more robots than the tally follows every scored set of (the scored robots' first
   * gathering is then read back from it: refollowed()).
   */
  readonly spool: TickSpool | null;
  /** Robots the launch file's injections name, and any an agent's injection event names: who may be compromised. */
  private readonly planned: Set<number>;
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
  /** P(compromised) in the belief network's training episodes, divided out of the beliefs (NaN: no belief network). */
  private readonly beliefPrior: number;
  /** Agents' events kept (one of each: an agent sends them again after an outage). */
  private readonly eventKeys = new Set<string>();
  /** The agents' events among `events`: numbered by the agents' due times, mapped onto this monitor's ticks by finish(). */
  private readonly fromAgents = new Set<RunEvent>();
  /** The due index of each tick run (live: ticks skipped under load leave gaps; lock-step: the tick itself). */
  private readonly dueOfTick: number[] = [];
  /** Live: the stamp of each robot's last pose the monitor has seen, and ticks not scored for want of data. */
  private readonly lastStamp: number[];
  gapTicks = 0;
  /** Lock-step: until then (after a reconnection) tick k is not run on the feed having moved past it. */
  private resyncUntil = 0;
  private readonly motion: (MeasuredMotion | null)[];
  /** Live: per robot, which of the last excuseWindow ticks its motion was not scored for a stop it executed (ring). */
  private readonly excused: Uint8Array;
  private readonly excusedCount: Int32Array;
  private readonly excuseWindow: number;
  private excuseAt = 0;
  /** Live, per robot: ticks not scored because it executed a stop, and stops scored because the bound was reached. */
  readonly stopTicksExcused: Int32Array;
  readonly stopTicksScored: Int32Array;
  /** What a flag does (monitor.onFlag), and which robots are isolated now: the single-process run's FlagResponse. */
  readonly response: FlagResponse;
  /** The last isolation masks published (sent again after an outage), oldest first. */
  private readonly recentMasks: Omit<IsolationMsg, 'v'>[] = [];
  /** The operator's last order not carried out yet (live runs): what a flag does from the next tick. */
  private order: OnFlag | null = null;
  /** Robots the feed says the operator e-stopped (its events): expected to stand still, as held ones. */
  private readonly eStopped: Uint8Array;

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
    this.monitor = new SwarmMonitor(s.robotIds, s.robots, launch.monitor, { periodS: s.controlPeriod, arena: { width: s.arenaWidth, height: s.arenaHeight } });
    this.safety = swarmSafety(s, launch.safety);
    this.intended = new Float32Array(2 * N);
    this.expected = new Float32Array(2 * N);
    this.commands = new Float32Array(2 * N);
    this.stopped = new Array<string | null>(N).fill(null);
    this.pairBeliefs = new Float64Array(N * N);
    this.beliefPrior = team.usesBeliefs ? trainingPrior(team.policy.manifest) : Number.NaN;
    this.lastStamp = new Array<number>(N).fill(Number.NaN);
    this.motion = new Array(N).fill(null);
    this.excuseWindow = Math.max(1, Math.round(STOP_EXCUSE.windowS / s.controlPeriod));
    this.excused = new Uint8Array(N * this.excuseWindow);
    this.excusedCount = new Int32Array(N);
    this.stopTicksExcused = new Int32Array(N);
    this.stopTicksScored = new Int32Array(N);
    this.snapshot = new TickSnapshot(N);
    this.tally = new RunTally(s.robotIds, s);
    this.stops = noStops();
    this.planned = new Set(launch.injections.map((inj) => inj.robot));
    this.spool = launch.record || this.planned.size > MAX_PENDING ? new TickSpool(N) : null;
    team.setForgetAfter(launch.forgetAfterTicks);
    team.resetEnv(0);
    // What a flag does, exactly as TrialRun: the mask its view observes through, the hold its safety layer
    // expects of a held robot; and the run says what flags do from the start.
    this.response = new FlagResponse(s.robotIds, launch.onFlag, Math.max(1, Math.round(PROBATION_S / s.controlPeriod)));
    this.view.isolateWith(this.response.isolated);
    this.eStopped = new Uint8Array(s.robotIds.length);
    this.safety.holdWhere((i) => this.response.holds(i) || this.eStopped[i] === 1);
    if (this.response.onFlag !== 'report') this.events.push({ tick: 0, kind: 'on-flag', onFlag: this.response.onFlag, reason: 'launch' });
  }

  /** Whether flags act (isolate, isolate-and-stop): then the agents and the feed wait for every tick's mask. */
  get isolating(): boolean {
    return this.response.onFlag !== 'report';
  }

  /**
   * An operator's order from the bus. Live runs only: lock-step reproduces the launch file's trial (and its
   * agents wait for masks only when the file says flags act). Carried out after the current tick.
   */
  take(msg: Pick<ControlMsg, 'onFlag'>, log: (line: string) => void): void {
    if (this.inbox.mode !== 'live') {
      return log(`swarmguard monitor: operator order (onflag ${msg.onFlag}) refused: the run is lock-step, which reproduces the launch file's trial; orders are for live runs`);
    }
    try {
      this.order = parseOnFlag(msg.onFlag, 'operator order onFlag');
      log(`swarmguard monitor: operator order: flags ${this.order} from the next tick`);
    } catch (err) {
      log(`swarmguard monitor: operator order refused: ${(err as Error).message}`);
    }
  }

  /** Publishes the mask of tick `tick` (FlagResponse.isolated now) and keeps it in this process's inbox. */
  private publishMask(tick: number): void {
    const ids = this.launch.settings.robotIds;
    const mask = this.response.isolated;
    const msg = { tick, leftOut: ids.filter((_, i) => mask[i] === LEFT_OUT), held: ids.filter((_, i) => mask[i] === HELD_STILL) };
    this.inbox.isolation(msg);
    this.bus.publish(this.topics.isolation, msg, ISOLATION_QOS);
    this.recentMasks.push(msg);
    if (this.recentMasks.length > RESEND_MASKS) this.recentMasks.shift();
  }

  /** The last masks again (after an outage, or to a participant back online); receivers keep one per tick. */
  private resendMasks(): void {
    for (const m of this.recentMasks) this.bus.publish(this.topics.isolation, m, ISOLATION_QOS);
  }

  /**
   * Lock-step: tick k has everything (poses, every command, every belief), or the feed has moved past it. Not
   * the latter for a while after the monitor's own connection came back: what was in flight when it went (the
   * feed may have had it, this process not) is sent again by the agents, and waited for up to stepTimeoutMs.
   */
  complete(k: number): boolean {
    const N = this.launch.settings.robotIds.length;
    if (this.inbox.newestPoseTick > k && Date.now() >= this.resyncUntil) return true;
    const live = N - this.agentGone.size;
    return this.inbox.posesHeard(k) === N && this.inbox.commandsHeard(k) >= live && (!this.team.usesBeliefs || this.inbox.beliefsHeard(k) >= live);
  }

  async subscribe(onMessage: () => void, log: (line: string) => void = () => {}): Promise<void> {
    const t = this.topics;
    await this.bus.subscribe(t.control('monitor'), 'control', CONTROL_QOS, (_topic, msg) => this.take(msg, log));
    this.bus.onConnection((up) => {
      if (up) this.resendMasks();
      if (this.inbox.mode !== 'lockstep') return;
      // From the loss on (messages come before the subscriptions are all renewed) until the wait is over.
      if (!up) return void (this.resyncUntil = Infinity);
      const wait = this.launch.distributed?.stepTimeoutMs ?? 0;
      this.resyncUntil = Date.now() + wait;
      // Looked at again when the wait is over, whatever comes meanwhile.
      setTimeout(onMessage, wait + 1).unref();
    });
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
      if (e.success && this.launch.settings.robotIds.includes(e.data.robot)) {
        const key = JSON.stringify(e.data);
        if (!this.eventKeys.has(key)) {
          this.events.push(e.data);
          this.fromAgents.add(e.data);
        }
        if (e.data.kind === 'injection-start') this.planned.add(this.launch.settings.robotIds.indexOf(e.data.robot));
        this.eventKeys.add(key);
        return;
      }
      // The feed's e-stop or release: recorded at this monitor's tick (when it knew), the robots expected still or not.
      const f = FeedEventSchema.safeParse(msg);
      const ids = this.launch.settings.robotIds;
      if (f.success && f.data.robots.every((id) => ids.includes(id))) {
        for (const id of f.data.robots) this.eStopped[ids.indexOf(id)] = f.data.kind === 'e-stop' ? 1 : 0;
        for (const robot of f.data.robots) this.events.push({ tick: this.tally.ticks, kind: f.data.kind, robot, reason: f.data.reason });
      } else if (!OWN_EVENT_KINDS.includes(msg.kind)) this.ignoredEvents++;
    });
    // The feed back online (its own reconnection: masks in flight may be lost for it) gets the last masks again.
    await this.bus.subscribe(t.status('feed'), 'status', DEFAULT_QOS.status, (_topic, msg) => {
      if (msg.state === 'online') this.resendMasks();
    });
    // An agent gone is its own loss (its clean exit, or its will while our connection stays up), never a
    // broker restart (followPeers).
    await followPeers(this.bus, t, `${t.prefix}/status/agent/+`, (role, event, msg) => {
      const id = role.slice('agent/'.length);
      const i = this.launch.settings.robotIds.indexOf(id);
      if (i < 0) return;
      // Only an agent seen online in this run can go (a retained `offline` may be an earlier run's). Gone,
      // its robot is stopped by the feed; only one that did not end its run (`done`) is reported.
      if (event === 'gone' && this.agentSeen.has(i) && !this.agentGone.has(i)) {
        this.agentGone.add(i);
        this.inbox.agentGone(id, true);
        if (msg.done !== true) this.offline.push({ role, tick: this.tally.ticks });
      } else if (event === 'online') {
        this.resendMasks();
        this.agentSeen.add(i);
        this.agentGone.delete(i);
        this.inbox.agentGone(id, false);
      }
      onMessage();
    });
  }

  /** One tick of the monitor at clock `nowMs`, from tick k's poses, commands and beliefs as heard. */
  async step(k: number, nowMs: number, due: number): Promise<void> {
    this.dueOfTick.push(due);
    const { robotIds: ids } = this.launch.settings;
    const N = ids.length;
    const timed = this.inbox.posesAt(k);
    // Live: which robots executed a stop over the steps since the last poses taken (taken with these poses).
    const stops = this.inbox.mode === 'live' ? this.inbox.takeExecutedStops() : null;
    const poses = this.view.usable(timed);
    this.view.update(poses);
    // What each robot's policy intends from its own observation (the whole team, batched, as deployed).
    await this.team.act(this.view, this.intended);
    // What a benign robot would execute: the policy's command through the safety layer, as `swarmguard run` expects.
    this.safety.checkAllInto(this.intended, timed, nowMs, this.expected);
    // Beliefs as the agents published them: observer i counts for j if j was in i's range (in i's message).
    let beliefs = null;
    if (this.team.usesBeliefs) {
      const heard = this.inbox.beliefsAt(k);
      this.pairBeliefs.fill(0);
      for (const [i, about] of heard) for (let j = 0; j < N; j++) this.pairBeliefs[i * N + j] = about[ids[j]!] ?? 0;
      beliefs = aggregateBeliefs(this.pairBeliefs, 1, N, (i, j) => heard.get(i)?.[ids[j]!] !== undefined, this.beliefPrior);
    }
    const alerts = this.scoring(timed, nowMs, stops) ? this.monitor.update(k, { poses, motion: this.motion, policyCommandsAfterSafety: this.expected, beliefs }) : [];
    // Tick k's commands as the robots were sent them (a robot held at tick k executed zero): next tick's
    // observations carry them.
    this.inbox.commandsBefore(k + 1, this.commands, this.stopped);
    this.view.sent(this.commands);
    // What the flags do, from tick k+1 on (the single-process run's timing): its mask goes out at once, the
    // agents and the feed wait for it (lock-step).
    const isolation = this.response.update(k, this.monitor.flagged);
    // An operator's order (live): what flags do from tick k+1 on; switched to report, the robots isolated are
    // released and that last, empty mask still goes out (the agents and the feed keep the last mask heard).
    const released = this.order === 'report' && this.isolating;
    if (this.order !== null) {
      isolation.push(...this.response.set(this.order, k, this.monitor.flagged, 'operator'));
      this.order = null;
    }
    if (this.isolating || released) this.publishMask(k + 1);
    const record = this.writeTick(k, nowMs, poses, beliefs);
    const first = k === 0 ? this.events.filter((e) => e.kind === 'on-flag') : [];
    this.events.push(...alerts, ...isolation);
    publishVerdicts(this.bus, this.topics, DEFAULT_QOS, ids, record, [...first, ...alerts, ...isolation]);
    this.inbox.done(k);
  }

  /**
   * Tick k into the snapshot, the tally, the stop counts and the spool; its record (for the bus).
   * No robot is compromised in it yet: the ground truth comes with the agents' events (finish()).
   */
  private writeTick(k: number, nowMs: number, poses: readonly { x: number; y: number; theta: number }[], beliefs: { observers: ArrayLike<number> } | null): TickRecord {
    const s = this.snapshot;
    s.tick = k;
    s.timeMs = nowMs;
    s.hasTruePoses = false;
    s.intended.set(this.intended);
    s.commands.set(this.commands);
    this.stopped.forEach((reason, i) => {
      const known = reason !== null && (STOP_REASONS as readonly string[]).includes(reason) ? (reason as StopReason) : null;
      s.stopped[i] = known;
      if (known) this.stops[known]++;
    });
    writeMonitorView(s, this.view, poses, beliefs, this.monitor);
    s.compromised = [];
    this.tally.add(s, [...this.planned]);
    this.spool?.write(s);
    return s.toRecord();
  }

  /**
   * Whether this tick is scored, and the motion to score (this.motion). Lock-step: always, the view's motion.
   * Live: not while the monitor is cut off from the broker or every pose is stale (a tick without data), and
   * a robot's motion measured across a gap in its poses (longer than safety.maxPoseAgeMs: the broker or its
   * tracker was away, the robot held stopped meanwhile) is not scored.
   */
  private scoring(timed: readonly ({ stampMs: number } | null)[], nowMs: number, stops: readonly boolean[] | null): boolean {
    const motion = this.view.motion;
    if (this.inbox.mode === 'lockstep') {
      motion.forEach((m, j) => (this.motion[j] = m));
      return true;
    }
    const maxAge = this.launch.safety.maxPoseAgeMs;
    const fresh = timed.some((q) => q !== null && nowMs - q.stampMs <= maxAge);
    const W = this.excuseWindow;
    const slot = this.excuseAt++ % W;
    timed.forEach((q, j) => {
      const stamp = q?.stampMs ?? Number.NaN;
      const across = !(stamp - this.lastStamp[j]! <= maxAge);
      this.motion[j] = across ? null : motion[j]!;
      if (Number.isFinite(stamp)) this.lastStamp[j] = stamp;
      // A stop its bridge executed is not its policy's motion: not scored, within the bound (STOP_EXCUSE). An
      // e-stop the feed has told of is no excuse: the robot is expected still (its motion scored against zero).
      this.excusedCount[j]! -= this.excused[j * W + slot]!;
      this.excused[j * W + slot] = 0;
      if (this.motion[j] === null || !stops?.[j] || this.eStopped[j] === 1) return;
      if (this.excusedCount[j]! < STOP_EXCUSE.share * W) {
        this.motion[j] = null;
        this.excused[j * W + slot] = 1;
        this.excusedCount[j]!++;
        this.stopTicksExcused[j]!++;
      } else this.stopTicksScored[j]!++;
    });
    if (this.bus.connected && fresh) return true;
    this.gapTicks++;
    return false;
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

  /**
   * The run's events in tick order, and the compromised robots of every tick from the agents' ground truth
   * (told to the tally as well).
   */
  finish(): { compromisedAt: (tick: number) => number[]; events: RunEvent[] } {
    const ids = this.launch.settings.robotIds;
    // Within a tick, the single-process run's order: the ground truth in the launch file's order, then safety
    // stops, then flags and clears, by robot, then what the flags did, by robot (agents' events arrive in
    // whatever order the agents ran); what flags do is said before anything else.
    const rank = (e: RunEvent): number => {
      if (e.kind === 'on-flag') return -1;
      if (e.kind === 'injection-start' || e.kind === 'injection-end') {
        return this.launch.injections.findIndex((inj) => ids[inj.robot] === e.robot && (e.kind === 'injection-start' ? inj.fromTick : inj.toTick) === e.tick);
      }
      const robot = 'robot' in e && e.robot !== undefined ? ids.indexOf(e.robot) : 0;
      const isolation = e.kind === 'isolate' || e.kind === 'isolation-end' || e.kind === 'probation';
      return (e.kind === 'stop' ? 1 : isolation ? 3 : 2) * 1e6 + robot;
    };
    // An agent numbers a tick by its due time; this monitor by the ticks it ran (its recording's ticks follow
    // on). Live, either may skip ticks under load: its events go to the first tick this monitor ran at or after
    // their due time (lock-step: the same tick). The rank is the agent's own (the launch file's injection ticks).
    const ownTick = tickAtDue(this.dueOfTick);
    const events = this.events
      .map((e, i) => ({ e: this.fromAgents.has(e) ? { ...e, tick: ownTick(e.tick) } : e, rank: rank(e), i }))
      .sort((a, b) => a.e.tick - b.e.tick || a.rank - b.rank || a.i - b.i)
      .map((x) => x.e);
    const compromisedAt = injectedAt(events, ids);
    this.tally.settleCompromised(compromisedAt);
    return { compromisedAt, events };
  }
}

/**
 * The never-compromised robots' first gathering read back from the spooled ticks, where the tally did not
 * follow them from the first tick (more robots named by injections than it follows every scored set of, or
 * a robot no injection of the launch file names); undefined where it did, or with no spool.
 */
export function refollowed(tally: RunTally, spool: TickSpool | null, gatherDiameter: number): GatherWatch | undefined {
  if (tally.scoredFollowedThroughout || !spool) return undefined;
  const watch = new GatherWatch(spool.robots, tally.everCompromised);
  for (const r of spool.records(() => [])) {
    watch.add(recordPositions(r), gatherDiameter);
    if (watch.firstTick !== null) break;
  }
  return watch;
}

/**
 * The robots compromised at a tick by the agents' injection events (in the run's order): a robot from its
 * injection-start until its next injection-end, listed in the order of the starts.
 */
export function injectedAt(events: readonly RunEvent[], ids: readonly string[]): (tick: number) => number[] {
  const spans: { robot: number; from: number; to: number }[] = [];
  for (const e of events) {
    if (e.kind !== 'injection-start') continue;
    const to = events.find((x) => x.kind === 'injection-end' && x.robot === e.robot && x.tick > e.tick)?.tick ?? Infinity;
    spans.push({ robot: ids.indexOf(e.robot), from: e.tick, to });
  }
  return (tick) => {
    const robots: number[] = [];
    for (const s of spans) if (tick >= s.from && tick < s.to && !robots.includes(s.robot)) robots.push(s.robot);
    return robots;
  };
}

export interface MonitorRunOptions {
  broker?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface MonitorRunResult extends RunSummary {
  events: RunEvent[];
  offline: { role: string; tick: number }[];
}

/** Runs the monitor of a distributed run for the launch file's duration; prints the summary, writes the run folder. */
export async function runMonitor(path: string, o: MonitorRunOptions = {}): Promise<MonitorRunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  return runSession(path, { role: 'monitor', user: 'monitor', broker: o.broker, log }, async (session) => {
    const { launch, team, participant: p, watch } = session;
    const bus = p.bus;
    const node = new MonitorNode(launch, team, bus, p.topics, p.config.mode);
    // The spool file goes however the run ends (its recording written or not).
    session.closers.push(() => node.spool?.dispose());
    // Its own lost connections, by tick (reported; live, those ticks are not scored).
    const outages: { fromTick: number; toTick: number | null }[] = [];
    session.closers.push(
      bus.onConnection((up) => {
        if (!up) outages.push({ fromTick: node.tally.ticks, toTick: null });
        else if (outages.at(-1)?.toTick === null) outages.at(-1)!.toTick = node.tally.ticks;
      }),
    );
    const ran = await session.tick({ inbox: node.inbox, subscribe: (onMessage) => node.subscribe(onMessage, log), complete: (k) => node.complete(k), step: (k, nowMs, due) => node.step(k, nowMs, due) }, o.signal);
    // Live processes count their own ticks: a feed that ended its run ends the run, a tick short or not.
    let interrupted = p.config.mode === 'lockstep' ? ran < launch.ticks : ran < launch.ticks && !(watch.ended && !watch.ended.interrupted);
    if (watch.gaveUp || watch.ended?.interrupted) interrupted = true;
    for (const g of outages) log(`swarmguard monitor: lost the broker at tick ${g.fromTick}, back ${g.toTick === null ? 'never' : `at tick ${g.toTick}`}${p.config.mode === 'live' ? ' (those ticks not scored)' : ''}`);
    if (node.gapTicks) log(`swarmguard monitor: ${node.gapTicks} tick(s) without data not scored`);
    const perRobot = (counts: Int32Array) => launch.settings.robotIds.flatMap((id, i) => (counts[i]! > 0 ? [`${id} ${counts[i]}`] : [])).join(', ');
    if (node.stopTicksExcused.some((n) => n > 0)) log(`swarmguard monitor: ticks not scored for a stop the robot executed (its poses say so): ${perRobot(node.stopTicksExcused)}`);
    if (node.stopTicksScored.some((n) => n > 0)) log(`swarmguard monitor: stops scored past the bound (${STOP_EXCUSE.share * 100}% of ${STOP_EXCUSE.windowS} s excused at most): ${perRobot(node.stopTicksScored)}`);
    if (!o.signal?.aborted) await node.agentsLeft(5000);
    const { compromisedAt, events } = node.finish();
    for (const off of node.offline) log(`swarmguard monitor: ${off.role} went offline at tick ${off.tick}`);
    const tally = node.tally;
    const isolations = summariseIsolations(events, launch.settings.robotIds, (t) => tally.compromisedAt(t), tally.ticks, launch.settings.controlPeriod, node.response.onFlag);
    const uncompromised = tally.uncompromised(refollowed(tally, node.spool, launch.settings.gatherDiameter));
    const summary: RunSummary = { runDir: newRunDir(launch), ticks: tally.ticks, outcomes: tally.outcomes(events), uncompromised, stops: { ...node.stops }, scheduler: null, links: null, interrupted, isolations };
    writeRunFolder(summary, launch, team.name, tally.history, events);
    const { spool } = node;
    if (launch.record && spool) await recordFinishedRun(summary.runDir, launch, launch.record, { name: team.name, dir: launch.policyDir, files: team.fileHashes }, spool.records(compromisedAt), spool.lastTick, events);
    for (const line of formatSummary(summary, launch)) log(line);
    if (node.ignoredEvents || bus.refusedTotal()) log(`swarmguard monitor: ${bus.refusedTotal()} payloads refused, ${node.ignoredEvents} events ignored`);
    return { ...summary, events, offline: node.offline };
  });
}
