// The local task variant (observation rendezvous-local-v1, spawn square) and the threat model's reward: what a
// robot sees depends only on its surroundings, a policy of one variant is refused by a swarm of the other,
// and the defenders' reward leaves the compromised robot out.
import { describe, expect, it } from 'vitest';
import { LOCAL_SPEC_ID, PAIR_DIM, RendezvousObserver, type SwarmFrame } from '../src/core/observation.js';
import { observationMismatch } from '../src/policy/folder.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { RendezvousWorld, type Pose } from '../sim/world.js';
import { settings } from './helpers.js';

const LOCAL = { observation: 'local', maxNeighbours: 4, sensingRadius: 1.0 } as const;

function frame(poses: readonly Pose[], dx = 0, dy = 0): SwarmFrame {
  const f = (get: (p: Pose) => number) => Float64Array.from(poses, get);
  return {
    x: f((p) => p.x + dx),
    y: f((p) => p.y + dy),
    heading: f((p) => p.heading),
    speed: f(() => 0.05),
    turnRate: f(() => 0.5),
    command: Float64Array.from({ length: 2 * poses.length }, (_, k) => (k % 3) / 3),
  };
}

/** Six decimals, and no negative zero. */
const rounded = (v: number): number => +v.toFixed(6) + 0;

function observe(s: ReturnType<typeof settings>, f: SwarmFrame): Float32Array {
  const o = new RendezvousObserver(s.observation);
  const n = f.x.length;
  const out = new Float32Array(n * o.size);
  o.observeAll(f, 0, n, out, 0);
  return out;
}

// Six robots in a cluster around (1, 1) and far from every wall of a 2 m arena.
const CLUSTER: Pose[] = [
  { x: 1.0, y: 1.0, heading: 0.3 },
  { x: 1.2, y: 1.0, heading: -1 },
  { x: 1.0, y: 1.25, heading: 2 },
  { x: 0.8, y: 0.9, heading: 0 },
  { x: 1.1, y: 0.7, heading: 1 },
  { x: 1.45, y: 1.3, heading: -2.5 },
];

