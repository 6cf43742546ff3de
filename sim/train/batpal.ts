// BATPAL (Kazari & Dan, ICLR 2026; papers 000-001) on EIR-MAPPO's machinery (eir-mappo.ts).
//
// K severity types. Adversary k is trained to hurt the robust team (MDP1) while its harm to the frozen
// reference team pi_0 (MDP0) stays in its band: severity eta = (V_max - V0) / (V_max - V_min) in
// ((k - 1) / K, k / K], with V_max and V_min the benign and worst-case values of pi_0 (read from a posthoc
// adversary trained against pi_0). Each iteration:
//   1. one severity k* is drawn uniformly (the paper's prior); half of the attacked rollout episodes play
//      it, the rest draw their severity uniformly, so the belief and the defenders see every type;
//   2. the MDP1 rollout: the robust team with its per-pair belief over {benign, 1..K};
//   3. the MDP0 rollout: `referenceEnvs` whole episodes of frozen pi_0 with adversary k* on one robot. V0 is
//      their mean return (Monte Carlo: every such episode is whole and plays k* throughout); the team's
//      advantages there are each episode's undiscounted return-to-go minus the mean of the other episodes'
//      at the same step (a leave-one-out baseline, valid because the episodes are aligned in time);
//   4. the defenders, critic and belief update as in EIR-MAPPO; only adversary k* updates, by EC-PPO
//      (ec-ppo.ts) for adversaryEpochs full-batch steps: the faster timescale.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readAdversaryManifest } from '../../src/policy/adversary.js';
import { observationMismatch, readManifest, sha256 } from '../../src/policy/folder.js';
import { BATPAL_PURPOSE, deriveSeed, makeStreams, type RandomStream } from '../../src/core/random.js';
import { ConfigError } from '../../src/core/config-file.js';
import { PROJECT_ROOT, resolveSimConfig, type SimSettings } from '../config.js';
import { summariseEpisodes, type EvalResult } from '../evaluation.js';
import { CommandOverride } from '../override.js';
import { RendezvousWorld } from '../world.js';
import { DEFAULT_BATPAL, type BatpalSettings, type TrainConfig } from './config.js';
import { ecPpoLoss, severity, valueBand, type ValueRange } from './ec-ppo.js';
import { EirMappoTrainer, type AttackSamples, type EirIterationStats } from './eir-mappo.js';
import { actorMean, actorVariables, type ActorParams, type ActorShape } from './networks.js';
import { actorFromOnnx } from './onnx/import-actor.js';
import { clipByGlobalNorm, sampleGaussian } from './ppo.js';
import { tf } from './tf.js';

/** The frozen reference team and the value range it defines. */
export interface Reference {
  actor: ActorParams;
  shape: ActorShape;
  range: ValueRange;
}

function projectPath(p: string): string {
  return isAbsolute(p) ? p : resolve(PROJECT_ROOT, p);
}

/**
 * Loads pi_0 (a MAPPO policy folder without beliefs) and V_max / V_min from a posthoc adversary trained
 * against exactly that actor; errors name the folder and what does not fit.
 */
export function loadReference(s: BatpalSettings, settings: SimSettings): Reference {
  const dir = projectPath(s.reference);
  const m = readManifest(dir);
  const where = `batpal.reference ${dir}`;
  if (m.beliefTypes.length > 0) throw new ConfigError(`${where}: pi_0 must be a policy without beliefs (this one is ${m.algorithm})`);
  const mismatch = observationMismatch(m.observation, settings.observation);
  if (mismatch) throw new ConfigError(`${where}: ${mismatch}`);
  if (m.environment.robots !== settings.robots.length) throw new ConfigError(`${where}: trained for ${m.environment.robots} robots, the twin has ${settings.robots.length}`);
  // V_max and V_min were measured on pi_0's own twin (episode length, noise, reward...): the bands mean
  // nothing on another one.
  const own = resolveSimConfig({ ...(m.training.config.env as Record<string, unknown>) }, `${where}: training.config.env`);
  if (JSON.stringify(own) !== JSON.stringify(settings)) {
    throw new ConfigError(`${where}: trained on another twin than this run's env (${JSON.stringify(m.training.config.env)}); V_max and V_min would not apply`);
  }
  const file = join(dir, 'actor.onnx');
  const bytes = readFileSync(file);
  const actorSha = sha256(bytes);
  if (m.files['actor.onnx']?.sha256 !== actorSha) throw new ConfigError(`${file}: sha256 does not match its manifest`);
  const worst = readAdversaryManifest(projectPath(s.worstCase));
  if (worst.target.actorSha256 !== actorSha) {
    throw new ConfigError(`batpal.worstCase ${projectPath(s.worstCase)}: trained against ${worst.target.policy} (another actor than ${dir})`);
  }
  const range = { vMax: worst.evaluation.benign.meanReturn, vMin: worst.evaluation.attacked.meanReturn };
  if (!(range.vMax > range.vMin)) throw new ConfigError(`batpal.worstCase: V_max ${range.vMax} must exceed V_min ${range.vMin}`);
  const shape: ActorShape = { maxNeighbours: m.observation.maxNeighbours, hidden: m.hiddenSizes.actor ?? 0 };
  return { actor: actorFromOnnx(bytes, shape, m.action.logStd, file), shape, range };
}

