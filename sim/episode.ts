// One seeded episode on the twin with a chosen controller and an optional attacked robot, with its trajectory.
import type { RendezvousMetrics } from '../src/core/rendezvous.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import type { Controller } from './controllers.js';
import { RendezvousWorld, type VictimSetup } from './world.js';

// The rendezvous task's controller factory, where an episode's callers have always found it.
export { makeController, type ControllerTuning } from './controllers.js';

export interface EpisodeResult {
  metrics: RendezvousMetrics;
  /** True poses per step (step 0 = start): [step][robot][x, y, heading]. */
  trajectory: Float64Array;
  steps: number;
  robots: number;
  /** Index of the attacked robot, or -1. */
  victim: number;
}

/** An episode on a one-environment world with every step's true poses recorded. */
class RecordedEpisode {
  readonly world: RendezvousWorld;
  readonly actions: Float32Array;
  private readonly trajectory: Float64Array;

  constructor(readonly settings: SwarmSettings, seed: number, victim?: VictimSetup) {
    this.world = new RendezvousWorld(settings, { envs: 1, seed, autoReset: false });
    if (victim) this.world.setVictim(0, victim);
    this.actions = new Float32Array(2 * this.world.robots);
    this.trajectory = new Float64Array((settings.episodeSteps + 1) * this.world.robots * 3);
    this.record(0);
  }

  /** Applies this.actions for one step and records the poses. */
  step(t: number): void {
    this.world.step(this.actions);
    this.record(t);
  }

  private record(t: number): void {
    const N = this.world.robots;
    for (let k = 0; k < N; k++) {
      const p = (t * N + k) * 3;
      this.trajectory[p] = this.world.truth.x[k]!;
      this.trajectory[p + 1] = this.world.truth.y[k]!;
      this.trajectory[p + 2] = this.world.truth.heading[k]!;
    }
  }

  result(): EpisodeResult {
    const w = this.world;
    return { metrics: w.metrics(0), trajectory: this.trajectory, steps: this.settings.episodeSteps, robots: w.robots, victim: w.victim[0]! };
  }
}

export function runEpisode(settings: SwarmSettings, seed: number, controller: Controller, victim?: VictimSetup): EpisodeResult {
  const ep = new RecordedEpisode(settings, seed, victim);
  for (let t = 1; t <= settings.episodeSteps; t++) {
    controller.act(ep.world.obs, ep.world.robots, ep.actions);
    ep.step(t);
  }
  return ep.result();
}

/** The same with a team that answers asynchronously from the world it sees (onnxruntime sessions, beliefs). */
export async function runEpisodeAsync(
  settings: SwarmSettings,
  seed: number,
  act: (world: RendezvousWorld, out: Float32Array) => Promise<void>,
  victim?: VictimSetup,
): Promise<EpisodeResult> {
  const ep = new RecordedEpisode(settings, seed, victim);
  for (let t = 1; t <= settings.episodeSteps; t++) {
    await act(ep.world, ep.actions);
    ep.step(t);
  }
  return ep.result();
}
