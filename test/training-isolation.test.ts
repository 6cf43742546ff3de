// Training for the monitor's `onFlag: isolate`: the world leaves an isolated robot out of the others'
// observations and belief pairs from a given step, and EIR-MAPPO's `isolation` setting draws it per episode.
import { beforeAll, describe, expect, it } from 'vitest';
import { PAIR_DIM } from '../src/core/observation.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { checkDecisionTicks, resolveTrainConfig } from '../sim/train/config.js';
import { EirMappoTrainer } from '../sim/train/eir-mappo.js';
import { initBackend } from '../sim/train/tf.js';
import { RendezvousWorld, type Pose } from '../sim/world.js';
import { settings } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

const pose = (x: number, y: number): Pose => ({ x, y, heading: 0 });
/** Four robots within sensing range of each other. */
const START = [pose(1, 1), pose(1.2, 1), pose(1, 1.2), pose(1.2, 1.2)];

function rowsOf(world: RendezvousWorld, g: number): number[] {
  const K = world.settings.observation.maxNeighbours;
  return Array.from(world.rowIds.subarray(g * K, (g + 1) * K)).filter((j) => j >= 0).sort();
}

/** Whether observer i has a belief pair with robot j (the pair features' first value marks an observed pair). */
function paired(world: RendezvousWorld, i: number, j: number): boolean {
  const N = world.robots;
  const out = new Float32Array(N * N * PAIR_DIM);
  world.pairFeatures(0, out);
  return out[(i * N + j) * PAIR_DIM] === 1;
}

describe('isolation in training', () => {
  it("leaves the isolated robot out of the others' rows and belief pairs from its step on, not out of its own view, until a reset", () => {
    for (const observation of ['global', 'local'] as const) {
      const world = new RendezvousWorld(settings({ robots: 4, episodeSteps: 20, observation }), { envs: 1, seed: 5, autoReset: false });
      world.resetEnv(0, START);
      world.isolate(0, 'epuck-2', 2);
      const still = new Float32Array(8);
      expect(world.isolatedNow(0)).toBe(-1);
      expect(rowsOf(world, 0)).toEqual([1, 2, 3]);
      world.step(still);
      expect(rowsOf(world, 0)).toEqual([1, 2, 3]);
      expect(paired(world, 0, 2)).toBe(true);
      world.step(still);
      expect(world.isolatedNow(0)).toBe(2);
      for (const i of [0, 1, 3]) {
        expect(rowsOf(world, i)).not.toContain(2);
        expect(paired(world, i, 2)).toBe(false);
      }
      expect(rowsOf(world, 0)).toEqual([1, 3]);
      expect(rowsOf(world, 2)).toEqual([0, 1, 3]);
      expect(paired(world, 2, 0)).toBe(true);
      world.resetEnv(0, START);
      expect(world.isolatedNow(0)).toBe(-1);
      expect(rowsOf(world, 0)).toEqual([1, 2, 3]);
    }
  });

  it('isolates the victim of the attacked episodes it draws, at the drawn step, and nobody in benign ones', () => {
    const base = { envs: 16, rolloutSteps: 1, decisionTicks: 1, hidden: 16, env: { robots: 4, noise: 'off', episodeSteps: 20 } };
    const run = (isolation: unknown) => {
      const config = resolveTrainConfig({ ...base, algo: 'eir-mappo', eir: { isolation } }, 'test');
      return new EirMappoTrainer(config, resolveSwarmConfig(config.env)).world;
    };
    const always = run({ probability: 1, delaySeconds: { min: 0, max: 0 } });
    let attacked = 0;
    for (let e = 0; e < always.envs; e++) {
      expect(always.isolatedNow(e)).toBe(always.victim[e]);
      if (always.victim[e]! >= 0) attacked++;
    }
    expect(attacked).toBeGreaterThan(0);
    const never = run({ probability: 0, delaySeconds: { min: 0, max: 0 } });
    for (let e = 0; e < never.envs; e++) expect(never.isolatedNow(e)).toBe(-1);
    // A delay of 0.3 s: isolated from the third step on.
    const later = run({ probability: 1, delaySeconds: { min: 0.3, max: 0.3 } });
    const still = new Float32Array(2 * later.envs * later.robots);
    for (let t = 0; t < 3; t++) {
      for (let e = 0; e < later.envs; e++) expect(later.isolatedNow(e)).toBe(-1);
      later.step(still);
    }
    for (let e = 0; e < later.envs; e++) expect(later.isolatedNow(e)).toBe(later.victim[e]);
  });

  it('refuses an isolation setting that cannot happen, naming the key', () => {
    const config = (isolation: unknown) => resolveTrainConfig({ algo: 'eir-mappo', env: { robots: 4, episodeSteps: 20 }, eir: { isolation } }, 'test');
    expect(() => config({ probability: 1.5, delaySeconds: { min: 0, max: 1 } })).toThrow(/eir\.isolation\.probability/);
    expect(() => config({ probability: 0.5, delaySeconds: { min: 2, max: 1 } })).toThrow(/eir\.isolation\.delaySeconds.*min must not exceed/);
    expect(() => config({ probability: 0.5 })).toThrow(/eir\.isolation\.delaySeconds/);
    const late = config({ probability: 0.5, delaySeconds: { min: 1, max: 2 } });
    expect(() => checkDecisionTicks(late, resolveSwarmConfig(late.env), 'test')).toThrow(/eir\.isolation\.delaySeconds\.max: 2 s must be shorter than an episode \(2 s\)/);
  });
});
