// Rigid-disc physics of one environment's robots inside a walled rectangle, on flat arrays.
// Robots base..base+n-1 of the arrays belong to the environment.
//
// Contacts are resolved by projection (overlapping discs pushed apart symmetrically, then clamped to the
// walls) after every sub-step. Only pairs that could meet within the control step are checked per
// sub-step; a full check at the end of the step backs that up, so no overlap survives a step.
// From GRID_MIN_ROBOTS robots on, the step's pairs are found once, by a sweep along x (ContactSolver), in
// the same order as the loop over every pair: the candidates, overlap test and contacts are bit-identical;
// the end-of-step backstop (a uniform grid, src/core/spatial-grid.ts) checks, each pass, the pairs close
// enough to touch at its start (the loop checks every pair), so in a rare chain of pushes its order can
// differ from the loop's. Training's swarms (10 to 20 robots) always take the loop.
import { forNearPairs, GRID_MIN_ROBOTS, markContacts, SweepOrder, SweptPairs } from '../src/core/spatial-grid.js';

/** Squared-distance tolerance under which two discs are treated as overlapping and separated. */
const OVERLAP_SLOP = 1e-12;
/** Extra separation added to each push so that separated discs do not re-test as overlapping. */
const PUSH_EPSILON = 1e-9;
/** Gauss-Seidel passes allowed before the motion is undone as jammed. */
const MAX_RESOLVE_PASSES = 32;

export interface DiscBodies {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Radius per robot index within an environment (length n). */
  readonly radius: Float64Array;
  readonly width: number;
  readonly height: number;
}

/** Pushes robot k (index within the environment) back inside the walls. */
function clampOne(b: DiscBodies, base: number, k: number): void {
  const g = base + k;
  const r = b.radius[k]!;
  const px = b.x[g]!;
  const py = b.y[g]!;
  if (px < r) b.x[g] = r;
  else if (px > b.width - r) b.x[g] = b.width - r;
  if (py < r) b.y[g] = r;
  else if (py > b.height - r) b.y[g] = b.height - r;
}

/** Pushes every robot back inside the walls. */
export function clampToWalls(b: DiscBodies, base: number, n: number): void {
  for (let k = 0; k < n; k++) clampOne(b, base, k);
}

/** Pushes the listed robots (indices within the environment) back inside the walls. */
function clampListToWalls(b: DiscBodies, base: number, list: Int32Array, count: number): void {
  for (let m = 0; m < count; m++) clampOne(b, base, list[m]!);
}

/** Separates discs i and j if they overlap; returns true if they did. */
function separate(b: DiscBodies, base: number, i: number, j: number): boolean {
  const { x, y } = b;
  const gi = base + i;
  const gj = base + j;
  const minD = b.radius[i]! + b.radius[j]!;
  const dx = x[gj]! - x[gi]!;
  if (dx >= minD || dx <= -minD) return false;
  const dy = y[gj]! - y[gi]!;
  const d2 = dx * dx + dy * dy;
  if (d2 >= minD * minD - OVERLAP_SLOP) return false;
  const d = Math.sqrt(d2);
  // Coincident centres: separate along x in index order, so the result stays deterministic.
  const ux = d > 0 ? dx / d : 1;
  const uy = d > 0 ? dy / d : 0;
  const push = (minD - d) / 2 + PUSH_EPSILON;
  x[gi]! -= ux * push;
  y[gi]! -= uy * push;
  x[gj]! += ux * push;
  y[gj]! += uy * push;
  return true;
}

function maxRadius(b: DiscBodies, n: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) if (b.radius[k]! > m) m = b.radius[k]!;
  return m;
}

function forPairs(b: DiscBodies, base: number, n: number, reach: number, visit: (i: number, j: number) => boolean | void): void {
  forNearPairs(b.x, b.y, base, n, reach, visit);
}