/** What the MDP0 rollout of one iteration yields for adversary k*. */
interface ReferenceRollout {
  /** Mean return of pi_0 over the whole MDP0 episodes. */
  v0: number;
  samples: AttackSamples;
}

export type BatpalIterationStats = EirIterationStats & {
  adversaryType: number;
  /** k*'s severity against pi_0 measured by this iteration's MDP0 episodes, and whether V0 was inside its band. */
  referenceSeverity: number;
  insideBand: number | null;
};

export class BatpalTrainer extends EirMappoTrainer {
  readonly batpal: BatpalSettings;
  readonly reference: Reference;
  private batpalRng: RandomStream;
  /** The severity trained this iteration, and the one drawn for episodes that start during this rollout. */
  trainedType = 1;
  private nextType = 1;
  private lastReference: ReferenceRollout | null = null;
  private readonly referenceCache = new Map<string, EvalResult>();
  /** Whether the last EC-PPO update found V0 inside its band (null: no update this iteration). */
  private lastInside: boolean | null = null;

  constructor(config: TrainConfig, settings: SimSettings, reference?: Reference) {
    const batpal = config.batpal ?? DEFAULT_BATPAL;
    super(config, settings, batpal, batpal.severities);
    this.batpal = batpal;
    this.reference = reference ?? loadReference(batpal, settings);
    this.batpalRng = makeStreams(deriveSeed(config.seed, BATPAL_PURPOSE), 1)[0]!;
    this.trainedType = this.nextType = this.batpalRng.int(1, this.types);
    this.redrawTypes();
  }

  /**
   * A share `trainedShare` of the attacked episodes play the severity trained next; the rest draw any
   * severity (so at the defaults 62.5% play it). Drawn for episodes starting during this rollout, which with
   * rolloutSteps x decisionTicks = episodeSteps are exactly the next iteration's episodes; otherwise the
   * episodes that straddle iterations simply do not enter the update of a severity they did not play.
   */
  protected override drawAttackType(): number {
    // While the base constructor draws the first episodes this class is not set up yet: they are drawn again.
    if (!this.batpal) return 1;
    return this.rng.uniform() < this.batpal.trainedShare ? this.nextType : this.rng.int(1, this.types);
  }

  /** A resumed run: fresh severity draws and MDP0 episodes too, from the iteration's own seed. */
  protected override reseedFor(iteration: number): void {
    this.batpalRng = makeStreams(deriveSeed((this.config.seed + 7919 * iteration) % 2 ** 31, BATPAL_PURPOSE), 1)[0]!;
    this.trainedType = this.nextType = this.batpalRng.int(1, this.types);
    super.reseedFor(iteration);
  }

  protected override adversaryName(type: number): string {
    return `severity-${type}`;
  }

  override get beliefTypes(): string[] {
    return ['benign', ...Array.from({ length: this.types }, (_, k) => this.adversaryName(k + 1))];
  }

  /** The value band [l, h] of severity type k against pi_0. */
  band(type: number): { l: number; h: number } {
    return valueBand(type, this.types, this.reference.range);
  }

  override collect(): void {
    this.nextType = this.batpalRng.int(1, this.types);
    super.collect();
    this.lastReference = this.referenceRollout(this.trainedType);
  }

