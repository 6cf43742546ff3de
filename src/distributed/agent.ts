// `swarmguard agent --robot <id> <launch.yaml>`: one robot's controller in its own process, fed only by the
// bus. It hears every robot's pose and command (robot i's observation holds its neighbours' poses, speeds
// and last commands, exactly as the single-process controller builds it: the same SwarmView and observation
// code), runs its own actor and its own row of the belief network (OnnxTeam hosting one robot: bit-identical
// to the batched run), runs its robot's safety layer, and publishes its belief (first) and its command. In a
// trial, the agent of an injected robot runs the injection itself and publishes its ground truth on
// `.../events`. Lock-step: tick k runs when tick k's poses have come (and, when flags act, tick k's isolation
// mask from the monitor); live: at the control period on its own clock, with the latest mask heard. The mask
// leaves robots out of this agent's observation and belief pairs; a robot it holds still (isolate-and-stop) is
// stopped by its bridge (the feed), not by its agent, which a compromise may have taken over: the others take
// its command as zero, and this agent's own safety layer holds it too only so that what it publishes (its
// command's `stopped`, its stop event) says so, as the single-process run's does.
// Live, in a trial, the operator may inject an attack over the bus (`swarmguard operator <launch> inject`,
// `.../control/agents`): every agent hears the order and starts it at the tick the order names, the victim's
// running it (and publishing its ground truth), every other making its draws from the run's stream, as
// for the launch file's injections (appended after them, in the order the orders came). The operator's `end`
// of a robot's injections is placed the same way: every agent ends them at the tick the order names.
import { makeStreams, type RandomStream } from '../core/random.js';
import { HELD_STILL, PAIR_DIM } from '../core/observation.js';
import type { BusClient } from '../links/mqtt/client.js';
import type { AgentOrderMsg, CmdMsg, EndInjectionOrderMsg, InjectOrderMsg } from '../links/mqtt/schemas.js';
import { beliefAbout } from '../links/mqtt/service.js';
import { CONTROL_QOS, DEFAULT_QOS, ISOLATION_QOS, type SwarmTopics } from '../links/mqtt/topics.js';
import { OnnxTeam } from '../policy/team.js';
import { attackName, isBuiltinAttack, loadAttack, type Attack } from '../attacks/attack.js';
import { injectionTicks, robotIndices } from '../runtime/injection-timing.js';
import type { Launch } from '../launch/launch.js';
import type { SafetyLayer, StopReason } from '../runtime/safety.js';
import { SwarmView } from '../runtime/swarm-view.js';
import { compromisedCommand, groundTruth, isActive, swarmSafety, type Injection, type ModuleContext, type RunEvent } from '../runtime/trial.js';
import { agentUser, hearsMasks } from './config.js';
import { SwarmInbox, type TimeMode } from './inbox.js';
import { followPeers } from './participant.js';
import { runSession } from './session.js';
import { UserError } from '../core/user-error.js';

/** Ticks of beliefs and commands sent again after an outage: those that can have been in flight when it began. */
const RESEND_TICKS = 3;

export class RobotAgent {
  readonly view: SwarmView;
  readonly inbox: SwarmInbox;
  readonly events: RunEvent[] = [];
  readonly id: string;
  /** Ticks run. */
  ticks = 0;
  private readonly safety: SafetyLayer;
  private readonly rng: RandomStream;
  private readonly intended: Float32Array;
  private readonly commands: Float32Array;
  private readonly pairs: Float32Array;
  /** The injections of this agent's robot (trial mode), which it runs itself. */
  readonly plan: Injection[];
  /** Every robot's injections (trial mode): their draws from the run's random stream are made here too. */
  private readonly injections: Injection[];
  private readonly started = new Set<Injection>();
  private lastStop: StopReason | null = null;
  /** The last ticks' beliefs and commands as published (sent again after an outage), oldest first. */
  private readonly recent: { tick: number; belief: object | null; cmd: object }[] = [];
  /** Times the last ticks' beliefs and commands were published again after an outage. */
  resent = 0;
  /** This tick's isolation mask (the monitor's; LEFT_OUT / HELD_STILL at a robot's index), which the view observes through. */
  private readonly mask: Uint8Array;
  /** Whether flags act (monitor.onFlag isolate, isolate-and-stop): then every tick waits for its mask (lock-step). */
  readonly isolating: boolean;
  /** Live: injections ordered over the bus, their attack loaded, waiting for the next tick to place them. */
  private readonly ordered: ({ msg: InjectOrderMsg; robots: number[]; attack: Attack | null } | { msg: EndInjectionOrderMsg; robots: number[] })[] = [];
  /** The operator's injection orders taken one at a time, in the order they came (the mirrored draws' order). */
  private orders: Promise<void> = Promise.resolve();
  /** Attacks loaded for the operator's injections (released at the end). */
  private readonly loaded: Attack[] = [];
  /** Operator orders this agent refused (lock-step, not a trial, unknown robot, an attack that does not load). */
  ordersRefused = 0;
  private lastDue = 0;
  private log: (line: string) => void = () => {};

