// One seeded episode on the twin with a chosen controller and an optional attacked robot, with its trajectory.
import { observationLayout } from '../src/core/observation.js';
import type { RendezvousMetrics } from '../src/core/rendezvous.js';
import type { SimSettings } from './config.js';
import { ConsensusController, RandomController, type Controller, type ControllerName } from './controllers.js';
import { RendezvousWorld, type VictimSetup } from './world.js';

export interface EpisodeResult {
  metrics: RendezvousMetrics;
  /** True poses per step (step 0 = start): [step][robot][x, y, heading]. */
  trajectory: Float64Array;
  steps: number;
  robots: number;
  /** Index of the attacked robot, or -1. */
  victim: number;
}

export function makeController(name: ControllerName, settings: SimSettings, seed: number): Controller {
  switch (name) {
    case 'consensus':
      return new ConsensusController(settings.observation, observationLayout(settings.observation), settings.robots[0]!);
    case 'random':
      return new RandomController(seed);
  }
}

export function runEpisode(settings: SimSettings, seed: number, controller: Controller, victim?: VictimSetup): EpisodeResult {
  const world = new RendezvousWorld(settings, { envs: 1, seed, autoReset: false });
  if (victim) world.setVictim(0, victim);
  const N = world.robots;
  const T = settings.episodeSteps;
  const trajectory = new Float64Array((T + 1) * N * 3);
  const actions = new Float32Array(2 * N);
  const record = (t: number) => {
    for (let k = 0; k < N; k++) {
      const p = (t * N + k) * 3;
      trajectory[p] = world.truth.x[k];
      trajectory[p + 1] = world.truth.y[k];
      trajectory[p + 2] = world.truth.heading[k];
    }
  };
  record(0);
  for (let t = 1; t <= T; t++) {
    controller.act(world.obs, N, actions);
    world.step(actions);
    record(t);
  }
  return { metrics: world.metrics(0), trajectory, steps: T, robots: N, victim: world.victim[0] };
}
