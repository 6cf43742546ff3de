// The rendezvous task on the swarm world: robots scattered over the arena (or a square of it) gather in one
// place. Its reward and outcome measures are src/core/rendezvous.ts's (shared with the runtime), its
// reference controllers sim/controllers.ts's; what a step and an episode mean is sim/README.md's
// "Reward and metrics".
import { ConfigError } from '../../src/core/config-file.js';
import type { RandomStream } from '../../src/core/random.js';
import { isGathered, rendezvousOutcome, rendezvousReward, type LeftOut, type RendezvousMetrics } from '../../src/core/rendezvous.js';
import { CONTROLLER_NAMES, makeController, type ControllerName, type ControllerTuning } from '../controllers.js';
import type { SwarmTask, TaskDefinition, TaskWorld } from '../task.js';

/** Robots spawn at least this far apart (surface to surface) and from the walls, m. */
const SPAWN_CLEARANCE = 0.02;

/** Robots as the core measures take them: one index (-1 for none) while there is at most one, else the list. */
function asLeftOut(robots: readonly number[]): LeftOut {
  return robots.length <= 1 ? (robots[0] ?? -1) : robots;
}

/**
 * Rendezvous on one world. The reward scores the uncompromised robots (the victims left out); the metrics
 * score the world's scored robots; the episode return keeps every robot, the papers' protocol.
 */
export class RendezvousTask implements SwarmTask<RendezvousMetrics> {
  /** Per environment: the robots the reward leaves out (the victims) and those the metrics leave out. */
  private readonly rewardLeftOut: LeftOut[];
  private readonly metricsLeftOut: LeftOut[];
  /** 1 for an environment with a victim. */
  private readonly attacked: Uint8Array;
  private readonly episodeReturn: Float64Array;
  /** Sum of the defenders' reward (compromised robots left out) over the episode. */
  private readonly defenderReturn: Float64Array;
  /** Step at which the scored robots were first gathered, -1 while never. */
  private readonly gatherStep: Int32Array;
  /** The arena's diagonal, m: the reward's distance cap and scale (Math.hypot once, not every step). */
  private readonly arenaDiagonal: number;

  constructor(protected readonly world: TaskWorld) {
    const E = world.envs;
    this.rewardLeftOut = new Array<LeftOut>(E).fill(-1);
    this.metricsLeftOut = new Array<LeftOut>(E).fill(-1);
    this.attacked = new Uint8Array(E);
    this.episodeReturn = new Float64Array(E);
    this.defenderReturn = new Float64Array(E);
    this.gatherStep = new Int32Array(E);
    this.arenaDiagonal = Math.hypot(world.settings.arenaWidth, world.settings.arenaHeight);
  }

  /** Scatters the robots uniformly over the arena, or over a square of side spawnSquare placed at random in it. */
  spawn(e: number, rng: RandomStream): void {
    const N = this.world.robots;
    const base = e * N;
    const truth = this.world.truth;
    const { arenaWidth: W, arenaHeight: H, spawnSquare } = this.world.settings;
    const radius = this.world.bodyRadius;
    // The spawn region: the arena, or a square of side spawnSquare placed at random inside it.
    const side = spawnSquare ?? 0;
    const left = spawnSquare === null ? 0 : rng.range(0, W - side);
    const bottom = spawnSquare === null ? 0 : rng.range(0, H - side);
    const right = spawnSquare === null ? W : left + side;
    const top = spawnSquare === null ? H : bottom + side;
    for (let k = 0; k < N; k++) {
      const r = radius[k]! + SPAWN_CLEARANCE;
      let tries = 0;
      for (;;) {
        const px = rng.range(Math.max(r, left), Math.min(W - r, right));
        const py = rng.range(Math.max(r, bottom), Math.min(H - r, top));
        let free = true;
        for (let j = 0; j < k && free; j++) {
          const dx = px - truth.x[base + j]!;
          const dy = py - truth.y[base + j]!;
          const minD = radius[k]! + radius[j]! + SPAWN_CLEARANCE;
          free = dx * dx + dy * dy >= minD * minD;
        }
        if (free) {
          truth.x[base + k] = px;
          truth.y[base + k] = py;
          truth.heading[base + k] = rng.range(-Math.PI, Math.PI);
          break;
        }
        if (++tries > 100_000) {
          throw new ConfigError(
            `${spawnSquare === null ? 'arena' : 'spawn.square'}: cannot scatter ${N} robots with ${SPAWN_CLEARANCE} m clearance in ` +
              `${spawnSquare === null ? `${W} m x ${H} m` : `a ${side} m square`}; use a larger ${spawnSquare === null ? 'arena' : 'square'} or fewer robots`,
          );
        }
      }
    }
  }

