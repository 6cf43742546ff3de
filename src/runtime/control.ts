// The operator's actions on a running swarm, one implementation for every way in: the terminal console,
// the dashboard, ROS 2 services and MQTT. Each caller authenticates its operator first (the console is the
// terminal that started the run; network endpoints require their token or credentials); this class checks
// what the run allows (injections only in trial mode, known robots and attacks) and owns the attacks it
// loads, releasing them when the run ends.
import { resolve } from 'node:path';
import type { SimSettings } from '../../sim/config.js';
import { isBuiltinAttack, loadAttack, type Attack } from '../../sim/team-eval.js';
import type { Injection, TrialRun } from './trial.js';

export type ControlAction =
  | { kind: 'estop'; reason: string }
  | { kind: 'release' }
  | { kind: 'stop' }
  | { kind: 'start' }
  | { kind: 'inject'; robot: string; attack: string; seconds: number };

export interface ControlState {
  eStopped: string | null;
  paused: boolean;
  trialMode: boolean;
}

export class RunController {
  private readonly adversaries = new Map<string, Promise<Attack>>();
  private open = true;

  constructor(
    private readonly run: TrialRun,
    private readonly settings: SimSettings,
    /** Where relative attack paths are resolved from (the launch file's folder for files, cwd for the console). */
    private readonly baseDir: string = process.cwd(),
  ) {}

  get state(): ControlState {
    const s = this.run.parts.safety;
    return { eStopped: s.eStopped, paused: s.isPaused, trialMode: this.run.parts.trialMode };
  }

  /**
   * Carries out one action for `who` (recorded with the event, e.g. 'console', 'dashboard', 'ros2').
   * Throws a RangeError naming what is wrong (unknown robot, not a trial, bad attack); nothing changes then.
   */
  async apply(action: ControlAction, who: string): Promise<Injection | null> {
    if (!this.open) throw new RangeError('the run has ended');
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
      case 'inject':
        return this.inject(action.robot, action.attack, action.seconds);
    }
  }

  private async inject(robotId: string, ref: string, seconds: number): Promise<Injection> {
    const ids = this.settings.robotIds;
    const robot = ids.indexOf(robotId);
    if (robot < 0) throw new RangeError(`unknown robot id '${robotId}' (swarm ids: ${ids.join(', ')})`);
    if (!this.run.parts.trialMode) throw new RangeError('injections are refused outside trial mode (set trial: true in the launch file)');
    if (!(Number.isFinite(seconds) && seconds > 0)) throw new RangeError(`an injection lasts a positive number of seconds, got ${seconds}`);
    const ticks = Math.round(seconds / this.settings.controlPeriod);
    if (ticks < 1) throw new RangeError(`${seconds} s is shorter than one control tick (${this.settings.controlPeriod} s)`);
    if (ref === 'none') throw new RangeError("'none' compromises nothing");
    const attack = isBuiltinAttack(ref) ? await loadAttack(ref, this.settings) : await this.adversary(resolve(this.baseDir, ref));
    if (!this.open) throw new RangeError('the run has ended');
    return this.run.inject(robot, attack, ticks);
  }

  /**
   * A trained adversary, loaded once per reference for the whole run: adversaries are stateless (a command
   * from the victim's observation), so repeated injections share one onnxruntime session instead of each
   * holding its own until the run ends. Faults keep per-victim state and are made fresh every time.
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
