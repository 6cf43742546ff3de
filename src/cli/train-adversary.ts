// `swarmguard train-adversary` (npm run train:adversary): trains a posthoc adversary against a frozen
// policy folder and writes the adversary's folder (adversary.onnx, manifest.json, curve.csv).
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { ADVERSARY_FORMAT, AdversaryManifestSchema, type AdversaryManifest } from '../core/adversary-manifest.js';
import { loadYamlFile } from '../core/config-file.js';
import { OnnxAdversary } from '../policy/adversary.js';
import { PolicyFolderError, readManifest, sha256, writeFolderAtomically } from '../policy/folder.js';
import { OnnxTeam } from '../policy/team.js';
import { resolveSwarmConfig } from '../core/swarm-config.js';
import { evaluationMetrics } from '../../sim/evaluation.js';
import { evaluateTeam } from '../../sim/team-eval.js';
import { PosthocAdversaryTrainer, resolveAdversaryConfig } from '../../sim/train/adversary.js';
import { initBackend } from '../../sim/train/tf.js';
import { gitCommit } from './train.js';

export interface TrainAdversaryOptions {
  against: string;
  config?: string;
  overrides?: Record<string, unknown>;
  seed?: number;
  totalSteps?: number;
  out?: string;
  force?: boolean;
  quiet?: boolean;
}

/** Held-out evaluation episodes (not the team's training evaluation seeds). */
export const ATTACK_EVAL_SEED = 3_000_000;

export async function runAdversaryTraining(o: TrainAdversaryOptions, log: (line: string) => void = (l) => console.log(l)): Promise<{ dir: string; manifest: AdversaryManifest }> {
  const file = o.config ? loadYamlFile(o.config, z.record(z.string(), z.unknown())) : {};
  const partial: Record<string, unknown> = { ...file, ...o.overrides };
  if (o.seed !== undefined) partial.seed = o.seed;
  if (o.totalSteps !== undefined) partial.totalEnvSteps = o.totalSteps;
  const config = resolveAdversaryConfig(partial, o.config ?? 'command line');
  const targetDir = resolve(o.against);
  const targetName = basename(targetDir);
  const name = o.out ? basename(o.out) : `posthoc-vs-${targetName}`;
  const dir = resolve(o.out ?? join('policies', 'attacks', name));
  if (existsSync(dir) && !o.force) throw new PolicyFolderError(`${dir} already exists; pass --force to replace it`);

  const commit = gitCommit();
  await initBackend('wasm');
  // The twin the target was trained on (its manifest records the environment settings).
  const targetManifest = readManifest(targetDir);
  const settings = resolveSwarmConfig({ ...(targetManifest.training.config.env as Record<string, unknown>) });
  const team = await OnnxTeam.load(targetDir, settings.observation);
  try {
    const trainer = new PosthocAdversaryTrainer(config, settings, team);
    log(`training ${name} against ${targetName} (${targetManifest.algorithm}): seed ${config.seed}, ${config.totalEnvSteps} env steps`);
    const started = performance.now();
    const wall = () => (performance.now() - started) / 1000;
    const curve: string[] = ['iteration,envSteps,wallSeconds,episodes,teamReturn,defenderReturn,teamEverGatheredRate,policyLoss,valueLoss,deviation'];
    const bar = o.quiet
      ? null
      : new SingleBar({ format: ' {bar} {percentage}% | ETA {eta_formatted} | {value}/{total} env steps | defenders\' return {ret}', stream: process.stderr, hideCursor: true, etaBuffer: 20 });
    bar?.start(config.totalEnvSteps, 0, { ret: '-' });
    try {
      while (trainer.envSteps < config.totalEnvSteps) {
        const st = await trainer.iterate();
        curve.push([st.iteration, st.envSteps, wall().toFixed(1), st.episodes, st.meanReturn ?? '', st.meanDefenderReturn ?? '', st.everGatheredRate ?? '', st.policyLoss, st.valueLoss, st.deviation].join(','));
        bar?.update(Math.min(st.envSteps, config.totalEnvSteps), { ret: st.meanDefenderReturn === null ? '-' : st.meanDefenderReturn.toFixed(1) });
        if (o.quiet && st.iteration % 20 === 0) log(`iteration ${st.iteration}: ${st.envSteps} env steps, defenders' return ${st.meanDefenderReturn?.toFixed(2) ?? '-'}`);
      }
    } finally {
      bar?.stop();
    }
    const wallSeconds = +wall().toFixed(1);
    const model = trainer.exportModel(`${name}: posthoc adversary against ${targetName}, observation ${settings.observation.id}`);
    log(`evaluating ${targetName} on ${config.finalEvalEpisodes} held-out episodes, benign and attacked`);
    const envNoise = (targetManifest.training.config.env as { noise?: unknown }).noise;
    const noise = typeof envNoise === 'string' ? envNoise : 'custom';
    const adversary = await OnnxAdversary.fromModel(name, model.bytes, settings.observation);
    const benign = await evaluateTeam(settings, team, { episodes: config.finalEvalEpisodes, seed: ATTACK_EVAL_SEED });
    const attacked = await evaluateTeam(settings, team, { episodes: config.finalEvalEpisodes, seed: ATTACK_EVAL_SEED, attack: { kind: 'adversary', adversary } });
    await adversary.release();
    const manifest = AdversaryManifestSchema.parse({
      format: ADVERSARY_FORMAT,
      name,
      kind: 'posthoc',
      target: { policy: targetName, actorSha256: targetManifest.files['actor.onnx']!.sha256 },
      observation: { ...targetManifest.observation, spec: settings.observation.id, size: trainer.world.obsSize },
      action: { kind: 'normalised-wheel-commands', deployed: 'mean', logStd: Array.from(trainer.actor.logStd.dataSync()) },
      files: { 'adversary.onnx': { sha256: sha256(model.bytes), inputs: model.inputs, outputs: model.outputs } },
      training: {
        command: `npm run train:adversary -- ${process.argv.slice(3).join(' ')}`.trim(),
        seed: config.seed,
        envSteps: trainer.envSteps,
        iterations: trainer.iteration,
        wallSeconds,
        commit,
        config: config as unknown as Record<string, unknown>,
      },
      evaluation: { benign: evaluationMetrics(benign, ATTACK_EVAL_SEED, noise), attacked: evaluationMetrics(attacked, ATTACK_EVAL_SEED, noise) },
    });
    writeFolderAtomically(dir, {
      'adversary.onnx': model.bytes,
      'manifest.json': `${JSON.stringify(manifest, null, 2)}\n`,
      'curve.csv': `${curve.join('\n')}\n`,
    });
    log(
      `wrote ${dir}: ${targetName} return ${benign.meanReturn.toFixed(2)} benign -> ${attacked.meanReturn.toFixed(2)} attacked, ` +
        `gathered ${(100 * benign.everGatheredRate).toFixed(0)}% -> ${(100 * attacked.everGatheredRate).toFixed(0)}%, ${trainer.envSteps} env steps in ${(wallSeconds / 60).toFixed(1)} min`,
    );
    return { dir, manifest };
  } finally {
    await team.release();
  }
}
