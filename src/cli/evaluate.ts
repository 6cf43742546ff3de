// `swarmguard eval` (npm run eval): deployed (ONNX) policies and reference controllers against attacks on
// the same seeded twin episodes. Every result goes to JSON; the matrix is also written as markdown tables
// (rows attacks, columns policies): the headline, the uncompromised robots' outcome at the end (gathered at
// end with a 95% interval, final spread, largest-cluster fraction); the paired difference of every column's
// gathered-at-end against the reference column's on the same episodes; then the team return of the papers'
// protocol normalised as (V - V_random) / (V_max - V_random) with 95% intervals; and as a heatmap of the
// headline. V_random is the random controller's and V_max the reference column's benign return on the same
// episodes (both measured in the run). A column is a policy folder, a reference controller, or a method
// trained with several seeds (its folders evaluated alike, summarised over seeds); a row is an attack on one
// robot per episode, or on two as `2x:<attack>`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { ConfigError, loadYamlFile, parseWithSchema } from '../core/config-file.js';
import { RENAMED_METRICS, type PolicyManifest } from '../core/policy-manifest.js';
import { renameKeys } from '../core/renamed-keys.js';
import type { RendezvousMetrics } from '../core/rendezvous.js';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam, type TeamController } from '../policy/team.js';
import { CONTROLLER_NAMES, type ControllerName } from '../../sim/controllers.js';
import { resolveSwarmConfig, type SwarmSettings } from '../core/swarm-config.js';
import { heatmapSvg } from '../../sim/heatmap-picture.js';
import { meanTCi95, summariseEpisodes, type EvalResult } from '../../sim/evaluation.js';
import { controllerTeam, evaluateTeamEpisodes } from '../../sim/team-eval.js';
import { attackRowName, loadAttackRow, type AttackRow } from '../attacks/attack.js';
import { UserError } from '../core/user-error.js';

/** A method trained with several seeds: one column, its policy folders (one per training seed) evaluated alike. */
export interface SeedGroup {
  method: string;
  folders: string[];
  /** Where it was named, for errors (e.g. `matrix.yaml: policy.2.mappo-local`); default `eval: method '<method>'`. */
  key?: string;
}

/** A column as named: a policy folder, a reference controller ('consensus', 'wmsr', 'random'), or a method over seeds. */
export type PolicyEntry = string | SeedGroup;

/**
 * A matrix as a YAML file gives it (the same keys as the command's options). A `policy` entry is a folder or
 * controller name, or a method over seeds as a one-key map `{ <method>: [folder, folder, ...] }`.
 */
export const MatrixFileSchema = z
  .object({
    policy: z.array(z.union([z.string().min(1), z.record(z.string(), z.unknown())])).min(1),
    attack: z.array(z.string().min(1)).min(1),
    episodes: z.number().int().min(1).max(100_000).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    reference: z.string().min(1).optional(),
    out: z.string().min(1).optional(),
    jobs: z.number().int().min(1).max(16).optional(),
  })
  .strict();

export interface EvaluateOptions {
  /**
   * Columns: policy folders, the reference controllers 'consensus', 'wmsr' and 'random', or methods over
   * seeds (on the command line `<method>=<dir>,<dir>,...`).
   */
  policy: PolicyEntry[];
  /**
   * Rows, attack references (see loadAttackRow): none, fault:<name>, obs-noise:<eps>, an adversary or policy
   * folder, an attack module, on one victim per episode; `2x:<attack>` on two.
   */
  attack: string[];
  /** Episodes per cell (default 100) and their seed (default 3,000,000). */
  episodes?: number;
  seed?: number;
  /**
   * The reference column, whose benign return is V_max and against which every column's paired difference is
   * taken: a policy folder or a method's name (default: the first MAPPO column, else the first trained one).
   */
  reference?: string;
  /** Write <out>.md, <out>.svg and <out>.json (e.g. policies/EVALUATION). */
  out?: string;
  /** Write every result as JSON to this file too. */
  json?: string;
  /** Policies evaluated at the same time under one attack (their inference overlaps the twin's stepping). */
  jobs?: number;
  quiet?: boolean;
  /** A matrix YAML file; its keys fill the options not given. */
  config?: string;
}

