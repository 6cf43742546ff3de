// A uniform grid over the plane for fixed-radius neighbour searches: the cost of finding every robot within
// r of every robot grows as N x neighbours instead of N^2. Cells are squares of side `cell` (at least the
// search radius, so a search looks at the 3 x 3 cells around a point), hashed into a table of about 2N
// buckets, so any coordinates work (a robot far outside the arena, an unbounded plane) without sizing the
// grid to an arena. Buckets are filled in index order and every search returns indices in ascending order:
// callers that sum or rank over neighbours get exactly the order of a loop over all robots.

/** Below this many robots a plain loop over all pairs is quicker than building the grid. */
export const GRID_MIN_ROBOTS = 48;

export class SpatialGrid {
  private bucketOf = new Int32Array(0);
  private start = new Int32Array(1);
  private items = new Int32Array(0);
  private mask = 0;
  private inv = 1;
  private x: Float64Array = new Float64Array(0);
  private y: Float64Array = new Float64Array(0);
  private base = 0;
  private n = 0;

  constructor(private cell: number) {
    this.setCell(cell);
  }

  /** Cells of side `cell` from the next build on (a search radius must not exceed it). */
  setCell(cell: number): void {
    if (!(cell > 0 && Number.isFinite(cell))) throw new RangeError(`spatial grid: cell size must be a positive number, got ${cell}`);
    this.cell = cell;
    this.inv = 1 / cell;
  }

  get cellSize(): number {
    return this.cell;
  }

  /** Robots in the grid. */
  get size(): number {
    return this.n;
  }

  private bucket(cx: number, cy: number): number {
    return (Math.imul(cx, 0x9e3779b1) ^ Math.imul(cy, 0x85ebca6b)) & this.mask;
  }

  /** Bins robots base..base+n-1 of x, y (read again by within(); keep them unchanged until the next build). */
  build(x: Float64Array, y: Float64Array, base: number, n: number): void {
    this.x = x;
    this.y = y;
    this.base = base;
    this.n = n;
    let buckets = 16;
    while (buckets < 2 * n) buckets *= 2;
    this.mask = buckets - 1;
    if (this.bucketOf.length < n) {
      this.bucketOf = new Int32Array(n);
      this.items = new Int32Array(n);
    }
    if (this.start.length < buckets + 1) this.start = new Int32Array(buckets + 1);
    if (this.stamp.length < buckets) {
      this.stamp = new Int32Array(buckets);
      this.token = 0;
    }
    // Tokens restart before they could wrap around to a stamp left from long ago.
    if (this.token > 0x3fffffff) {
      this.stamp.fill(0);
      this.token = 0;
    }
    const start = this.start;
    start.fill(0, 0, buckets + 1);
    for (let k = 0; k < n; k++) {
      const b = this.bucket(Math.floor(x[base + k]! * this.inv), Math.floor(y[base + k]! * this.inv));
      this.bucketOf[k] = b;
      start[b + 1]!++;
    }
    for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
    // A stable counting sort: within a bucket, robots stay in index order.
    const fill = this.items;
    for (let k = 0; k < n; k++) fill[start[this.bucketOf[k]!]!++] = k;
    for (let b = buckets; b > 0; b--) start[b] = start[b - 1]!;
    start[0] = 0;
  }

  /**
   * Every robot j (index within the environment) with a squared distance to robot i of at most r2, i
   * excluded, into out in ascending order; returns how many. r2 must not exceed cell^2. `after`: only j > i.
   */
  within(i: number, r2: number, out: Int32Array, after = false): number {
    const { x, y, base } = this;
    const xi = x[base + i]!;
    const yi = y[base + i]!;
    const cx = Math.floor(xi * this.inv);
    const cy = Math.floor(yi * this.inv);
    let count = 0;
    // Up to 9 buckets; two cells that hash to the same bucket are visited once (the bucket's stamp says so).
    const stamp = this.stamp;
    const token = ++this.token;
    const start = this.start;
    const items = this.items;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const b = this.bucket(cx + dx, cy + dy);
        if (stamp[b] === token) continue;
        stamp[b] = token;
        for (let s = start[b]!, end = start[b + 1]!; s < end; s++) {
          const j = items[s]!;
          if (j === i || (after && j < i)) continue;
          const ddx = x[base + j]! - xi;
          const ddy = y[base + j]! - yi;
          if (!(ddx * ddx + ddy * ddy > r2)) out[count++] = j;
        }
      }
    }
    // Insertion sort: a handful of neighbours, already in order within each bucket.
    for (let a = 1; a < count; a++) {
      const v = out[a]!;
      let p = a;
      while (p > 0 && out[p - 1]! > v) {
        out[p] = out[p - 1]!;
        p--;
      }
      out[p] = v;
    }
    return count;
  }

  /** Per bucket: the search that last visited it (token), so a search visits each bucket once. */
  private stamp = new Int32Array(0);
  private token = 0;
}