  constructor(
    private readonly launch: Launch,
    readonly robot: number,
    private readonly team: OnnxTeam,
    private readonly bus: BusClient,
    private readonly topics: SwarmTopics,
    mode: TimeMode,
  ) {
    const s = launch.settings;
    const N = s.robotIds.length;
    this.id = s.robotIds[robot]!;
    this.view = SwarmView.forPolicy(team, N, s.controlPeriod);
    this.inbox = new SwarmInbox(s.robotIds, mode);
    this.safety = swarmSafety(s, launch.safety);
    // The run's one seeded stream, as in the single-process run (faults and observation noise draw from it;
    // every agent keeps its copy in step by making the other robots' draws too, see step()).
    this.rng = makeStreams(launch.seed, 1)[0]!;
    this.intended = new Float32Array(2 * N);
    this.commands = new Float32Array(2 * N);
    this.pairs = new Float32Array(N * N * PAIR_DIM);
    this.injections = launch.trial ? [...launch.injections] : [];
    this.plan = this.injections.filter((inj) => inj.robot === robot);
    this.isolating = launch.onFlag !== 'report';
    this.mask = new Uint8Array(N);
    this.view.isolateWith(this.mask);
    this.safety.holdWhere((j) => this.mask[j] === HELD_STILL);
    team.host([robot], N);
    team.setForgetAfter(launch.forgetAfterTicks);
    team.resetEnv(0);
  }

  /**
   * Subscribes to every robot's poses and commands and to the other agents' and the monitor's statuses. After
   * a broker outage (lock-step) the last ticks' beliefs and commands go out again (messages in flight when the broker went
   * are lost, for some receivers and not others): on a repeated pose of its own robot for a tick it has run
   * (the lock-step feed publishing that tick again), on its own reconnection, and when the monitor comes back,
   * which also gets every event of this agent again. Receivers keep one of each.
   */
  async subscribe(onPose: () => void, log: (line: string) => void = () => {}): Promise<void> {
    this.log = log;
    await this.bus.subscribe(this.topics.everyRobot('pose'), 'pose', DEFAULT_QOS.pose, (topic, msg, receivedMs) => {
      const r = this.topics.parseRobot(topic);
      if (r) this.inbox.pose(r.id, msg, receivedMs);
      if (r?.id === this.id && msg.tick !== undefined && this.recent.some((x) => x.tick === msg.tick)) this.resend();
      onPose();
    });
    await this.bus.subscribe(this.topics.everyRobot('cmd'), 'cmd', DEFAULT_QOS.cmd, (topic, msg) => {
      const r = this.topics.parseRobot(topic);
      if (r) this.inbox.command(r.id, msg);
    });
    // Another agent gone (crashed: its last will; or stopped): its robot is stopped by the feed from then on.
    await followPeers(this.bus, this.topics, `${this.topics.prefix}/status/agent/+`, (role, event) => {
      const id = role.slice('agent/'.length);
      if (id !== this.id) this.inbox.agentGone(id, event === 'gone');
    });
    await this.bus.subscribe(this.topics.status('monitor'), 'status', DEFAULT_QOS.status, (_t, msg) => {
      if (msg.state !== 'online' || msg.ready !== true) return;
      for (const e of this.events) this.bus.publish(this.topics.events, e, DEFAULT_QOS.events);
      this.resend();
    });
    this.bus.onConnection((up) => up && this.resend());
    await this.bus.subscribe(this.topics.control('agents'), 'agent-order', CONTROL_QOS, (_t, msg) => {
      this.orders = this.orders.then(() => this.takeOrder(msg));
    });
    if (!hearsMasks(this.launch.onFlag, this.inbox.mode)) return;
    await this.bus.subscribe(this.topics.isolation, 'isolation', ISOLATION_QOS, (_t, msg) => {
      this.inbox.isolation(msg);
      onPose();
    });
    // The monitor gone (its exit, or its will while our connection stays up): nobody can clear an isolation any
    // more, so the last mask heard stays in force (lock-step: not waited for again), until it is back.
    await followPeers(this.bus, this.topics, this.topics.status('monitor'), (_role, event) => {
      const gone = event === 'gone';
      if (gone !== this.inbox.monitorGone) log(`swarmguard agent ${this.id}: the monitor ${gone ? 'is gone: its last isolation mask stays in force' : 'is back'}`);
      this.inbox.monitorGone = gone;
      onPose();
    });
  }

