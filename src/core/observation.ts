// Observation specs: what robot i may know (its own command and, for each robot it observes, that robot's
// relative position, heading and motion), the per-(observer, neighbour) features the belief network reads,
// and the global state for a centralised critic. The simulator twin and the runtime both build
// observations with this module only. Two variants share one layout:
// - `rendezvous-v1` (global): every robot within the sensing radius (1.5 m in a 2 m arena: nearly all),
//   plus the robot's own position normalised over the arena and its heading.
// - `rendezvous-local-v1` (local): only the `maxNeighbours` nearest robots within the sensing radius, and
//   the walls as local features; nothing depends on the arena's size or on N, so a policy trained on 10-20
//   robots runs unchanged on a larger swarm in a larger arena.

import { GRID_MIN_ROBOTS, SpatialGrid, SweepOrder, SweptPairs } from './spatial-grid.js';

export const GLOBAL_SPEC_ID = 'rendezvous-v1';
export const LOCAL_SPEC_ID = 'rendezvous-local-v1';
export const OBSERVATION_SPEC_IDS = [GLOBAL_SPEC_ID, LOCAL_SPEC_ID] as const;
export type ObservationSpecId = (typeof OBSERVATION_SPEC_IDS)[number];

/** Own features of the global variant, in order. Positions are normalised to [-1, 1] over the arena. */
export const OWN_FEATURES = ['commandLeft', 'commandRight', 'positionX', 'positionY', 'cosHeading', 'sinHeading'] as const;
/**
 * Own features of the local variant: for the nearer vertical wall and the nearer horizontal wall, the unit
 * direction toward it in the robot's frame scaled by its proximity max(0, 1 - d / sensingRadius) (d from the
 * robot's centre): zero while the wall is out of range, continuous as it comes into range.
 */
export const LOCAL_OWN_FEATURES = ['commandLeft', 'commandRight', 'verticalWallForward', 'verticalWallLeft', 'horizontalWallForward', 'horizontalWallLeft'] as const;
/** Features of one neighbour row, in robot i's frame (bearing CCW positive, REP-103). */
export const NEIGHBOUR_FEATURES = [
  'distance', // d_ij / sensingRadius
  'cosBearing',
  'sinBearing',
  'cosRelativeHeading', // cos(theta_j - theta_i)
  'sinRelativeHeading',
  'speed', // j's tracked forward speed / maxSpeed
  'turnRate', // j's tracked turn rate / maxTurnRate
] as const;
/** Per-(observer i, neighbour j) features for the belief network; all zero when j is out of range. */
export const PAIR_FEATURES = [
  'inRange',
  ...NEIGHBOUR_FEATURES,
  'speedTowardCentroid', // j's velocity toward the centroid of what i sees (i included, j excluded) / maxSpeed
] as const;
/** Global-state features per robot (index order) for the centralised critic, followed by the time fraction. */
export const STATE_FEATURES = [
  'positionX', 'positionY', 'cosHeading', 'sinHeading', 'speed', 'turnRate', 'commandLeft', 'commandRight',
] as const;

/** Both variants have the same own-feature count, so one actor architecture serves both. */
export const OWN_DIM = OWN_FEATURES.length;
export const ROW_DIM = NEIGHBOUR_FEATURES.length;
export const PAIR_DIM = PAIR_FEATURES.length;
export const STATE_DIM_PER_ROBOT = STATE_FEATURES.length;


/**
 * Values of the isolation mask observeAll reads (src/runtime/isolation.ts writes it): 0 observed as usual;
 * LEFT_OUT: left out of every other robot's observation, centroid and belief pairs, as if out of range
 * (monitor.onFlag isolate); HELD_STILL: held still by the safety layer (isolate-and-stop), so the others see
 * it as a still body where the tracker has it (its row, speed and turn rate zero) but it is still out of
 * their centroid and belief pairs.
 */
export const LEFT_OUT = 1;
export const HELD_STILL = 2;

