// What the bus-fed processes of a distributed run (an agent, the monitor) do the same way around their own
// work: load the launch file and the policy, join the bus as their role, follow the trial (TrialWatch), tick
// in lock-step or live until the run is over, and leave cleanly whatever happens (the watch stopped, the bus
// left with `done`, the policy and the launch file's attacks released).
import { loadLaunch, type Launch } from '../launch/launch.js';
import { OnnxTeam } from '../policy/team.js';
import { releaseRun } from '../runtime/run-spec.js';
import type { SwarmInbox } from './inbox.js';
import { joinBus, posesFlowing, TrialWatch, type Participant } from './participant.js';
import { liveTicks, TickPump } from './tick-pump.js';

export interface SessionOptions {
  /** The role on the bus (`agent/<id>`, `monitor`) and its user name. */
  role: string;
  user: string;
  /** Overrides the launch file's distributed.broker. */
  broker?: string;
  log: (line: string) => void;
  /** Extra fields of the retained status. */
  extra?: Record<string, unknown>;
  /** Checks of the launch file of this process's own, before anything is loaded (its errors release the launch). */
  check?: (launch: Launch) => void;
}

export interface Ticking {
  inbox: SwarmInbox;
  /** Subscribes to what the process needs, calling `onMessage` whenever something comes. */
  subscribe(onMessage: () => void): Promise<void>;
  /** Lock-step: whether tick k has what it needs. */
  complete(k: number): boolean;
  /**
   * The k-th tick at clock `nowMs`. `due`: the index of its due time, periods since the start (live: it passes
   * over the ticks an overrun skipped, so it names the same moment in every process; lock-step: k).
   */
  step(k: number, nowMs: number, due: number): Promise<void>;
  /** What the start line names after `swarmguard <role>: <run name>, lock-step, <ticks> ticks`. */
  lockstepNote?: string;
}

/** A process's launch file, policy, place on the bus and view of the trial, while its work runs. */
export class Session {
  readonly watch: TrialWatch;
  /** Ends the ticking when the watch says the run is over (tick() sets it). */
  private over: () => void = () => {};
  /** Called when the session closes, after the watch is stopped and before the bus is left. */
  readonly closers: (() => void)[] = [];

  constructor(
    readonly launch: Launch,
    readonly team: OnnxTeam,
    readonly participant: Participant,
    private readonly log: (line: string) => void,
  ) {
    // The trial's end (its done) or an outage given up.
    this.watch = new TrialWatch(participant, log, () => this.over());
  }

  /**
   * Ticks the process until the run is over: lock-step, tick k as soon as it is complete (at the twin's clock,
   * k periods); live, from when every robot's first pose has come, at the control period on its own clock.
   * The status is marked ready once everything is subscribed. Returns the ticks run.
   */
  async tick(t: Ticking, signal?: AbortSignal): Promise<number> {
    const { launch, participant: p, watch, log } = this;
    const periodMs = launch.settings.controlPeriod * 1000;
    const who = `swarmguard ${p.role.replace('/', ' ')}`;
    if (p.config.mode === 'lockstep') {
      // The twin's clock of the single-process fast run: tick k is at k periods.
      const pump = new TickPump(launch.ticks, (k) => t.complete(k), (k) => t.step(k, k * periodMs, k));
      // The trial's end or an outage given up: what has come is all there is.
      this.over = () => pump.drain();
      await t.subscribe(() => pump.poke());
      await watch.start();
      signal?.addEventListener('abort', () => pump.stop(), { once: true });
      p.ready();
      log(`${who}: ${launch.name}, lock-step, ${launch.ticks} ticks${t.lockstepNote ?? ''}`);
      await pump.finished;
      return pump.next;
    }
    const start = posesFlowing(signal);
    this.over = () => start.check(true);
    await t.subscribe(() => start.check(t.inbox.posesAt(0).every((q) => q !== null)));
    await watch.start();
    p.ready();
    // Tick 0 is when every robot's pose has come: every process of the run counts its ticks from about then.
    await start.flowing;
    log(`${who}: ${launch.name}, live at ${1 / launch.settings.controlPeriod} Hz`);
    return liveTicks({
      ticks: launch.ticks,
      periodMs,
      step: (k, now, due) => t.step(k, now, due),
      until: () => watch.isOver || signal?.aborted === true,
      onError: (err) => log(`${who}: a tick failed: ${(err as Error).message}`),
    });
  }
}

/** Runs `work` in a session of the launch file at `path`; the session is closed however `work` ends. */
export async function runSession<T>(path: string, o: SessionOptions, work: (s: Session) => Promise<T>): Promise<T> {
  const launch = await loadLaunch(path);
  let team: OnnxTeam | null = null;
  let participant: Participant | null = null;
  let session: Session | null = null;
  try {
    o.check?.(launch);
    team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    participant = await joinBus(launch, { role: o.role, user: o.user, broker: o.broker, log: o.log, extra: o.extra });
    session = new Session(launch, team, participant, o.log);
    return await work(session);
  } finally {
    session?.watch.stop();
    for (const fn of session?.closers ?? []) fn();
    await participant?.close();
    await team?.release();
    await releaseRun(launch);
  }
}

