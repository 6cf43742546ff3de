// What one process of a distributed run has heard from the bus about the swarm: every robot's poses and
// commands (and, for the monitor, beliefs). Lock-step: kept per tick (the feed stamps poses with `tick`, the
// agents their commands), so a process uses exactly tick k's poses and tick k-1's commands however the
// messages of different senders interleave. Live: the latest of each, poses stamped with the sender's stamp
// moved onto this process's clock (see pose()).
import { HELD_STILL, LEFT_OUT } from '../core/observation.js';
import type { BeliefMsg, CmdMsg, IsolationMsg, PoseMsg } from '../links/mqtt/schemas.js';
import type { TimedPose } from '../runtime/safety.js';

export type TimeMode = 'lockstep' | 'live';

interface HeardCommand {
  tick: number;
  left: number;
  right: number;
  stopped: string | null;
}

/** Why a message was not used (counted; the sender is not trusted to be well behaved). */
const IGNORED_REASONS = ['unknown-robot', 'no-tick', 'late'] as const;
export type IgnoredReason = (typeof IGNORED_REASONS)[number];

export class SwarmInbox {
  private readonly poses = new Map<number, (TimedPose | null)[]>();
  private readonly latestPoses: (TimedPose | null)[];
  /** Per robot: the commands heard, oldest first (pruned once used). */
  private readonly commands: HeardCommand[][];
  private readonly beliefs = new Map<number, Map<number, BeliefMsg['about']>>();
  private readonly latestBeliefs = new Map<number, BeliefMsg['about']>();
  /** Live: per robot, whether a pose heard since takeExecutedStops() said its robot executed a stop (`stop`). */
  private readonly stopsHeard: boolean[];
  private readonly stopsTaken: boolean[];
  /** Live: per robot, whether its latest pose says its bridge holds it under the operator's e-stop (`stop: 'e-stop'`). */
  private readonly eStoppedAtBridge: boolean[];
  /** Live: the smallest (arrival time - sender stamp) seen, ms. */
  private senderOffsetMs = Infinity;
  /** The highest tick any pose was heard for (-1: none yet). */
  newestPoseTick = -1;
  /** Ticks below this are done: their messages are late. */
  private doneBelow = 0;
  readonly ignored = Object.fromEntries(IGNORED_REASONS.map((r) => [r, 0])) as Record<IgnoredReason, number>;
  /** Robots whose agent is offline (its last will): the feed stops them, so their command is zero. */
  private readonly agentOffline: boolean[];
  /**
   * The monitor's isolation masks (monitor.onFlag isolate / isolate-and-stop; values LEFT_OUT, HELD_STILL as
   * src/core/observation.ts reads them): lock-step, per tick; live, the latest. Tick 0's is empty (no flag yet).
   */
  private readonly masks = new Map<number, Uint8Array>();
  /** The newest mask heard (lock-step: of the highest tick; live: the last to come), and its tick. */
  private latestMask: Uint8Array;
  private latestMaskTick = -1;
  /** The monitor is gone (its last will or its exit): the last mask heard stays in force, nothing is waited for. */
  monitorGone = false;
  private readonly heldScratch: Uint8Array;

  constructor(
    readonly ids: readonly string[],
    readonly mode: TimeMode,
  ) {
    this.latestPoses = new Array<TimedPose | null>(ids.length).fill(null);
    this.stopsHeard = ids.map(() => false);
    this.stopsTaken = ids.map(() => false);
    this.eStoppedAtBridge = ids.map(() => false);
    this.commands = ids.map(() => []);
    this.agentOffline = ids.map(() => false);
    this.latestMask = new Uint8Array(ids.length);
    this.heldScratch = new Uint8Array(ids.length);
    this.masks.set(0, new Uint8Array(ids.length));
  }

  /** The monitor's isolation mask for a tick (a robot not in the swarm is counted and skipped). */
  isolation(msg: Pick<IsolationMsg, 'tick' | 'leftOut' | 'held'>): void {
    const mask = new Uint8Array(this.ids.length);
    for (const id of msg.leftOut) {
      const i = this.index(id);
      if (i >= 0) mask[i] = LEFT_OUT;
    }
    for (const id of msg.held) {
      const i = this.index(id);
      if (i >= 0) mask[i] = HELD_STILL;
    }
    if (this.mode === 'live') {
      // Whatever came last is the monitor's latest word (a restarted monitor counts its ticks from 0 again).
      this.latestMask = mask;
      this.latestMaskTick = msg.tick;
      return;
    }
    if (msg.tick < this.doneBelow - 1) {
      this.ignored.late++;
      return;
    }
    // One mask per tick (the monitor sends its last ones again after an outage).
    if (this.masks.has(msg.tick)) return;
    this.masks.set(msg.tick, mask);
    if (msg.tick >= this.latestMaskTick) {
      this.latestMask = mask;
      this.latestMaskTick = msg.tick;
    }
  }

