// Robot labels on the arena, laid out so that none covers another label or a robot however tightly the swarm
// gathers: each label tries spots round its robot, nearest first (up and to the right by preference), and
// when every spot next to it is taken it moves further out and is joined to its robot by a leader line. A
// label keeps last frame's spot while it is still free, so labels do not jump about between frames.
// Pure geometry in canvas pixels (y down): the page measures the text, this module places the boxes.

/** Pixels between a robot's outline and its label. */
const GAP = 3;
/** Directions tried on each ring, preferred first: up-right, then working round both ways. */
const ANGLES = [45, 0, 90, 22.5, 67.5, -22.5, 112.5, -45, 135, 157.5, 180, -67.5, -90, -112.5, 202.5, -135].map((d) => (d * Math.PI) / 180);

/**
 * @typedef {{ x: number, y: number, r: number, w: number, h: number }} LabelItem  a robot's centre and the
 *   radius its label keeps clear of (its disc and rings), and its label box's size
 * @typedef {{ x: number, y: number, w: number, h: number, leader: boolean, ax: number, ay: number }} LabelBox
 *   the label's box (top-left corner, size); `leader`: it sits away from its robot, joined by a line from the
 *   robot to (ax, ay), the box's point nearest the robot
 */

/**
 * Places every robot's label (null items, robots without a pose, get null).
 * @param {(LabelItem | null)[]} items
 * @param {{ width: number, height: number }} bounds  the canvas: every box stays inside it
 * @param {({ dx: number, dy: number } | null | undefined)[]} [previous]  last frame's box offsets from each robot
 * @returns {(LabelBox | null)[]}
 */
export function layoutLabels(items, bounds, previous = []) {
  const discs = new Grid();
  for (const d of items) if (d !== null) discs.add(d, d.x - d.r, d.y - d.r, d.x + d.r, d.y + d.r);
  const placed = new Grid();
  return items.map((it, i) => {
    if (it === null) return null;
    const box = place(candidates(it, previous[i], bounds), discs, placed, bounds);
    placed.add(box, box.x, box.y, box.x + box.w, box.y + box.h);
    return box;
  });
}

/**
 * Spots for a label, in the order tried: next to the robot (last frame's spot first if it was one), then
 * last frame's spot wherever it was, then ring by ring further out, as far as the canvas reaches.
 * @param {LabelItem} it
 * @param {{ dx: number, dy: number } | null | undefined} prev
 * @param {{ width: number, height: number }} bounds
 * @returns {Generator<LabelBox>}
 */
function* candidates(it, prev, bounds) {
  const kept = prev ? withAnchor(it, { x: it.x + prev.dx, y: it.y + prev.dy, w: it.w, h: it.h, leader: false, ax: 0, ay: 0 }) : null;
  if (kept) kept.leader = Math.hypot(kept.ax - it.x, kept.ay - it.y) > it.r + GAP + 1;
  if (kept && !kept.leader) yield kept;
  for (const a of ANGLES) yield spot(it, a, 0);
  if (kept && kept.leader) yield kept;
  const rings = Math.ceil(Math.hypot(bounds.width, bounds.height) / (it.h + GAP));
  for (let ring = 1; ring <= rings; ring++) for (const a of ANGLES) yield spot(it, a, ring);
}

/**
 * The box whose point nearest the robot lies `ring` steps beyond the robot's outline in direction `a`.
 * @param {LabelItem} it
 * @param {number} a  radians, counter-clockwise from the +x axis (the canvas's y points down)
 * @param {number} ring
 */
function spot(it, a, ring) {
  const d = it.r + GAP + ring * (it.h + GAP);
  const c = Math.cos(a);
  const s = Math.sin(a);
  const px = it.x + d * c;
  const py = it.y - d * s;
  // The box hangs off the point away from the robot: its corner there (diagonals), or the middle of its edge.
  const x = c > 0.3 ? px : c < -0.3 ? px - it.w : px - it.w / 2;
  const y = s > 0.3 ? py - it.h : s < -0.3 ? py : py - it.h / 2;
  return withAnchor(it, { x, y, w: it.w, h: it.h, leader: ring > 0, ax: 0, ay: 0 });
}

/**
 * @param {LabelItem} it
 * @param {LabelBox} box
 */
function withAnchor(it, box) {
  box.ax = Math.min(Math.max(it.x, box.x), box.x + box.w);
  box.ay = Math.min(Math.max(it.y, box.y), box.y + box.h);
  return box;
}

/**
 * The first spot that is free (inside the canvas, clear of every robot and every label placed so far), or
 * the one with the fewest collisions when none is.
 * @param {Iterable<LabelBox>} spots
 * @param {Grid} discs  of LabelItem
 * @param {Grid} placed  of LabelBox
 * @param {{ width: number, height: number }} bounds
 */
function place(spots, discs, placed, bounds) {
  let best = null;
  let bestCost = Infinity;
  for (const box of spots) {
    let cost = inside(box, bounds) ? 0 : 1000;
    const x1 = box.x + box.w;
    const y1 = box.y + box.h;
    // Counting stops once this spot is no better than the best so far.
    for (const d of discs.near(box.x, box.y, x1, y1)) if (cost < bestCost && hitsDisc(box, d)) cost++;
    for (const p of placed.near(box.x - 1, box.y - 1, x1 + 1, y1 + 1)) if (cost < bestCost && hitsBox(box, p)) cost++;
    if (cost === 0) return box;
    if (cost < bestCost) {
      best = box;
      bestCost = cost;
    }
  }
  return best;
}

/** Things by the square cells their bounding boxes touch: a spot is checked against its neighbours only. */
class Grid {
  constructor(cell = 32) {
    this.cell = cell;
    /** @type {Map<number, object[]>} */
    this.cells = new Map();
  }

  /** @param {object} thing @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1 */
  add(thing, x0, y0, x1, y1) {
    this.each(x0, y0, x1, y1, (k) => {
      const list = this.cells.get(k);
      if (list) list.push(thing);
      else this.cells.set(k, [thing]);
    });
  }

  /** Every thing whose cells overlap the rectangle's, once. @returns {Set<any>} */
  near(x0, y0, x1, y1) {
    const found = new Set();
    this.each(x0, y0, x1, y1, (k) => {
      for (const t of this.cells.get(k) ?? []) found.add(t);
    });
    return found;
  }

  /** @param {(key: number) => void} f */
  each(x0, y0, x1, y1, f) {
    const c = this.cell;
    // Offset so that cells left of or above the canvas get keys of their own too.
    for (let cx = Math.floor(x0 / c); cx <= Math.floor(x1 / c); cx++) for (let cy = Math.floor(y0 / c); cy <= Math.floor(y1 / c); cy++) f((cx + 4096) * 8192 + (cy + 4096));
  }
}

/** @param {LabelBox} b @param {{ width: number, height: number }} bounds */
function inside(b, bounds) {
  return b.x >= 0 && b.y >= 0 && b.x + b.w <= bounds.width && b.y + b.h <= bounds.height;
}

/** @param {LabelBox} b @param {LabelItem} d */
function hitsDisc(b, d) {
  const nx = Math.min(Math.max(d.x, b.x), b.x + b.w);
  const ny = Math.min(Math.max(d.y, b.y), b.y + b.h);
  return Math.hypot(nx - d.x, ny - d.y) < d.r;
}

/** @param {LabelBox} a @param {LabelBox} b */
function hitsBox(a, b) {
  return a.x < b.x + b.w + 1 && b.x < a.x + a.w + 1 && a.y < b.y + b.h + 1 && b.y < a.y + a.h + 1;
}