/**
 * Per environment, its robots (indices within it) in order of x, for sweeps along x: environment e's robots
 * start at base = e x n. The order is kept between calls, so each sort starts nearly sorted when robots
 * moved little since (a few cm per control step): about n compares instead of n^2 / 4.
 */
export class SweepOrder {
  private order = new Int32Array(0);
  private robots = 0;

  /**
   * Sorts environment (base, n)'s robots by x and returns the array holding the order at order[base ..
   * base + n); null if base is not a multiple of n or a coordinate is not finite (an order could not be
   * trusted): the caller then searches another way.
   */
  sort(x: Float64Array, y: Float64Array, base: number, n: number): Int32Array | null {
    if (n < 1 || base % n !== 0) return null;
    if (n !== this.robots) {
      // Another swarm size: every environment starts again in index order.
      this.robots = n;
      this.order = new Int32Array(0);
    }
    if (this.order.length < base + n) {
      const grown = new Int32Array(Math.max(base + n, 2 * this.order.length));
      grown.set(this.order);
      for (let g = this.order.length; g < grown.length; g++) grown[g] = g % n;
      this.order = grown;
    }
    const order = this.order;
    for (let a = 0; a < n; a++) {
      const k = order[base + a]!;
      const xk = x[base + k]!;
      if (!Number.isFinite(xk) || !Number.isFinite(y[base + k]!)) return null;
      let p = a;
      while (p > 0 && x[base + order[base + p - 1]!]! > xk) {
        order[base + p] = order[base + p - 1]!;
        p--;
      }
      order[base + p] = k;
    }
    return order;
  }
}

/**
 * The pairs of one environment's robots whose centres are at most sqrt(r2) apart, found by a sweep along x
 * over an x order (SweepOrder.sort): each robot is compared with the robots after it in that order until one
 * is farther than that in x alone. The same pairs as a loop over all pairs with the test dx^2 + dy^2 <= r2:
 * past the first robot whose dx^2 exceeds r2 every dx^2, hence every dx^2 + dy^2, does too (x order,
 * monotone rounding). Shared by the observation's pairs in range and the contact passes' broad phase.
 */
export class SweptPairs {
  private lo = new Int32Array(64);
  private hi = new Int32Array(64);
  private counts = new Int32Array(0);
  private found = 0;
  private robots = 0;

  /** Finds the pairs (kept until the next call) and returns how many. */
  find(x: Float64Array, y: Float64Array, base: number, n: number, order: Int32Array, r2: number): number {
    let lo = this.lo;
    let hi = this.hi;
    let m = 0;
    for (let a = 0; a < n; a++) {
      const i = order[base + a]!;
      const xi = x[base + i]!;
      const yi = y[base + i]!;
      for (let c = a + 1; c < n; c++) {
        const j = order[base + c]!;
        const dx = x[base + j]! - xi;
        const dx2 = dx * dx;
        if (dx2 > r2) break;
        const dy = y[base + j]! - yi;
        if (dx2 + dy * dy > r2) continue;
        if (m === lo.length) {
          lo = this.lo = growInt32(lo, 2 * m);
          hi = this.hi = growInt32(hi, 2 * m);
        }
        lo[m] = i < j ? i : j;
        hi[m] = i < j ? j : i;
        m++;
      }
    }
    this.found = m;
    this.robots = n;
    return m;
  }

  /** The pairs found last, in the order of a loop over the lower index then the higher, into outLo/outHi (room for them needed). */
  orderInto(outLo: Int32Array, outHi: Int32Array): void {
    if (this.counts.length < this.robots + 1) this.counts = new Int32Array(this.robots + 1);
    orderPairs(this.lo, this.hi, this.found, this.robots, outLo, outHi, this.counts);
  }
}