  /**
   * The operator's injection (live trials): checked as the launch file's are, its attack loaded where it is needed
   * (the victim's agent always; the others only for an attack that draws from the run's stream, a fault or
   * observation noise), then placed at the next tick. A victim's agent answers on `.../events`: `order-refused`
   * with why, or (placed) `injection-order` with the ticks. The end of injections is checked (trial, robots) and
   * placed the same way (endOrdered).
   */
  private async takeOrder(msg: AgentOrderMsg): Promise<void> {
    const s = this.launch.settings;
    const mine = msg.robots.includes(this.id);
    const words = msg.kind === 'inject' ? `inject ${msg.robots.join(',')} ${msg.attack}` : `end ${msg.robots.join(',')}`;
    const refuse = (why: string) => {
      this.ordersRefused++;
      this.log(`swarmguard agent ${this.id}: operator order ${words} refused: ${why}`);
      if (mine) this.bus.publish(this.topics.events, { tick: this.lastDue, kind: 'order-refused', order: msg.order, robot: this.id, why }, DEFAULT_QOS.events);
    };
    if (this.inbox.mode !== 'live') return refuse("the run is lock-step, which reproduces the launch file's trial; orders are for live runs");
    if (!this.launch.trial) return refuse('injections: refused outside trial mode (set trial: true)');
    if (msg.kind === 'end-injection') {
      try {
        this.ordered.push({ msg, robots: robotIndices(msg.robots, s.robotIds) });
      } catch (err) {
        refuse((err as Error).message);
      }
      return;
    }
    let robots: number[];
    let attack: Attack | null = null;
    try {
      robots = robotIndices(msg.robots, s.robotIds);
      injectionTicks({ at: 0, duration: msg.seconds, on: msg.on, off: msg.off }, s.controlPeriod, 0);
      if (msg.attack === 'none') throw new UserError("'none' compromises nothing");
      if (mine || isBuiltinAttack(msg.attack)) {
        attack = await loadAttack(msg.attack, s);
        this.loaded.push(attack);
      }
    } catch (err) {
      return refuse((err as Error).message);
    }
    this.ordered.push({ msg, robots, attack });
  }

  /**
   * The operator's injections loaded since the last tick, placed from the tick they name (this tick at the
   * latest: an order heard late starts late here, said in the log line), after the launch file's and the earlier
   * orders' (every agent in the same order).
   */
  private placeOrdered(due: number): void {
    const s = this.launch.settings;
    this.lastDue = due;
    for (const order of this.ordered.splice(0)) {
      if (!('attack' in order)) {
        this.endOrdered(order.msg, order.robots, due);
        continue;
      }
      const { msg, robots, attack } = order;
      const from = Math.max(due, msg.fromTick);
      const timing = injectionTicks({ at: 0, duration: msg.seconds, on: msg.on, off: msg.off }, s.controlPeriod, from);
      const role = robots.includes(this.robot) ? 'running it' : attack ? 'making its draws from the run\'s stream' : 'it draws nothing here';
      const late = from > msg.fromTick ? `; heard late: ordered from tick ${msg.fromTick}` : '';
      this.log(`swarmguard agent ${this.id}: operator's injection of ${msg.attack} into ${msg.robots.join(', ')}, ticks ${timing.fromTick} to ${timing.toTick - 1} (${role}${late})`);
      for (const robot of robots) {
        // An attack that draws nothing (a trained adversary, a module) is the victim's alone.
        if (!attack) continue;
        const inj: Injection = { robot, ...timing, attack };
        this.injections.push(inj);
        if (robot !== this.robot) continue;
        this.plan.push(inj);
        const answer = { tick: due, kind: 'injection-order', order: msg.order, robot: this.id, attack: attackName(attack), fromTick: timing.fromTick, toTick: timing.toTick };
        this.bus.publish(this.topics.events, answer, DEFAULT_QOS.events);
      }
    }
  }

