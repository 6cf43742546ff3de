// A simple model of the e-puck2's IR proximity sensors for the protocol twin: each sensor looks along its
// direction on the body (the usual e-puck layout, ps0..ps3 clockwise from front-right, ps4..ps7 on the left,
// mirrored), the reading falls off exponentially with the distance to the nearest wall or other robot's body
// along three rays of its cone, and sits at a background level beyond about 6 cm (the real sensors are
// useful to about 4 cm). It gives the safety layer something real to react to; it is not a calibration.
import type { SwarmFrame } from '../../src/core/observation.js';

/** Sensor directions relative to the heading, rad, CCW positive: ps0 front-right ... ps7 front-left. */
export const PROXIMITY_ANGLES = [-0.3, -0.8, -Math.PI / 2, -2.64, 2.64, Math.PI / 2, 0.8, 0.3] as const;

export interface IrModel {
  /** Reading with nothing in range. */
  background: number;
  /** Reading added at contact. */
  peak: number;
  /** Fall-off length, m. */
  decay: number;
  /** Farther than this the sensor sees nothing, m. */
  range: number;
  /** Half-width of the sensor's cone, rad (rays at 0 and +-this). */
  halfCone: number;
}

export const DEFAULT_IR: IrModel = { background: 40, peak: 3000, decay: 0.008, range: 0.06, halfCone: 0.25 };

/** Distance along the ray (ox, oy) + t (dx, dy) to the first wall or disc, up to maxT (Infinity if none). */
export function rayDistance(
  ox: number, oy: number, dx: number, dy: number,
  world: { width: number; height: number; x: ArrayLike<number>; y: ArrayLike<number>; radius: ArrayLike<number>; base: number; n: number; self: number },
  maxT: number,
): number {
  let best = Infinity;
  // Walls at x = 0, x = width, y = 0, y = height.
  if (dx > 1e-12) best = Math.min(best, (world.width - ox) / dx);
  if (dx < -1e-12) best = Math.min(best, -ox / dx);
  if (dy > 1e-12) best = Math.min(best, (world.height - oy) / dy);
  if (dy < -1e-12) best = Math.min(best, -oy / dy);
  for (let k = 0; k < world.n; k++) {
    if (k === world.self) continue;
    const cx = world.x[world.base + k]! - ox;
    const cy = world.y[world.base + k]! - oy;
    const r = world.radius[k]!;
    const along = cx * dx + cy * dy;
    if (along < -r || along - r > maxT) continue;
    const perp2 = cx * cx + cy * cy - along * along;
    if (perp2 > r * r) continue;
    const t = along - Math.sqrt(r * r - perp2);
    best = Math.min(best, Math.max(0, t));
  }
  return Math.max(0, best);
}

/** The eight proximity readings of robot k of environment 0. */
export function proximityReadings(truth: SwarmFrame, k: number, n: number, radius: ArrayLike<number>, arena: { width: number; height: number }, ir: IrModel = DEFAULT_IR): number[] {
  const world = { width: arena.width, height: arena.height, x: truth.x, y: truth.y, radius, base: 0, n, self: k };
  const x = truth.x[k]!;
  const y = truth.y[k]!;
  const th = truth.heading[k]!;
  const body = radius[k]!;
  return PROXIMITY_ANGLES.map((a) => {
    let nearest = Infinity;
    for (const off of [0, -ir.halfCone, ir.halfCone]) {
      const dir = th + a + off;
      const dx = Math.cos(dir);
      const dy = Math.sin(dir);
      // The sensor sits on the body's rim, looking outwards.
      nearest = Math.min(nearest, rayDistance(x + body * Math.cos(th + a), y + body * Math.sin(th + a), dx, dy, world, ir.range));
    }
    return Math.round(nearest > ir.range ? ir.background : ir.background + ir.peak * Math.exp(-nearest / ir.decay));
  });
}

/** Time-of-flight distance straight ahead, mm (capped at 2000). */
export function tofMillimetres(truth: SwarmFrame, k: number, n: number, radius: ArrayLike<number>, arena: { width: number; height: number }): number {
  const world = { width: arena.width, height: arena.height, x: truth.x, y: truth.y, radius, base: 0, n, self: k };
  const th = truth.heading[k]!;
  const d = rayDistance(truth.x[k]! + radius[k]! * Math.cos(th), truth.y[k]! + radius[k]! * Math.sin(th), Math.cos(th), Math.sin(th), world, 2);
  return Math.round(Math.min(2, d) * 1000);
}
