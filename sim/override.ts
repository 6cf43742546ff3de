// The hook through which a victim robot's command is replaced: by a scripted fault, a function, or
// a trained adversary network whose batched commands are written in ahead of the step.
import type { RandomStream } from '../src/core/random.js';

/** What an override sees when it decides the victim's command for one tick. */
export interface OverrideContext {
  /** Environment index and the victim's robot index within it. */
  env: number;
  robot: number;
  /** Control step within the episode. */
  step: number;
  /** The victim's observation (rendezvous-v1) at observation[obsOffset .. obsOffset + size). */
  observation: Float32Array;
  obsOffset: number;
  /** The command the victim's own controller proposed. */
  proposedLeft: number;
  proposedRight: number;
  /** The environment's random stream (keeps the episode reproducible). */
  rng: RandomStream;
}

export interface ActionOverride {
  /** Name used in pictures, logs and errors. */
  readonly name: string;
  /** Writes the normalised command [left, right] that replaces the victim's. */
  act(ctx: OverrideContext, out: Float64Array): void;
}

/** Wraps a plain function as an override. */
export function overrideFromFunction(
  name: string,
  fn: (ctx: OverrideContext) => readonly [number, number],
): ActionOverride {
  return {
    name,
    act(ctx, out) {
      const [l, r] = fn(ctx);
      out[0] = l;
      out[1] = r;
    },
  };
}

/**
 * The victim's command per environment, written in before each step by whoever computes it in a batch
 * (a trained adversary for all environments at once): environment e's command at 2e, 2e + 1.
 */
export class CommandOverride implements ActionOverride {
  readonly name = 'adversary';
  readonly commands: Float32Array;

  constructor(envs: number) {
    this.commands = new Float32Array(2 * envs);
  }

  act(ctx: { env: number }, out: Float64Array): void {
    out[0] = this.commands[2 * ctx.env]!;
    out[1] = this.commands[2 * ctx.env + 1]!;
  }
}
