// `swarmguard eval` (npm run eval): deployed (ONNX) policies and reference controllers against attacks on
// the same seeded twin episodes. Every result goes to JSON; the matrix is also written as markdown tables
// (rows attacks, columns policies): the headline, the uncompromised robots' outcome at the end (gathered at
// end with a 95% interval, final spread, largest-cluster fraction), then the team return of the papers'
// protocol normalised as (V - V_random) / (V_max - V_random) with 95% intervals; and as a heatmap of the
// headline. V_random is the random controller's and V_max the reference policy's benign return on the same
// episodes (both measured in the run).
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { loadYamlFile, parseWithSchema } from '../core/config-file.js';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam, type TeamController } from '../policy/team.js';
import { CONTROLLER_NAMES, type ControllerName } from '../../sim/controllers.js';
import { resolveSimConfig, type SimSettings } from '../../sim/config.js';
import type { EvalResult } from '../../sim/evaluation.js';
import { attackName, controllerTeam, evaluateTeam, loadAttack, type Attack } from '../../sim/team-eval.js';

/** A matrix as a YAML file gives it (the same keys as the command's options). */
export const MatrixFileSchema = z
  .object({
    policy: z.array(z.string().min(1)).min(1),
    attack: z.array(z.string().min(1)).min(1),
    episodes: z.number().int().min(1).max(100_000).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    reference: z.string().min(1).optional(),
    out: z.string().min(1).optional(),
    jobs: z.number().int().min(1).max(16).optional(),
  })
  .strict();

