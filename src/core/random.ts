// Seeded random streams: one independent, jumpable stream per environment, so environment e's
// trajectory depends only on (seed, e), never on how many environments run beside it.
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/** 2^-32: maps a 32-bit integer to [0, 1). */
const INV_2_32 = 1 / 4294967296;

export class RandomStream {
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

  /**
   * Fills out[0 .. groups x (uniforms + gaussians)) with `groups` groups of draws, each `uniforms` uniform()
   * draws followed by `gaussians` gaussian() draws: the same numbers, in the same order, as those calls. The
   * twin draws a step's noise this way: a number a call returns is boxed in a heap number unless V8 inlines
   * the call, which its large loops do not always get.
   */
  fillDraws(out: Float64Array, groups: number, uniforms: number, gaussians: number): void {
    let q = 0;
    for (let k = 0; k < groups; k++) {
      for (let u = 0; u < uniforms; u++) out[q++] = this.uniform();
      for (let u = 0; u < gaussians; u++) out[q++] = this.gaussian();
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = p[i]!;
      p[i] = p[j]!;
      p[j] = tmp;
    }
    return p;
  }

  /**
   * Standard normal sample by the ziggurat method (Marsaglia & Tsang, 2000): one generator call and a
   * table lookup in about 99% of draws, several times cheaper than Box-Muller or the polar method.
   */
  gaussian(): number {
    const hz = this.gen.next() | 0;
    // The layer comes from a second draw's top bits: xoroshiro128+'s low bits are its weakest, and
    // reusing bits of hz would tie the layer to the magnitude.
    const iz = this.gen.next() >>> 25;
    if (Math.abs(hz) < ZIG_K[iz]!) return hz * ZIG_W[iz]!;
    // The slow path leaves its sample in a field: had its return value met the product above, V8 would box
    // both in a heap number.
    this.outsideCore(hz, iz);
    return this.slowSample;
  }

  /** The sample outsideCore drew last. */
  private slowSample = 0.5;

  /**
   * The rest of the ziggurat for a draw (hz, iz) outside its layer's core: the base layer's tail, the wedge
   * test, or fresh draws until one is accepted; the sample goes to slowSample. Kept apart so that gaussian()
   * stays small enough for V8 to inline into the twin's loops (a call that is not inlined boxes its result).
   */
  private outsideCore(hz: number, iz: number): void {
    for (;;) {
      const x = hz * ZIG_W[iz]!;
      if (iz === 0) {
        this.slowSample = this.gaussianTail(hz > 0);
        return;
      }
      // Wedge between layers: accept under the density.
      if (ZIG_F[iz]! + this.uniform() * (ZIG_F[iz - 1]! - ZIG_F[iz]!) < Math.exp(-0.5 * x * x)) {
        this.slowSample = x;
        return;
      }
      hz = this.gen.next() | 0;
      iz = this.gen.next() >>> 25;
      if (Math.abs(hz) < ZIG_K[iz]!) {
        this.slowSample = hz * ZIG_W[iz]!;
        return;
      }
    }
  }

  /** A sample from the normal tail beyond ZIG_R (Marsaglia's exponential rejection). */
  private gaussianTail(positive: boolean): number {
    let x: number;
    let y: number;
    do {
      x = -Math.log(1 - this.uniform()) / ZIG_R;
      y = -Math.log(1 - this.uniform());
    } while (y + y < x * x);
    return positive ? ZIG_R + x : -ZIG_R - x;
  }
}

// Ziggurat tables for the standard normal with 128 layers of equal area ZIG_V; ZIG_R is the base
// layer's right edge. ZIG_K: acceptance thresholds on |int32|; ZIG_W: int32 -> x scale; ZIG_F: density.
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const ZIG_K = new Float64Array(128);
const ZIG_W = new Float64Array(128);
const ZIG_F = new Float64Array(128);
{
  const m = 2147483648;
  let d = ZIG_R;
  let t = d;
  const q = ZIG_V / Math.exp(-0.5 * d * d);
  ZIG_K[0] = (d / q) * m;
  ZIG_K[1] = 0;
  ZIG_W[0] = q / m;
  ZIG_W[127] = d / m;
  ZIG_F[0] = 1;
  ZIG_F[127] = Math.exp(-0.5 * d * d);
  for (let i = 126; i >= 1; i--) {
    d = Math.sqrt(-2 * Math.log(ZIG_V / d + Math.exp(-0.5 * d * d)));
    ZIG_K[i + 1] = (d / t) * m;
    t = d;
    ZIG_F[i] = Math.exp(-0.5 * d * d);
    ZIG_W[i] = d / m;
  }
}

/** splitmix32: a well-mixed 32-bit word from a 32-bit counter (used only to fill generator state). */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}

/** Purposes of derived seeds (any distinct numbers). */
export const SAMPLER_PURPOSE = 1;
export const RANDOM_CONTROLLER_PURPOSE = 2;
/** MIR2's regulariser batches (kept apart so MAPPO's minibatch order is the same with or without it). */
export const MIR2_PURPOSE = 3;
/** BATPAL's severity draws and reference (MDP0) rollouts. */
export const BATPAL_PURPOSE = 4;

/**
 * A seed for an independent purpose derived from a user seed (e.g. the trainer's sampling next to the
 * environments' streams), so two purposes never share a stream.
 */
export function deriveSeed(seed: number, purpose: number): number {
  return splitmix32(Math.imul(seed, 0x27d4eb2d) ^ splitmix32(purpose)) >>> 1;
}

/**
 * `count` independent streams for one seed: stream k is the base generator jumped k times. The base state
 * is filled by splitmix32 from the seed: seeding xoroshiro128+ with the raw seed (mostly zero bits) makes
 * its first outputs nearly the same for every seed.
 */
export function makeStreams(seed: number, count: number): RandomStream[] {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0x7fffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^31), got ${seed}`);
  }
  const state = [splitmix32(seed), splitmix32(seed ^ 0x5bd1e995), splitmix32(seed + 0x3c6ef372), splitmix32(~seed)];
  if (!state.some((w) => w !== 0)) state[0] = 1; // xoroshiro128+ must not start from all zeros
  const base = xoroshiro128plusFromState(state);
  const streams: RandomStream[] = [];
  for (let k = 0; k < count; k++) {
    streams.push(new RandomStream(base.clone()));
    base.jump();
  }
  return streams;
}
