// The seam between the swarm world and a task (VMAS's world / scenario split). The world (sim/world.ts,
// SwarmWorld) owns what any swarm task shares: commands and the victims' overrides, the noise model,
// motion and contacts, the tracker, observations, stepping and resets. A task owns what makes it a task:
// where an episode's robots start, what a step earns, when an episode ends, how an episode is scored, and
// the reference controllers that solve it. A task reads the world through TaskWorld and draws random
// numbers only from the stream the world hands to spawn, so a task decides nothing about the world's draws.
//
// Per environment e the world calls, in this order:
//   reset:  spawn (unless start poses are given) -> per-episode noise draws -> tracker -> contacts
//           -> startEpisode -> the onEpisodeStart option (may set victims: teamChanged) -> observations
//   step:   commands -> actuation -> motion -> contacts -> tracker -> stepCount + 1
//           -> reward -> done -> (if done) metrics to the onEpisodeEnd option, reset when autoReset
//   at any time: teamChanged after setVictims / setScoredOut; metrics when asked.
import type { SwarmFrame } from '../src/core/observation.js';
import type { RandomStream } from '../src/core/random.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import type { Controller } from './controllers.js';

/** What a task may read of the world: E environments x N robots in flat arrays, robot g = e * N + k. */
export interface TaskWorld {
  readonly envs: number;
  readonly robots: number;
  readonly settings: SwarmSettings;
  /** True poses, body velocities and the commands sent this step (after the clamp and the overrides). */
  readonly truth: SwarmFrame;
  /** Body radius per robot of an environment (index k), m. */
  readonly bodyRadius: Float64Array;
  /** Control steps taken in the current episode, per environment. */
  readonly stepCount: Int32Array;
  /** 1 where robot g touches another robot after the last step or reset. */
  readonly robotContact: Uint8Array;
  /** 1 for every victim robot g. */
  readonly compromised: Uint8Array;
  /** Robot-robot and robot-wall contact onsets (a robot starting to touch) in each environment's episode so far. */
  readonly collisionOnsets: Float64Array;
  readonly wallOnsets: Float64Array;
  /** The victims of environment e (empty: none). */
  victimsOf(e: number): readonly number[];
  /** The robots environment e's metrics leave out: its victims, or without one the robots set scored-out (empty: none). */
  unscoredOf(e: number): readonly number[];
}

/** A task's hooks on one world (see the call order above). */
export interface SwarmTask<Metrics> {
  /**
   * Places environment e's robots for a new episode: writes the true x, y and heading of robots e * N ..
   * e * N + N - 1, drawing only from `rng` (the environment's stream). A start that cannot be placed throws.
   */
  spawn(e: number, rng: RandomStream): void;
  /** Environment e's new episode is set up (poses, noise draws, tracker, contacts): starts the task's episode record. */
  startEpisode(e: number): void;
  /** Environment e's victims or scored-out robots changed (possibly before its first step). */
  teamChanged(e: number): void;
  /** The reward of the step environment e has just taken (stepCount already advanced); records it in the episode. */
  reward(e: number): number;
  /** Whether the step environment e has just taken ends its episode. */
  done(e: number): boolean;
  /** Environment e's episode metrics so far. */
  metrics(e: number): Metrics;
}

/** A task as the code base knows it: its name, its hooks on a world, and the reference controllers that solve it. */
export interface TaskDefinition<Metrics, ControllerName extends string = string, Tuning = object> {
  readonly name: string;
  /** The task's hooks on `world`; called once by the world's constructor, before the first reset. */
  attach(world: TaskWorld): SwarmTask<Metrics>;
  /** Names of the reference controllers (baselines that read the same observation as a policy). */
  readonly controllers: readonly ControllerName[];
  makeController(name: ControllerName, settings: SwarmSettings, seed: number, tuning?: Tuning): Controller;
}