/** True if any two discs of the environment overlap by more than the tolerance. */
export function hasOverlap(b: DiscBodies, base: number, n: number, tolerance = 1e-9): boolean {
  const { x, y, radius } = b;
  if (n >= GRID_MIN_ROBOTS) {
    let overlap = false;
    forPairs(b, base, n, 2 * maxRadius(b, n), (i, j) => {
      const minD = radius[i]! + radius[j]! - tolerance;
      const dx = x[base + j]! - x[base + i]!;
      if (dx >= minD || dx <= -minD) return false;
      const dy = y[base + j]! - y[base + i]!;
      return (overlap = dx * dx + dy * dy < minD * minD);
    });
    return overlap;
  }
  for (let i = 0; i < n; i++) {
    const xi = x[base + i]!;
    const yi = y[base + i]!;
    for (let j = i + 1; j < n; j++) {
      const minD = radius[i]! + radius[j]! - tolerance;
      const dx = x[base + j]! - xi;
      if (dx >= minD || dx <= -minD) continue;
      const dy = y[base + j]! - yi;
      if (dx * dx + dy * dy < minD * minD) return true;
    }
  }
  return false;
}

/**
 * Resolves contacts of one environment; holds the candidate pairs of the current control step.
 *
 * From GRID_MIN_ROBOTS robots on, one grid search per step (collectCandidates) also keeps the wider
 * "near" pairs, whose centres are within 2 x the largest radius + reach + contactMargin at the step's
 * start, in the loop's order. The end-of-step overlap test and the contact marking then check only these
 * pairs, while every robot has moved less than half of reach since (measured, not assumed): a pair left
 * out started farther apart than that, so it can neither overlap nor touch, and the answers are the
 * full passes' exactly (a boolean; marks that do not depend on order). Otherwise they run the full passes.
 */
export class ContactSolver {
  private pairI: Int32Array;
  private pairJ: Int32Array;
  private pairs = 0;
  /** The near pairs of the step (grid path only; nearCount -1 when not collected). */
  private nearI: Int32Array;
  private nearJ: Int32Array;
  private nearCount = -1;
  /** The reach the near pairs were collected with (m). */
  private nearReach = 0;
  /** Per environment, its robots in order of x at the last sweep. */
  private readonly sweep = new SweepOrder();
  /** The near pairs as the sweep finds them. */
  private readonly swept = new SweptPairs();

  /** contactMargin: the gap under which detectContactsAfterMotion counts two robots as touching. */
  constructor(robots: number, private readonly contactMargin = 0) {
    this.involved = new Uint8Array(robots);
    const cap = Math.min((robots * (robots - 1)) / 2, 16 * robots);
    this.pairI = new Int32Array(cap);
    this.pairJ = new Int32Array(cap);
    this.nearI = new Int32Array(cap);
    this.nearJ = new Int32Array(cap);
  }

  /** Robots that belong to at least one candidate pair (1) or to none (0), by index within the environment. */
  readonly involved: Uint8Array;

  /** Collects the pairs whose surfaces are closer than `reach` (m): the only ones that can touch this step. */
  collectCandidates(b: DiscBodies, base: number, n: number, reach: number): void {
    const { x, y, radius } = b;
    const involved = this.involved;
    this.pairs = 0;
    this.nearCount = -1;
    involved.fill(0, 0, n);
    if (n >= GRID_MIN_ROBOTS) {
      this.collectNear(b, base, n, reach);
      return;
    }
    for (let i = 0; i < n; i++) {
      const xi = x[base + i]!;
      const yi = y[base + i]!;
      for (let j = i + 1; j < n; j++) {
        const lim = radius[i]! + radius[j]! + reach;
        const dx = x[base + j]! - xi;
        if (dx >= lim || dx <= -lim) continue;
        const dy = y[base + j]! - yi;
        if (dx * dx + dy * dy >= lim * lim) continue;
        if (this.pairs === this.pairI.length) this.grow();
        this.pairI[this.pairs] = i;
        this.pairJ[this.pairs] = j;
        this.pairs++;
        involved[i] = 1;
        involved[j] = 1;
      }
    }
  }