export interface ObservationSpec {
  readonly id: ObservationSpecId;
  /**
   * Capacity of the neighbour table; when more robots are in range the nearest are kept. In the local
   * variant only these robots are observed at all (belief features and centroid included).
   */
  readonly maxNeighbours: number;
  /** Sensing radius (m): robots farther than this are not observed; the unit of every relative distance. */
  readonly sensingRadius: number;
  readonly arenaWidth: number;
  readonly arenaHeight: number;
  /** Normalisers for tracked motion: the robot's top forward speed (m/s) and turn rate (rad/s). */
  readonly maxSpeed: number;
  readonly maxTurnRate: number;
}

/** Offsets of the blocks in one observation vector: [own | neighbour rows | row mask]. */
export interface ObservationLayout {
  readonly ownOffset: number;
  readonly rowsOffset: number;
  readonly maskOffset: number;
  readonly size: number;
}

export function observationLayout(spec: ObservationSpec): ObservationLayout {
  const rowsOffset = OWN_DIM;
  const maskOffset = rowsOffset + spec.maxNeighbours * ROW_DIM;
  return { ownOffset: 0, rowsOffset, maskOffset, size: maskOffset + spec.maxNeighbours };
}

export function globalStateSize(n: number): number {
  return n * STATE_DIM_PER_ROBOT + 1;
}

/**
 * What is known about a swarm at one instant, as flat arrays indexed by robot (robots of one
 * environment are contiguous starting at `base`). Poses are what the tracker reports.
 */
export interface SwarmFrame {
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly heading: Float64Array;
  /** Tracked forward speed (m/s) and turn rate (rad/s). */
  readonly speed: Float64Array;
  readonly turnRate: Float64Array;
  /** Last normalised wheel command sent to each robot, interleaved [left, right]. */
  readonly command: Float64Array;
}

/**
 * The pairs an observer saw in the environment observed last (observeAll): robot i's observed neighbours
 * at neighbour[start[i] .. start[i + 1]), in ascending index order. Global variant: every robot in range;
 * local variant: the robots filling i's rows. Every other pair's belief features are all zero.
 */
export interface ObservedPairs {
  readonly robots: number;
  readonly count: number;
  readonly start: Int32Array;
  readonly neighbour: Int32Array;
}

/** Builds rendezvous-v1 observations; keeps scratch buffers so the hot path allocates nothing. */
export class RendezvousObserver {
  readonly layout: ObservationLayout;
  /**
   * From this many robots in an environment on, neighbours are found through a uniform grid (cell = the
   * sensing radius) instead of a loop over every pair; both give bit-identical observations. Never in an
   * arena smaller than 3 x 3 sensing radii.
   */
  gridFrom = GRID_MIN_ROBOTS;
  /**
   * From this many robots on (and gridFrom), the pairs are found by a sweep along x instead of the grid: the
   * same pairs, quicker while the arena is under about 9 sensing radii high (a sweep compares a robot with
   * those in a strip of the arena's height, the grid with those in 3 x 3 cells). Infinity: the grid.
   */
  sweepFrom = GRID_MIN_ROBOTS;
  private readonly sweep = new SweepOrder();
  /** The pairs in range as the sweep finds them. */
  private readonly swept = new SweptPairs();
  private cos: Float64Array;
  private sin: Float64Array;
  /** Per robot: tracked speed and turn rate over their normalisers (a row's last two features). */
  private relSpeed: Float64Array;
  private relTurn: Float64Array;
  private visSumX: Float64Array;
  private visSumY: Float64Array;
  private visCount: Int32Array;
  /**
   * The unordered pairs in range (lower index, higher index), in the order of a loop over the lower then
   * the higher, and their distances: each pair's square root is taken once for both observers (see
   * inRangePairs). Unit directions are computed for the neighbour rows only (most pairs in range of a large
   * swarm fill no row).
   */
  private pairLo: Int32Array;
  private pairHi: Int32Array;
  private pairD: Float64Array;
  /**
   * Per observer i, the robots it sees (in range, not isolated) in ascending index order at
   * adjStart[i] .. adjStart[i + 1], with the distance of each.
   */
  private adjStart: Int32Array;
  private adjCursor: Int32Array;
  private adjNb: Int32Array;
  private adjD: Float64Array;
  /** The observed pairs of the environment observed last (see ObservedPairs): the adjacency (global) or keptNb (local). */
  private pairStart: Int32Array;
  private pairNeighbour: Int32Array;
  private keptStart: Int32Array;
  private keptNb: Int32Array;
  /** The global variant's pairs when some robots are held still (they stay in the rows, not in the pairs). */
  private pairedStart: Int32Array;
  private pairedNb: Int32Array;
  private readonly grid: SpatialGrid;
  private readonly nearIdx: Int32Array;
  private readonly nearDist: Float64Array;
  private readonly sortedKept: Int32Array;
  private readonly r2: number;