  /**
   * Lock-step: whether tick k's mask is known (tick 0's always is; with the monitor gone, the last one heard
   * stays in force for every later tick).
   */
  isolationHeard(k: number): boolean {
    return this.masks.has(k) || this.monitorGone;
  }

  /**
   * The mask of tick k into out (lock-step: tick k's, or with the monitor gone the newest heard up to k; live:
   * the latest heard, whatever its tick). Returns out.
   */
  isolationAt(k: number, out: Uint8Array): Uint8Array {
    if (this.mode === 'live') {
      out.set(this.latestMask);
      return out;
    }
    let best = -1;
    for (const t of this.masks.keys()) if (t <= k && t > best) best = t;
    out.set(best >= 0 ? this.masks.get(best)! : this.latestMaskTick <= k ? this.latestMask : new Uint8Array(this.ids.length));
    return out;
  }

  /** Robot id's agent went offline (true) or came back (false). */
  agentGone(id: string, gone: boolean): void {
    const i = this.ids.indexOf(id);
    if (i >= 0) this.agentOffline[i] = gone;
  }

  private index(id: string): number {
    const i = this.ids.indexOf(id);
    if (i < 0) this.ignored['unknown-robot']++;
    return i;
  }

  /** A pose from the bus; `receivedMs` is this process's clock when it came (live mode's stamp). */
  pose(id: string, msg: PoseMsg, receivedMs: number): void {
    const i = this.index(id);
    if (i < 0) return;
    if (this.mode === 'live') {
      // The sender's stamps keep the true spacing of the measurements (arrival times bunch up when this
      // process is busy, and speeds from them would be wild); they are moved onto this clock by the smallest
      // arrival delay seen (clock offset plus the fastest delivery), so a pose's age is how late it is beyond that.
      this.senderOffsetMs = Math.min(this.senderOffsetMs, receivedMs - msg.t);
      this.latestPoses[i] = { x: msg.x, y: msg.y, theta: msg.theta, stampMs: msg.t + this.senderOffsetMs };
      if (msg.stop !== undefined) this.stopsHeard[i] = true;
      this.eStoppedAtBridge[i] = msg.stop === 'e-stop';
      return;
    }
    if (msg.tick === undefined) {
      this.ignored['no-tick']++;
      return;
    }
    if (msg.tick < this.doneBelow) {
      this.ignored.late++;
      return;
    }
    let row = this.poses.get(msg.tick);
    if (!row) this.poses.set(msg.tick, (row = new Array<TimedPose | null>(this.ids.length).fill(null)));
    // The sender's stamp: in lock-step every process keeps the feed's (the twin's) time.
    row[i] = { x: msg.x, y: msg.y, theta: msg.theta, stampMs: msg.t };
    this.newestPoseTick = Math.max(this.newestPoseTick, msg.tick);
  }

  command(id: string, msg: CmdMsg & { stopped?: string }): void {
    const i = this.index(id);
    if (i < 0) return;
    const heard = this.commands[i]!;
    if (this.mode === 'lockstep' && msg.tick < this.doneBelow - 1) {
      this.ignored.late++;
      return;
    }
    // One command per robot and tick (a process hears its own commands back as well).
    if (this.mode === 'lockstep' && heard.some((c) => c.tick === msg.tick)) return;
    heard.push({ tick: msg.tick, left: msg.left, right: msg.right, stopped: msg.stopped ?? null });
    if (this.mode === 'live' && heard.length > 1) heard.shift();
  }

  belief(id: string, msg: BeliefMsg): void {
    const i = this.index(id);
    if (i < 0) return;
    if (this.mode === 'live') {
      this.latestBeliefs.set(i, msg.about);
      return;
    }
    if (msg.tick < this.doneBelow) {
      this.ignored.late++;
      return;
    }
    let m = this.beliefs.get(msg.tick);
    if (!m) this.beliefs.set(msg.tick, (m = new Map()));
    m.set(i, msg.about);
  }