  /**
   * The large-swarm path of collectCandidates: one sweep for the near pairs (centres within 2 x the largest
   * radius + reach + contactMargin), then the candidates: those of them that pass the loop's test, exactly,
   * in the loop's order (a candidate's centres are within 2 x the largest radius + reach, so none is missed).
   * The sweep runs along x over the robots sorted by x; the order is kept per environment, so each step's
   * insertion sort starts nearly sorted (robots move a few cm a step). Its pairs are then put in the order of
   * a loop over i then j (SweptPairs).
   */
  private collectNear(b: DiscBodies, base: number, n: number, reach: number): void {
    const { x, y } = b;
    const search = 2 * maxRadius(b, n) + reach + this.contactMargin;
    const order = search > 0 && Number.isFinite(search) ? this.sweep.sort(x, y, base, n) : null;
    if (order === null) {
      // A degenerate reach, or a coordinate that is not finite: every pair.
      forPairs(b, base, n, 0, (i, j) => this.candidate(b, base, i, j, reach));
      return;
    }
    const near = this.swept.find(x, y, base, n, order, search * search);
    if (near > this.nearI.length) this.growNear(near);
    this.swept.orderInto(this.nearI, this.nearJ);
    for (let p = 0; p < near; p++) this.candidate(b, base, this.nearI[p]!, this.nearJ[p]!, reach);
    this.nearCount = near;
    this.nearReach = reach;
  }

  /** Keeps (i, j) as a candidate pair if their surfaces are closer than reach (the loop's test, exactly). */
  private candidate(b: DiscBodies, base: number, i: number, j: number, reach: number): void {
    const { x, y, radius } = b;
    const lim = radius[i]! + radius[j]! + reach;
    const dx = x[base + j]! - x[base + i]!;
    if (dx >= lim || dx <= -lim) return;
    const dy = y[base + j]! - y[base + i]!;
    if (dx * dx + dy * dy >= lim * lim) return;
    if (this.pairs === this.pairI.length) this.grow();
    this.pairI[this.pairs] = i;
    this.pairJ[this.pairs] = j;
    this.pairs++;
    this.involved[i] = 1;
    this.involved[j] = 1;
  }

  /** The candidate pairs of the current step, [i, j] in the order they are resolved (for checks). */
  candidatePairs(): [number, number][] {
    return Array.from({ length: this.pairs }, (_, p): [number, number] => [this.pairI[p]!, this.pairJ[p]!]);
  }

  /**
   * Whether the near pairs still hold every pair that can overlap or touch: each robot has moved less than
   * half the reach since the step's start (startX/startY, by index within the environment). A pair left out
   * started more than 2 x the largest radius + reach + margin apart and has closed by less than reach.
   */
  private nearStillCovers(b: DiscBodies, base: number, n: number, startX: Float64Array, startY: Float64Array): boolean {
    if (this.nearCount < 0) return false;
    const { x, y } = b;
    let most = 0;
    for (let k = 0; k < n; k++) {
      const dx = x[base + k]! - startX[k]!;
      const dy = y[base + k]! - startY[k]!;
      const d2 = dx * dx + dy * dy;
      // A NaN stays out of `most`, and fails below through the comparison.
      if (!(d2 <= most)) most = d2;
    }
    // 1e-9 m absorbs the rounding of the distance tests (about 1e-15 m at arena scale).
    return 2 * Math.sqrt(most) + 1e-9 < this.nearReach;
  }

  /**
   * hasOverlap(b, base, n) after the step's motion, through the near pairs when they still cover every pair
   * (see nearStillCovers): the same answer.
   */
  overlapsAfterMotion(b: DiscBodies, base: number, n: number, startX: Float64Array, startY: Float64Array): boolean {
    if (!this.nearStillCovers(b, base, n, startX, startY)) return hasOverlap(b, base, n);
    const { x, y, radius } = b;
    const tolerance = 1e-9;
    for (let p = 0; p < this.nearCount; p++) {
      const i = this.nearI[p]!;
      const j = this.nearJ[p]!;
      const minD = radius[i]! + radius[j]! - tolerance;
      const dx = x[base + j]! - x[base + i]!;
      if (dx >= minD || dx <= -minD) continue;
      const dy = y[base + j]! - y[base + i]!;
      if (dx * dx + dy * dy < minD * minD) return true;
    }
    return false;
  }

