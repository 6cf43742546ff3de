// The seam between the swarm world and a task: the world calls a task's hooks in the order sim/task.ts
// documents, a task decides spawn, reward, done and metrics and nothing else, and the rendezvous task is one
// implementation among possible others.
import { describe, expect, it } from 'vitest';
import type { RendezvousMetrics } from '../src/core/rendezvous.js';
import type { RandomStream } from '../src/core/random.js';
import { faultByName } from '../src/attacks/faults.js';
import { CONTROLLER_NAMES } from '../sim/controllers.js';
import type { SwarmTask, TaskWorld } from '../sim/task.js';
import { RENDEZVOUS_TASK, RendezvousTask } from '../sim/tasks/rendezvous.js';
import { RendezvousWorld, SwarmWorld } from '../sim/world.js';
import { settings } from './helpers.js';

/** A task that logs every hook call: robots in a row, reward = steps taken, done after `length` steps. */
class RecordingTask implements SwarmTask<{ calls: string[] }> {
  readonly calls: string[] = [];
  constructor(private readonly world: TaskWorld, private readonly length: number) {}

  spawn(e: number, _rng: RandomStream): void {
    this.calls.push(`spawn ${e}`);
    const N = this.world.robots;
    for (let k = 0; k < N; k++) {
      this.world.truth.x[e * N + k] = 0.2 + 0.15 * k;
      this.world.truth.y[e * N + k] = 0.5 + 0.5 * e;
      this.world.truth.heading[e * N + k] = 0;
    }
  }
  startEpisode(e: number): void {
    this.calls.push(`startEpisode ${e}`);
  }
  teamChanged(e: number): void {
    this.calls.push(`teamChanged ${e} [${this.world.unscoredOf(e).join(',')}]`);
  }
  reward(e: number): number {
    this.calls.push(`reward ${e}`);
    return this.world.stepCount[e]!;
  }
  done(e: number): boolean {
    this.calls.push(`done ${e}`);
    return this.world.stepCount[e]! >= this.length;
  }
  metrics(e: number): { calls: string[] } {
    return { calls: [...this.calls, `metrics ${e}`] };
  }
}

describe('a task on the swarm world', () => {
  it('is attached once and called in the documented order: spawn, startEpisode, start hook, then reward and done each step', () => {
    let task: RecordingTask | undefined;
    const ended: { calls: string[] }[] = [];
    const s = settings({ robots: 3 });
    const world: SwarmWorld<{ calls: string[] }> = new SwarmWorld(
      s,
      { attach: (w) => (task = new RecordingTask(w, 2)) },
      { envs: 1, seed: 1, onEpisodeStart: (e) => task!.calls.push(`onEpisodeStart ${e}`), onEpisodeEnd: (_e, m) => ended.push(m) },
    );
    expect(world.truth.x[2]).toBeCloseTo(0.5, 12);
    world.setScoredOut(0, 1);
    world.step(new Float32Array(6));
    expect(world.rewards[0]).toBe(1);
    world.step(new Float32Array(6));
    expect(world.dones[0]).toBe(1);
    world.resetEnv(0, world.poses(0));
    expect(task!.calls).toEqual([
      'spawn 0', 'startEpisode 0', 'onEpisodeStart 0',
      'teamChanged 0 [1]',
      'reward 0', 'done 0',
      'reward 0', 'done 0',
      // Episode over: metrics, then the automatic reset.
      'spawn 0', 'startEpisode 0', 'onEpisodeStart 0',
      // Start poses given: no spawn.
      'startEpisode 0', 'onEpisodeStart 0',
    ]);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.calls.at(-1)).toBe('metrics 0');
    expect(ended[0]!.calls.at(-2)).toBe('done 0');
  });

  it('a victim makes the team change: the unscored robots are the victims, else the scored-out robots', () => {
    let task: RecordingTask | undefined;
    const world = new SwarmWorld(settings({ robots: 4 }), { attach: (w) => (task = new RecordingTask(w, 5)) }, { envs: 2, seed: 1 });
    world.setScoredOut(1, [0, 2]);
    world.setVictim(1, { robot: 3, override: faultByName('spin') });
    world.setVictim(1, null);
    expect(task!.calls.slice(-3)).toEqual(['teamChanged 1 [0,2]', 'teamChanged 1 [3]', 'teamChanged 1 [0,2]']);
  });

  it.each([2, 10])('a rendezvous variant with its own episode length is stepped exactly as the rendezvous twin (%i robots)', (robots) => {
    const s = settings({ robots, noise: 'default', episodeSteps: 50 });
    /** Rendezvous, but every episode ends after 7 steps: a variant is a task object, nothing else changes. */
    class ShortRendezvous extends RendezvousTask {
      override done(e: number): boolean {
        return this.world.stepCount[e]! >= 7;
      }
    }
    const variant = new SwarmWorld<RendezvousMetrics>(s, { attach: (w) => new ShortRendezvous(w) }, { envs: 3, seed: 9, autoReset: false });
    const twin = new RendezvousWorld(s, { envs: 3, seed: 9, autoReset: false });
    for (const w of [variant, twin]) w.setVictim(1, { robot: 1, override: faultByName('random'), observationNoise: 0.05 });
    const actions = Float32Array.from({ length: 2 * 3 * robots }, (_, i) => Math.sin(i));
    for (let t = 1; t <= 7; t++) {
      variant.step(actions);
      twin.step(actions);
      expect(variant.truth.x).toEqual(twin.truth.x);
      expect(variant.tracked.heading).toEqual(twin.tracked.heading);
      expect(variant.obs).toEqual(twin.obs);
      expect(variant.rewards).toEqual(twin.rewards);
    }
    expect(Array.from(variant.dones)).toEqual([1, 1, 1]);
    expect(Array.from(twin.dones)).toEqual([0, 0, 0]);
    expect(variant.metrics(1)).toEqual(twin.metrics(1));
  });

  it('the rendezvous task names its reference controllers and builds each of them', () => {
    const s = settings({ robots: 4 });
    expect(RENDEZVOUS_TASK.name).toBe('rendezvous');
    expect(RENDEZVOUS_TASK.controllers).toEqual(CONTROLLER_NAMES);
    for (const name of RENDEZVOUS_TASK.controllers) expect(RENDEZVOUS_TASK.makeController(name, s, 0).name).toBe(name);
  });
});
