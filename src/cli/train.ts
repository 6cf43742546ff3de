// `swarmguard train` (npm run train): trains a policy on the twin and writes its policy folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { ConfigError, loadYamlFile } from '../core/config-file.js';
import { observationLayout } from '../core/observation.js';
import { observationRecord, type PolicyManifest } from '../core/policy-manifest.js';
import { loadPolicyFolder, writePolicyFolder, PolicyFolderError } from '../policy/folder.js';
import { resolveSwarmConfig, PROJECT_ROOT } from '../core/swarm-config.js';
import { readCheckpoint, writeCheckpoint } from '../../sim/train/checkpoint.js';
import { checkDecisionTicks, resolveTrainConfig, type TrainConfig } from '../../sim/train/config.js';
import { CURVE_COLUMNS, currentCurveRow, curveCsv, curveSvg, type CurveRow } from '../../sim/train/curves.js';
import { evaluationMetrics, type EvalResult } from '../../sim/evaluation.js';
import { initBackend } from '../../sim/train/tf.js';
import { createTrainer, FINGERPRINT_ITERATIONS, type Trainer } from '../../sim/train/trainer.js';
import type { TrainerStats } from '../../sim/train/iteration-stats.js';

export interface TrainOptions {
  algo?: string;
  config?: string;
  /** Settings applied over the config file (programmatic use). */
  overrides?: Record<string, unknown>;
  seed?: number;
  totalSteps?: number;
  out?: string;
  runDir?: string;
  fresh?: boolean;
  force?: boolean;
  /** No progress bar (tests, logs); a line per evaluation instead. */
  quiet?: boolean;
}

export interface TrainResult {
  policyDir: string;
  manifest: PolicyManifest;
  runDir: string;
}

export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: 'pipe' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: 'pipe' }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** The training configuration from the config file and the flags (flags win). */
export function trainConfigFrom(o: TrainOptions): { config: TrainConfig; source: string } {
  const file = o.config ? loadYamlFile(o.config, z.record(z.string(), z.unknown())) : {};
  const source = o.config ?? 'command line';
  const partial: Record<string, unknown> = { ...file, ...o.overrides };
  if (o.algo !== undefined) partial.algo = o.algo;
  if (o.seed !== undefined) partial.seed = o.seed;
  if (o.totalSteps !== undefined) partial.totalEnvSteps = o.totalSteps;
  return { config: resolveTrainConfig(partial, source), source };
}

/** One iteration as the training command runs it: rollout and update, then the periodic evaluation when due. */
export async function trainingIteration(
  trainer: Trainer,
  config: TrainConfig,
): Promise<{ stats: TrainerStats; evaluation: EvalResult | null; columns: Record<string, number> | undefined }> {
  const stats = trainer.iterate();
  if (stats.iteration % config.eval.every !== 0) return { stats, evaluation: null, columns: undefined };
  const evaluation = await trainer.evaluate(config.eval.episodes, config.eval.seed);
  return { stats, evaluation, columns: await trainer.evaluationColumns?.(config.eval.episodes, config.eval.seed) };
}

/**
 * Reruns the first iterations of the run a manifest records (its configuration, at today's code) and
 * returns the weights' fingerprint then, to compare with the manifest's. The backend is the recorded one.
 */
export async function rerunFingerprint(m: PolicyManifest): Promise<{ iterations: number; sha256: string } | null> {
  const recorded = m.training.fingerprint;
  if (!recorded) return null;
  const config = resolveTrainConfig(m.training.config, `${m.name}: manifest training.config`);
  const settings = resolveSwarmConfig(config.env, `${m.name}: manifest training.config.env`, PROJECT_ROOT);
  await initBackend(config.backend);
  const trainer = createTrainer(config, settings);
  while (trainer.iteration < recorded.iterations) await trainingIteration(trainer, config);
  return { iterations: recorded.iterations, sha256: trainer.fingerprint() };
}

