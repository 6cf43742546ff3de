// What the training command needs from any algorithm on the MAPPO core, and the algorithm registry.
import type { ModelFile } from '../../src/policy/folder.js';
import type { SwarmSettings } from '../../src/core/swarm-config.js';
import type { Checkpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { BatpalTrainer } from './batpal.js';
import { EirMappoTrainer } from './eir-mappo.js';
import type { EvalResult } from '../evaluation.js';
import { MappoTrainer } from './mappo.js';
import { Mir2Trainer } from './mir2.js';
import type { ActorParams } from './networks.js';
import type { TrainerStats } from './iteration-stats.js';

export interface Trainer {
  readonly iteration: number;
  readonly envSteps: number;
  readonly actor: ActorParams;
  iterate(): TrainerStats;
  /** Deterministic benign episodes on held-out seeds, through sim/team-eval.ts's loop (robot e mod N of episode e not scored). */
  evaluate(episodes: number, seed: number): Promise<EvalResult>;
  /** Further evaluations written into the manifest (e.g. under the algorithm's own adversary), through the same loop. */
  extraEvaluations(episodes: number, seed: number): Promise<Record<string, EvalResult>>;
  checkpoint(wallSeconds: number, curve: Checkpoint['curve']): Promise<Checkpoint>;
  restore(ck: Checkpoint, source: string): Promise<void>;
  exportModels(doc: string): Record<string, ModelFile>;
  /** Hash of every network's weights now: recorded after the first FINGERPRINT_ITERATIONS iterations. */
  fingerprint(): string;
  readonly beliefTypes: string[];
  readonly hiddenSizes: Record<string, number>;
  /** Further learning-curve columns measured at each periodic evaluation (BATPAL: each adversary's severity). */
  evaluationColumns?(episodes: number, seed: number): Promise<Record<string, number>>;
  /** Further files for the policy folder (BATPAL: severity.json). */
  extraFiles?(episodes: number, seed: number): Promise<Record<string, string>>;
}

/**
 * Iterations after which the training command records the weights' fingerprint in the manifest: enough for
 * every part of an update (rollout, belief, adversaries, critic) to have changed the weights, few enough
 * for a test to rerun them in seconds.
 */
export const FINGERPRINT_ITERATIONS = 3;

export function createTrainer(config: TrainConfig, settings: SwarmSettings): Trainer {
  switch (config.algo) {
    case 'mappo':
      return new MappoTrainer(config, settings);
    case 'eir-mappo':
      return new EirMappoTrainer(config, settings);
    case 'mir2':
      return new Mir2Trainer(config, settings);
    case 'batpal':
      return new BatpalTrainer(config, settings);
  }
}