  /** Lock-step: how many robots' poses of tick k have come. */
  posesHeard(k: number): number {
    return this.poses.get(k)?.filter((p) => p !== null).length ?? 0;
  }

  /** Lock-step: how many robots' commands of tick k have come. */
  commandsHeard(k: number): number {
    return this.commands.filter((h) => h.some((c) => c.tick === k)).length;
  }

  /** Lock-step: how many observers' beliefs of tick k have come. */
  beliefsHeard(k: number): number {
    return this.beliefs.get(k)?.size ?? 0;
  }

  /** The poses of tick k (lock-step) or the latest (live); null where none came. */
  posesAt(k: number): (TimedPose | null)[] {
    return this.mode === 'live' ? [...this.latestPoses] : [...(this.poses.get(k) ?? new Array<TimedPose | null>(this.ids.length).fill(null))];
  }

  /**
   * Live: per robot, whether a pose heard since the last call said its robot executed a stop instead of its
   * policy's command (`stop`, the live feed's); taken together with posesAt(), it covers the steps of the motion
   * between the poses the two calls took. The array is overwritten by the next call.
   */
  takeExecutedStops(): readonly boolean[] {
    this.stopsHeard.forEach((s, i) => (this.stopsTaken[i] = s));
    this.stopsHeard.fill(false);
    return this.stopsTaken;
  }

  /**
   * Every robot's latest command with a tick below `limit` (lock-step; live: the latest) into out (robot i's
   * at 2i) and its safety stop reason into stopped; a robot without one keeps what out holds.
   */
  commandsBefore(limit: number, out: Float32Array, stopped?: (string | null)[]): void {
    const held = limit >= 1 ? this.isolationAt(limit - 1, this.heldScratch) : null;
    this.commands.forEach((heard, i) => {
      let c: HeardCommand | undefined;
      for (const h of heard) if ((this.mode === 'live' || h.tick < limit) && (!c || h.tick >= c.tick)) c = h;
      // Lock-step: an offline agent's robot got no command for the last tick, so the feed stopped it.
      if (this.agentOffline[i] && (this.mode === 'live' || c?.tick !== limit - 1)) c = { tick: limit - 1, left: 0, right: 0, stopped: null };
      // A robot the monitor held at that tick (isolate-and-stop): its bridge executed zero, whatever its agent sent.
      if (held?.[i] === HELD_STILL) c = { tick: limit - 1, left: 0, right: 0, stopped: 'isolated' };
      if (!c) return;
      out[2 * i] = c.left;
      out[2 * i + 1] = c.right;
      if (stopped) stopped[i] = c.stopped;
    });
  }

  /**
   * Live: the commands of robots whose latest pose says the bridge holds them under the operator's e-stop set to
   * zero in out (robot i's at 2i): their wheels turned zero, whatever their agents sent. An agent observes them
   * so, as a single-process run's robots observe an e-stopped swarm. (A pose's stop is its agent's word or the
   * bridge's; an agent that lies about its own robot could as well publish zero commands: nothing new.)
   */
  zeroEStopped(out: Float32Array): void {
    if (this.mode !== 'live') return;
    this.eStoppedAtBridge.forEach((stopped, i) => {
      if (!stopped) return;
      out[2 * i] = 0;
      out[2 * i + 1] = 0;
    });
  }

  /** Lock-step: robot i's command of tick k exactly, or null if it has not come. */
  commandAt(i: number, k: number): { left: number; right: number } | null {
    return this.commands[i]?.find((c) => c.tick === k) ?? null;
  }

  /** The beliefs each observer published for tick k (live: the latest), by observer index. */
  beliefsAt(k: number): ReadonlyMap<number, BeliefMsg['about']> {
    return this.mode === 'live' ? new Map(this.latestBeliefs) : (this.beliefs.get(k) ?? new Map());
  }

  /** Lock-step: tick k is processed; what is kept for it and before goes (the last command per robot stays; tick k's mask, for its commands). */
  done(k: number): void {
    this.doneBelow = k + 1;
    for (const t of [...this.masks.keys()]) if (t < k) this.masks.delete(t);
    for (const t of [...this.poses.keys()]) if (t <= k) this.poses.delete(t);
    for (const t of [...this.beliefs.keys()]) if (t <= k) this.beliefs.delete(t);
    for (const heard of this.commands) {
      const keepFrom = heard.findLastIndex((c) => c.tick <= k);
      if (keepFrom > 0) heard.splice(0, keepFrom);
    }
  }
}