export async function runTraining(o: TrainOptions, log: (line: string) => void = (l) => console.log(l)): Promise<TrainResult> {
  const { config, source } = trainConfigFrom(o);
  const settings = resolveSwarmConfig(config.env, `${source}: env`, o.config ? dirname(resolve(o.config)) : process.cwd());
  checkDecisionTicks(config, settings, source);
  const name = o.out ? basename(o.out) : `${config.algo}-rendezvous`;
  const policyDir = resolve(o.out ?? join('policies', name));
  const runDir = resolve(o.runDir ?? join('runs', 'train', name));
  // Refuse before any work: an existing policy is only replaced on request.
  if (!o.force && existsSync(policyDir)) throw new PolicyFolderError(`${policyDir} already exists; pass --force to replace it`);
  mkdirSync(runDir, { recursive: true });
  const checkpointPath = join(runDir, 'checkpoint.json');

  // The code that trains is the code checked out now (a commit made while training runs changes nothing).
  const commit = gitCommit();
  const backend = await initBackend(config.backend);
  const trainer = createTrainer(config, settings);
  let curve: CurveRow[] = [];
  let wallBefore = 0;
  let previous = null;
  if (!o.fresh) {
    try {
      previous = readCheckpoint(checkpointPath);
    } catch (err) {
      throw new ConfigError(`${checkpointPath}: unreadable checkpoint (${(err as Error).message}); use --fresh to start over`);
    }
  }
  if (previous) {
    try {
      await trainer.restore(previous, checkpointPath);
    } catch (err) {
      throw new ConfigError(`${(err as Error).message}; use --fresh to start over (the checkpoint is left untouched)`);
    }
    // Rows of a checkpoint written before a column was renamed carry the old name.
    curve = (previous.curve as CurveRow[]).map(currentCurveRow);
    wallBefore = previous.wallSeconds;
    log(`resuming ${name} from ${checkpointPath}: iteration ${trainer.iteration}, ${trainer.envSteps} env steps`);
  }
  log(`training ${name}: ${config.algo}, ${settings.robots.length} robots, seed ${config.seed}, ${config.totalEnvSteps} env steps, backend ${backend}`);

  // The weights' fingerprint after the first iterations (kept in the run folder, so a resumed run has it too).
  const fingerprintPath = join(runDir, 'fingerprint.json');
  let fingerprint: { iterations: number; sha256: string } | undefined;
  if (previous && existsSync(fingerprintPath)) fingerprint = JSON.parse(readFileSync(fingerprintPath, 'utf8')) as typeof fingerprint;
  else if (!previous) rmSync(fingerprintPath, { force: true });

  const started = performance.now();
  const wall = () => wallBefore + (performance.now() - started) / 1000;
  const saveProgress = async () => {
    writeCheckpoint(checkpointPath, await trainer.checkpoint(wall(), curve as Record<string, number | null>[]));
    writeFileSync(join(runDir, 'curve.csv'), curveCsv(curve));
    writeFileSync(join(runDir, 'curve.svg'), curveSvg(curve, `${name} (${config.algo})`));
  };

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    log('\ninterrupt: finishing this iteration and writing a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const bar = o.quiet
    ? null
    : new SingleBar({
        format: ' {bar} {percentage}% | ETA {eta_formatted} | {value}/{total} env steps | return {ret} | gathered {gather} | eval {evalGather}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      });
  bar?.start(config.totalEnvSteps, trainer.envSteps, { ret: '-', gather: '-', evalGather: '-' });
  let lastEvalGather = '-';
  try {
    while (trainer.envSteps < config.totalEnvSteps && !stopRequested) {
      // Training is synchronous: yield to the event loop once per iteration so Ctrl-C is heard.
      await new Promise((r) => setImmediate(r));
      if (stopRequested) break;
      const { stats: st, evaluation: ev, columns } = await trainingIteration(trainer, config);
      if (st.iteration === FINGERPRINT_ITERATIONS) {
        fingerprint = { iterations: FINGERPRINT_ITERATIONS, sha256: trainer.fingerprint() };
        writeFileSync(fingerprintPath, `${JSON.stringify(fingerprint)}\n`);
      }
      const row: CurveRow = { wallSeconds: +wall().toFixed(1), evalReturn: null, evalEverGatheredRate: null };
      for (const column of CURVE_COLUMNS) if (column in st) row[column] = st[column] ?? null;
      if (ev) {
        row.evalReturn = ev.meanReturn;
        row.evalEverGatheredRate = ev.everGatheredRate;
        Object.assign(row, columns);
        lastEvalGather = `${(100 * ev.everGatheredRate).toFixed(0)}%`;
        if (o.quiet) log(`iteration ${st.iteration}: ${st.envSteps} env steps, eval return ${ev.meanReturn.toFixed(2)}, gathered ${lastEvalGather}`);
      }
      curve.push(row);
      bar?.update(Math.min(st.envSteps, config.totalEnvSteps), {
        ret: st.meanReturn === null ? '-' : st.meanReturn.toFixed(1),
        gather: st.everGatheredRate === null ? '-' : `${(100 * st.everGatheredRate).toFixed(0)}%`,
        evalGather: lastEvalGather,
      });
      if (st.iteration % config.checkpointEvery === 0) await saveProgress();
    }
    await saveProgress();
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
  if (stopRequested) {
    log(`stopped at ${trainer.envSteps} env steps; checkpoint in ${checkpointPath}. Run the same command to resume.`);
    process.exit(130);
  }

  const noiseName = typeof config.env.noise === 'string' ? config.env.noise : 'custom';
  log(`final evaluation: ${config.finalEvalEpisodes} held-out episodes, noise model '${noiseName}'`);
  // Held out from the periodic evaluation's episodes as well.
  const finalSeed = (config.eval.seed + 500_000) % 2 ** 31;
  const final = await trainer.evaluate(config.finalEvalEpisodes, finalSeed);
  const extraEvaluations = await trainer.extraEvaluations(config.finalEvalEpisodes, finalSeed);
  const obsSize = observationLayout(settings.observation).size;
  const manifest: Omit<PolicyManifest, 'files'> = {
    format: 'swarmguard-policy/1',
    name,
    algorithm: config.algo,
    environment: { id: 'rendezvous', version: 1, robots: settings.robots.length },
    observation: observationRecord(settings.observation, settings, obsSize),
    action: {
      kind: 'normalised-wheel-commands', size: 2, low: -1, high: 1, deployed: 'mean',
      logStd: Array.from(trainer.actor.logStd.dataSync()),
    },
    controlPeriod: settings.controlPeriod,
    beliefTypes: trainer.beliefTypes,
    hiddenSizes: trainer.hiddenSizes,
    training: {
      command: `npm run train -- ${process.argv.slice(3).join(' ')}`.trim(),
      seed: config.seed,
      envSteps: trainer.envSteps,
      iterations: trainer.iteration,
      wallSeconds: +wall().toFixed(1),
      commit,
      backend,
      config: config as unknown as Record<string, unknown>,
      ...(fingerprint ? { fingerprint } : {}),
    },
    evaluation: {
      benign: evaluationMetrics(final, finalSeed, noiseName),
      ...Object.fromEntries(
        Object.entries(extraEvaluations).map(([k, ev]) => [k, evaluationMetrics(ev, finalSeed, noiseName)]),
      ),
    },
  };
  const written = writePolicyFolder(
    policyDir,
    manifest,
    trainer.exportModels(`${name}: ${config.algo}, observation ${settings.observation.id}`),
    {
      'curve.csv': curveCsv(curve),
      'curve.svg': curveSvg(curve, `${name} (${config.algo})`),
      ...(await trainer.extraFiles?.(config.finalEvalEpisodes, finalSeed)),
    },
    o.force,
  );
  // The folder must load exactly as the runtime will load it.
  const check = await loadPolicyFolder(policyDir);
  await Promise.all(Object.values(check.sessions).map((session) => session.release()));
  log(
    `wrote ${policyDir}: gathered in ${(100 * final.everGatheredRate).toFixed(0)}% of ${final.episodes} held-out episodes, ` +
      `mean return ${final.meanReturn.toFixed(2)}, ${trainer.envSteps} env steps in ${(wall() / 60).toFixed(1)} min`,
  );
  return { policyDir, manifest: written, runDir };
}
