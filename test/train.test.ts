import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFolder } from '../src/policy/folder.js';
import { runTraining } from '../src/cli/train.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { controllerTeam, evaluateTeam } from '../sim/team-eval.js';
import { initBackend } from '../sim/train/tf.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-train-'));
const quiet = () => {};

// Three robots, short episodes, no noise: small enough to learn in well under a minute.
const TINY = {
  seed: 3,
  env: { robots: 3, noise: 'off', episodeSteps: 100 },
  totalEnvSteps: 100_000,
  envs: 8,
  rolloutSteps: 20,
  decisionTicks: 5,
  hidden: 32,
  eval: { every: 50, episodes: 10, seed: 777 },
  finalEvalEpisodes: 30,
  checkpointEvery: 25,
};

beforeAll(async () => {
  await initBackend();
});

describe('training command', () => {
  it('a tiny seeded MAPPO run gathers robots clearly better than the random controller', async () => {
    const out = join(dir, 'tiny-mappo');
    const { manifest, policyDir } = await runTraining({ overrides: TINY, out, runDir: join(dir, 'run-tiny'), quiet: true }, quiet);
    const ev = manifest.evaluation.benign;
    const settings = resolveSwarmConfig(TINY.env);
    // The same episodes through the same loop (robot e mod N of episode e left out of the outcome, as in the manifest's).
    const baseline = await evaluateTeam(settings, controllerTeam('random', settings, 5), { episodes: 30, seed: ev.seed });
    // Random wheels leave the robots about where they started; the trained team closes in.
    expect(ev.meanReturn).toBeGreaterThan(baseline.meanReturn + 5);
    expect(ev.meanFinalDistance).toBeLessThan(0.75 * baseline.meanFinalDistance);
    // The folder is complete and loads as the runtime will load it.
    const loaded = await loadPolicyFolder(policyDir);
    expect(Object.keys(loaded.sessions)).toEqual(['actor.onnx']);
    expect(manifest.training).toMatchObject({ seed: 3, envSteps: 100_000 });
    expect(manifest.training.wallSeconds).toBeGreaterThan(0);
    expect(readFileSync(join(policyDir, 'curve.csv'), 'utf8').split('\n')[0]).toContain('evalReturn');
  }, 240_000);

  it('resumes from its checkpoint to train longer, and refuses a checkpoint of another configuration', async () => {
    const small = { ...TINY, env: { robots: 2, noise: 'off', episodeSteps: 50 }, totalEnvSteps: 1600, checkpointEvery: 1, eval: { every: 1, episodes: 2, seed: 5 } };
    const runDir = join(dir, 'run-resume');
    await runTraining({ overrides: small, out: join(dir, 'r1'), runDir, quiet: true }, quiet);
    expect(JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8')).iteration).toBe(2);

    const lines: string[] = [];
    const longer = await runTraining({ overrides: { ...small, totalEnvSteps: 3200 }, out: join(dir, 'r2'), runDir, quiet: true }, (l) => lines.push(l));
    expect(lines.some((l) => l.startsWith('resuming') && l.includes('iteration 2'))).toBe(true);
    expect(longer.manifest.training).toMatchObject({ iterations: 4, envSteps: 3200 });
    const curve = readFileSync(join(runDir, 'curve.csv'), 'utf8').trim().split('\n');
    expect(curve).toHaveLength(1 + 4);

    const before = readFileSync(join(runDir, 'checkpoint.json'), 'utf8');
    await expect(runTraining({ overrides: { ...small, seed: 99 }, out: join(dir, 'r3'), runDir, quiet: true }, quiet)).rejects.toThrow(
      /different training configuration.*--fresh/,
    );
    expect(readFileSync(join(runDir, 'checkpoint.json'), 'utf8')).toBe(before);
    expect(existsSync(join(dir, 'r3'))).toBe(false);
  });

  it('stops on Ctrl-C with a checkpoint, and the same command resumes and finishes', async () => {
    const cfg = join(dir, 'interrupt.yaml');
    writeFileSync(
      cfg,
      'env: { robots: 2, noise: off, episodeSteps: 50 }\ntotalEnvSteps: 10000000\nenvs: 4\nrolloutSteps: 10\nhidden: 16\n' +
        'checkpointEvery: 1\neval: { every: 1000, episodes: 2, seed: 5 }\nfinalEvalEpisodes: 2\n',
    );
    const out = join(dir, 'interrupted');
    const runDir = join(dir, 'run-interrupted');
    const bin = join(import.meta.dirname, '..', 'src', 'bin', 'swarmguard.js');
    const child = spawn('node', [bin, 'train', '--config', cfg, '--out', out, '--run-dir', runDir, '--quiet'], { stdio: 'pipe' });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    const checkpoint = join(runDir, 'checkpoint.json');
    for (let waited = 0; !existsSync(checkpoint) && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(stdout).toContain('Run the same command to resume');
    expect(existsSync(out)).toBe(false);
    const steps = JSON.parse(readFileSync(checkpoint, 'utf8')).envSteps as number;
    expect(steps).toBeGreaterThan(0);

    const lines: string[] = [];
    const done = await runTraining({ config: cfg, totalSteps: steps + 400, out, runDir, quiet: true }, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^resuming interrupted/);
    expect(done.manifest.training.envSteps).toBe(steps + 400);
  });

  it('rejects an unknown algorithm or key, and an existing policy folder, before training', async () => {
    await expect(runTraining({ algo: 'dqn', out: join(dir, 'x') }, quiet)).rejects.toThrow(/algo/);
    await expect(runTraining({ overrides: { learningRate: 1 }, out: join(dir, 'x') }, quiet)).rejects.toThrow(/learningRate/);
    await expect(runTraining({ overrides: { env: { robots: 1 } }, out: join(dir, 'x') }, quiet)).rejects.toThrow(/robots/);
    const yaml = join(dir, 'bad.yaml');
    writeFileSync(yaml, 'algo: mappo\nppoEpochs: many\n');
    await expect(runTraining({ config: yaml, out: join(dir, 'x') }, quiet)).rejects.toThrow(/bad\.yaml: ppoEpochs/);
    const existing = join(dir, 'existing-policy');
    mkdirSync(existing);
    writeFileSync(join(existing, 'manifest.json'), '{"keep": true}');
    const before = readFileSync(join(existing, 'manifest.json'), 'utf8');
    await expect(runTraining({ overrides: TINY, out: existing, runDir: join(dir, 'run-x') }, quiet)).rejects.toThrow(/already exists; pass --force/);
    expect(readFileSync(join(existing, 'manifest.json'), 'utf8')).toBe(before);
  });
});