/** A method's results over its training seeds on one row. */
export interface SeedSummary {
  /** The method's policy folders (basenames) and each one's result, in the order listed. */
  folders: string[];
  results: EvalResult[];
  /** Mean over seeds of the gathered-at-end rate; 95% t-interval over seeds (n - 1 degrees of freedom). */
  gatheredAtEndRate: number;
  gatheredAtEndCi95: [number, number];
  /** Mean over seeds of the mean team return; 95% t-interval over seeds. */
  meanReturn: number;
  returnCi95: [number, number];
}

/** A column's gathered-at-end against the reference column's on the same episodes (seeds and victims). */
export interface PairedDifference {
  /**
   * Mean over episodes of (this column's gathered at end, 0/1) - (the reference's); for a method over seeds
   * an episode counts the fraction of its seeds that gathered.
   */
  meanDifference: number;
  /** 95% t-interval over episodes (n - 1 degrees of freedom); null with a single episode. */
  ci95: [number, number] | null;
}

export interface EvaluationCell {
  /** The column: a folder's basename, a controller, or a method's name. */
  policy: string;
  /** The row: the attack's name, `2x:` in front with two victims per episode. */
  attack: string;
  /** Compromised robots per episode: the uncompromised robots scored are the N - victims others. */
  victims: number;
  /** For a method over seeds, every seed's episodes pooled (its means are the means over seeds). */
  result: EvalResult;
  /** Present for a method over seeds. */
  seeds?: SeedSummary;
  /** Against the normalisation's reference column (0 for the reference itself). */
  pairedVsReference: PairedDifference;
}

export interface Normalisation {
  /** The random controller's and the reference column's benign mean returns on the matrix's episodes. */
  vRandom: number;
  vMax: number;
  /** The reference column: V_max's, and the one every paired difference is against. */
  reference: string;
}

export interface Evaluation {
  episodes: number;
  seed: number;
  normalisation: Normalisation;
  cells: EvaluationCell[];
}

/**
 * An evaluation as its <out>.json holds it; one written before a metric was renamed (RENAMED_METRICS:
 * gatherRate, now everGatheredRate) is read under the new name.
 */
export function readEvaluation(path: string): Evaluation {
  let ev: Evaluation;
  try {
    ev = JSON.parse(readFileSync(path, 'utf8')) as Evaluation;
  } catch (err) {
    throw new ConfigError(`${path}: not an evaluation (${(err as Error).message})`);
  }
  return { ...ev, cells: ev.cells.map((c) => ({ ...c, result: renameKeys(c.result, RENAMED_METRICS) as EvalResult })) };
}

/** A reference controller's name instead of a policy folder. */
function isController(p: string): p is ControllerName {
  return (CONTROLLER_NAMES as readonly string[]).includes(p);
}

function sameTwin(a: SwarmSettings, b: SwarmSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A method over seeds from a matrix file's one-key map `{ <method>: [folder, ...] }`; errors name `key`. */
function seedGroupFromFile(entry: Record<string, unknown>, key: string): SeedGroup {
  const names = Object.keys(entry);
  if (names.length !== 1) {
    throw new ConfigError(`${key}: a method over seeds is one key, its name, holding its policy folders ({ mappo-local: [dir, dir] }); got ${names.length} keys (${names.join(', ')})`);
  }
  const method = names[0]!;
  const folders = entry[method];
  if (!Array.isArray(folders) || !folders.every((f): f is string => typeof f === 'string' && f.length > 0)) {
    throw new ConfigError(`${key}.${method}: a list of policy folders, one per training seed`);
  }
  return { method, folders, key: `${key}.${method}` };
}

/** `--policy <method>=<dir>,<dir>,...` is a method over seeds (a folder of that name is taken whole). */
function policyFromFlag(p: string): PolicyEntry {
  const group = /^([^=/\\]+)=(.+)$/.exec(p);
  if (!group || existsSync(p)) return p;
  return { method: group[1]!, folders: group[2]!.split(',').filter((f) => f.length > 0), key: `--policy ${p}` };
}

/** Options from the command line over those of a matrix file. */
export function resolveEvaluateOptions(o: EvaluateOptions): EvaluateOptions {
  const flags = { ...o, policy: o.policy.map((p) => (typeof p === 'string' ? policyFromFlag(p) : p)) };
  if (!o.config) return flags;
  const source = o.config;
  const file = parseWithSchema(source, MatrixFileSchema, loadYamlFile(source, z.unknown()));
  return {
    ...flags,
    policy: flags.policy.length ? flags.policy : file.policy.map((p, i) => (typeof p === 'string' ? p : seedGroupFromFile(p, `${source}: policy.${i}`))),
    attack: o.attack.length ? o.attack : file.attack,
    episodes: o.episodes ?? file.episodes,
    seed: o.seed ?? file.seed,
    reference: o.reference ?? file.reference,
    out: o.out ?? file.out,
    jobs: o.jobs ?? file.jobs,
  };
}

/** (V - V_random) / (V_max - V_random): 0 = no better than random wheels, 1 = the reference team unattacked. */
export function normalise(v: number, n: Normalisation): number {
  return (v - n.vRandom) / (n.vMax - n.vRandom);
}

/** Runs `tasks` with at most `jobs` at once, in order of start. */
async function inPool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return out;
}

