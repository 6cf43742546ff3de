import { describe, expect, it } from 'vitest';
import { maxWheelSpeed } from '../src/core/robot-params.js';
import { wrapAngle } from '../src/core/kinematics.js';
import { FAULT_NAMES, faultByName } from '../src/attacks/faults.js';
import { overrideFromFunction } from '../src/attacks/override.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

const START = [
  { x: 0.5, y: 0.5, heading: 0 },
  { x: 1.0, y: 1.0, heading: 0 },
  { x: 1.5, y: 1.5, heading: 0 },
];

/** Three robots, robot 1 attacked; everyone's controller asks for (0.6, 0.6). */
function attacked(fault: string, steps = 10) {
  const s = settings({ robots: 3 });
  const world = new RendezvousWorld(s, { envs: 1, seed: 3, autoReset: false });
  world.setVictim(0, { robot: 'epuck-1', override: faultByName(fault) });
  world.resetEnv(0, START);
  const executed: number[][] = [];
  for (let t = 0; t < steps; t++) {
    world.step([0.6, 0.6, 0.6, 0.6, 0.6, 0.6]);
    executed.push(Array.from(world.truth.command));
  }
  return { s, world, executed, end: world.poses(0) };
}

describe('fault models on a victim robot', () => {
  it('stuck: the victim does not move, the others follow their controller', () => {
    const { end, executed } = attacked('stuck');
    expect(end[1]).toEqual(START[1]);
    expect(end[0]!.x).toBeGreaterThan(START[0]!.x + 0.05);
    for (const c of executed) expect(c).toEqual([0.6, 0.6, 0, 0, 0.6, 0.6]);
  });

  it('spin: the victim turns on the spot at full speed', () => {
    const { s, end } = attacked('spin', 3);
    const p = s.robots[1]!;
    expect(end[1]!.x).toBeCloseTo(1, 12);
    expect(end[1]!.y).toBeCloseTo(1, 12);
    expect(end[1]!.heading).toBeCloseTo(wrapAngle(((2 * maxWheelSpeed(p)) / p.wheelDistance) * 0.3), 9);
  });

  it('dead-wheel: the left wheel is dead, the right one follows the controller', () => {
    const { s, end, executed } = attacked('dead-wheel', 5);
    for (const c of executed) expect(c.slice(2, 4)).toEqual([0, 0.6]);
    const p = s.robots[1]!;
    // Pivoting about the left wheel: turn rate v_r / L.
    expect(end[1]!.heading).toBeCloseTo((0.6 * maxWheelSpeed(p) * 0.5) / p.wheelDistance, 9);
  });

  it('random: uniform wheel commands that change every tick', () => {
    const { executed } = attacked('random', 200);
    const left = executed.map((c) => c[2]!);
    expect(Math.min(...left)).toBeLessThan(-0.9);
    expect(Math.max(...left)).toBeGreaterThan(0.9);
    expect(new Set(left).size).toBeGreaterThan(190);
    const mean = left.reduce((a, b) => a + b, 0) / left.length;
    expect(Math.abs(mean)).toBeLessThan(0.15);
    for (const c of executed) expect([c[0], c[1], c[4], c[5]]).toEqual([0.6, 0.6, 0.6, 0.6]);
  });

  it('lists every fault and rejects an unknown one by name', () => {
    expect([...FAULT_NAMES]).toEqual(['random', 'stuck', 'dead-wheel', 'spin']);
    expect(() => faultByName('wobble')).toThrow(/unknown fault 'wobble'/);
  });

  it("gives a function override the victim's own observation and proposed command", () => {
    const s = settings({ robots: 3 });
    const world = new RendezvousWorld(s, { envs: 2, seed: 1 });
    const seen: number[] = [];
    world.setVictim(1, {
      robot: 2,
      override: overrideFromFunction('probe', (ctx) => {
        seen.push(ctx.env, ctx.robot, ctx.proposedLeft, ctx.observation[ctx.obsOffset + 2]!);
        return [-ctx.proposedLeft, 0.25];
      }),
    });
    const posX = world.obs[(1 * 3 + 2) * world.obsSize + 2]!;
    const actions = new Float32Array(12).fill(0.5);
    world.step(actions);
    expect(seen).toEqual([1, 2, 0.5, posX]);
    expect(Array.from(world.truth.command.subarray(10, 12))).toEqual([-0.5, 0.25]);
    expect(Array.from(world.truth.command.subarray(4, 6))).toEqual([0.5, 0.5]); // env 0 untouched
  });
});