  constructor(readonly spec: ObservationSpec) {
    if (!Number.isInteger(spec.maxNeighbours) || spec.maxNeighbours < 1) {
      throw new RangeError(`maxNeighbours must be a positive integer, got ${spec.maxNeighbours}`);
    }
    if (!(spec.sensingRadius > 0)) throw new RangeError(`sensingRadius must be positive, got ${spec.sensingRadius}`);
    if (!(OBSERVATION_SPEC_IDS as readonly string[]).includes(spec.id)) throw new RangeError(`unknown observation spec '${spec.id}'`);
    this.layout = observationLayout(spec);
    this.r2 = spec.sensingRadius * spec.sensingRadius;
    this.grid = new SpatialGrid(spec.sensingRadius);
    // An arena under 3 x 3 sensing radii has nearly everyone in range: the grid cannot prune, the loop is quicker.
    if (spec.arenaWidth * spec.arenaHeight < 9 * this.r2) this.gridFrom = Infinity;
    this.nearIdx = new Int32Array(spec.maxNeighbours);
    this.nearDist = new Float64Array(spec.maxNeighbours);
    this.sortedKept = new Int32Array(spec.maxNeighbours);
    this.cos = new Float64Array(0);
    this.sin = this.cos;
    this.relSpeed = this.cos;
    this.relTurn = this.cos;
    this.visSumX = this.cos;
    this.visSumY = this.cos;
    this.visCount = new Int32Array(0);
    this.pairLo = this.visCount;
    this.pairHi = this.visCount;
    this.pairD = this.cos;
    this.adjStart = new Int32Array(1);
    this.adjCursor = this.visCount;
    this.adjNb = this.visCount;
    this.adjD = this.cos;
    this.keptStart = new Int32Array(1);
    this.keptNb = this.visCount;
    this.pairedStart = this.keptStart;
    this.pairedNb = this.visCount;
    this.pairStart = this.adjStart;
    this.pairNeighbour = this.adjNb;
  }

  get size(): number {
    return this.layout.size;
  }

  private ensure(n: number): void {
    if (this.cos.length >= n) return;
    this.cos = new Float64Array(n);
    this.sin = new Float64Array(n);
    this.relSpeed = new Float64Array(n);
    this.relTurn = new Float64Array(n);
    this.visSumX = new Float64Array(n);
    this.visSumY = new Float64Array(n);
    this.visCount = new Int32Array(n);
    this.adjStart = new Int32Array(n + 1);
    this.adjCursor = new Int32Array(n);
    this.keptStart = new Int32Array(n + 1);
    this.keptNb = new Int32Array(n * Math.min(n, this.spec.maxNeighbours));
    this.pairedStart = new Int32Array(n + 1);
    this.growPairs(Math.max(this.pairLo.length, Math.min((n * (n - 1)) / 2, 8 * n)));
  }