  /**
   * The operator's end of injections, at the tick it names (this tick at the latest): every injection of those
   * robots acting or planned then no longer acts from it, in every agent's copy (the draws stay mirrored). A
   * victim's agent answers `end-injection` (the run's event, recorded by the monitor), or `order-refused` when its robot had none to end.
   */
  private endOrdered(msg: EndInjectionOrderMsg, robots: readonly number[], due: number): void {
    const at = Math.max(due, msg.atTick);
    const late = at > msg.atTick ? `; heard late: ordered at tick ${msg.atTick}` : '';
    const ended = new Set<number>();
    for (const inj of this.injections) {
      if (!robots.includes(inj.robot) || inj.toTick <= at) continue;
      inj.toTick = Math.max(inj.fromTick, at);
      ended.add(inj.robot);
    }
    this.log(`swarmguard agent ${this.id}: operator's end of the injections on ${msg.robots.join(', ')} at tick ${at}${late}`);
    if (!robots.includes(this.robot)) return;
    const answer = ended.has(this.robot)
      ? { tick: at, kind: 'end-injection', order: msg.order, robot: this.id, reason: 'operator' }
      : { tick: due, kind: 'order-refused', order: msg.order, robot: this.id, why: `no injection on ${this.id} is running or planned` };
    if (!ended.has(this.robot)) this.ordersRefused++;
    this.bus.publish(this.topics.events, answer, DEFAULT_QOS.events);
  }

  /** The attacks loaded for the operator's injections released (the run is over). */
  async release(): Promise<void> {
    await this.orders;
    await Promise.all(this.loaded.map((a) => (a.kind === 'adversary' ? a.adversary.release() : undefined)));
  }

  /** Lock-step: whether tick k can run (its poses, and its isolation mask when flags act). */
  complete(k: number): boolean {
    const N = this.launch.settings.robotIds.length;
    const poses = this.inbox.posesHeard(k) === N || this.inbox.newestPoseTick > k;
    return poses && (!this.isolating || this.inbox.isolationHeard(k));
  }

  /**
   * Lock-step: the last ticks' beliefs and commands published again, oldest first (their receivers keep one of
   * each). Never live, where a robot executes whatever command comes: an old one must not come late.
   */
  private resend(): void {
    if (this.recent.length === 0 || this.inbox.mode !== 'lockstep') return;
    for (const sent of this.recent) {
      if (sent.belief) this.bus.publish(this.topics.robot(this.id, 'belief'), sent.belief, DEFAULT_QOS.belief);
      this.bus.publish(this.topics.robot(this.id, 'cmd'), sent.cmd, DEFAULT_QOS.cmd);
    }
    this.resent++;
  }

  /** Stops counted by the safety layer (robot-ticks per reason). */
  get stops(): Record<StopReason, number> {
    return this.safety.stops;
  }

  /** One control tick at clock `nowMs`: tick k's poses and tick k-1's commands as heard (lock-step). */
  async step(k: number, nowMs: number): Promise<void> {
    const i = this.robot;
    if (this.inbox.mode === 'live') this.placeOrdered(k);
    const events = groundTruth(this.plan, this.started, k, this.launch.settings.robotIds);
    // Tick k's isolation mask (the view observes through it; the safety layer holds this robot if it says so).
    this.inbox.isolationAt(k, this.mask);
    // Every robot's last command goes into the observations (the neighbour rows carry them; a robot held at
    // tick k-1, or e-stopped at its bridge, executed zero).
    this.inbox.commandsBefore(k, this.commands);
    this.inbox.zeroEStopped(this.commands);
    this.view.sent(this.commands);
    const timed = this.inbox.posesAt(k);
    this.view.update(this.view.usable(timed));
    await this.team.act(this.view, this.intended);
    const command = this.intended.slice(2 * i, 2 * i + 2);
    // Every injection active now, in the launch file's order as the single-process run takes them: this
    // robot's is run; the others' only make their draws from the run's one random stream (ours is a copy).
    for (const inj of this.injections) {
      if (!isActive(inj, k)) continue;
      const mine = inj.robot === i;
      const out = new Float32Array(2);
      const s = this.launch.settings;
      const modules: ModuleContext = {
        ids: s.robotIds,
        controlPeriod: s.controlPeriod,
        arena: this.safety.arena,
        report: (problem) => events.push({ tick: k, kind: 'attack-error', robot: this.id, attack: attackName(inj.attack), problem }),
      };
      if (await compromisedCommand(inj, k, { view: this.view, intended: this.intended, team: this.team, rng: this.rng, modules }, out, !mine)) command.set(out);
    }
    const safe = this.safety.filter(i, command[0]!, command[1]!, timed[i] ?? null, nowMs);
    if (safe.stopped !== this.lastStop && safe.stopped !== null) events.push({ tick: k, kind: 'stop', robot: this.id, reason: safe.stopped });
    this.lastStop = safe.stopped;
    for (const e of events) this.bus.publish(this.topics.events, e, DEFAULT_QOS.events);
    this.events.push(...events);
    const belief = this.team.usesBeliefs ? this.publishBelief(k) : null;
    // What was sent, as the single-process run keeps it (float32): every process observes the same value.
    const cmd: Omit<CmdMsg, 'v'> = { t: Math.max(0, nowMs), tick: k, left: Math.fround(safe.left), right: Math.fround(safe.right), ...(safe.stopped ? { stopped: safe.stopped } : {}) };
    this.inbox.command(this.id, { v: 1, ...cmd });
    // The belief went first: whoever gets this command (and the feed's next poses after it) has the belief too.
    this.bus.publish(this.topics.robot(this.id, 'cmd'), cmd, DEFAULT_QOS.cmd);
    this.recent.push({ tick: k, belief, cmd });
    if (this.recent.length > RESEND_TICKS) this.recent.shift();
    this.inbox.done(k);
    this.ticks++;
  }

