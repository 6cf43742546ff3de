// Which robots touch which, from the tracked poses, found through the shared uniform grid
// (src/core/spatial-grid.ts: each robot compared only with the robots of the 3 x 3 cells around it, cells as
// wide as the largest contact distance), so a tick costs O(N) for a spread-out swarm instead of O(N^2). A
// contact is kept as its normal: the unit vector from the other body (a robot, or a wall of the arena)
// towards the robot. A contact can only push a robot
// along such a normal, away from what it touches (the twin resolves contacts this way, and rigid bodies too).
import type { RobotParams } from '../core/robot-params.js';
import { forNearPairs } from '../core/spatial-grid.js';

/** Extra distance between two bodies still counted as contact, m (3.5 standard deviations of the tracked distance). */
export const CONTACT_MARGIN = 0.015;

export interface Arena {
  width: number;
  height: number;
}

/** Contact normals each robot has room for before its storage grows (a disc touches at most 7 others and 2 walls). */
const INITIAL_CAPACITY = 8;

export class ContactFinder {
  /**
   * Contact normals (world frame) as x, y pairs, rebuilt by find(): robot j's are data[from(j) ..
   * from(j) + 2 count(j)). Flat and reused (kept across ticks, per-robot arrays were reallocated every tick);
   * read `data` after find(), which may grow it.
   */
  data: Float64Array;
  private readonly counts: Int32Array;
  /** Normals per robot the storage holds. */
  private capacity = INITIAL_CAPACITY;
  private readonly reach: number;
  private readonly x: Float64Array;
  private readonly y: Float64Array;

  constructor(
    private readonly robots: readonly RobotParams[],
    private readonly arena?: Arena,
  ) {
    const largest = Math.max(...robots.map((r) => r.bodyRadius));
    this.reach = 2 * largest + CONTACT_MARGIN;
    this.data = new Float64Array(2 * robots.length * this.capacity);
    this.counts = new Int32Array(robots.length);
    this.x = new Float64Array(robots.length);
    this.y = new Float64Array(robots.length);
  }

  /** Rebuilds every robot's contact normals from this tick's poses (robot i's at i; non-finite: no contacts). */
  find(poses: readonly { x: number; y: number }[]): void {
    const N = this.robots.length;
    this.counts.fill(0);
    for (let i = 0; i < N; i++) {
      this.x[i] = poses[i]!.x;
      this.y[i] = poses[i]!.y;
    }
    // The pairs near enough to touch, through the shared grid (src/core/spatial-grid.ts); a non-finite pose
    // fails the exact test below.
    forNearPairs(this.x, this.y, 0, N, this.reach, (i, j) => {
      const dx = this.x[j]! - this.x[i]!;
      const dy = this.y[j]! - this.y[i]!;
      const reach = this.robots[i]!.bodyRadius + this.robots[j]!.bodyRadius + CONTACT_MARGIN;
      const d2 = dx * dx + dy * dy;
      if (!(d2 < reach * reach)) return;
      const d = Math.sqrt(d2);
      if (d > 0) {
        this.add(j, dx / d, dy / d);
        this.add(i, -dx / d, -dy / d);
      }
    });
    if (!this.arena) return;
    for (let j = 0; j < N; j++) {
      const px = this.x[j]!;
      const py = this.y[j]!;
      if (!(Number.isFinite(px) && Number.isFinite(py))) continue;
      const r = this.robots[j]!.bodyRadius + CONTACT_MARGIN;
      if (px < r) this.add(j, 1, 0);
      if (px > this.arena.width - r) this.add(j, -1, 0);
      if (py < r) this.add(j, 0, 1);
      if (py > this.arena.height - r) this.add(j, 0, -1);
    }
  }

  /** How many contact normals robot j has. */
  count(j: number): number {
    return this.counts[j]!;
  }

  /** Where robot j's normals start in `data`. */
  from(j: number): number {
    return 2 * this.capacity * j;
  }

  touching(j: number): boolean {
    return this.counts[j]! > 0;
  }

  /** Robot j's normals as x, y pairs, in a fresh array (for inspection and the tests; the tick path reads `data`). */
  normalsOf(j: number): number[] {
    const from = this.from(j);
    return Array.from(this.data.subarray(from, from + 2 * this.counts[j]!));
  }

  private add(j: number, nx: number, ny: number): void {
    if (this.counts[j] === this.capacity) this.grow();
    const at = this.from(j) + 2 * this.counts[j]!;
    this.data[at] = nx;
    this.data[at + 1] = ny;
    this.counts[j]!++;
  }

  /** Twice the room per robot (tracked poses overlapping through noise can crowd more normals than bodies allow). */
  private grow(): void {
    const old = this.data;
    const oldStride = 2 * this.capacity;
    this.capacity *= 2;
    this.data = new Float64Array(2 * this.robots.length * this.capacity);
    for (let j = 0; j < this.robots.length; j++) this.data.set(old.subarray(j * oldStride, j * oldStride + 2 * this.counts[j]!), this.from(j));
  }
}
