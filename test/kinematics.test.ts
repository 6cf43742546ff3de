import { describe, expect, it } from 'vitest';
import { commandsFromTwist, estimateTwist, estimateTwists, speedLimits, twistFromCommands, wrapAngle } from '../src/core/kinematics.js';
import { makeStreams } from '../src/core/random.js';
import { maxWheelSpeed } from '../src/core/robot-params.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

// Two robots far apart so they never touch; robot 0 is the one under test.
const FAR = [
  { x: 0.5, y: 1.0, heading: 0 },
  { x: 1.8, y: 1.8, heading: 0 },
];

function drive(left: number, right: number, steps: number, heading = 0) {
  const s = settings({ robots: 2 });
  const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
  world.resetEnv(0, [{ ...FAR[0]!, heading }, FAR[1]!]);
  const start = world.poses(0)[0]!;
  for (let t = 0; t < steps; t++) world.step([left, right, 0, 0]);
  return { s, start, end: world.poses(0)[0]!, world };
}

describe('e-puck2 kinematics', () => {
  it('drives straight at wheel radius x 2 pi x max steps/s / steps per revolution', () => {
    const { s, start, end } = drive(1, 1, 10);
    const p = s.robots[0]!;
    const expected = (p.maxStepsPerSecond / p.stepsPerRevolution) * 2 * Math.PI * p.wheelRadius * 1.0; // 10 ticks = 1 s
    expect(expected).toBeCloseTo(0.1417, 4);
    expect(end.x - start.x).toBeCloseTo(expected, 9);
    expect(end.y - start.y).toBeCloseTo(0, 12);
    expect(end.heading).toBeCloseTo(0, 12);
  });

  it('drives straight along its heading at any angle', () => {
    const { start, end, s } = drive(0.5, 0.5, 10, Math.PI / 3);
    const d = 0.5 * maxWheelSpeed(s.robots[0]!);
    expect(end.x - start.x).toBeCloseTo(d * Math.cos(Math.PI / 3), 9);
    expect(end.y - start.y).toBeCloseTo(d * Math.sin(Math.PI / 3), 9);
  });

  it('spins on the spot at 2 v_max / wheel distance', () => {
    const { s, start, end } = drive(-1, 1, 3);
    const p = s.robots[0]!;
    const rate = (2 * maxWheelSpeed(p)) / p.wheelDistance;
    expect(rate).toBeCloseTo(5.35, 2);
    expect(end.heading).toBeCloseTo(wrapAngle(rate * 0.3), 9);
    expect(end.x).toBeCloseTo(start.x, 12);
    expect(end.y).toBeCloseTo(start.y, 12);
  });

  it('turns clockwise when the left wheel is faster (REP-103, CCW positive)', () => {
    const { end } = drive(1, 0.5, 5);
    expect(end.heading).toBeLessThan(0);
    expect(end.y).toBeLessThan(FAR[0]!.y);
  });

  it('follows the arc of the differential-drive formula', () => {
    const { s, start, end } = drive(0.4, 0.8, 10);
    const { linear, angular } = twistFromCommands(0.4, 0.8, s.robots[0]!);
    // Exact arc for constant (v, w) over 1 s; Euler with 100 sub-steps is within a fraction of a mm.
    const th = angular * 1.0;
    expect(end.x - start.x).toBeCloseTo((linear / angular) * Math.sin(th), 3);
    expect(end.y - start.y).toBeCloseTo((linear / angular) * (1 - Math.cos(th)), 3);
    expect(end.heading).toBeCloseTo(wrapAngle(th), 9);
  });

  it('inverts twists into wheel commands and saturates keeping the turning radius', () => {
    const s = settings();
    const p = s.robots[0]!;
    const [l, r] = commandsFromTwist(0.05, 1.0, p);
    const tw = twistFromCommands(l, r, p);
    expect(tw.linear).toBeCloseTo(0.05, 12);
    expect(tw.angular).toBeCloseTo(1.0, 12);
    const [sl, sr] = commandsFromTwist(1, 10, p);
    expect(Math.max(Math.abs(sl), Math.abs(sr))).toBeCloseTo(1, 12);
    const sat = twistFromCommands(sl, sr, p);
    expect(sat.linear / sat.angular).toBeCloseTo(0.1, 12);
    expect(speedLimits(p).maxLinear).toBeCloseTo(maxWheelSpeed(p), 12);
  });

  it('estimates a tracked twist from two poses', () => {
    const tw = estimateTwist(0, 0, 0, 0.01, 0, 0.1, 0.1);
    expect(tw.angular).toBeCloseTo(1, 12);
    expect(tw.linear).toBeCloseTo(0.1 * Math.cos(0.05), 12);
    expect(estimateTwist(0, 0, 3.1, 0, 0, -3.1, 0.1).angular).toBeCloseTo(wrapAngle(-6.2) / 0.1, 9);
  });

  it('estimates the twists of flat arrays bit for bit as estimateTwist does, robot by robot', () => {
    const rng = makeStreams(5, 1)[0]!;
    const n = 200;
    const arr = (lo: number, hi: number) => Float64Array.from({ length: n }, () => rng.range(lo, hi));
    const [x0, y0, x1, y1] = [arr(0, 2), arr(0, 2), arr(0, 2), arr(0, 2)];
    const [h0, h1] = [arr(-Math.PI, Math.PI), arr(-Math.PI, Math.PI)];
    const speed = new Float64Array(n).fill(7);
    const turn = new Float64Array(n).fill(7);
    estimateTwists(x0, y0, h0, x1, y1, h1, 0.1, 3, n - 2, speed, turn);
    for (let g = 0; g < n; g++) {
      const inside = g >= 3 && g < n - 2;
      const tw = estimateTwist(x0[g]!, y0[g]!, h0[g]!, x1[g]!, y1[g]!, h1[g]!, 0.1);
      expect(Object.is(speed[g], inside ? tw.linear : 7)).toBe(true);
      expect(Object.is(turn[g], inside ? tw.angular : 7)).toBe(true);
    }
  });
});
