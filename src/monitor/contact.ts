// Which robots touch which, from the tracked poses, found through a uniform grid: each robot is compared only
// with the robots of its own and the 8 surrounding cells (cells as wide as the largest contact distance), so
// a tick costs O(N) for a spread-out swarm instead of O(N^2). A contact is kept as its normal: the unit vector
// from the other body (a robot, or a wall of the arena) towards the robot. A contact can only push a robot
// along such a normal, away from what it touches (the twin resolves contacts this way, and rigid bodies too).
import type { RobotParams } from '../core/robot-params.js';

/** Extra distance between two bodies still counted as contact, m (3.5 standard deviations of the tracked distance). */
export const CONTACT_MARGIN = 0.015;

export interface Arena {
  width: number;
  height: number;
}

export class ContactFinder {
  /** Per robot: contact normals (world frame) as x, y pairs, rebuilt by find(). */
  readonly normals: number[][];
  private readonly cell: number;
  private readonly order: Int32Array;
  private readonly keys: Float64Array;

  constructor(
    private readonly robots: readonly RobotParams[],
    private readonly arena?: Arena,
  ) {
    const largest = Math.max(...robots.map((r) => r.bodyRadius));
    this.cell = 2 * largest + CONTACT_MARGIN;
    this.normals = robots.map(() => []);
    this.order = new Int32Array(robots.length);
    this.keys = new Float64Array(robots.length);
  }

  /** Rebuilds every robot's contact normals from this tick's poses (robot i's at i; non-finite: no contacts). */
  find(poses: readonly { x: number; y: number }[]): void {
    const N = this.robots.length;
    for (const n of this.normals) n.length = 0;
    // Sort robots by cell key (row-major), then look up neighbouring cells by binary search.
    const cellOf = (v: number) => Math.floor(v / this.cell);
    const SPAN = 1 << 20;
    const key = (cx: number, cy: number) => cy * SPAN + cx;
    for (let i = 0; i < N; i++) {
      const p = poses[i]!;
      this.order[i] = i;
      this.keys[i] = Number.isFinite(p.x) && Number.isFinite(p.y) ? key(cellOf(p.x), cellOf(p.y)) : Number.POSITIVE_INFINITY;
    }
    const order = Array.from(this.order).sort((a, b) => this.keys[a]! - this.keys[b]!);
    const sortedKeys = order.map((i) => this.keys[i]!);
    const firstAtOrAfter = (k: number) => {
      let lo = 0;
      let hi = N;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sortedKeys[mid]! < k) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    for (let j = 0; j < N; j++) {
      const pj = poses[j]!;
      if (!Number.isFinite(this.keys[j]!)) continue;
      const cx = cellOf(pj.x);
      const cy = cellOf(pj.y);
      for (let dy = -1; dy <= 1; dy++) {
        // The three cells of a row are consecutive keys.
        const from = firstAtOrAfter(key(cx - 1, cy + dy));
        const to = key(cx + 1, cy + dy);
        for (let s = from; s < N && sortedKeys[s]! <= to; s++) {
          const i = order[s]!;
          if (i === j) continue;
          const ddx = pj.x - poses[i]!.x;
          const ddy = pj.y - poses[i]!.y;
          const reach = this.robots[i]!.bodyRadius + this.robots[j]!.bodyRadius + CONTACT_MARGIN;
          const d2 = ddx * ddx + ddy * ddy;
          if (d2 >= reach * reach) continue;
          const d = Math.sqrt(d2);
          if (d > 0) this.normals[j]!.push(ddx / d, ddy / d);
        }
      }
      if (this.arena) {
        const r = this.robots[j]!.bodyRadius + CONTACT_MARGIN;
        if (pj.x < r) this.normals[j]!.push(1, 0);
        if (pj.x > this.arena.width - r) this.normals[j]!.push(-1, 0);
        if (pj.y < r) this.normals[j]!.push(0, 1);
        if (pj.y > this.arena.height - r) this.normals[j]!.push(0, -1);
      }
    }
  }

  touching(j: number): boolean {
    return this.normals[j]!.length > 0;
  }
}
