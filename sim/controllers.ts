// The rendezvous task's reference controllers (sim/tasks/rendezvous.ts names them): baselines that read the
// same rendezvous-v1 observation a learned policy reads.
import { commandsFromTwist } from '../src/core/kinematics.js';
import { observationLayout, ROW_DIM, type ObservationLayout, type ObservationSpec } from '../src/core/observation.js';
import { deriveSeed, makeStreams, RANDOM_CONTROLLER_PURPOSE, type RandomStream } from '../src/core/random.js';
import type { RobotParams } from '../src/core/robot-params.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';

/** Maps a batch of observations (robot g at g * layout.size) to wheel commands (robot g at 2g). */
export interface Controller {
  readonly name: string;
  act(obs: Float32Array, robots: number, out: Float32Array): void;
}

export const CONTROLLER_NAMES = ['consensus', 'wmsr', 'random'] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

export interface DriveGains {
  /** Turn-rate gain on the bearing error, 1/s. */
  turnGain: number;
  /** Within this distance of the target (m) the robot slows down linearly... */
  slowRadius: number;
  /** ...and within this one it stops. */
  stopRadius: number;
}

export const DEFAULT_DRIVE_GAINS: DriveGains = { turnGain: 4, slowRadius: 0.3, stopRadius: 0.06 };

/** A point in a robot's own frame (m; x ahead, y to the left). */
export interface RelativePoint {
  x: number;
  y: number;
}

/**
 * A controller that picks, for each robot, a target from the neighbours its observation holds, then
 * turns toward it and drives there, slowing down as it arrives. Subclasses choose the target.
 */
abstract class TargetSeekingController implements Controller {
  abstract readonly name: string;
  /** The current robot's neighbours as positions relative to it (m, its frame), first `count` valid. */
  protected readonly neighbourX: Float64Array;
  protected readonly neighbourY: Float64Array;

  constructor(
    protected readonly spec: ObservationSpec,
    private readonly layout: ObservationLayout,
    private readonly robot: RobotParams,
    private readonly gains: DriveGains,
  ) {
    this.neighbourX = new Float64Array(spec.maxNeighbours);
    this.neighbourY = new Float64Array(spec.maxNeighbours);
  }

  /** Where robot i of the batch heads, in its own frame; the origin when it stays where it is. */
  targetOf(obs: Float32Array, i: number): RelativePoint {
    const target = { x: 0, y: 0 };
    this.chooseTarget(this.readNeighbours(obs, i), target);
    return target;
  }

  act(obs: Float32Array, robots: number, out: Float32Array): void {
    const target = { x: 0, y: 0 };
    for (let i = 0; i < robots; i++) {
      target.x = 0;
      target.y = 0;
      this.chooseTarget(this.readNeighbours(obs, i), target);
      const [l, r] = this.driveToward(target);
      out[2 * i] = l;
      out[2 * i + 1] = r;
    }
  }

  /** Sets `target` from the first `count` neighbour positions; left at the origin, the robot stays. */
  protected abstract chooseTarget(count: number, target: RelativePoint): void;

  /** Fills neighbourX/Y from robot i's masked neighbour rows; returns how many there are. */
  private readNeighbours(obs: Float32Array, i: number): number {
    const { rowsOffset, maskOffset, size } = this.layout;
    const off = i * size;
    let count = 0;
    for (let k = 0; k < this.spec.maxNeighbours; k++) {
      if (obs[off + maskOffset + k] === 0) continue;
      const r = off + rowsOffset + k * ROW_DIM;
      const d = obs[r]! * this.spec.sensingRadius;
      this.neighbourX[count] = d * obs[r + 1]!;
      this.neighbourY[count] = d * obs[r + 2]!;
      count++;
    }
    return count;
  }

  /** Wheel commands turning toward the target and driving there, slower within slowRadius, still within stopRadius. */
  private driveToward(target: RelativePoint): [number, number] {
    const g = this.gains;
    let linear = 0;
    let angular = 0;
    const dist = Math.hypot(target.x, target.y);
    if (dist > g.stopRadius) {
      const bearing = Math.atan2(target.y, target.x);
      angular = g.turnGain * bearing;
      const approach = Math.min(1, (dist - g.stopRadius) / (g.slowRadius - g.stopRadius));
      linear = this.spec.maxSpeed * Math.max(0, Math.cos(bearing)) * approach;
    }
    return commandsFromTwist(linear, angular, this.robot);
  }
}

/**
 * Consensus rendezvous: each robot turns toward the centroid of the neighbours it sees and drives there,
 * slowing down as it arrives; a robot that sees nobody stays still.
 */
export class ConsensusController extends TargetSeekingController {
  readonly name = 'consensus';

  constructor(spec: ObservationSpec, layout: ObservationLayout, robot: RobotParams, gains: DriveGains = DEFAULT_DRIVE_GAINS) {
    super(spec, layout, robot, gains);
  }

  protected chooseTarget(count: number, target: RelativePoint): void {
    if (count === 0) return;
    let sx = 0;
    let sy = 0;
    for (let k = 0; k < count; k++) {
      sx += this.neighbourX[k]!;
      sy += this.neighbourY[k]!;
    }
    target.x = sx / count;
    target.y = sy / count;
  }
}