  /** MDP0: whole episodes of frozen pi_0 with adversary `type` driving one robot (sampled actions). */
  private referenceRollout(type: number): ReferenceRollout {
    const M = this.batpal.referenceEnvs;
    const ticks = this.config.decisionTicks;
    const steps = this.settings.episodeSteps / ticks;
    const world = new RendezvousWorld(this.settings, { envs: M, seed: deriveSeed(this.config.seed + 7919 * this.iteration, BATPAL_PURPOSE), autoReset: false });
    const N = world.robots;
    const size = world.obsSize;
    const override = new CommandOverride(M);
    const victims = Array.from({ length: M }, () => this.batpalRng.int(0, N - 1));
    victims.forEach((robot, e) => world.setVictim(e, { robot, override }));
    const adversary = this.adversaries[type - 1]!;
    const logStd = Float32Array.from(adversary.logStd.dataSync());
    const samples: AttackSamples = {
      size: steps * M,
      obs: new Float32Array(steps * M * size),
      actions: new Float32Array(steps * M * 2),
      oldLogProbs: new Float32Array(steps * M),
      advantages: new Float32Array(steps * M),
    };
    const rewards = new Float64Array(steps * M);
    const victimObs = new Float32Array(M * size);
    for (let t = 0; t < steps; t++) {
      victims.forEach((v, e) => victimObs.set(world.obs.subarray((e * N + v) * size, (e * N + v + 1) * size), e * size));
      const mean = this.forward(adversary, this.adversaryShape, victimObs, M);
      const act = samples.actions.subarray(t * M * 2, (t + 1) * M * 2);
      sampleGaussian(this.batpalRng, mean, logStd, act, samples.oldLogProbs.subarray(t * M, (t + 1) * M), M);
      samples.obs.set(victimObs, t * M * size);
      override.commands.set(act);
      // pi_0 acts every tick, as deployed and as V_max / V_min were measured; the adversary's command is held.
      for (let tick = 0; tick < ticks; tick++) {
        world.step(this.forward(this.reference.actor, this.reference.shape, world.obs, M * N));
        for (let e = 0; e < M; e++) rewards[t * M + e] += world.rewards[e]!;
      }
    }
    this.envSteps += M * this.settings.episodeSteps;
    // Returns-to-go, then the leave-one-out baseline across the aligned episodes.
    const togo = new Float64Array(steps * M);
    for (let e = 0; e < M; e++) {
      let g = 0;
      for (let t = steps - 1; t >= 0; t--) togo[t * M + e] = g += rewards[t * M + e]!;
    }
    for (let t = 0; t < steps; t++) {
      let sum = 0;
      for (let e = 0; e < M; e++) sum += togo[t * M + e]!;
      for (let e = 0; e < M; e++) samples.advantages[t * M + e] = togo[t * M + e]! - (sum - togo[t * M + e]!) / (M - 1);
    }
    let v0 = 0;
    for (let e = 0; e < M; e++) v0 += togo[e]!;
    return { v0: v0 / M, samples };
  }

  /** EC-PPO for the severity trained this iteration; the other adversaries wait for their turn. */
  protected override updateAdversaries(): number {
    const k = this.trainedType;
    const mdp1 = this.attackSamples(k);
    const mdp0 = this.lastReference;
    this.lastInside = null;
    if (!mdp1 || !mdp0) return 0;
    const adversary = this.adversaries[k - 1]!;
    const vars = actorVariables(adversary);
    const obsSize = this.world.obsSize;
    const band = this.band(k);
    const settings = {
      clip: this.config.clip,
      lambda: this.batpal.barrierWeight,
      margin: this.batpal.margin * (this.reference.range.vMax - this.reference.range.vMin),
    };
    let total = 0;
    for (let epoch = 0; epoch < this.eir.adversaryEpochs; epoch++) {
      total += tf.tidy(() => {
        const batch = {
          actions1: tf.tensor2d(mdp1.actions, [mdp1.size, 2]),
          oldLogProbs1: tf.tensor1d(mdp1.oldLogProbs),
          advantages1: tf.tensor1d(mdp1.advantages),
          actions0: tf.tensor2d(mdp0.samples.actions, [mdp0.samples.size, 2]),
          oldLogProbs0: tf.tensor1d(mdp0.samples.oldLogProbs),
          teamAdvantages0: tf.tensor1d(mdp0.samples.advantages),
        };
        let inside = true;
        const { value, grads } = tf.variableGrads(() => {
          const terms = ecPpoLoss(
            actorMean(adversary, this.adversaryShape, tf.tensor2d(mdp1.obs, [mdp1.size, obsSize])),
            actorMean(adversary, this.adversaryShape, tf.tensor2d(mdp0.samples.obs, [mdp0.samples.size, obsSize])),
            adversary.logStd as unknown as tf.Tensor1D,
            batch, mdp0.v0, band, settings,
          );
          inside = terms.inside;
          return terms.loss;
        }, vars);
        this.adversaryOpts[k - 1]!.applyGradients(clipByGlobalNorm(grads, this.config.maxGradNorm));
        this.lastInside = inside;
        return value.dataSync()[0]!;
      });
    }
    return total / this.eir.adversaryEpochs;
  }

