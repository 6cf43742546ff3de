// `swarmguard evaluate` (npm run evaluate): deployed (ONNX) policies against trained adversaries on the
// same seeded twin episodes; a markdown table of mean returns with 95% intervals and gather rates, and the
// full results as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { OnnxAdversary } from '../policy/adversary.js';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam } from '../policy/team.js';
import { resolveSimConfig, type SimSettings } from '../../sim/config.js';
import type { EvalResult } from '../../sim/evaluation.js';
import { evaluateTeam } from '../../sim/team-eval.js';

export interface EvaluateOptions {
  policy: string[];
  /** 'none' (benign) or an adversary folder / a policy folder that ships its adversary. */
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

function sameTwin(a: SimSettings, b: SimSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every policy under every attack; adversaries and policies are checked before any episode runs. */
export async function runEvaluation(o: EvaluateOptions, log: (line: string) => void = (l) => console.error(l)): Promise<EvaluationCell[]> {
  if (o.policy.length === 0) throw new RangeError('evaluate: name at least one --policy folder');
  const attacks = o.attack.length ? o.attack : ['none'];
  const first = readManifest(resolve(o.policy[0]!));
  const settings = resolveSimConfig({ ...(first.training.config.env as Record<string, unknown>) });
  for (const p of o.policy.slice(1)) {
    const other = resolveSimConfig({ ...(readManifest(resolve(p)).training.config.env as Record<string, unknown>) });
    if (!sameTwin(settings, other)) throw new RangeError(`evaluate: ${p} was trained on another twin than ${o.policy[0]}; evaluate them separately`);
  }
  const teams = await Promise.all(o.policy.map((p) => OnnxTeam.load(resolve(p), settings.observation)));
  const adversaries = new Map<string, OnnxAdversary>();
  try {
    for (const a of attacks) if (a !== 'none') adversaries.set(a, await OnnxAdversary.load(resolve(a), settings.observation));
    const cells: EvaluationCell[] = [];
    for (const a of attacks) {
      for (const [k, team] of teams.entries()) {
        const policy = basename(resolve(o.policy[k]!));
        const adversary = adversaries.get(a);
        const attack = adversary ? adversary.name : 'none';
        log(`evaluating ${policy} under ${attack}: ${o.episodes} episodes`);
        cells.push({ policy, attack, result: await evaluateTeam(settings, team, { episodes: o.episodes, seed: o.seed, adversary }) });
      }
    }
    if (o.json) {
      mkdirSync(dirname(resolve(o.json)), { recursive: true });
      writeFileSync(o.json, `${JSON.stringify({ episodes: o.episodes, seed: o.seed, cells }, null, 2)}\n`);
    }
    return cells;
  } finally {
    await Promise.all([...teams.map((t) => t.release()), ...[...adversaries.values()].map((a) => a.release())]);
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