  /**
   * detectContacts(b, base, n, contactMargin, ...) after the step's motion, through the near pairs when they
   * still cover every pair (see nearStillCovers): the same marks.
   */
  detectContactsAfterMotion(
    b: DiscBodies, base: number, n: number, startX: Float64Array, startY: Float64Array, robotContact: Uint8Array, wallContact: Uint8Array,
  ): void {
    const margin = this.contactMargin;
    if (!this.nearStillCovers(b, base, n, startX, startY)) {
      detectContacts(b, base, n, margin, robotContact, wallContact);
      return;
    }
    const { x, y, radius } = b;
    for (let k = 0; k < n; k++) {
      const g = base + k;
      const r = radius[k]! + margin;
      wallContact[g] = x[g]! <= r || y[g]! <= r || x[g]! >= b.width - r || y[g]! >= b.height - r ? 1 : 0;
      robotContact[g] = 0;
    }
    for (let p = 0; p < this.nearCount; p++) {
      const i = this.nearI[p]!;
      const j = this.nearJ[p]!;
      const minD = radius[i]! + radius[j]! + margin;
      const dx = x[base + j]! - x[base + i]!;
      if (dx >= minD || dx <= -minD) continue;
      const dy = y[base + j]! - y[base + i]!;
      if (dx * dx + dy * dy < minD * minD) {
        robotContact[base + i] = 1;
        robotContact[base + j] = 1;
      }
    }
  }

  /**
   * Resolves overlaps among the candidate pairs after a sub-step, and keeps the listed moving robots
   * inside the walls. If the robots are jammed (no separation within the pass budget) the sub-step's
   * motion of the listed robots is undone from prevX/prevY.
   */
  resolveCandidates(
    b: DiscBodies, base: number, moving: Int32Array, count: number, prevX: Float64Array, prevY: Float64Array,
  ): void {
    clampListToWalls(b, base, moving, count);
    if (this.pairs === 0) return;
    for (let pass = 0; pass < MAX_RESOLVE_PASSES; pass++) {
      let overlapped = false;
      for (let p = 0; p < this.pairs; p++) {
        if (separate(b, base, this.pairI[p]!, this.pairJ[p]!)) overlapped = true;
      }
      if (!overlapped) return;
      clampListToWalls(b, base, moving, count);
    }
    for (let m = 0; m < count; m++) {
      const k = moving[m]!;
      b.x[base + k] = prevX[k]!;
      b.y[base + k] = prevY[k]!;
    }
  }

  /** Resolves overlaps among all pairs (the end-of-step backstop); undoes the motion if jammed. */
  resolveAll(b: DiscBodies, base: number, n: number, prevX: Float64Array, prevY: Float64Array): void {
    clampToWalls(b, base, n);
    // A large swarm: each pass, the pairs whose centres are within two diameters at its start.
    const reach = 4 * maxRadius(b, n);
    for (let pass = 0; pass < MAX_RESOLVE_PASSES; pass++) {
      let overlapped = false;
      forPairs(b, base, n, reach, (i, j) => {
        if (separate(b, base, i, j)) overlapped = true;
      });
      if (!overlapped && (n < GRID_MIN_ROBOTS || !hasOverlap(b, base, n))) return;
      clampToWalls(b, base, n);
    }
    if (hasOverlap(b, base, n)) restore(b, base, n, prevX, prevY);
  }

  private growNear(size: number): void {
    let cap = this.nearI.length * 2;
    while (cap < size) cap *= 2;
    const i = new Int32Array(cap);
    const j = new Int32Array(cap);
    i.set(this.nearI);
    j.set(this.nearJ);
    this.nearI = i;
    this.nearJ = j;
  }

  private grow(): void {
    const i = new Int32Array(this.pairI.length * 2);
    const j = new Int32Array(this.pairJ.length * 2);
    i.set(this.pairI);
    j.set(this.pairJ);
    this.pairI = i;
    this.pairJ = j;
  }
}

function restore(b: DiscBodies, base: number, n: number, prevX: Float64Array, prevY: Float64Array): void {
  for (let k = 0; k < n; k++) {
    b.x[base + k] = prevX[k]!;
    b.y[base + k] = prevY[k]!;
  }
}

/**
 * Marks which robots touch another robot (gap below `margin`) and which touch a wall.
 * Writes 1/0 into robotContact and wallContact at index base + k.
 */
export function detectContacts(
  b: DiscBodies,
  base: number,
  n: number,
  margin: number,
  robotContact: Uint8Array,
  wallContact: Uint8Array,
): void {
  const { x, y, radius } = b;
  for (let k = 0; k < n; k++) {
    const g = base + k;
    const r = radius[k]! + margin;
    wallContact[g] = x[g]! <= r || y[g]! <= r || x[g]! >= b.width - r || y[g]! >= b.height - r ? 1 : 0;
  }
  markContacts(x, y, base, n, radius, margin, robotContact);
}
