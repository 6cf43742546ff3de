import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdversaryTraining } from '../src/cli/train-adversary.js';
import { OnnxAdversary, readAdversaryManifest } from '../src/policy/adversary.js';
import { readManifest } from '../src/policy/folder.js';
import { OnnxTeam } from '../src/policy/team.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';
import { PosthocAdversaryTrainer, resolveAdversaryConfig } from '../sim/train/adversary.js';
import { initBackend } from '../sim/train/tf.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const quiet = () => {};

beforeAll(async () => {
  await initBackend();
});

describe('posthoc adversary against a frozen team', () => {
  const settings = resolveSwarmConfig({ ...(readManifest(MAPPO).training.config.env as object), episodeSteps: 20 });
  let team: OnnxTeam;
  beforeAll(async () => {
    team = await OnnxTeam.load(MAPPO, settings.observation);
  });
  afterAll(async () => {
    await team.release();
  });

  it('drives only its victim, one uniformly drawn victim per episode', async () => {
    const config = resolveAdversaryConfig({ envs: 3, rolloutSteps: 3, decisionTicks: 5, hidden: 16 }, 'test');
    const trainer = new PosthocAdversaryTrainer(config, settings, team);
    const w = trainer.world;
    const victims = Array.from(w.victim);
    expect(victims.every((v) => v >= 0 && v < w.robots)).toBe(true);
    await trainer.collect();
    // Mid-episode, after the third decision: the victim executes the adversary's sampled command (clamped);
    // the others execute the team's.
    const b = trainer.buffer;
    for (let e = 0; e < w.envs; e++) {
      const v = victims[e]!;
      const sampled = [b.actions[2 * (2 * w.envs + e)]!, b.actions[2 * (2 * w.envs + e) + 1]!].map((u) => Math.max(-1, Math.min(1, u)));
      for (let i = 0; i < w.robots; i++) {
        const g = e * w.robots + i;
        const same = Math.abs(w.truth.command[2 * g]! - sampled[0]!) < 1e-6 && Math.abs(w.truth.command[2 * g + 1]! - sampled[1]!) < 1e-6;
        expect(same).toBe(i === v);
      }
    }
  });

  it('earns exactly what the defenders (the victim left out) lose', async () => {
    const config = resolveAdversaryConfig({ envs: 3, rolloutSteps: 4, decisionTicks: 5, hidden: 16, minibatches: 2 }, 'test');
    const trainer = new PosthocAdversaryTrainer(config, settings, team);
    const st = await trainer.iterate(); // 4 decisions x 5 ticks: exactly one 20-step episode per environment
    expect(st.episodes).toBe(3);
    const b = trainer.buffer;
    let total = 0;
    for (let i = 0; i < 12; i++) total += b.rewards[i]!;
    expect(total / 3).toBeCloseTo(-st.meanDefenderReturn!, 3);
    expect(st.meanDefenderReturn!).toBeLessThan(0);
    // The papers' return also counts the victim's own distances: a different number.
    expect(Math.abs(st.meanReturn! - st.meanDefenderReturn!)).toBeGreaterThan(1e-3);
  });

  it('with stealth beta, also pays beta times the squared distance from the deployed command (DYN adversaries)', async () => {
    const run = async (stealth: number) => {
      const config = resolveAdversaryConfig({ envs: 3, rolloutSteps: 4, decisionTicks: 5, hidden: 16, minibatches: 2, stealth }, 'test');
      const trainer = new PosthocAdversaryTrainer(config, settings, team);
      const st = await trainer.iterate();
      return { rewards: Array.from(trainer.buffer.rewards.subarray(0, 12)), st };
    };
    const pure = await run(0);
    const stealthy = await run(2);
    // Same seed, same rollout: the team's return is unchanged, only the adversary's reward pays the cost.
    expect(stealthy.st.meanReturn).toBeCloseTo(pure.st.meanReturn!, 6);
    expect(stealthy.st.deviation).toBeCloseTo(pure.st.deviation, 6);
    expect(pure.st.deviation).toBeGreaterThan(0);
    const cost = pure.rewards.reduce((s, r) => s + r, 0) - stealthy.rewards.reduce((s, r) => s + r, 0);
    expect(cost).toBeCloseTo(2 * pure.st.deviation * 3 * 20, 2); // beta x mean deviation x (3 envs x 20 ticks)
  });

  it('trains through the command into an adversary folder that loads, and refuses to overwrite it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'swarmguard-adv-')), 'posthoc');
    const overrides = { envs: 2, rolloutSteps: 60, hidden: 8, finalEvalEpisodes: 3 };
    const { manifest } = await runAdversaryTraining({ against: MAPPO, overrides, totalSteps: 600, out: dir, quiet: true }, quiet);
    expect(manifest.target.policy).toBe('mappo-rendezvous');
    expect(manifest.target.actorSha256).toBe(readManifest(MAPPO).files['actor.onnx']!.sha256);
    expect(manifest.evaluation.attacked.episodes).toBe(3);
    expect(readAdversaryManifest(dir)).toEqual(manifest);
    const adversary = await OnnxAdversary.load(dir, settings.observation);
    const out = new Float32Array(2);
    await adversary.act(new Float32Array(settings.robots.length * 100).fill(0.1), [0], out);
    expect(out.every(Number.isFinite)).toBe(true);
    await adversary.release();
    await expect(runAdversaryTraining({ against: MAPPO, overrides, totalSteps: 600, out: dir, quiet: true }, quiet)).rejects.toThrow(/already exists/);
  }, 120_000);

  it('rejects an unknown config key and a folder that is not a policy, before training', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-adv-bad-'));
    const cfg = join(dir, 'adv.yaml');
    writeFileSync(cfg, 'envs: 2\nbeliefLr: 0.1\n');
    await expect(runAdversaryTraining({ against: MAPPO, config: cfg, out: join(dir, 'x'), quiet: true }, quiet)).rejects.toThrow(/beliefLr/);
    await expect(runAdversaryTraining({ against: dir, out: join(dir, 'y'), quiet: true }, quiet)).rejects.toThrow(/manifest\.json/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(existsSync(join(dir, 'y'))).toBe(false);
  });
});
