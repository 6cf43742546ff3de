// The known-type oracle (eir.oracle): the yardstick of the headroom check. Its actor reads the true type, in
// training and in every evaluation, and nothing lets it near a real swarm.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTraining } from '../src/cli/train.js';
import { OnnxTeam } from '../src/policy/team.js';
import { loadLaunch } from '../src/launch/launch.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { resolveTrainConfig } from '../sim/train/config.js';
import { EirMappoTrainer } from '../sim/train/eir-mappo.js';
import { initBackend } from '../sim/train/tf.js';
import { expectDeployedMatchesTraining } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

const ENV = { robots: 3, noise: 'off', episodeSteps: 20 };

describe('known-type oracle', () => {
  it('feeds the true type throughout training (teacher forcing held at 1)', () => {
    const config = resolveTrainConfig({ algo: 'eir-mappo', envs: 4, rolloutSteps: 2, decisionTicks: 1, hidden: 8, env: ENV, totalEnvSteps: 80, eir: { oracle: true } }, 'test');
    const t = new EirMappoTrainer(config, resolveSwarmConfig(config.env));
    expect(t.teacherForcing()).toBe(1);
    t.iterate();
    t.iterate();
    expect(t.teacherForcing()).toBe(1);
  });

  it('reproduces its training evaluations through onnxruntime when the twin tells it the victim, and is refused by a launch file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-oracle-'));
    const { manifest, policyDir } = await runTraining(
      {
        algo: 'eir-mappo',
        overrides: { env: ENV, totalEnvSteps: 400, envs: 4, rolloutSteps: 4, hidden: 16, eval: { every: 1, episodes: 2, seed: 3 }, finalEvalEpisodes: 3, eir: { oracle: true } },
        out: join(dir, 'oracle'),
        runDir: join(dir, 'run'),
        quiet: true,
      },
      () => {},
    );
    await expectDeployedMatchesTraining(policyDir, manifest, ['eir']);

    // Without the truth (a deployed swarm's view has no victim) it refuses to act.
    const settings = resolveSwarmConfig(ENV);
    const team = await OnnxTeam.load(policyDir, settings.observation);
    try {
      expect(team.oracle).toBe(true);
      const view = { envs: 1, robots: 3, obs: new Float32Array(3 * 78), rowIds: new Int32Array(27).fill(-1), pairFeatures: () => {} };
      await expect(team.act(view, new Float32Array(6))).rejects.toThrow(/known-type oracle/);
    } finally {
      await team.release();
    }
    const launch = join(dir, 'launch.yaml');
    writeFileSync(launch, `swarm: { robots: 3, noise: off }\nlink: { kind: sim, mode: fast, seed: 2 }\npolicy: ${policyDir}\nduration: 2\n`);
    await expect(loadLaunch(launch)).rejects.toThrow(/known-type oracle .*not deployable/);
  });
});