/** A column of the matrix and what runs for it: policy folders (several for a method over seeds) or one controller. */
interface Column {
  name: string;
  runs: string[];
  overSeeds: boolean;
  /** How errors name it. */
  key: string;
}

/** The columns of the policy entries, checked: names, folders listed once, a method over seeds well formed. */
function columnsOf(entries: readonly PolicyEntry[]): Column[] {
  const columns = entries.map((p): Column => {
    if (typeof p === 'string') return { name: isController(p) ? p : basename(resolve(p)), runs: [p], overSeeds: false, key: `eval: ${p}` };
    const key = p.key ?? `eval: method '${p.method}'`;
    if (isController(p.method)) throw new UserError(`${key}: '${p.method}' is a reference controller's name; name the method otherwise`);
    if (p.folders.length < 2) throw new UserError(`${key}: a method over seeds lists at least 2 policy folders (one per training seed), got ${p.folders.length}`);
    const controller = p.folders.find(isController);
    if (controller) throw new UserError(`${key}: '${controller}' is a reference controller, not a policy folder trained with a seed`);
    return { name: p.method, runs: p.folders, overSeeds: true, key };
  });
  const runs = columns.flatMap((c) => c.runs);
  const key = (r: string) => (isController(r) ? r : resolve(r));
  const twice = runs.find((r, i) => runs.findIndex((q) => key(q) === key(r)) !== i);
  if (twice) throw new UserError(`eval: ${twice} is listed twice`);
  const names = columns.map((c) => c.name);
  const clash = names.find((n, i) => names.indexOf(n) !== i);
  if (clash) throw new UserError(`eval: two columns are named '${clash}' (a folder's basename or a method's name); rename one`);
  return columns;
}

/** A method over seeds is one algorithm trained with different seeds (its folders' manifests say so). */
function checkSeedGroup(column: Column, manifests: Map<string, PolicyManifest>): void {
  const what = column.key;
  const [first, ...rest] = column.runs.map((r) => ({ folder: r, manifest: manifests.get(r)! }));
  for (const other of rest) {
    if (other.manifest.algorithm !== first!.manifest.algorithm) {
      throw new UserError(`${what}: ${other.folder} was trained with ${other.manifest.algorithm}, ${first!.folder} with ${first!.manifest.algorithm}; a method over seeds is one algorithm`);
    }
  }
  const seeds = column.runs.map((r) => manifests.get(r)!.training.seed);
  const repeated = seeds.findIndex((s, i) => seeds.indexOf(s) !== i);
  if (repeated >= 0) {
    throw new UserError(`${what}: ${column.runs[seeds.indexOf(seeds[repeated]!)]} and ${column.runs[repeated]} were both trained with seed ${seeds[repeated]}; list one folder per training seed`);
  }
}

/** Per episode, the fraction of a column's runs whose uncompromised robots gathered at the end (0/1 for one run). */
function gatheredPerEpisode(runs: readonly RendezvousMetrics[][]): number[] {
  return runs[0]!.map((_, e) => runs.reduce((s, episodes) => s + (episodes[e]!.gatheredAtEnd ? 1 : 0), 0) / runs.length);
}