describe('local observation variant rendezvous-local-v1', () => {
  it('is selected by observation: local and recorded as its own spec id', () => {
    expect(settings(LOCAL).observation.id).toBe(LOCAL_SPEC_ID);
    expect(settings().observation.id).toBe('rendezvous-v1');
  });

  it('does not depend on the arena size: the same cluster in a 4 m and a 12 m arena, away from walls, is seen alike', () => {
    const small = settings({ ...LOCAL, robots: 6, arena: { width: 4, height: 4 } });
    const large = settings({ ...LOCAL, robots: 6, arena: { width: 12, height: 12 } });
    const a = observe(small, frame(CLUSTER, 1, 1));
    const b = observe(large, frame(CLUSTER, 5, 5));
    // Equal up to the rounding of the shifted coordinates.
    expect(Math.max(...a.map((v, k) => Math.abs(v - b[k]!)))).toBeLessThan(1e-6);
  });

  it('does not depend on N: robots beyond the sensing radius or beyond the k nearest change nothing', () => {
    const six = settings({ ...LOCAL, robots: 6, arena: { width: 8, height: 8 } });
    const many = settings({ ...LOCAL, robots: 9, arena: { width: 8, height: 8 } });
    const far: Pose[] = [
      { x: 6.5, y: 6.5, heading: 0 },
      { x: 7, y: 2, heading: 1 },
      { x: 2, y: 7, heading: 2 },
    ];
    const withFar = observe(many, frame([...CLUSTER, ...far].map((p, k) => (k < 6 ? { ...p, x: p.x + 3, y: p.y + 3 } : p))));
    const alone = observe(six, frame(CLUSTER, 3, 3));
    expect(withFar.subarray(0, alone.length)).toEqual(alone);
  });

  it('keeps only the k nearest: robot 0 sees 4 of its 5 neighbours, the farthest left out', () => {
    const s = settings({ ...LOCAL, robots: 6 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
    world.resetEnv(0, CLUSTER);
    expect(Array.from(world.rowIds.subarray(0, 4))).toEqual([1, 3, 2, 4]);
    // The belief pairs follow what the robot observes: robot 5 (0.56 m away, within 1 m) is not among them.
    const pairs = new Float32Array(36 * PAIR_DIM);
    world.pairFeatures(0, pairs);
    expect(Array.from({ length: 6 }, (_, j) => pairs[j * PAIR_DIM])).toEqual([0, 1, 1, 1, 1, 0]);
  });

  it('sees the walls as local features: direction in the robot frame, scaled by proximity, zero out of range', () => {
    const s = settings({ ...LOCAL, robots: 2 });
    // Robot 0 0.2 m from the left wall facing +y: the wall is on its left at proximity 0.8; the bottom and
    // top walls are 1 m away, out of range. Robot 1 faces +x, 0.25 m below the top wall, far from the sides.
    const obs = observe(s, frame([{ x: 0.2, y: 1.0, heading: Math.PI / 2 }, { x: 1.0, y: 1.75, heading: 0 }]));
    const size = obs.length / 2;
    const own0 = Array.from(obs.subarray(2, 6)).map(rounded);
    expect(own0).toEqual([0, 0.8, 0, 0]);
    const own1 = Array.from(obs.subarray(size + 2, size + 6)).map(rounded);
    expect(own1).toEqual([0, 0, 0, 0.75]);
  });

  it('refuses a policy of the other variant, and takes a local policy into a larger arena', () => {
    const local = settings({ ...LOCAL, robots: 10 });
    const record = { ...local.observation, spec: LOCAL_SPEC_ID } as const;
    expect(observationMismatch(record, settings({ robots: 10, maxNeighbours: 4, sensingRadius: 1.0 }).observation)).toMatch(/observation\.spec is 'rendezvous-local-v1' but the swarm uses 'rendezvous-v1'/);
    expect(observationMismatch(record, settings({ ...LOCAL, robots: 200, arena: { width: 20, height: 20 } }).observation)).toBeNull();
    expect(observationMismatch(record, settings({ ...LOCAL, robots: 10, sensingRadius: 0.8 }).observation)).toMatch(/sensingRadius/);
  });
});

describe('spawn square', () => {
  it('starts every robot inside one square of the given side, placed anywhere in the arena', () => {
    const s = settings({ robots: 10, spawn: { square: 0.8 } });
    const world = new RendezvousWorld(s, { envs: 20, seed: 3, autoReset: false });
    const lefts: number[] = [];
    for (let e = 0; e < 20; e++) {
      const xs = Array.from({ length: 10 }, (_, k) => world.truth.x[e * 10 + k]!);
      const ys = Array.from({ length: 10 }, (_, k) => world.truth.y[e * 10 + k]!);
      expect(Math.max(...xs) - Math.min(...xs)).toBeLessThanOrEqual(0.8);
      expect(Math.max(...ys) - Math.min(...ys)).toBeLessThanOrEqual(0.8);
      lefts.push(Math.min(...xs));
    }
    // Not always the same place.
    expect(Math.max(...lefts) - Math.min(...lefts)).toBeGreaterThan(0.3);
  });

  it('refuses a square larger than the arena, naming the key', () => {
    expect(() => resolveSwarmConfig({ spawn: { square: 3 } }, 'test config')).toThrow(/spawn\.square: 3 m does not fit in the 2 m x 2 m arena/);
    expect(() => resolveSwarmConfig({ spawn: { side: 1 } }, 'test config')).toThrow(/spawn/);
  });
});

describe('threat model reward', () => {
  it('scores the defenders on the uncompromised robots; the episode return keeps the papers\u2019 protocol', () => {
    const s = settings({ robots: 3, episodeSteps: 5 });
    const world = new RendezvousWorld(s, { envs: 2, seed: 0, autoReset: false });
    // Robots 0 and 1 together, robot 2 (the victim in env 1) far away.
    const poses: Pose[] = [
      { x: 0.5, y: 0.5, heading: 0 },
      { x: 0.7, y: 0.5, heading: 0 },
      { x: 1.8, y: 1.8, heading: 0 },
    ];
    world.resetEnv(0, poses);
    world.resetEnv(1, poses);
    world.setVictim(1, { robot: 2 });
    world.step(new Float64Array(12));
    const diag = Math.hypot(2, 2);
    const d02 = Math.hypot(1.3, 1.3);
    const d12 = Math.hypot(1.1, 1.3);
    expect(world.rewards[0]).toBeCloseTo(-((0.2 + d02 + d12) / 3) / diag, 12);
    // The victim's distances no longer count for the team it attacks.
    expect(world.rewards[1]).toBeCloseTo(-0.2 / diag, 12);
    expect(world.metrics(1).episodeReturn).toBeCloseTo(world.rewards[0]!, 12);
  });
});
