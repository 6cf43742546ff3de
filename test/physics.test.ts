import { describe, expect, it } from 'vitest';
import { makeStreams } from '../src/core/random.js';
import { makeController } from '../sim/episode.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

/** Smallest surface gap between two robots and the worst wall violation over every env. */
function worstGeometry(world: RendezvousWorld) {
  const { x, y } = world.truth;
  const N = world.robots;
  const r = world.settings.robots.map((p) => p.bodyRadius);
  let minGap = Infinity;
  let wallViolation = 0;
  for (let e = 0; e < world.envs; e++) {
    for (let i = 0; i < N; i++) {
      const gi = e * N + i;
      wallViolation = Math.max(
        wallViolation,
        r[i]! - x[gi]!,
        r[i]! - y[gi]!,
        x[gi]! + r[i]! - world.settings.arenaWidth,
        y[gi]! + r[i]! - world.settings.arenaHeight,
      );
      for (let j = i + 1; j < N; j++) {
        const gj = e * N + j;
        minGap = Math.min(minGap, Math.hypot(x[gj]! - x[gi]!, y[gj]! - y[gi]!) - r[i]! - r[j]!);
      }
    }
  }
  return { minGap, wallViolation };
}

describe('disc collisions and walls', () => {
  it('never lets a robot leave the arena or overlap another, under random commands', () => {
    for (const robots of [2, 10, 100]) {
      const s = settings({ robots, noise: 'default' });
      const world = new RendezvousWorld(s, { envs: 3, seed: robots });
      const rng = makeStreams(7, 1)[0]!;
      const actions = new Float32Array(2 * world.envs * robots);
      for (let t = 0; t < 150; t++) {
        for (let i = 0; i < actions.length; i++) actions[i] = rng.range(-1, 1);
        world.step(actions);
        const g = worstGeometry(world);
        expect(g.minGap).toBeGreaterThanOrEqual(-1e-9);
        expect(g.wallViolation).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('keeps a dense gathering of 30 robots free of overlaps', () => {
    const s = settings({ robots: 30, noise: 'default' });
    const world = new RendezvousWorld(s, { envs: 2, seed: 3 });
    const controller = makeController('consensus', s, 0);
    const actions = new Float32Array(2 * world.envs * 30);
    for (let t = 0; t < 250; t++) {
      controller.act(world.obs, world.envs * 30, actions);
      world.step(actions);
      expect(worstGeometry(world).minGap).toBeGreaterThanOrEqual(-1e-9);
    }
    // They did get close: the test exercised contacts.
    expect(world.metrics(0).collisionsPerRobotMinute).toBeGreaterThan(0);
  });

  it('stops two robots driving head-on at contact', () => {
    const s = settings({ robots: 2 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
    world.resetEnv(0, [
      { x: 0.8, y: 1, heading: 0 },
      { x: 1.2, y: 1, heading: Math.PI },
    ]);
    for (let t = 0; t < 40; t++) world.step([1, 1, 1, 1]);
    const [a, b] = world.poses(0);
    expect(Math.hypot(b!.x - a!.x, b!.y - a!.y)).toBeCloseTo(2 * s.robots[0]!.bodyRadius, 6);
    expect(a!.y).toBeCloseTo(1, 9);
    expect(world.metrics(0).collisionsPerRobotMinute).toBeGreaterThan(0);
  });

  it('holds a robot driving into a wall at the wall', () => {
    const s = settings({ robots: 2 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
    world.resetEnv(0, [
      { x: 1.9, y: 1, heading: 0 },
      { x: 0.5, y: 0.5, heading: 0 },
    ]);
    for (let t = 0; t < 20; t++) world.step([1, 1, 0, 0]);
    expect(world.poses(0)[0]!.x).toBeCloseTo(2 - s.robots[0]!.bodyRadius, 12);
    expect(world.metrics(0).wallHitsPerRobotMinute).toBeGreaterThan(0);
  });
});

describe('a physics-only world (the live twin)', () => {
  it('moves, tracks and touches exactly as the full world with the same seed and commands, and builds no observation or reward', () => {
    const s = settings({ robots: 12, noise: 'default' });
    const full = new RendezvousWorld(s, { envs: 1, seed: 5, autoReset: false });
    const twin = new RendezvousWorld(s, { envs: 1, seed: 5, autoReset: false, physicsOnly: true });
    const rng = makeStreams(9, 1)[0]!;
    const actions = new Float32Array(2 * s.robots.length);
    let rewarded = false;
    for (let t = 0; t < 300; t++) {
      for (let i = 0; i < actions.length; i++) actions[i] = rng.range(-1, 1);
      full.step(actions);
      twin.step(actions);
      rewarded ||= full.rewards[0] !== 0;
      for (const frame of ['truth', 'tracked'] as const) {
        for (const field of ['x', 'y', 'heading', 'speed', 'turnRate'] as const) expect(twin[frame][field]).toEqual(full[frame][field]);
      }
      expect(twin.robotContact).toEqual(full.robotContact);
      expect(twin.wheelSteps).toEqual(full.wheelSteps);
    }
    // The full world did build them, so the comparison below is not of two empty worlds.
    expect(rewarded).toBe(true);
    expect(full.obs.some((v) => v !== 0)).toBe(true);
    expect(twin.obs.every((v) => v === 0)).toBe(true);
    expect(twin.rewards[0]).toBe(0);
  });
});
