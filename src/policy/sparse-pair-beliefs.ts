// The pair beliefs of a deployed swarm kept only for the pairs that matter: the pairs observed now, and the
// pairs out of range for at most `forgetAfter` ticks (their recurrent state still advances, on all-zero
// features, exactly as in the dense form). A pair out of range for longer is dropped, so a neighbour that
// comes back starts from a zero state, as a newly met robot. Work and memory grow as N x neighbours, not N^2.
// What this changes against the dense form (PairBeliefBuffers, every ordered pair every tick): a pair that
// was never observed, or was forgotten, has no state at all, where the dense form advances it every tick on
// zero features from zero (so it reaches the network's zero-input state); when it is (again) observed the
// sparse state starts from zero. Pairs are held sorted by (observer, neighbour); every buffer is reused and
// grown by doubling, never reallocated per tick.
import { PAIR_DIM, type ObservedPairs } from '../core/observation.js';

/** The live pairs of one tick, sorted by observer then neighbour. */
export interface LivePairs {
  readonly count: number;
  /** Observer i's live pairs at start[i] .. start[i + 1). */
  readonly start: Int32Array;
  readonly observer: Int32Array;
  readonly neighbour: Int32Array;
  /** R beliefs of live pair p at p * R (after advance()). */
  readonly beliefs: Float32Array;
}

export class SparsePairBeliefs implements LivePairs {
  count = 0;
  robots = 0;
  start = new Int32Array(1);
  observer = new Int32Array(0);
  neighbour = new Int32Array(0);
  /** Ticks out of range per live pair (0: observed now). */
  away = new Int32Array(0);
  /** Recurrent state of live pair p at p * hidden (the input of this tick's network call, then its output). */
  state = new Float32Array(0);
  /** Belief-network input of live pair p at p * PAIR_DIM. */
  features = new Float32Array(0);
  beliefs = new Float32Array(0);
  /** meanOverObservers' result, rewritten by every call (a tick's, read within the tick). */
  private mean = { value: new Float64Array(0), observers: new Int32Array(0) };
  /** The previous tick's pairs, merged with the observed ones into the current (swapped each tick). */
  private prev = { count: 0, observer: new Int32Array(0), neighbour: new Int32Array(0), away: new Int32Array(0), state: new Float32Array(0) };

  constructor(
    readonly hidden: number,
    readonly beliefsPerPair: number,
    private forgetAfter: number,
  ) {}

  setForgetAfter(ticks: number): void {
    this.forgetAfter = ticks;
  }

  /** Forgets every pair (the run restarted, or the swarm's size changed). */
  reset(robots: number): void {
    this.robots = robots;
    this.count = 0;
    this.prev.count = 0;
    if (this.start.length !== robots + 1) this.start = new Int32Array(robots + 1);
    else this.start.fill(0);
  }

