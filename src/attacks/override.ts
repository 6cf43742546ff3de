// The hook through which a victim robot's command is replaced: by a scripted fault, a function, or
// a trained adversary network whose batched commands are written in ahead of the step.
import type { RandomStream } from '../core/random.js';

/** What an override sees when it decides the victim's command for one tick. */
export interface OverrideContext {
  /** Environment index and the victim's robot index within it. */
  env: number;
  robot: number;
  /** The victim's place among its environment's victims (0 for the first; see RendezvousWorld.setVictims). */
  victimSlot: number;
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
 * The victims' commands, written in before each step by whoever computes them in a batch (a trained
 * adversary for all environments at once): with V victims per environment, victim slot v of environment e
 * at 2 (e V + v), 2 (e V + v) + 1 (one victim: environment e's command at 2e, 2e + 1).
 */
export class CommandOverride implements ActionOverride {
  readonly name = 'adversary';
  readonly commands: Float32Array;

  constructor(
    envs: number,
    readonly victimsPerEnv = 1,
  ) {
    if (!(Number.isInteger(victimsPerEnv) && victimsPerEnv >= 1)) throw new RangeError(`victims per environment must be an integer >= 1, got ${victimsPerEnv}`);
    this.commands = new Float32Array(2 * envs * victimsPerEnv);
  }

  act(ctx: { env: number; victimSlot: number }, out: Float64Array): void {
    if (ctx.victimSlot >= this.victimsPerEnv) {
      throw new RangeError(`this adversary override holds ${this.victimsPerEnv} command(s) per environment; env ${ctx.env} has a victim in slot ${ctx.victimSlot}`);
    }
    const at = 2 * (ctx.env * this.victimsPerEnv + ctx.victimSlot);
    out[0] = this.commands[at]!;
    out[1] = this.commands[at + 1]!;
  }
}