  startEpisode(e: number): void {
    this.episodeReturn[e] = 0;
    this.defenderReturn[e] = 0;
    this.markGatheredAtStart(e);
  }

  /**
   * Who the reward and the metrics leave out. Set before the episode's first step, it changes who the team
   * is from the start.
   */
  teamChanged(e: number): void {
    const victims = this.world.victimsOf(e);
    this.attacked[e] = victims.length > 0 ? 1 : 0;
    this.rewardLeftOut[e] = asLeftOut(victims);
    this.metricsLeftOut[e] = asLeftOut(this.world.unscoredOf(e));
    if (this.world.stepCount[e] === 0) this.markGatheredAtStart(e);
  }

  reward(e: number): number {
    const w = this.world;
    const N = w.robots;
    const base = e * N;
    const s = w.settings;
    const { x, y, command } = w.truth;
    let touching = 0;
    let victimTouching = 0;
    for (let g = base; g < base + N; g++) {
      if (w.compromised[g]) victimTouching += w.robotContact[g]!;
      else touching += w.robotContact[g]!;
    }
    const diag = this.arenaDiagonal;
    // The defenders' reward scores the uncompromised robots (the threat model); the episode return keeps the
    // papers' protocol, every robot (the victims too) in the team, so published numbers stay comparable.
    const r = rendezvousReward(x, y, command, base, N, diag, touching, s.reward, this.rewardLeftOut[e]);
    this.defenderReturn[e]! += r;
    this.episodeReturn[e]! += this.attacked[e] === 0 ? r : rendezvousReward(x, y, command, base, N, diag, touching + victimTouching, s.reward);
    if (this.gatherStep[e]! < 0 && isGathered(x, y, base, N, s.gatherDiameter / 2, this.metricsLeftOut[e])) {
      this.gatherStep[e] = w.stepCount[e]!;
    }
    return r;
  }

  /** Rendezvous episodes run their full length (a gathered swarm must also stay gathered). */
  done(e: number): boolean {
    return this.world.stepCount[e]! >= this.world.settings.episodeSteps;
  }

  /** Metrics of environment e's episode so far; the outcome fields are over the scored robots as they stand now. */
  metrics(e: number): RendezvousMetrics {
    const w = this.world;
    const N = w.robots;
    const s = w.settings;
    const t = w.stepCount[e]!;
    const robotMinutes = (N * t * s.controlPeriod) / 60;
    return {
      episodeReturn: this.episodeReturn[e]!,
      defenderReturn: this.defenderReturn[e]!,
      steps: t,
      ...rendezvousOutcome(w.truth.x, w.truth.y, e * N, N, s.gatherDiameter, this.metricsLeftOut[e]),
      timeToGather: this.gatherStep[e]! >= 0 ? this.gatherStep[e]! * s.controlPeriod : null,
      collisionsPerRobotMinute: robotMinutes > 0 ? w.collisionOnsets[e]! / robotMinutes : 0,
      wallHitsPerRobotMinute: robotMinutes > 0 ? w.wallOnsets[e]! / robotMinutes : 0,
    };
  }

  /** A team that starts inside the gather circle gathered at time 0. */
  private markGatheredAtStart(e: number): void {
    const w = this.world;
    const radius = w.settings.gatherDiameter / 2;
    this.gatherStep[e] = isGathered(w.truth.x, w.truth.y, e * w.robots, w.robots, radius, this.metricsLeftOut[e]) ? 0 : -1;
  }
}

/** The rendezvous task: its hooks on a world and its reference controllers (consensus, W-MSR, random). */
export const RENDEZVOUS_TASK: TaskDefinition<RendezvousMetrics, ControllerName, ControllerTuning> = {
  name: 'rendezvous',
  attach: (world) => new RendezvousTask(world),
  controllers: CONTROLLER_NAMES,
  makeController,
};