/** The paired difference of two columns' per-episode gathered-at-end on the same episodes. */
export function pairedDifference(column: readonly number[], reference: readonly number[]): PairedDifference {
  if (column.length !== reference.length) throw new RangeError(`paired difference of ${column.length} against ${reference.length} episodes`);
  const { mean, ci } = meanTCi95(column.map((x, e) => x - reference[e]!));
  return { meanDifference: mean, ci95: ci };
}

/** A method's results on one row, summarised over its seeds (at least two). */
export function seedSummary(folders: string[], results: EvalResult[]): SeedSummary {
  const rate = meanTCi95(results.map((r) => r.gatheredAtEndRate));
  const ret = meanTCi95(results.map((r) => r.meanReturn));
  if (!rate.ci || !ret.ci) throw new RangeError(`an interval over seeds needs at least 2 seeds, got ${results.length}`);
  return { folders, results, gatheredAtEndRate: rate.mean, gatheredAtEndCi95: rate.ci, meanReturn: ret.mean, returnCi95: ret.ci };
}

/**
 * Every column under every row. Policies, adversaries and the reference are loaded and checked before any
 * episode runs; the benign random and reference cells are added when not asked for.
 */
export async function runEvaluation(options: EvaluateOptions, log: (line: string) => void = (l) => console.error(l)): Promise<Evaluation> {
  const o = resolveEvaluateOptions(options);
  const episodes = o.episodes ?? 100;
  const seed = o.seed ?? 3_000_000;
  if (o.policy.length === 0) throw new UserError('eval: name at least one --policy folder');
  const attacks = o.attack.length ? o.attack : ['none'];
  const columns = columnsOf(o.policy);
  const folders = columns.flatMap((c) => c.runs).filter((p) => !isController(p));
  if (folders.length === 0) throw new UserError('eval: name at least one trained policy folder (the twin is the one it was trained on)');
  const manifests = new Map(folders.map((p) => [p, readManifest(resolve(p))]));
  const envOf = (p: string) => resolveSwarmConfig({ ...(manifests.get(p)!.training.config.env as Record<string, unknown>) });
  const settings = envOf(folders[0]!);
  for (const p of folders.slice(1)) {
    if (!sameTwin(settings, envOf(p))) throw new UserError(`eval: ${p} was trained on another twin than ${folders[0]}; evaluate them separately`);
  }
  for (const c of columns) if (c.overSeeds) checkSeedGroup(c, manifests);
  const trained = columns.filter((c) => !isController(c.runs[0]!));
  const reference = o.reference ? referenceColumn(o.reference, columns) : (trained.find((c) => manifests.get(c.runs[0]!)!.algorithm === 'mappo') ?? trained[0]!);
  // Trained teams are loaded once; a reference controller is made afresh for every cell, so its random
  // stream (the random controller's) starts from the same seed whatever the cells before it.
  const teams = new Map<string, OnnxTeam>();
  const rows: AttackRow[] = [];
  const jobs = o.jobs ?? 2;
  try {
    for (const p of folders) teams.set(p, await OnnxTeam.load(resolve(p), settings.observation));
    for (const a of attacks) rows.push(await loadAttackRow(a, settings));
    const rowNames = rows.map(attackRowName);
    const repeatedRow = rowNames.find((n, i) => rowNames.indexOf(n) !== i);
    if (repeatedRow) throw new UserError(`eval: attack ${repeatedRow} is listed twice`);
    // The normalisation's benign cells (one victim left out), if the matrix does not hold them already.
    const benignRow = rows.find((r) => r.attack.kind === 'none' && r.victims === 1) ?? { attack: { kind: 'none' }, victims: 1 };
    const plan = new Map<string, AttackRow[]>();
    for (const c of columns) for (const r of c.runs) plan.set(r, [...rows]);
    for (const r of [...reference.runs, 'random']) {
      const planned = plan.get(r) ?? [];
      if (!planned.includes(benignRow)) plan.set(r, [...planned, benignRow]);
    }
    const total = [...plan.values()].reduce((s, p) => s + p.length, 0);
    const bar = o.quiet ? null : new SingleBar({ format: ' {bar} {value}/{total} cells | ETA {eta_formatted} | {cell}', stream: process.stderr, hideCursor: true, etaBuffer: 10 });
    bar?.start(total, 0, { cell: '' });
    let done = 0;
    const runName = (p: string) => (isController(p) ? p : basename(resolve(p)));
    // One task per run (a folder or controller); its rows run in order (a team keeps per-episode state).
    const episodesOf = new Map<string, Map<AttackRow, RendezvousMetrics[]>>();
    await inPool(
      [...plan].map(([run, planned]) => async () => {
        const byRow = new Map<AttackRow, RendezvousMetrics[]>();
        episodesOf.set(run, byRow);
        for (const row of planned) {
          const team: TeamController = teams.get(run) ?? controllerTeam(run as ControllerName, settings, seed);
          if (o.quiet) log(`evaluating ${runName(run)} under ${attackRowName(row)}: ${episodes} episodes`);
          // An attack module that fails stops its victim for the episode; the operator is told which and why.
          const onAttackError = (f: { env: number; robot: string; problem: string }) => log(`${runName(run)} under ${attackRowName(row)}: episode ${f.env}, ${f.robot} stopped: ${f.problem}`);
          byRow.set(row, await evaluateTeamEpisodes(settings, team, { episodes, seed, attack: row.attack, victims: row.victims, onAttackError }));
          bar?.update(++done, { cell: `${runName(run)} under ${attackRowName(row)}` });
        }
      }),
      jobs,
    );
    bar?.stop();
    const runEpisodes = (c: Column | string, row: AttackRow) => (typeof c === 'string' ? [c] : c.runs).map((r) => episodesOf.get(r)!.get(row)!);
    const benignReturn = (c: Column | string) => {
      const perRun = runEpisodes(c, benignRow).map((eps) => summariseEpisodes(eps).meanReturn);
      return perRun.reduce((a, b) => a + b, 0) / perRun.length;
    };
    const normalisation: Normalisation = { vRandom: benignReturn('random'), vMax: benignReturn(reference), reference: reference.name };
    const cells: EvaluationCell[] = [];
    for (const row of rows) {
      const referenceGathered = gatheredPerEpisode(runEpisodes(reference, row));
      for (const c of columns) {
        const perRun = runEpisodes(c, row);
        cells.push({
          policy: c.name,
          attack: attackRowName(row),
          victims: row.victims,
          result: summariseEpisodes(perRun.flat()),
          ...(c.overSeeds ? { seeds: seedSummary(c.runs.map(runName), perRun.map(summariseEpisodes)) } : {}),
          pairedVsReference: pairedDifference(gatheredPerEpisode(perRun), referenceGathered),
        });
      }
    }
    const evaluation: Evaluation = { episodes, seed, normalisation, cells };
    const json = `${JSON.stringify(evaluation, null, 2)}\n`;
    for (const [file, content] of [
      [o.json, json],
      [o.out && `${o.out}.json`, json],
      [o.out && `${o.out}.md`, evaluationMarkdown(evaluation, o)],
      [o.out && `${o.out}.svg`, evaluationHeatmap(evaluation)],
    ] as const) {
      if (!file) continue;
      mkdirSync(dirname(resolve(file)), { recursive: true });
      writeFileSync(file, content);
    }
    return evaluation;
  } finally {
    await Promise.all([...[...teams.values()].map((t) => t.release()), ...rows.map((r) => (r.attack.kind === 'adversary' ? r.attack.adversary.release() : undefined))]);
  }
}

