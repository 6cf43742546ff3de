import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/config-file.js';
import { loadSwarmConfig, resolveSwarmConfig } from '../src/core/swarm-config.js';
import { overrideFromFunction } from '../src/attacks/override.js';
import { InvalidCommandError, RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const ROBOTS = `model: e-puck2
defaults:
  wheelRadius: 0.0205
  wheelDistance: 0.053
  stepsPerRevolution: 1000
  maxStepsPerSecond: 1100
  bodyRadius: 0.037
`;

describe('bad configuration is rejected with the key named', () => {
  it('a robots file with a missing key', () => {
    const robots = file('missing.yaml', ROBOTS.replace('  wheelDistance: 0.053\n', ''));
    const cfg = file('a.yaml', `robotsFile: ${robots}\n`);
    expect(() => loadSwarmConfig(cfg)).toThrow(ConfigError);
    expect(() => loadSwarmConfig(cfg)).toThrow(/missing\.yaml: defaults\.wheelDistance/);
  });

  it('a robots file with an ill-typed key', () => {
    const robots = file('typed.yaml', ROBOTS.replace('bodyRadius: 0.037', 'bodyRadius: big'));
    expect(() => resolveSwarmConfig({ robotsFile: robots })).toThrow(/defaults\.bodyRadius: .*number/);
  });

  it('a robots file override for a robot that is not in the swarm', () => {
    const robots = file('over.yaml', `${ROBOTS}overrides:\n  epuck-77:\n    wheelRadius: 0.02\n`);
    expect(() => resolveSwarmConfig({ robotsFile: robots, robots: 5 })).toThrow(/overrides\.epuck-77: unknown robot id 'epuck-77'/);
    // ... and applied when it is.
    const s = resolveSwarmConfig({ robotsFile: robots, robots: ['a', 'epuck-77'] });
    expect(s.robots[1]!.wheelRadius).toBe(0.02);
    expect(s.robots[0]!.wheelRadius).toBe(0.0205);
  });

  it('a config with an unknown, ill-typed or out-of-range key', () => {
    expect(() => resolveSwarmConfig({ comRadius: 1 })).toThrow(/comRadius/);
    expect(() => resolveSwarmConfig({ arena: { width: 'wide', height: 2 } })).toThrow(/arena\.width/);
    expect(() => resolveSwarmConfig({ noise: { latencyTicks: { min: 0, max: 5 } } })).toThrow(/latencyTicks\.max/);
    expect(() => loadSwarmConfig(file('bad.yaml', 'robots: [a, b\n'))).toThrow(/bad\.yaml: invalid YAML/);
    expect(() => loadSwarmConfig(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml: cannot read file/);
  });

  it('fewer than two robots', () => {
    expect(() => resolveSwarmConfig({ robots: 1 })).toThrow(/robots: a swarm needs at least 2 robots/);
    expect(() => resolveSwarmConfig({ robots: ['solo'] })).toThrow(/robots: a swarm needs at least 2 robots/);
    expect(() => resolveSwarmConfig({ robots: ['a', 'a'] })).toThrow(/robots: robot ids must be unique/);
  });

  it('accepts 2 and 100 robots', () => {
    expect(settings({ robots: 2 }).robots).toHaveLength(2);
    expect(settings({ robots: 100 }).robots).toHaveLength(100);
  });
});

describe('bad commands never enter the state', () => {
  const s = settings({ robots: 3 });

  it.each([NaN, Infinity, -Infinity])('a %s wheel command is rejected naming the robot, nothing changes', (bad) => {
    const world = new RendezvousWorld(s, { envs: 2, seed: 1 });
    const before = [Array.from(world.truth.x), Array.from(world.obs), Array.from(world.stepCount)];
    const actions = new Float32Array(12).fill(0.5);
    actions[9] = bad;
    expect(() => world.step(actions)).toThrow(InvalidCommandError);
    expect(() => world.step(actions)).toThrow(/right wheel command .* robot 'epuck-1' in env 1/);
    expect([Array.from(world.truth.x), Array.from(world.obs), Array.from(world.stepCount)]).toEqual(before);
    world.step(new Float32Array(12).fill(0.5));
    expect(world.truth.x.every(Number.isFinite)).toBe(true);
  });

  it('an override that produces NaN is rejected naming the override and robot, and no environment steps', () => {
    const world = new RendezvousWorld(s, { envs: 2, seed: 1 });
    world.setVictim(1, { robot: 'epuck-2', override: overrideFromFunction('broken', () => [NaN, 0]) });
    const before = [Array.from(world.truth.x), Array.from(world.truth.command), Array.from(world.stepCount)];
    expect(() => world.step(new Float32Array(12).fill(0.5))).toThrow(/override 'broken' .* robot 'epuck-2'/);
    expect([Array.from(world.truth.x), Array.from(world.truth.command), Array.from(world.stepCount)]).toEqual(before);
  });

  it('commands outside [-1, 1] are clamped to the firmware limit', () => {
    const world = new RendezvousWorld(s, { envs: 1, seed: 1 });
    world.step([5, -5, 0, 0, 0, 0]);
    expect(Array.from(world.truth.command.subarray(0, 2))).toEqual([1, -1]);
  });

  it('an unknown robot id or index in an override is rejected by name', () => {
    const world = new RendezvousWorld(s, { envs: 1, seed: 1 });
    expect(() => world.setVictim(0, { robot: 'epuck-9' })).toThrow(/unknown robot id 'epuck-9'/);
    expect(() => world.setVictim(0, { robot: 3 })).toThrow(/unknown robot index 3/);
    expect(() => world.setVictim(2, { robot: 0 })).toThrow(/unknown env 2/);
    expect(() => world.setVictim(0, { robot: 0, observationNoise: NaN })).toThrow(/observationNoise/);
  });

  it('a wrong number of commands is rejected', () => {
    const world = new RendezvousWorld(s, { envs: 1, seed: 1 });
    expect(() => world.step([0, 0])).toThrow(/expected 6 wheel commands/);
  });

  it('start poses outside the arena or overlapping are rejected', () => {
    const world = new RendezvousWorld(settings({ robots: 2 }), { envs: 1, seed: 1 });
    expect(() => world.resetEnv(0, [{ x: 0.01, y: 1, heading: 0 }, { x: 1, y: 1, heading: 0 }])).toThrow(/'epuck-0'.*outside/);
    expect(() => world.resetEnv(0, [{ x: 1, y: 1, heading: 0 }, { x: 1.05, y: 1, heading: 0 }])).toThrow(/overlap/);
  });
});