export interface EvaluateOptions {
  /** Policy folders, or the reference controllers 'consensus', 'wmsr' and 'random'. */
  policy: string[];
  /** Attack references (see loadAttack): none, fault:<name>, obs-noise:<eps>, an adversary or policy folder. */
  attack: string[];
  /** Episodes per cell (default 100) and their seed (default 3,000,000). */
  episodes?: number;
  seed?: number;
  /** The policy whose benign return is V_max (default: the first MAPPO policy folder, else the first folder). */
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

export interface EvaluationCell {
  policy: string;
  attack: string;
  result: EvalResult;
}

export interface Normalisation {
  /** The random controller's and the reference policy's benign mean returns on the matrix's episodes. */
  vRandom: number;
  vMax: number;
  reference: string;
}

export interface Evaluation {
  episodes: number;
  seed: number;
  normalisation: Normalisation;
  cells: EvaluationCell[];
}

/** A reference controller's name instead of a policy folder. */
function isController(p: string): p is ControllerName {
  return (CONTROLLER_NAMES as readonly string[]).includes(p);
}

function sameTwin(a: SimSettings, b: SimSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Options from the command line over those of a matrix file. */
export function resolveEvaluateOptions(o: EvaluateOptions): EvaluateOptions {
  if (!o.config) return o;
  const file = parseWithSchema(o.config, MatrixFileSchema, loadYamlFile(o.config, z.unknown()));
  return {
    ...o,
    policy: o.policy.length ? o.policy : file.policy,
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

/**
 * Every policy under every attack. Policies, adversaries and the reference are loaded and checked before
 * any episode runs; the benign random and reference cells are added when not asked for.
 */
export async function runEvaluation(options: EvaluateOptions, log: (line: string) => void = (l) => console.error(l)): Promise<Evaluation> {
  const o = resolveEvaluateOptions(options);
  const episodes = o.episodes ?? 100;
  const seed = o.seed ?? 3_000_000;
  if (o.policy.length === 0) throw new RangeError('eval: name at least one --policy folder');
  const attacks = o.attack.length ? o.attack : ['none'];
  const folders = o.policy.filter((p) => !isController(p));
  if (folders.length === 0) throw new RangeError('eval: name at least one trained policy folder (the twin is the one it was trained on)');
  const manifests = folders.map((p) => readManifest(resolve(p)));
  const settings = resolveSimConfig({ ...(manifests[0]!.training.config.env as Record<string, unknown>) });
  folders.slice(1).forEach((p, i) => {
    const other = resolveSimConfig({ ...(manifests[i + 1]!.training.config.env as Record<string, unknown>) });
    if (!sameTwin(settings, other)) throw new RangeError(`eval: ${p} was trained on another twin than ${folders[0]}; evaluate them separately`);
  });
  const twice = o.policy.find((p, i) => o.policy.findIndex((q) => (isController(q) ? q : resolve(q)) === (isController(p) ? p : resolve(p))) !== i);
  if (twice) throw new RangeError(`eval: ${twice} is listed twice`);
  // The reference as the policy list spells it (the cells are keyed by that spelling).
  const referenceDir = o.reference
    ? folders.find((f) => resolve(f) === resolve(o.reference!))
    : (folders[manifests.findIndex((m) => m.algorithm === 'mappo')] ?? folders[0]!);
  if (!referenceDir) throw new RangeError(`eval: the reference ${o.reference} must be one of the --policy folders`);
  const reference = basename(resolve(referenceDir));
  // Trained teams are loaded once; a reference controller is made afresh for every cell, so its random
  // stream (the random controller's) starts from the same seed whatever the cells before it.
  const teams = new Map<string, OnnxTeam>();
  const loaded: Attack[] = [];
  const jobs = o.jobs ?? 2;
  try {
    for (const p of folders) teams.set(p, await OnnxTeam.load(resolve(p), settings.observation));
    for (const a of attacks) loaded.push(await loadAttack(a, settings));
    const columns = o.policy.includes('random') ? o.policy : [...o.policy, 'random'];
    const grid: { policy: string; attack: Attack }[] = [];
    for (const attack of loaded) for (const p of o.policy) grid.push({ policy: p, attack });
    // The normalisation's cells, if the matrix does not hold them already.
    const none: Attack = { kind: 'none' };
    const hasBenign = (p: string) => loaded.some((a) => a.kind === 'none') && o.policy.includes(p);
    for (const p of [referenceDir, 'random']) if (!hasBenign(p)) grid.push({ policy: p, attack: none });
    const bar = o.quiet ? null : new SingleBar({ format: ' {bar} {value}/{total} cells | ETA {eta_formatted} | {cell}', stream: process.stderr, hideCursor: true, etaBuffer: 10 });
    bar?.start(grid.length, 0, { cell: '' });
    let done = 0;
    const name = (p: string) => (isController(p) ? p : basename(resolve(p)));
    // One task per cell; the cells of one policy run in order (its team keeps per-episode state).
    const byPolicy = columns.map((p) => grid.filter((g) => g.policy === p));
    const results = new Map<(typeof grid)[number], EvalResult>();
    await inPool(
      byPolicy.map((cells) => async () => {
        for (const cell of cells) {
          const team: TeamController = teams.get(cell.policy) ?? controllerTeam(cell.policy as ControllerName, settings, seed);
          if (o.quiet) log(`evaluating ${name(cell.policy)} under ${attackName(cell.attack)}: ${episodes} episodes`);
          results.set(cell, await evaluateTeam(settings, team, { episodes, seed, attack: cell.attack }));
          bar?.update(++done, { cell: `${name(cell.policy)} under ${attackName(cell.attack)}` });
        }
      }),
      jobs,
    );
    bar?.stop();
    const benign = (p: string) => results.get(grid.find((g) => g.policy === p && g.attack.kind === 'none')!)!.meanReturn;
    const normalisation: Normalisation = { vRandom: benign('random'), vMax: benign(referenceDir), reference };
    const cells = grid
      .filter((g) => o.policy.includes(g.policy) && loaded.includes(g.attack))
      .map((g) => ({ policy: name(g.policy), attack: attackName(g.attack), result: results.get(g)! }));
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
    await Promise.all([...[...teams.values()].map((t) => t.release()), ...loaded.map((a) => (a.kind === 'adversary' ? a.adversary.release() : undefined))]);
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

/**
 * A markdown table, rows attacks and columns policies, each cell `cell(result)`, with a last row of
 * `headline(result)` averaged over the attacks other than none (one number per policy for "robust on average").
 */
function matrixTable(ev: Evaluation, cell: (r: EvalResult) => string, headline: (r: EvalResult) => number, format: (mean: number) => string): string {
  const policies = [...new Set(ev.cells.map((c) => c.policy))];
  const attacks = [...new Set(ev.cells.map((c) => c.attack))];
  const result = (p: string, a: string) => ev.cells.find((c) => c.policy === p && c.attack === a)!.result;
  const lines = [`| attack | ${policies.join(' | ')} |`, `|---|${policies.map(() => '---').join('|')}|`];
  for (const a of attacks) lines.push(`| ${a} | ${policies.map((p) => cell(result(p, a))).join(' | ')} |`);
  const attacked = attacks.filter((a) => a !== 'none');
  if (attacked.length > 0) {
    const means = policies.map((p) => attacked.reduce((s, a) => s + headline(result(p, a)), 0) / attacked.length);
    lines.push(`| **mean over attacks** | ${means.map((m) => `**${format(m)}**`).join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * The headline table, the uncompromised robots at the end of the episodes: gathered at end [95% Wilson
 * interval] · final spread · largest-cluster fraction.
 */
export function outcomeTable(ev: Evaluation): string {
  return matrixTable(
    ev,
    (r) => `${pct(r.gatheredAtEndRate)} [${pct(r.gatheredAtEndCi95[0])}, ${pct(r.gatheredAtEndCi95[1])}] · ${r.meanFinalDistance.toFixed(2)} m · ${r.meanLargestClusterFraction.toFixed(2)}`,
    (r) => r.gatheredAtEndRate,
    pct,
  );
}

/** The team return of the papers' protocol: normalised return [95% interval] · ever gathered. */
export function teamReturnTable(ev: Evaluation): string {
  const n = ev.normalisation;
  return matrixTable(
    ev,
    (r) => {
      const [lo, hi] = r.returnCi95.map((v) => normalise(v, n));
      return `${normalise(r.meanReturn, n).toFixed(2)} [${lo!.toFixed(2)}, ${hi!.toFixed(2)}] · ${pct(r.gatherRate)}`;
    },
    (r) => normalise(r.meanReturn, n),
    (m) => m.toFixed(2),
  );
}

/** The table with what it measures and how to reproduce it. */
export function evaluationMarkdown(ev: Evaluation, o: EvaluateOptions): string {
  const n = ev.normalisation;
  const command = o.config ? `npm run eval -- --config ${o.config}` : `npm run eval -- ${process.argv.slice(3).join(' ')}`;
  return [
    '# Evaluation matrix',
    '',
    `${ev.episodes} seeded episodes per cell (seed ${ev.seed}), the same episodes in every cell; the victim of episode e is robot e mod N.`,
    'The uncompromised robots are all robots but robot e mod N, in benign episodes too (left out, not attacked), so every row scores the same robots.',
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
    "## Team return (papers' protocol)",
    '',
    'Cells: normalised team return (V - V_random) / (V_max - V_random) [95% interval] · ever gathered, the episodes whose uncompromised robots were inside the gather circle at some step.',
    `V_random = ${n.vRandom.toFixed(2)} (random wheels, benign), V_max = ${n.vMax.toFixed(2)} (${n.reference}, benign). 1 = the reference team unattacked, 0 = no better than random wheels.`,
    '',
    teamReturnTable(ev),
    '',
  ].join('\n');
}

/** Heatmap of the headline, the uncompromised robots gathered at end: red at 0%, green at 100%. */
export function evaluationHeatmap(ev: Evaluation): string {
  const policies = [...new Set(ev.cells.map((c) => c.policy))];
  const attacks = [...new Set(ev.cells.map((c) => c.attack))];
  const cw = 130;
  const ch = 26;
  const left = 260;
  const top = 70;
  const colour = (x: number) => {
    const t = Math.max(0, Math.min(1, x));
    const r = Math.round(215 - 170 * t);
    const g = Math.round(60 + 130 * t);
    return `rgb(${r},${g},70)`;
  };
  const esc = (s: string) => s.replace(/[&<>"]/g, '');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + cw * policies.length + 20}" height="${top + ch * attacks.length + 20}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">Uncompromised robots gathered at end, ${ev.episodes} episodes per cell</text>`,
  ];
  policies.forEach((p, j) => out.push(`<text x="${left + j * cw + cw / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${esc(p)}</text>`));
  attacks.forEach((a, i) => {
    out.push(`<text x="${left - 8}" y="${top + i * ch + ch / 2 + 4}" text-anchor="end">${esc(a)}</text>`);
    policies.forEach((p, j) => {
      const v = ev.cells.find((c) => c.policy === p && c.attack === a)!.result.gatheredAtEndRate;
      out.push(`<rect x="${left + j * cw}" y="${top + i * ch}" width="${cw - 2}" height="${ch - 2}" fill="${colour(v)}"/>`);
      out.push(`<text x="${left + j * cw + cw / 2}" y="${top + i * ch + ch / 2 + 4}" text-anchor="middle" fill="white">${pct(v)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n');
}