  private reserve(pairs: number): void {
    if (this.observer.length >= pairs) return;
    const cap = Math.max(pairs, 2 * this.observer.length, 64);
    const H = this.hidden;
    const grow = <T extends Int32Array | Float32Array>(a: T, n: number, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a.subarray(0, Math.min(a.length, n)) as never);
      return b;
    };
    const i32 = (n: number) => new Int32Array(n);
    const f32 = (n: number) => new Float32Array(n);
    this.observer = grow(this.observer, cap, i32);
    this.neighbour = grow(this.neighbour, cap, i32);
    this.away = grow(this.away, cap, i32);
    this.state = grow(this.state, cap * H, f32);
    this.features = f32(cap * PAIR_DIM);
    this.beliefs = f32(cap * this.beliefsPerPair);
    const p = this.prev;
    p.observer = grow(p.observer, cap, i32);
    p.neighbour = grow(p.neighbour, cap, i32);
    p.away = grow(p.away, cap, i32);
    p.state = grow(p.state, cap * H, f32);
  }

  /**
   * This tick's live pairs: last tick's merged with the observed ones (`observed`, their features at
   * p * PAIR_DIM of `features`). After it, `features` and `state` hold the network's input for pairs
   * 0 .. count; call stored() with its output.
   */
  merge(observed: ObservedPairs, features: Float32Array): void {
    if (observed.robots !== this.robots) this.reset(observed.robots);
    // Last tick's pairs become prev (buffers swapped, nothing copied).
    const p = this.prev;
    const cur = { count: this.count, observer: this.observer, neighbour: this.neighbour, away: this.away, state: this.state };
    this.observer = p.observer;
    this.neighbour = p.neighbour;
    this.away = p.away;
    this.state = p.state;
    this.prev = cur;
    const prev = this.prev;
    this.reserve(prev.count + observed.count);
    const H = this.hidden;
    const N = this.robots;
    const F = this.forgetAfter;
    let n = 0;
    let a = 0;
    for (let i = 0; i < N; i++) {
      this.start[i] = n;
      let b = observed.start[i]!;
      const bEnd = observed.start[i + 1]!;
      while (true) {
        const ja = a < prev.count && prev.observer[a] === i ? prev.neighbour[a]! : -1;
        const jb = b < bEnd ? observed.neighbour[b]! : -1;
        if (ja < 0 && jb < 0) break;
        if (jb >= 0 && (ja < 0 || jb <= ja)) {
          // Observed now: its features, its state if it was live (else a fresh zero state).
          this.observer[n] = i;
          this.neighbour[n] = jb;
          this.away[n] = 0;
          copy(features, b * PAIR_DIM, this.features, n * PAIR_DIM, PAIR_DIM);
          if (ja === jb) copy(prev.state, a * H, this.state, n * H, H);
          else this.state.fill(0, n * H, (n + 1) * H);
          if (ja === jb) a++;
          b++;
          n++;
        } else {
          // Live but out of range: kept, on zero features, until it has been away for more than F ticks.
          const away = prev.away[a]! + 1;
          if (away <= F) {
            this.observer[n] = i;
            this.neighbour[n] = ja;
            this.away[n] = away;
            this.features.fill(0, n * PAIR_DIM, (n + 1) * PAIR_DIM);
            copy(prev.state, a * H, this.state, n * H, H);
            n++;
          }
          a++;
        }
      }
    }
    this.start[N] = n;
    this.count = n;
  }

  /** The network's output for pairs 0 .. count: their next states and beliefs. */
  stored(hOut: Float32Array, beliefs: Float32Array): void {
    this.state.set(hOut.subarray(0, this.count * this.hidden));
    this.beliefs.set(beliefs.subarray(0, this.count * this.beliefsPerPair));
  }

  /** The live pair (i, j), or -1. */
  find(i: number, j: number): number {
    for (let p = this.start[i]!, end = this.start[i + 1]!; p < end; p++) if (this.neighbour[p] === j) return p;
    return -1;
  }

  /** The beliefs in the dense layout, R values of pair (i, j) at (i * N + j) * R (zero where no live pair), into out. */
  toDense(out: Float32Array): Float32Array {
    const R = this.beliefsPerPair;
    const N = this.robots;
    out.fill(0, 0, N * N * R);
    for (let p = 0; p < this.count; p++) out.set(this.beliefs.subarray(p * R, (p + 1) * R), (this.observer[p]! * N + this.neighbour[p]!) * R);
    return out;
  }

  /**
   * The sparse form of the monitor's aggregateBeliefs (src/monitor/monitor.ts): per robot j, the mean over
   * the observers that see it now of `evidence` of their P(compromised) (their R beliefs summed; the monitor
   * passes beliefEvidence), and how many they are. Its arrays are rewritten by the next call.
   */
  meanOverObservers(evidence: (p: number) => number): { value: Float64Array; observers: Int32Array } {
    const N = this.robots;
    const R = this.beliefsPerPair;
    if (this.mean.value.length !== N) this.mean = { value: new Float64Array(N), observers: new Int32Array(N) };
    const { value, observers } = this.mean;
    value.fill(0);
    observers.fill(0);
    for (let p = 0; p < this.count; p++) {
      if (this.away[p] !== 0) continue;
      const j = this.neighbour[p]!;
      let s = 0;
      for (let r = 0; r < R; r++) s += this.beliefs[p * R + r]!;
      value[j]! += evidence(s);
      observers[j]!++;
    }
    for (let j = 0; j < N; j++) if (observers[j]! > 0) value[j]! /= observers[j]!;
    return this.mean;
  }
}

/**
 * Copies `count` values of `from` at `at` into `to` at `into`: per pair, where set(subarray()) would make a view
 * object per call (tens of thousands a tick at 2,000 robots).
 */
export function copy(from: Float32Array, at: number, to: Float32Array, into: number, count: number): void {
  for (let k = 0; k < count; k++) to[into + k] = from[at + k]!;
}
