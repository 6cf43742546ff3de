import { describe, expect, it } from 'vitest';
import { maxWheelSpeed } from '../src/core/robot-params.js';
import { DEFAULT_NOISE, NO_NOISE } from '../src/core/noise.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

const APART = [
  { x: 0.4, y: 0.4, heading: 0 },
  { x: 1.6, y: 1.6, heading: Math.PI },
];

function only(noise: Partial<typeof DEFAULT_NOISE>) {
  return settings({ robots: 2, noise: { ...NO_NOISE, ...noise } });
}

describe('sim2real noise model', () => {
  it('defaults to a real arena and is all off for unit tests', () => {
    expect(settings({ noise: 'default' }).noise).toEqual(DEFAULT_NOISE);
    expect(settings().noise).toEqual(NO_NOISE);
    expect(DEFAULT_NOISE.positionNoise).toBeGreaterThan(0);
    expect(DEFAULT_NOISE.latencyTicks.max).toBeGreaterThan(0);
  });

  it('delays commands by the latency in ticks', () => {
    const world = new RendezvousWorld(only({ latencyTicks: { min: 2, max: 2 } }), { envs: 1, seed: 1, autoReset: false });
    world.resetEnv(0, APART);
    const xs: number[] = [];
    for (let t = 0; t < 4; t++) {
      world.step([1, 1, 0, 0]);
      xs.push(world.truth.x[0]!);
    }
    expect(xs[0]).toBe(0.4);
    expect(xs[1]).toBe(0.4);
    expect(xs[2]).toBeGreaterThan(0.41);
  });

  it('makes a robot miss commands at the drop probability, keeping its last one', () => {
    const world = new RendezvousWorld(only({ dropProbability: 0.3 }), { envs: 1, seed: 2, autoReset: false });
    // A fresh episode starts from a standing robot, so a dropped first command leaves it standing.
    let dropped = 0;
    const T = 2000;
    for (let t = 0; t < T; t++) {
      world.resetEnv(0, APART);
      world.step([0.5, 0.5, 0, 0]);
      if (world.truth.speed[0] === 0) dropped++;
    }
    expect(dropped / T).toBeGreaterThan(0.26);
    expect(dropped / T).toBeLessThan(0.34);
    // Later drops keep the previous command rather than stopping the robot.
    world.resetEnv(0, APART);
    const speeds: number[] = [];
    for (let t = 0; t < 200; t++) {
      world.step([0.5, 0.5, 0, 0]);
      speeds.push(world.truth.speed[0]!);
    }
    expect(speeds.slice(5).every((v) => v > 0)).toBe(true);
  });

  it('perturbs executed wheel speeds with actuator noise of the configured size', () => {
    const s = only({ actuatorNoise: 0.05 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 3, autoReset: false });
    const k = maxWheelSpeed(s.robots[0]!);
    const errs: number[] = [];
    for (let t = 0; t < 500; t++) {
      world.resetEnv(0, APART);
      world.step([0.5, 0.5, 0, 0]);
      errs.push(world.truth.speed[0]! / k - 0.5);
    }
    const std = Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length);
    // Mean of two independent wheels: std / sqrt(2).
    expect(std).toBeGreaterThan(0.05 / Math.SQRT2 * 0.85);
    expect(std).toBeLessThan(0.05 / Math.SQRT2 * 1.15);
  });

  it('draws per-robot wheel radius and axle offsets within their spread, per episode', () => {
    const s = only({ wheelRadiusSpread: 0.05 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 4, autoReset: false });
    const k = maxWheelSpeed(s.robots[0]!);
    const speeds = new Set<number>();
    for (let t = 0; t < 50; t++) {
      world.resetEnv(0, APART);
      world.step([1, 1, 0, 0]);
      const v = world.truth.speed[0]! / k;
      expect(v).toBeGreaterThanOrEqual(0.95);
      expect(v).toBeLessThanOrEqual(1.05);
      speeds.add(v);
    }
    expect(speeds.size).toBe(50);
  });

  it('reports tracked poses with noise while the physics keeps the true ones', () => {
    const world = new RendezvousWorld(only({ positionNoise: 0.003, headingNoise: 0.0175 }), { envs: 1, seed: 5, autoReset: false });
    const dx: number[] = [];
    for (let t = 0; t < 300; t++) {
      world.resetEnv(0, APART);
      dx.push(world.tracked.x[0]! - world.truth.x[0]!);
      expect(world.truth.x[0]).toBe(0.4);
    }
    const std = Math.sqrt(dx.reduce((a, e) => a + e * e, 0) / dx.length);
    expect(std).toBeGreaterThan(0.0025);
    expect(std).toBeLessThan(0.0035);
  });
});