  /** P(j compromised) for every neighbour j in range. */
  private publishBelief(k: number): object {
    this.view.pairFeatures(0, this.pairs);
    const about = beliefAbout(this.team.lastBeliefs, this.team.beliefsPerPair, this.launch.settings.robotIds, this.robot, (j) => this.view.inRange(this.pairs, this.robot, j));
    const belief = { tick: k, about };
    this.bus.publish(this.topics.robot(this.id, 'belief'), belief, DEFAULT_QOS.belief);
    return belief;
  }
}

export interface AgentRunOptions {
  robot: string;
  /** Overrides the launch file's distributed.broker. */
  broker?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface AgentSummary {
  robot: string;
  ticks: number;
  stops: Record<string, number>;
  ignored: Record<string, number>;
  refused: number;
  /** Times it published its last ticks' beliefs and commands again after a broker outage. */
  resent: number;
  /** The operator's injection orders it refused (logged; a victim's agent answers with why). */
  ordersRefused: number;
  /** Given up (an outage past outageTimeoutMs) rather than ended by the trial's end or its duration. */
  interrupted: boolean;
}

/** Runs one robot's agent for the launch file's duration (or until the signal); resolves with its counts. */
export async function runAgent(path: string, o: AgentRunOptions): Promise<AgentSummary> {
  const log = o.log ?? ((l: string) => console.log(l));
  const check = (launch: Launch) => {
    if (!launch.settings.robotIds.includes(o.robot)) throw new UserError(`--robot: unknown robot id '${o.robot}' in ${path} (swarm ids: ${launch.settings.robotIds.join(', ')})`);
  };
  return runSession(path, { role: `agent/${o.robot}`, user: agentUser(o.robot), broker: o.broker, log, extra: { robot: o.robot }, check }, async (session) => {
    const { launch, team, participant: p, watch } = session;
    const bus = p.bus;
    const agent = new RobotAgent(launch, launch.settings.robotIds.indexOf(o.robot), team, bus, p.topics, p.config.mode);
    try {
      await session.tick(
        {
          inbox: agent.inbox,
          subscribe: (onPose) => agent.subscribe(onPose, log),
          complete: (k) => agent.complete(k),
          // While the broker is away (live) its poses go stale: the safety layer stops the robot (its commands, if
          // any get through, are zero) until fresh poses come; the robot's own watchdog (the feed's) stops it meanwhile.
          // Ticks are numbered by their due time (lock-step: k itself): an agent that skips ticks under load (live)
          // still starts and ends its injections, and stamps its events, at the moments the others number alike.
          step: (_k, nowMs, due) => agent.step(due, nowMs),
          lockstepNote: agent.plan.length ? `, ${agent.plan.length} injection(s) to run` : '',
        },
        o.signal,
      );
    } finally {
      await agent.release();
    }
    const interrupted = watch.gaveUp !== null;
    const summary = { robot: o.robot, ticks: agent.ticks, stops: { ...agent.stops }, ignored: { ...agent.inbox.ignored }, refused: bus.refusedTotal(), resent: agent.resent, ordersRefused: agent.ordersRefused, interrupted };
    const ignored = Object.entries(summary.ignored).filter(([, n]) => n > 0);
    log(
      `swarmguard agent ${o.robot}: done after ${summary.ticks} ticks` +
        `${summary.refused ? `; ${summary.refused} payloads refused` : ''}${summary.ordersRefused ? `; ${summary.ordersRefused} operator orders refused` : ''}${ignored.length ? `; ignored ${ignored.map(([r, n]) => `${n} ${r}`).join(', ')}` : ''}` +
        `${summary.resent ? `; last ticks sent again ${summary.resent} time(s) after outages` : ''}${interrupted ? '; interrupted' : ''}`,
    );
    return summary;
  });
}
