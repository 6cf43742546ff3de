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

export class ContactFinder {
  /** Per robot: contact normals (world frame) as x, y pairs, rebuilt by find(). */
  readonly normals: number[][];
  private readonly reach: number;
  private readonly x: Float64Array;
  private readonly y: Float64Array;

  constructor(
    private readonly robots: readonly RobotParams[],
    private readonly arena?: Arena,
  ) {
    const largest = Math.max(...robots.map((r) => r.bodyRadius));
    this.reach = 2 * largest + CONTACT_MARGIN;
    this.normals = robots.map(() => []);
    this.x = new Float64Array(robots.length);
    this.y = new Float64Array(robots.length);
  }

  /** Rebuilds every robot's contact normals from this tick's poses (robot i's at i; non-finite: no contacts). */
  find(poses: readonly { x: number; y: number }[]): void {
    const N = this.robots.length;
    for (const n of this.normals) n.length = 0;
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
        this.normals[j]!.push(dx / d, dy / d);
        this.normals[i]!.push(-dx / d, -dy / d);
      }
    });
    if (!this.arena) return;
    for (let j = 0; j < N; j++) {
      const [px, py] = [this.x[j]!, this.y[j]!];
      if (!(Number.isFinite(px) && Number.isFinite(py))) continue;
      const r = this.robots[j]!.bodyRadius + CONTACT_MARGIN;
      if (px < r) this.normals[j]!.push(1, 0);
      if (px > this.arena.width - r) this.normals[j]!.push(-1, 0);
      if (py < r) this.normals[j]!.push(0, 1);
      if (py > this.arena.height - r) this.normals[j]!.push(0, -1);
    }
  }

  touching(j: number): boolean {
    return this.normals[j]!.length > 0;
  }
}