/** Extreme values W-MSR discards on each side of a robot's own value, per coordinate, unless told otherwise. */
export const DEFAULT_WMSR_F = 1;

/**
 * W-MSR resilient rendezvous (Weighted Mean-Subsequence-Reduced; LeBlanc, Zhang, Koutsoukos and Sundaram,
 * IEEE JSAC 2013), per coordinate of the robot's own frame. The robot's own value is 0 (it is the origin of
 * its frame). Of its neighbours' values it discards the F largest above 0 and the F smallest below 0 (all
 * of them on a side holding fewer than F), and heads for the plain average (W-MSR's weights all equal) of
 * the values kept and its own. A robot that sees nobody, or keeps nothing, stays still. Driving is shared
 * with the consensus controller.
 *
 * What it buys: with at most F faulty robots among any robot's neighbours, a kept value never lies outside
 * the range of the honest neighbours' values and the robot's own, so no faulty robot can drag the target
 * outside the honest neighbours' box (in the robot's frame), however far away it sits.
 * What it costs:
 * - honest information is discarded too: in a fault-free swarm every robot still ignores its F most
 *   extreme neighbours on each side of each axis, and averages itself in, so it heads for a point closer
 *   to itself than the consensus controller's centroid: benign gathering is slower.
 * - it needs neighbours to spare: whatever it keeps on an axis comes from a side holding more than F, so
 *   with 2F or fewer neighbours it may keep none. The rule stays as it is then, with no fallback: a lone
 *   neighbour (F >= 1) is always discarded and the robot stays still, because it cannot tell a lone honest
 *   neighbour from a faulty one, and following a faulty one is what W-MSR exists to avoid; two robots that
 *   only see each other never meet. The paper's guarantee asks for at least 2F+1 neighbours everywhere,
 *   precisely a (2F+1)-robust communication graph.
 * - the paper's values are scalars on one common axis; here the axes are each robot's own and turn with
 *   it, so the guarantee holds for each step's target (inside the honest box in that robot's frame), not
 *   as the paper's convergence proof for the whole swarm.
 */
export class WmsrController extends TargetSeekingController {
  readonly name = 'wmsr';
  /** Scratch for sorting one coordinate's values. */
  private readonly sorted: Float64Array;

  constructor(
    spec: ObservationSpec,
    layout: ObservationLayout,
    robot: RobotParams,
    /** F: how many extreme values to discard on each side of the robot's own, per coordinate. */
    readonly discardPerSide: number = DEFAULT_WMSR_F,
    gains: DriveGains = DEFAULT_DRIVE_GAINS,
  ) {
    super(spec, layout, robot, gains);
    if (!Number.isInteger(discardPerSide) || discardPerSide < 0) {
      throw new RangeError(`W-MSR's F must be an integer >= 0, got ${discardPerSide}`);
    }
    this.sorted = new Float64Array(spec.maxNeighbours);
  }

  protected chooseTarget(count: number, target: RelativePoint): void {
    target.x = this.reducedMean(this.neighbourX, count);
    target.y = this.reducedMean(this.neighbourY, count);
  }

  /** Mean of the robot's own value (0) and its neighbours' values left after discarding F extremes on each side. */
  private reducedMean(values: Float64Array, count: number): number {
    const sorted = this.sorted.subarray(0, count);
    sorted.set(values.subarray(0, count));
    sorted.sort();
    let below = 0;
    let above = 0;
    for (const v of sorted) {
      if (v < 0) below++;
      else if (v > 0) above++;
    }
    const first = Math.min(this.discardPerSide, below);
    const end = count - Math.min(this.discardPerSide, above);
    let sum = 0;
    for (let k = first; k < end; k++) sum += sorted[k]!;
    return sum / (end - first + 1);
  }
}

/** Uniform random wheel commands, from its own seeded stream. */
export class RandomController implements Controller {
  readonly name = 'random';
  private readonly rng: RandomStream;

  constructor(seed: number) {
    this.rng = makeStreams(deriveSeed(seed, RANDOM_CONTROLLER_PURPOSE), 1)[0]!;
  }

  act(_obs: Float32Array, robots: number, out: Float32Array): void {
    for (let k = 0; k < 2 * robots; k++) out[k] = this.rng.range(-1, 1);
  }
}

export interface ControllerTuning {
  /** W-MSR's F, the extreme values discarded on each side per coordinate (default DEFAULT_WMSR_F). */
  wmsrF?: number;
}

/** The reference controller `name` for robots of `settings` (the random one seeded from `seed`). */
export function makeController(name: ControllerName, settings: SwarmSettings, seed: number, tuning: ControllerTuning = {}): Controller {
  switch (name) {
    case 'consensus':
      return new ConsensusController(settings.observation, observationLayout(settings.observation), settings.robots[0]!);
    case 'wmsr':
      return new WmsrController(settings.observation, observationLayout(settings.observation), settings.robots[0]!, tuning.wmsrF);
    case 'random':
      return new RandomController(seed);
  }
}