  /** Room for `cap` unordered pairs in range (and twice as many adjacency entries). */
  private growPairs(cap: number): void {
    const grow = <T extends Int32Array | Float64Array>(a: T, size: number): T => {
      const b = new (a.constructor as { new (n: number): T })(size);
      b.set(a.subarray(0, Math.min(a.length, size)) as never);
      return b;
    };
    this.pairLo = grow(this.pairLo, cap);
    this.pairHi = grow(this.pairHi, cap);
    this.pairD = grow(this.pairD, cap);
    this.adjNb = new Int32Array(2 * cap);
    this.adjD = new Float64Array(2 * cap);
  }

  /** The pairs observed in the environment observed last (valid until the next observeAll). */
  get observedPairs(): ObservedPairs {
    const n = this.observedRobots;
    return { robots: n, count: this.pairStart[n] ?? 0, start: this.pairStart.subarray(0, n + 1), neighbour: this.pairNeighbour };
  }

  private observedRobots = 0;

  /**
   * Collects every unordered pair (i < j) of robots base..base+n-1 within the sensing radius, in the order
   * of a loop over i then j, with its distance; returns how many. The distance is what either observer
   * computes on its own, bit for bit: x_i - x_j = -(x_j - x_i) exactly in floating point, and so are their
   * squares.
   */
  private inRangePairs(x: Float64Array, y: Float64Array, base: number, n: number, useGrid: boolean): number {
    const r2max = this.r2;
    let m = 0;
    // First the pairs in range (lower, higher), then their distances in one loop: no call per pair.
    const order = useGrid && this.sweepFrom <= n ? this.sweep.sort(x, y, base, n) : null;
    if (order !== null) {
      m = this.sweepPairs(x, y, base, n, order);
    } else if (useGrid) {
      const grid = this.grid;
      grid.build(x, y, base, n);
      const found = this.adjCursor;
      for (let i = 0; i < n; i++) {
        const c = grid.within(i, r2max, found, true);
        if (m + c > this.pairLo.length) this.growPairs(Math.max(2 * this.pairLo.length, m + c));
        const lo = this.pairLo;
        const hi = this.pairHi;
        for (let a = 0; a < c; a++) {
          lo[m] = i;
          hi[m] = found[a]!;
          m++;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const xi = x[base + i]!;
        const yi = y[base + i]!;
        for (let j = i + 1; j < n; j++) {
          const dx = x[base + j]! - xi;
          const dy = y[base + j]! - yi;
          if (dx * dx + dy * dy > r2max) continue;
          if (m === this.pairLo.length) this.growPairs(2 * m);
          this.pairLo[m] = i;
          this.pairHi[m] = j;
          m++;
        }
      }
    }
    const lo = this.pairLo;
    const hi = this.pairHi;
    const pd = this.pairD;
    for (let p = 0; p < m; p++) {
      const dx = x[base + hi[p]!]! - x[base + lo[p]!]!;
      const dy = y[base + hi[p]!]! - y[base + lo[p]!]!;
      pd[p] = Math.sqrt(dx * dx + dy * dy);
    }
    return m;
  }

  /** The pairs in range by a sweep along x over the robots in x order (SweptPairs), in the order of the loop over pairs. */
  private sweepPairs(x: Float64Array, y: Float64Array, base: number, n: number, order: Int32Array): number {
    const m = this.swept.find(x, y, base, n, order, this.r2);
    if (m > this.pairLo.length) this.growPairs(m);
    this.swept.orderInto(this.pairLo, this.pairHi);
    return m;
  }

  /** Spreads the pairs into each observer's list of robots it sees, in ascending index order (robots LEFT_OUT left out). */
  private buildAdjacency(pairs: number, base: number, n: number, isolated?: Uint8Array): void {
    const start = this.adjStart;
    const cursor = this.adjCursor;
    const lo = this.pairLo;
    const hi = this.pairHi;
    start.fill(0, 0, n + 1);
    for (let p = 0; p < pairs; p++) {
      const i = lo[p]!;
      const j = hi[p]!;
      if (isolated === undefined || isolated[base + j] !== LEFT_OUT) start[i + 1]!++;
      if (isolated === undefined || isolated[base + i] !== LEFT_OUT) start[j + 1]!++;
    }
    for (let i = 0; i < n; i++) {
      cursor[i] = start[i]!;
      start[i + 1]! += start[i]!;
    }
    // Pairs go in order of their lower robot, then the higher: each list fills in ascending index order.
    const nb = this.adjNb;
    const dist = this.adjD;
    for (let p = 0; p < pairs; p++) {
      const i = lo[p]!;
      const j = hi[p]!;
      const d = this.pairD[p]!;
      if (isolated === undefined || isolated[base + j] !== LEFT_OUT) {
        const e = cursor[i]!++;
        nb[e] = j;
        dist[e] = d;
      }
      if (isolated === undefined || isolated[base + i] !== LEFT_OUT) {
        const e = cursor[j]!++;
        nb[e] = i;
        dist[e] = d;
      }
    }
  }

  /**
   * Writes the observation of every robot of one environment into out (robot k at off + k * size).
   * The number of neighbours robot k sees is the sum of its mask. If `rowIds` is given, it receives the
   * index (within the environment) of the robot in each neighbour row, -1 for empty rows: robot k's rows
   * at rowIdsOff + k * maxNeighbours. Per-neighbour beliefs are attached to rows through it.
   * `isolated` (indexed like the frame, robot base + j at base + j; values LEFT_OUT and HELD_STILL, the
   * runtime's reaction to a flag, src/runtime/isolation.ts) leaves robots out of every other robot's
   * observation, centroid and belief pairs, as if out of range; a robot HELD_STILL stays in the others' rows
   * as a still body (zero speed and turn rate) but not in their centroid or belief pairs. An isolated robot
   * still observes the others.
   */
  observeAll(
    frame: SwarmFrame, base: number, n: number, out: Float32Array, off: number,
    rowIds?: Int32Array, rowIdsOff = 0, isolated?: Uint8Array,
  ): void {
    this.ensure(n);
    const { x, y, heading, speed, turnRate, command } = frame;
    const { rowsOffset, maskOffset, size } = this.layout;
    const spec = this.spec;
    const K = spec.maxNeighbours;
    const invRadius = 1 / spec.sensingRadius;
    const invSpeed = 1 / spec.maxSpeed;
    const invTurn = 1 / spec.maxTurnRate;
    const sx = 2 / spec.arenaWidth;
    const sy = 2 / spec.arenaHeight;
    const cos = this.cos;
    const sin = this.sin;
    const relSpeed = this.relSpeed;
    const relTurn = this.relTurn;
    const idx = this.nearIdx;
    const near = this.nearDist;
    const local = spec.id === LOCAL_SPEC_ID;
    for (let i = 0; i < n; i++) {
      const g = base + i;
      cos[i] = Math.cos(heading[g]!);
      sin[i] = Math.sin(heading[g]!);
      relSpeed[i] = speed[g]! * invSpeed;
      relTurn[i] = turnRate[g]! * invTurn;
    }
    // Everyone in range of each observer, in index order, with its distance.
    this.buildAdjacency(this.inRangePairs(x, y, base, n, n >= this.gridFrom), base, n, isolated);
    const adjStart = this.adjStart;
    const adjNb = this.adjNb;
    const adjD = this.adjD;
    this.observedRobots = n;
    let kept = 0;
    if (local) this.keptStart[0] = 0;
    // Robots held still are in the rows but not in the centroid or the belief pairs (a separate pair list).
    let held = false;
    if (isolated !== undefined) for (let j = 0; j < n && !held; j++) held = isolated[base + j] === HELD_STILL;
    const globalPaired = !local && held;
    if (globalPaired) {
      this.pairedStart[0] = 0;
      if (this.pairedNb.length < adjStart[n]!) this.pairedNb = new Int32Array(adjStart[n]!);
    }
    // Which pair list this frame's pairs are (filled by the loop below). Set before the loop, not after it: with
    // thousands of robots V8 optimises this function while its first call is still in the loop (on-stack
    // replacement), before any code after the loop has run, and a property read there deoptimised it again and
    // again (12 times in 200 ticks at 2,000 robots: the observation phase's p99 went from 2.5 to 10 ms).
    if (local) {
      this.pairStart = this.keptStart;
      this.pairNeighbour = this.keptNb;
    } else if (globalPaired) {
      this.pairStart = this.pairedStart;
      this.pairNeighbour = this.pairedNb;
    } else {
      this.pairStart = this.adjStart;
      this.pairNeighbour = this.adjNb;
    }

    for (let i = 0; i < n; i++) {
      const gi = base + i;
      const o = off + i * size;
      const xi = x[gi]!;
      const yi = y[gi]!;
      const ci = cos[i]!;
      const si = sin[i]!;
      out[o] = command[2 * gi]!;
      out[o + 1] = command[2 * gi + 1]!;
      if (local) {
        writeWallFeatures(xi, yi, ci, si, spec, out, o + 2);
      } else {
        out[o + 2] = xi * sx - 1;
        out[o + 3] = yi * sy - 1;
        out[o + 4] = ci;
        out[o + 5] = si;
      }

      // Candidates: adjacency entries s0 .. s0 + seen, in index order.
      const s0 = adjStart[i]!;
      const seen = adjStart[i + 1]! - s0;
      // Rows go nearest first (index order breaks exact ties); beyond K the farthest are dropped. near[k]
      // holds the row's distance, idx[k] its adjacency entry.
      const count = seen < K ? seen : K;
      // An insertion sort that stops at K rows (measured quicker here than ranking by counting).
      let filled = 0;
      for (let a = s0; a < s0 + seen; a++) {
        const d = adjD[a]!;
        if (filled === K && d >= near[K - 1]!) continue;
        let p = filled < K ? filled++ : K - 1;
        while (p > 0 && near[p - 1]! > d) {
          near[p] = near[p - 1]!;
          idx[p] = idx[p - 1]!;
          p--;
        }
        near[p] = d;
        idx[p] = a;
      }
      let sumX = xi;
      let sumY = yi;
      if (local) {
        // The local robot observes only its kept rows: its centroid and belief pairs are over them.
        const sorted = this.sortedKept;
        let paired = 0;
        for (let k = 0; k < count; k++) {
          const j = adjNb[idx[k]!]!;
          if (held && isolated![base + j] === HELD_STILL) continue;
          sumX += x[base + j]!;
          sumY += y[base + j]!;
          // Kept rows in index order (insertion: at most K of them) for the pair list.
          let p = paired++;
          while (p > 0 && sorted[p - 1]! > j) {
            sorted[p] = sorted[p - 1]!;
            p--;
          }
          sorted[p] = j;
        }
        this.visCount[i] = paired + 1;
        const keptNb = this.keptNb;
        for (let k = 0; k < paired; k++) keptNb[kept + k] = sorted[k]!;
        kept += paired;
        this.keptStart[i + 1] = kept;
      } else {
        let paired = 0;
        for (let a = s0; a < s0 + seen; a++) {
          const j = adjNb[a]!;
          if (held && isolated![base + j] === HELD_STILL) continue;
          sumX += x[base + j]!;
          sumY += y[base + j]!;
          if (globalPaired) this.pairedNb[kept + paired] = j;
          paired++;
        }
        if (globalPaired) {
          kept += paired;
          this.pairedStart[i + 1] = kept;
        }
        this.visCount[i] = paired + 1;
      }
      this.visSumX[i] = sumX;
      this.visSumY[i] = sumY;

      const rows = o + rowsOffset;
      const mask = o + maskOffset;
      const ro = rowIdsOff + i * K;
      for (let k = 0; k < count; k++) {
        const a = idx[k]!;
        const j = adjNb[a]!;
        const r = rows + k * ROW_DIM;
        // The unit direction i -> j, for the rows only, as observer i computes it alone. Coincident robots
        // (d = 0) have none (NaN): the row then shows bearing 0.
        const d = near[k]!;
        let ux = NaN;
        let uy = NaN;
        if (d > 0) {
          ux = (x[base + j]! - xi) / d;
          uy = (y[base + j]! - yi) / d;
        }
        const cj = cos[j]!;
        const sj = sin[j]!;
        out[r] = near[k]! * invRadius;
        if (ux === ux) {
          out[r + 1] = ux * ci + uy * si;
          out[r + 2] = uy * ci - ux * si;
        } else {
          out[r + 1] = 1;
          out[r + 2] = 0;
        }
        out[r + 3] = cj * ci + sj * si;
        out[r + 4] = sj * ci - cj * si;
        // A robot held still is shown still: what it does cannot move the others through its tracked motion.
        const still = held && isolated![base + j] === HELD_STILL;
        out[r + 5] = still ? 0 : relSpeed[j]!;
        out[r + 6] = still ? 0 : relTurn[j]!;
        out[mask + k] = 1;
        if (rowIds) rowIds[ro + k] = j;
      }
      for (let k = count; k < K; k++) {
        const r = rows + k * ROW_DIM;
        for (let f = 0; f < ROW_DIM; f++) out[r + f] = 0;
        out[mask + k] = 0;
        if (rowIds) rowIds[ro + k] = -1;
      }
    }
  }

  /**
   * Writes the belief-network features of every ordered pair (i, j) of one environment:
   * pair (i, j) at off + (i * n + j) * PAIR_DIM; pairs not observed are all zero. Must follow observeAll
   * on the same frame.
   */
  pairFeaturesAll(frame: SwarmFrame, base: number, n: number, out: Float32Array, off: number): void {
    this.checkObserved(n);
    out.fill(0, off, off + n * n * PAIR_DIM);
    const start = this.pairStart;
    const nb = this.pairNeighbour;
    for (let i = 0; i < n; i++) {
      for (let p = start[i]!; p < start[i + 1]!; p++) this.writePair(frame, base, i, nb[p]!, out, off + (i * n + nb[p]!) * PAIR_DIM);
    }
  }

  /**
   * Writes the belief-network features of the observed pairs only (observedPairs), pair p at
   * off + p * PAIR_DIM: work and memory in N x neighbours. Must follow observeAll on the same frame.
   */
  observedPairFeatures(frame: SwarmFrame, base: number, n: number, out: Float32Array, off: number): void {
    this.checkObserved(n);
    const start = this.pairStart;
    const nb = this.pairNeighbour;
    for (let i = 0; i < n; i++) {
      for (let p = start[i]!; p < start[i + 1]!; p++) this.writePair(frame, base, i, nb[p]!, out, off + p * PAIR_DIM);
    }
  }

  private checkObserved(n: number): void {
    if (this.observedRobots !== n) throw new RangeError(`pair features of ${n} robots asked after observing ${this.observedRobots}: call observeAll on the same frame first`);
  }

  /** The features of observed pair (i, j) at out[p ..]. */
  private writePair(frame: SwarmFrame, base: number, i: number, j: number, out: Float32Array, p: number): void {
    const { x, y, speed, turnRate } = frame;
    const spec = this.spec;
    const gi = base + i;
    const gj = base + j;
    const ci = this.cos[i]!;
    const si = this.sin[i]!;
    const dx = x[gj]! - x[gi]!;
    const dy = y[gj]! - y[gi]!;
    const d = Math.sqrt(dx * dx + dy * dy);
    const cj = this.cos[j]!;
    const sj = this.sin[j]!;
    out[p] = 1;
    out[p + 1] = d / spec.sensingRadius;
    out[p + 2] = d > 0 ? (dx * ci + dy * si) / d : 1;
    out[p + 3] = d > 0 ? (dy * ci - dx * si) / d : 0;
    out[p + 4] = cj * ci + sj * si;
    out[p + 5] = sj * ci - cj * si;
    out[p + 6] = speed[gj]! / spec.maxSpeed;
    out[p + 7] = turnRate[gj]! / spec.maxTurnRate;
    // Centroid of what i sees (itself included), without j.
    const others = this.visCount[i]! - 1;
    const cx = (this.visSumX[i]! - x[gj]!) / others;
    const cy = (this.visSumY[i]! - y[gj]!) / others;
    const tx = cx - x[gj]!;
    const ty = cy - y[gj]!;
    const tn = Math.sqrt(tx * tx + ty * ty);
    out[p + 8] = tn > 0 ? (speed[gj]! * (cj * tx + sj * ty)) / tn / spec.maxSpeed : 0;
  }

  /** Writes the centralised critic's state of one environment: robots in index order, then timeFraction. */
  globalState(frame: SwarmFrame, base: number, n: number, timeFraction: number, out: Float32Array, off: number): void {
    const spec = this.spec;
    for (let k = 0; k < n; k++) {
      const g = base + k;
      const p = off + k * STATE_DIM_PER_ROBOT;
      out[p] = (2 * frame.x[g]!) / spec.arenaWidth - 1;
      out[p + 1] = (2 * frame.y[g]!) / spec.arenaHeight - 1;
      out[p + 2] = Math.cos(frame.heading[g]!);
      out[p + 3] = Math.sin(frame.heading[g]!);
      out[p + 4] = frame.speed[g]! / spec.maxSpeed;
      out[p + 5] = frame.turnRate[g]! / spec.maxTurnRate;
      out[p + 6] = frame.command[2 * g]!;
      out[p + 7] = frame.command[2 * g + 1]!;
    }
    out[off + n * STATE_DIM_PER_ROBOT] = timeFraction;
  }
}

/** The own features' names of a variant (the same count in both). */
export function ownFeatureNames(id: ObservationSpecId): readonly string[] {
  return id === LOCAL_SPEC_ID ? LOCAL_OWN_FEATURES : OWN_FEATURES;
}

/**
 * The local variant's wall features at out[o..o+4): for the nearer of the two vertical walls (x = 0, x = W)
 * and the nearer of the two horizontal ones, the robot-frame unit vector toward the wall times its
 * proximity max(0, 1 - d / sensingRadius).
 */
function writeWallFeatures(xi: number, yi: number, ci: number, si: number, spec: ObservationSpec, out: Float32Array, o: number): void {
  const r = spec.sensingRadius;
  // Vertical wall: world direction (-1, 0) toward x = 0 or (1, 0) toward x = W.
  const toRight = spec.arenaWidth - xi < xi;
  const dx = toRight ? spec.arenaWidth - xi : xi;
  const px = Math.max(0, 1 - dx / r) * (toRight ? 1 : -1);
  out[o] = px * ci;
  out[o + 1] = -px * si;
  // Horizontal wall: world direction (0, -1) toward y = 0 or (0, 1) toward y = H.
  const toTop = spec.arenaHeight - yi < yi;
  const dy = toTop ? spec.arenaHeight - yi : yi;
  const py = Math.max(0, 1 - dy / r) * (toTop ? 1 : -1);
  out[o + 2] = py * si;
  out[o + 3] = py * ci;
}

/**
 * Bounded observation noise (an attack on one robot's sensing): U(-eps, eps) added to its own features and
 * to the rows that hold a neighbour; the mask is left exact. obs[off ..] is the robot's observation.
 */
export function perturbObservation(obs: Float32Array, off: number, layout: ObservationLayout, eps: number, rng: { range(lo: number, hi: number): number }): void {
  const { rowsOffset, maskOffset } = layout;
  const K = layout.size - maskOffset;
  for (let f = off; f < off + rowsOffset; f++) obs[f]! += rng.range(-eps, eps);
  for (let k = 0; k < K; k++) {
    if (obs[off + maskOffset + k] === 0) continue;
    const row = off + rowsOffset + k * ROW_DIM;
    for (let f = row; f < row + ROW_DIM; f++) obs[f]! += rng.range(-eps, eps);
  }
}