  override iterate(): BatpalIterationStats {
    const k = this.trainedType;
    const stats = super.iterate();
    const v0 = this.lastReference?.v0 ?? Number.NaN;
    this.trainedType = this.nextType;
    return { ...stats, adversaryType: k, referenceSeverity: severity(v0, this.reference.range), insideBand: this.lastInside === null ? null : this.lastInside ? 1 : 0 };
  }

  /** Deterministic episodes of pi_0 with adversary `type`'s mean command on robot e mod N. */
  evaluateReference(type: number, episodes: number, seed: number): EvalResult {
    const world = new RendezvousWorld(this.settings, { envs: episodes, seed, autoReset: false });
    const N = world.robots;
    const size = world.obsSize;
    const override = new CommandOverride(episodes);
    for (let e = 0; e < episodes; e++) world.setVictim(e, { robot: e % N, override });
    const victimObs = new Float32Array(episodes * size);
    for (let t = 0; t < this.settings.episodeSteps; t++) {
      const team = this.forward(this.reference.actor, this.reference.shape, world.obs, episodes * N);
      for (let e = 0; e < episodes; e++) victimObs.set(world.obs.subarray((e * N + (e % N)) * size, (e * N + (e % N) + 1) * size), e * size);
      override.commands.set(this.forward(this.adversaries[type - 1]!, this.adversaryShape, victimObs, episodes));
      world.step(team);
    }
    return summariseEpisodes(Array.from({ length: episodes }, (_, e) => world.metrics(e)));
  }

  /** evaluateReference, remembered for the current weights (the final evaluations and severity.json share it). */
  private referenceResult(type: number, episodes: number, seed: number): EvalResult {
    const key = `${this.iteration}/${type}/${episodes}/${seed}`;
    let ev = this.referenceCache.get(key);
    if (!ev) {
      ev = this.evaluateReference(type, episodes, seed);
      this.referenceCache.set(key, ev);
    }
    return ev;
  }

  /** Every adversary's severity against pi_0 on held-out episodes: the paper's Figure 4, one column each. */
  evaluationColumns(episodes: number, seed: number): Record<string, number> {
    return Object.fromEntries(
      this.adversaries.map((_, k) => [`severity${k + 1}`, severity(this.evaluateReference(k + 1, episodes, seed).meanReturn, this.reference.range)]),
    );
  }

  /** The robust team under each severity adversary, and pi_0 under each (its measured severity). */
  override extraEvaluations(episodes: number, seed: number): Record<string, EvalResult> {
    const out = super.extraEvaluations(episodes, seed);
    for (let k = 1; k <= this.types; k++) out[`${this.adversaryName(k)}-vs-reference`] = this.referenceResult(k, episodes, seed);
    return out;
  }

  /** severity.json: V_max, V_min, each band and each adversary's final measured severity against pi_0. */
  extraFiles(episodes: number, seed: number): Record<string, string> {
    const { vMax, vMin } = this.reference.range;
    const types = Array.from({ length: this.types }, (_, i) => {
      const k = i + 1;
      const ev = this.referenceResult(k, episodes, seed);
      const eta = severity(ev.meanReturn, this.reference.range);
      return {
        type: this.adversaryName(k),
        band: { severity: [i / this.types, k / this.types], value: this.band(k) },
        referenceReturn: ev.meanReturn,
        referenceReturnCi95: ev.returnCi95,
        severity: eta,
        inside: eta > i / this.types && eta <= k / this.types,
      };
    });
    return { 'severity.json': `${JSON.stringify({ reference: this.batpal.reference, worstCase: this.batpal.worstCase, vMax, vMin, episodes, seed, types }, null, 2)}\n` };
  }
}
