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
  private readonly loaded: Attack[] = [];
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
    const attack = await loadAttack(isBuiltinAttack(ref) ? ref : resolve(this.baseDir, ref), this.settings);
    if (!this.open) {
      await release(attack); // the run ended while it loaded
      throw new RangeError('the run has ended');
    }
    this.loaded.push(attack);
    return this.run.inject(robot, attack, ticks);
  }

  /** The run is over: no more actions; the attacks loaded here are released. */
  async close(): Promise<void> {
    this.open = false;
    await Promise.all(this.loaded.splice(0).map(release));
  }
}

function release(a: Attack): Promise<void> | undefined {
  return a.kind === 'adversary' ? a.adversary.release() : undefined;
}