/** The column `--reference` names: a trained folder listed alone, or a method over seeds by its name. */
function referenceColumn(ref: string, columns: readonly Column[]): Column {
  const method = columns.find((c) => c.overSeeds && c.name === ref);
  if (method) return method;
  const folder = columns.find((c) => !c.overSeeds && !isController(c.runs[0]!) && resolve(c.runs[0]!) === resolve(ref));
  if (folder) return folder;
  const seedOf = columns.find((c) => c.overSeeds && c.runs.some((r) => resolve(r) === resolve(ref)));
  if (seedOf) throw new UserError(`eval: the reference ${ref} is one seed of method '${seedOf.name}'; name the method as the reference`);
  throw new UserError(`eval: the reference ${ref} must be one of the --policy folders or methods`);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

/** A benign row (`none`, `2x:none`): left out of the means over attacks. */
function isBenignRow(attack: string): boolean {
  return /^(\d+x:)?none$/.test(attack);
}

/** A column's gathered-at-end rate: over its episodes, or for a method over seeds the mean over seeds (the same number). */
function gatheredAtEnd(c: EvaluationCell): number {
  return c.seeds?.gatheredAtEndRate ?? c.result.gatheredAtEndRate;
}

/**
 * A markdown table, rows attacks and columns policies (a method over seeds headed `<method> (<k> seeds)`),
 * each cell `cell(c)`, with a last row of `headline(c)` averaged over the attacked rows (one number per column
 * for "robust on average").
 */
function matrixTable(ev: Evaluation, cell: (c: EvaluationCell) => string, headline: (c: EvaluationCell) => number, format: (mean: number) => string): string {
  const policies = [...new Set(ev.cells.map((c) => c.policy))];
  const attacks = [...new Set(ev.cells.map((c) => c.attack))];
  const at = (p: string, a: string) => ev.cells.find((c) => c.policy === p && c.attack === a)!;
  const heading = (p: string) => {
    const seeds = at(p, attacks[0]!).seeds;
    return seeds ? `${p} (${seeds.folders.length} seeds)` : p;
  };
  const lines = [`| attack | ${policies.map(heading).join(' | ')} |`, `|---|${policies.map(() => '---').join('|')}|`];
  for (const a of attacks) lines.push(`| ${a} | ${policies.map((p) => cell(at(p, a))).join(' | ')} |`);
  const attacked = attacks.filter((a) => !isBenignRow(a));
  if (attacked.length > 0) {
    const means = policies.map((p) => attacked.reduce((s, a) => s + headline(at(p, a)), 0) / attacked.length);
    lines.push(`| **mean over attacks** | ${means.map((m) => `**${format(m)}**`).join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * The headline table, the uncompromised robots at the end of the episodes: gathered at end [95% Wilson
 * interval; for a method over seeds the mean over seeds and a t-interval over seeds] · final spread ·
 * largest-cluster fraction.
 */
export function outcomeTable(ev: Evaluation): string {
  return matrixTable(
    ev,
    (c) => {
      const [lo, hi] = c.seeds?.gatheredAtEndCi95 ?? c.result.gatheredAtEndCi95;
      return `${pct(gatheredAtEnd(c))} [${pct(lo)}, ${pct(hi)}] · ${c.result.meanFinalDistance.toFixed(2)} m · ${c.result.meanLargestClusterFraction.toFixed(2)}`;
    },
    gatheredAtEnd,
    pct,
  );
}

/** A difference of rates in percentage points, signed. */
function points(x: number): string {
  const v = 100 * x;
  return `${v > 0 ? '+' : v < 0 ? '-' : ''}${Math.abs(v).toFixed(1)}`;
}

/** Every column's gathered at end minus the reference column's on the same episodes: mean [95% t-interval over episodes], percentage points. */
export function pairedTable(ev: Evaluation): string {
  return matrixTable(
    ev,
    (c) => {
      const d = c.pairedVsReference;
      return `${points(d.meanDifference)} pp ${d.ci95 ? `[${points(d.ci95[0])}, ${points(d.ci95[1])}]` : '[no interval: 1 episode]'}`;
    },
    (c) => c.pairedVsReference.meanDifference,
    (m) => `${points(m)} pp`,
  );
}

/** The team return of the papers' protocol: normalised return [95% interval; over seeds for a method over seeds] · ever gathered. */
export function teamReturnTable(ev: Evaluation): string {
  const n = ev.normalisation;
  const meanReturn = (c: EvaluationCell) => c.seeds?.meanReturn ?? c.result.meanReturn;
  return matrixTable(
    ev,
    (c) => {
      const [lo, hi] = (c.seeds?.returnCi95 ?? c.result.returnCi95).map((v) => normalise(v, n));
      return `${normalise(meanReturn(c), n).toFixed(2)} [${lo!.toFixed(2)}, ${hi!.toFixed(2)}] · ${pct(c.result.everGatheredRate)}`;
    },
    (c) => normalise(meanReturn(c), n),
    (m) => m.toFixed(2),
  );
}

/** The table with what it measures and how to reproduce it. */
export function evaluationMarkdown(ev: Evaluation, o: EvaluateOptions): string {
  const n = ev.normalisation;
  const command = o.config ? `npm run eval -- --config ${o.config}` : `npm run eval -- ${process.argv.slice(3).join(' ')}`;
  const seedColumns = [...new Set(ev.cells.filter((c) => c.seeds).map((c) => `${c.policy} (${c.seeds!.folders.join(', ')})`))];
  return [
    '# Evaluation matrix',
    '',
    `${ev.episodes} seeded episodes per cell (seed ${ev.seed}), the same episodes in every cell. The victim of episode e is robot e mod N;`,
    'in rows `2x:<attack>` two robots are compromised the same way, each from its own observation: robots e mod N and (e + floor(N/2)) mod N',
    '(`<k>x:`, k victims: (e + floor(i N / k)) mod N, i < k). The uncompromised robots scored are all robots but the victims, in benign episodes too',
    '(left out, not attacked): every one-victim row scores the same N - 1 robots and every two-victim row (`2x:none` its benign one) the same N - 2,',
    'so compare a `2x:` row with `2x:none`, not with `none`.',
    ...(seedColumns.length
      ? [
          '',
          `Methods over training seeds: ${seedColumns.join('; ')}. Their cells give the mean over seeds with a 95% t-interval over seeds`,
          '(n - 1 degrees of freedom; with few seeds it is wide and may pass 0% or 100%); spread and largest cluster are over every seed\'s episodes.',
        ]
      : []),
    '',
    `Reproduce: \`${command}\``,
    '',
    '## Uncompromised robots at the end of the episode',
    '',
    'Cells: gathered at end, the episodes whose uncompromised robots all lie inside the gather circle around their centroid at the last step [95% Wilson interval] ·',
    'final spread, their mean pairwise distance at the end · largest-cluster fraction, the share of them in the largest cluster at the end (robots linked within half the gather diameter).',
    '',
    outcomeTable(ev),
    '',
    `![heatmap](${basename(o.out ?? 'evaluation')}.svg)`,
    '',
    `## Paired difference against ${n.reference}`,
    '',
    `Cells: gathered at end minus ${n.reference}'s on the same episodes (same seeds and victims), mean of the per-episode differences in percentage points`,
    '[95% t-interval over episodes, n - 1 degrees of freedom]. An episode of a method over seeds counts the fraction of its seeds that gathered; the spread between seeds is in the interval over seeds above, not here.',
    '',
    pairedTable(ev),
    '',
    "## Team return (papers' protocol)",
    '',
    'Cells: normalised team return (V - V_random) / (V_max - V_random) [95% interval; over seeds for a method over seeds] · ever gathered, the episodes whose uncompromised robots were inside the gather circle at some step.',
    `V_random = ${n.vRandom.toFixed(2)} (random wheels, benign), V_max = ${n.vMax.toFixed(2)} (${n.reference}, benign, mean over its seeds for a method). 1 = the reference team unattacked, 0 = no better than random wheels.`,
    '',
    teamReturnTable(ev),
    '',
  ].join('\n');
}

/** Heatmap of the headline, the uncompromised robots gathered at end (colours from the lowest to the highest cell). */
export function evaluationHeatmap(ev: Evaluation): string {
  const policies = [...new Set(ev.cells.map((c) => c.policy))];
  const attacks = [...new Set(ev.cells.map((c) => c.attack))];
  const cell = (a: string, p: string) => ev.cells.find((c) => c.policy === p && c.attack === a);
  return heatmapSvg({
    title: `Uncompromised robots gathered at end, ${ev.episodes} episodes per cell`,
    rows: attacks,
    columns: policies,
    values: attacks.map((a) => policies.map((p) => {
      const c = cell(a, p);
      return c ? gatheredAtEnd(c) : null;
    })),
    format: pct,
    scaleLabel: 'gathered at end',
  });
}
