// Reference controllers that read the same rendezvous-v1 observation a learned policy reads.
import { commandsFromTwist } from '../src/core/kinematics.js';
import { ROW_DIM, type ObservationLayout, type ObservationSpec } from '../src/core/observation.js';
import { deriveSeed, makeStreams, RANDOM_CONTROLLER_PURPOSE, type RandomStream } from '../src/core/random.js';
import type { RobotParams } from '../src/core/robot-params.js';

/** Maps a batch of observations (robot g at g * layout.size) to wheel commands (robot g at 2g). */
export interface Controller {
  readonly name: string;
  act(obs: Float32Array, robots: number, out: Float32Array): void;
}

export const CONTROLLER_NAMES = ['consensus', 'random'] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

export interface ConsensusGains {
  /** Turn-rate gain on the bearing error, 1/s. */
  turnGain: number;
  /** Within this distance of the target (m) the robot slows down linearly... */
  slowRadius: number;
  /** ...and within this one it stops. */
  stopRadius: number;
}

export const DEFAULT_CONSENSUS_GAINS: ConsensusGains = { turnGain: 4, slowRadius: 0.3, stopRadius: 0.06 };

/**
 * Consensus rendezvous: each robot turns toward the centroid of the neighbours it sees and drives there,
 * slowing down as it arrives; a robot that sees nobody stays still.
 */
export class ConsensusController implements Controller {
  readonly name = 'consensus';

  constructor(
    private readonly spec: ObservationSpec,
    private readonly layout: ObservationLayout,
    private readonly robot: RobotParams,
    private readonly gains: ConsensusGains = DEFAULT_CONSENSUS_GAINS,
  ) {}

  act(obs: Float32Array, robots: number, out: Float32Array): void {
    const { rowsOffset, maskOffset, size } = this.layout;
    const K = this.spec.maxNeighbours;
    const g = this.gains;
    for (let i = 0; i < robots; i++) {
      const off = i * size;
      let sx = 0;
      let sy = 0;
      let count = 0;
      for (let k = 0; k < K; k++) {
        if (obs[off + maskOffset + k] === 0) continue;
        const r = off + rowsOffset + k * ROW_DIM;
        const d = obs[r] * this.spec.commRadius;
        sx += d * obs[r + 1];
        sy += d * obs[r + 2];
        count++;
      }
      let linear = 0;
      let angular = 0;
      if (count > 0) {
        const tx = sx / count;
        const ty = sy / count;
        const dist = Math.hypot(tx, ty);
        if (dist > g.stopRadius) {
          const bearing = Math.atan2(ty, tx);
          angular = g.turnGain * bearing;
          const approach = Math.min(1, (dist - g.stopRadius) / (g.slowRadius - g.stopRadius));
          linear = this.spec.maxSpeed * Math.max(0, Math.cos(bearing)) * approach;
        }
      }
      const [l, r] = commandsFromTwist(linear, angular, this.robot);
      out[2 * i] = l;
      out[2 * i + 1] = r;
    }
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