/** a, grown to `size` entries (its values kept). */
function growInt32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/**
 * Puts pairs (lo[p], hi[p]), lo < hi < n, found in any order, into the order of a loop over lo then hi: into
 * outLo/outHi[0 .. count). A counting sort by lo, then an insertion sort of each lo's few his; `counts` needs
 * n + 1 entries. (Int32Array.prototype.sort would allocate on every call.)
 */
export function orderPairs(lo: Int32Array, hi: Int32Array, count: number, n: number, outLo: Int32Array, outHi: Int32Array, counts: Int32Array): void {
  counts.fill(0, 0, n + 1);
  for (let p = 0; p < count; p++) counts[lo[p]! + 1]!++;
  for (let i = 0; i < n; i++) counts[i + 1]! += counts[i]!;
  for (let p = 0; p < count; p++) {
    const i = lo[p]!;
    const q = counts[i]!++;
    outLo[q] = i;
    outHi[q] = hi[p]!;
  }
  // counts[i] is now the end of lo = i's run (the start of i + 1's).
  let begin = 0;
  for (let i = 0; i < n; i++) {
    const end = counts[i]!;
    for (let a = begin + 1; a < end; a++) {
      const v = outHi[a]!;
      let q = a;
      while (q > begin && outHi[q - 1]! > v) {
        outHi[q] = outHi[q - 1]!;
        q--;
      }
      outHi[q] = v;
    }
    begin = end;
  }
}

/** A grid and a neighbour list shared by the pair searches below (single-threaded: one search at a time). */
const shared = new SpatialGrid(1);
let found = new Int32Array(0);

/**
 * Calls visit(i, j) for every pair i < j (indices within the environment of robots base..base+n-1) whose
 * centres are at most `reach` apart (through the grid), or for every pair of a swarm under
 * GRID_MIN_ROBOTS robots, in the order of a loop over i then j; stops when visit returns true. Pairs
 * farther apart may be visited too: visit applies its own exact test.
 */
export function forNearPairs(x: Float64Array, y: Float64Array, base: number, n: number, reach: number, visit: (i: number, j: number) => boolean | void): void {
  if (n < GRID_MIN_ROBOTS || !(reach > 0)) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (visit(i, j)) return;
    return;
  }
  shared.setCell(reach);
  shared.build(x, y, base, n);
  if (found.length < n) found = new Int32Array(n);
  const r2 = reach * reach;
  for (let i = 0; i < n; i++) {
    const count = shared.within(i, r2, found, true);
    for (let m = 0; m < count; m++) if (visit(i, found[m]!)) return;
  }
}

/**
 * Marks every robot whose disc comes within `margin` of another's (centre distance below the sum of the
 * radii plus margin): out[outOff + k] = 1 for robot k of the environment, 0 otherwise. The twin's contact
 * detection, and a runtime monitor's contact test, in N x neighbours.
 */
export function markContacts(x: Float64Array, y: Float64Array, base: number, n: number, radius: ArrayLike<number>, margin: number, out: Uint8Array, outOff = base): void {
  let maxR = 0;
  for (let k = 0; k < n; k++) {
    out[outOff + k] = 0;
    if (radius[k]! > maxR) maxR = radius[k]!;
  }
  if (n < GRID_MIN_ROBOTS) {
    // The twin's small swarms (training): the plain loop, without a call per pair.
    for (let i = 0; i < n; i++) {
      const xi = x[base + i]!;
      const yi = y[base + i]!;
      for (let j = i + 1; j < n; j++) {
        const minD = radius[i]! + radius[j]! + margin;
        const dx = x[base + j]! - xi;
        if (dx >= minD || dx <= -minD) continue;
        const dy = y[base + j]! - yi;
        if (dx * dx + dy * dy < minD * minD) {
          out[outOff + i] = 1;
          out[outOff + j] = 1;
        }
      }
    }
    return;
  }
  forNearPairs(x, y, base, n, 2 * maxR + margin, (i, j) => {
    const minD = radius[i]! + radius[j]! + margin;
    const dx = x[base + j]! - x[base + i]!;
    if (dx >= minD || dx <= -minD) return;
    const dy = y[base + j]! - y[base + i]!;
    if (dx * dx + dy * dy < minD * minD) {
      out[outOff + i] = 1;
      out[outOff + j] = 1;
    }
  });
}
