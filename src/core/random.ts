// Seeded random streams: one independent, jumpable stream per environment, so environment e's
// trajectory depends only on (seed, e), never on how many environments run beside it.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/** 2^-32: maps a 32-bit integer to [0, 1). */
const INV_2_32 = 1 / 4294967296;

export class RandomStream {
  private spare = 0;
  private hasSpare = false;

  constructor(private readonly gen: JumpableRandomGenerator) {}

  /** Uniform in [0, 1) with 32 bits of resolution (plenty for noise and sampling; one generator call). */
  uniform(): number {
    return (this.gen.next() >>> 0) * INV_2_32;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer uniform in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** Standard normal sample (Marsaglia's polar method; the second value is kept for the next call). */
  gaussian(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const scale = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * scale;
    this.hasSpare = true;
    return u * scale;
  }
}

/** `count` independent streams for one seed: stream k is the base generator jumped k times. */
export function makeStreams(seed: number, count: number): RandomStream[] {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const base = xoroshiro128plus(seed | 0);
  const streams: RandomStream[] = [];
  for (let k = 0; k < count; k++) {
    streams.push(new RandomStream(base.clone()));
    base.jump();
  }
  return streams;
}
