// `swarmguard evaluate` (npm run evaluate): deployed (ONNX) policies against trained adversaries on the
// same seeded twin episodes; a markdown table of mean returns with 95% intervals and gather rates, and the
// full results as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam, type TeamController } from '../policy/team.js';
import { CONTROLLER_NAMES, type ControllerName } from '../../sim/controllers.js';
import { resolveSimConfig, type SimSettings } from '../../sim/config.js';
import type { EvalResult } from '../../sim/evaluation.js';
import { attackName, controllerTeam, evaluateTeam, loadAttack, type Attack } from '../../sim/team-eval.js';

export interface EvaluateOptions {
  /** Policy folders, or the reference controllers 'consensus' and 'random'. */
  policy: string[];
  /** Attack references (see loadAttack): none, fault:<name>, obs-noise:<eps>, an adversary or policy folder. */
  attack: string[];
  episodes: number;
  seed: number;
  json?: string;
}

export interface EvaluationCell {
  policy: string;
  attack: string;
  result: EvalResult;
}

/** A reference controller's name instead of a policy folder. */
function isController(p: string): p is ControllerName {
  return (CONTROLLER_NAMES as readonly string[]).includes(p);
}

function sameTwin(a: SimSettings, b: SimSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every policy under every attack; adversaries and policies are checked before any episode runs. */
export async function runEvaluation(o: EvaluateOptions, log: (line: string) => void = (l) => console.error(l)): Promise<EvaluationCell[]> {
  if (o.policy.length === 0) throw new RangeError('evaluate: name at least one --policy folder');
  const attacks = o.attack.length ? o.attack : ['none'];
  const folders = o.policy.filter((p) => !isController(p));
  if (folders.length === 0) throw new RangeError('evaluate: name at least one trained policy folder (the twin is the one it was trained on)');
  const settings = resolveSimConfig({ ...(readManifest(resolve(folders[0]!)).training.config.env as Record<string, unknown>) });
  for (const p of folders.slice(1)) {
    const other = resolveSimConfig({ ...(readManifest(resolve(p)).training.config.env as Record<string, unknown>) });
    if (!sameTwin(settings, other)) throw new RangeError(`evaluate: ${p} was trained on another twin than ${folders[0]}; evaluate them separately`);
  }
  // Trained teams are loaded once; a reference controller is made afresh for every cell, so its random
  // stream (the random controller's) starts from the same seed whatever the attacks listed before it.
  const teams: (OnnxTeam | null)[] = [];
  const loaded: Attack[] = [];
  try {
    for (const p of o.policy) teams.push(isController(p) ? null : await OnnxTeam.load(resolve(p), settings.observation));
    for (const a of attacks) loaded.push(await loadAttack(a, settings));
    const cells: EvaluationCell[] = [];
    for (const attack of loaded) {
      for (const [k, trained] of teams.entries()) {
        const ref = o.policy[k]!;
        const team: TeamController = trained ?? controllerTeam(ref as ControllerName, settings, o.seed);
        const policy = trained ? basename(resolve(ref)) : ref;
        log(`evaluating ${policy} under ${attackName(attack)}: ${o.episodes} episodes`);
        cells.push({ policy, attack: attackName(attack), result: await evaluateTeam(settings, team, { episodes: o.episodes, seed: o.seed, attack }) });
      }
    }
    if (o.json) {
      mkdirSync(dirname(resolve(o.json)), { recursive: true });
      writeFileSync(o.json, `${JSON.stringify({ episodes: o.episodes, seed: o.seed, cells }, null, 2)}\n`);
    }
    return cells;
  } finally {
    await Promise.all([...teams.map((t) => t?.release()), ...loaded.map((a) => (a.kind === 'adversary' ? a.adversary.release() : undefined))]);
  }
}

/** Rows: attacks; columns: policies; cells: mean return [95% interval], gathered %. */
export function evaluationTable(cells: EvaluationCell[]): string {
  const policies = [...new Set(cells.map((c) => c.policy))];
  const attacks = [...new Set(cells.map((c) => c.attack))];
  const lines = [`| attack | ${policies.join(' | ')} |`, `|---|${policies.map(() => '---').join('|')}|`];
  for (const a of attacks) {
    const row = policies.map((p) => {
      const r = cells.find((c) => c.policy === p && c.attack === a)!.result;
      return `${r.meanReturn.toFixed(2)} [${r.returnCi95[0].toFixed(2)}, ${r.returnCi95[1].toFixed(2)}], ${(100 * r.gatherRate).toFixed(0)}% gathered`;
    });
    lines.push(`| ${a} | ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}
