// The operator's actions on a running swarm, one implementation for every way in: the terminal console,
// the dashboard, ROS 2 services and MQTT. Each caller authenticates its operator first (the console is the
// terminal that started the run; network endpoints require their token or credentials); this class checks
// what the run allows (injections only in trial mode, known robots and attacks) and owns the attacks it
// loads, releasing them when the run ends.
import type { SwarmSettings } from '../core/swarm-config.js';
import { isBuiltinAttack, loadAttack, resolveAttackRef, type Attack } from '../attacks/attack.js';
import { injectionTicks, robotIndices } from './injection-timing.js';
import type { Injection, TrialRun } from './trial.js';
import { UserError } from '../core/user-error.js';
import type { OnFlag } from './isolation.js';

export type ControlAction =
  | { kind: 'estop'; reason: string }
  | { kind: 'release' }
  | { kind: 'stop' }
  | { kind: 'start' }
  /** robot: one id, or several separated by commas; on/off (s): intermittent (both or neither). */
  | { kind: 'inject'; robot: string; attack: string; seconds: number; on?: number; off?: number }
  /** Ends the injections acting or planned on these robots now (one id, or several separated by commas). */
  | { kind: 'end-injection'; robot: string }
  /** What a flag does from now on (monitor.onFlag: report, isolate, isolate-and-stop). */
  | { kind: 'on-flag'; onFlag: OnFlag };

export interface ControlState {
  eStopped: string | null;
  paused: boolean;
  trialMode: boolean;
  onFlag: OnFlag;
}

export class RunController {
  private readonly adversaries = new Map<string, Promise<Attack>>();
  private open = true;

  constructor(
    private readonly run: TrialRun,
    private readonly settings: SwarmSettings,
    /** Where relative attack paths are resolved from (the launch file's folder for files, cwd for the console). */
    private readonly baseDir: string = process.cwd(),
  ) {}

  get state(): ControlState {
    const s = this.run.parts.safety;
    return { eStopped: s.eStopped, paused: s.isPaused, trialMode: this.run.parts.trialMode, onFlag: this.run.response.onFlag };
  }

  /**
   * Carries out one action for `who` (recorded with the event, e.g. 'console', 'dashboard', 'ros2').
   * Throws a RangeError naming what is wrong (unknown robot, not a trial, bad attack); nothing changes then.
   */
  async apply(action: ControlAction, who: string): Promise<Injection | null> {
    if (!this.open) throw new UserError('the run has ended');
    switch (action.kind) {
      case 'estop':
        this.run.engageEStop(`${action.reason} (${who})`);
        return null;
      case 'release':
        this.run.releaseEStop(who);
        return null;
      case 'stop':
        this.run.pause(who);
        return null;
      case 'start':
        this.run.resume(who);
        return null;
      case 'on-flag':
        this.run.setOnFlag(action.onFlag, who);
        return null;
      case 'inject':
        return this.inject(action.robot, action.attack, action.seconds, action.on, action.off);
      case 'end-injection':
        this.endInjections(action.robot, who);
        return null;
    }
  }

  /** Compromises every robot named (comma-separated ids) from the next tick; returns the first robot's injection. */
  private async inject(robotIds: string, ref: string, seconds: number, on?: number, off?: number): Promise<Injection> {
    const robots = robotIndices(robotIds.split(',').filter(Boolean), this.settings.robotIds);
    if (!this.run.parts.trialMode) throw new UserError('injections are refused outside trial mode (set trial: true in the launch file)');
    const timing = injectionTicks({ at: 0, duration: seconds, on, off }, this.settings.controlPeriod, this.run.tick);
    if (ref === 'none') throw new UserError("'none' compromises nothing");
    const attack = isBuiltinAttack(ref) ? await loadAttack(ref, this.settings) : await this.adversary(resolveAttackRef(ref, this.baseDir));
    if (!this.open) throw new UserError('the run has ended');
    const added = robots.map((robot) => this.run.inject(robot, attack, timing.toTick - timing.fromTick, timing));
    return added[0]!;
  }

  /** Ends every named robot's injections, after checking all of them: one without any changes nothing. */
  private endInjections(robotIds: string, who: string): void {
    if (!this.run.parts.trialMode) throw new UserError('injections are refused outside trial mode (set trial: true in the launch file)');
    const robots = robotIndices(robotIds.split(',').filter(Boolean), this.settings.robotIds);
    const t = this.run.tick;
    const idle = robots.filter((i) => !this.run.injections.some((inj) => inj.robot === i && inj.toTick > t));
    if (idle.length > 0) throw new UserError(`no injection on ${idle.map((i) => this.settings.robotIds[i]).join(', ')} is running or planned`);
    for (const i of robots) this.run.endInjections(i, who);
  }

  /**
   * A trained adversary, loaded once per reference for the whole run: adversaries are stateless (a command
   * from the victim's observation), so repeated injections share one onnxruntime session instead of each
   * holding its own until the run ends. Faults keep per-victim state and are made fresh every time; an
   * attack module is imported and validated once, its per-robot state lives with each injection.
   */
  private adversary(path: string): Promise<Attack> {
    let loading = this.adversaries.get(path);
    if (!loading) {
      loading = loadAttack(path, this.settings);
      this.adversaries.set(path, loading);
      // A reference that fails to load is not remembered: the next try reads it again (a file fixed meanwhile).
      loading.catch(() => this.adversaries.delete(path));
    }
    return loading;
  }

  /** The run is over: no more actions; the adversaries loaded here are released. */
  async close(): Promise<void> {
    this.open = false;
    const loaded = await Promise.allSettled([...this.adversaries.values()]);
    this.adversaries.clear();
    await Promise.all(loaded.map((r) => (r.status === 'fulfilled' ? release(r.value) : undefined)));
  }
}

function release(a: Attack): Promise<void> | undefined {
  return a.kind === 'adversary' ? a.adversary.release() : undefined;
}
