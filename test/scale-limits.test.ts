// What a swarm may be, and clear refusals where a policy truly cannot serve it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DENSE_PAIR_LIMIT, OnnxTeam } from '../src/policy/team.js';
import { MAX_ROBOTS, PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';

const policy = (name: string) => join(PROJECT_ROOT, 'policies', name);

describe('swarm size and arena limits', () => {
  it(`accepts up to ${MAX_ROBOTS} robots at the shipped density and refuses more by name`, () => {
    const side = 2 * Math.sqrt(MAX_ROBOTS / 10);
    expect(resolveSwarmConfig({ robots: MAX_ROBOTS, arena: { width: side, height: side }, observation: 'local', maxNeighbours: 4, sensingRadius: 0.6 }).robotIds).toHaveLength(MAX_ROBOTS);
    expect(() => resolveSwarmConfig({ robots: MAX_ROBOTS + 1, arena: { width: side, height: side } })).toThrow(/robots/);
  });

  it('a global-variant policy refuses another arena and says which policies can serve it', async () => {
    const s = resolveSwarmConfig({ robots: 40, arena: { width: 4, height: 4 } });
    await expect(OnnxTeam.load(policy('mappo-rendezvous'), s.observation)).rejects.toThrow(
      /arenaWidth is 2 but the twin uses 4: a global-variant policy \(rendezvous-v1\) reads positions normalised over its 2 m x 2 m training arena and cannot serve a 4 m x 4 m one; deploy a local-variant policy/,
    );
  });

  it('a local-variant policy loads for any arena and swarm size', async () => {
    const s = resolveSwarmConfig({ robots: 2000, arena: { width: 28.3, height: 28.3 }, observation: 'local', maxNeighbours: 4, sensingRadius: 0.6 });
    const team = await OnnxTeam.load(policy('eir-mappo-local-sparse'), s.observation);
    await team.release();
  });

  it('the dense belief form (every pair, every tick) is refused on a swarm too large for it, naming the way out', async () => {
    const s = resolveSwarmConfig({ robots: 1001, arena: { width: 20, height: 20 }, observation: 'local', maxNeighbours: 4, sensingRadius: 0.6 });
    const team = await OnnxTeam.load(policy('eir-mappo-local-sparse'), s.observation);
    try {
      const N = 1001;
      expect(N * N).toBeGreaterThan(DENSE_PAIR_LIMIT);
      const view = { envs: 1, robots: N, obs: new Float32Array(N * team.policy.manifest.observation.size), rowIds: new Int32Array(N * 4).fill(-1), pairFeatures: () => {} };
      await expect(team.act(view, new Float32Array(2 * N))).rejects.toThrow(/every ordered pair of 1 x 1001 robots \(1002001 pairs.*refused above 1000000 pairs; a deployed run keeps only live pairs \(forgetNeighbourAfter/);
    } finally {
      await team.release();
    }
  });
});
