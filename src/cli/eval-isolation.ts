// `swarmguard eval-isolation` (npm run eval:isolation): what acting on the monitor's flags buys and costs.
// For every attack row of the evaluation matrices (policies/evaluation.yaml, policies/evaluation-local.yaml:
// the trained adversaries, the fault models, observation noise, two victims, and the benign rows), seeded
// runtime trials on the twin (the fast sim link with its noise, the monitor at its defaults) run under each
// monitor.onFlag - report, isolate, isolate-and-stop - on the same episodes: the victims are compromised for
// the whole episode, as in the matrix, and the uncompromised robots are scored at its end with the matrix's
// metrics (gathered at end with a 95% Wilson interval, final spread, largest-cluster fraction), with paired
// differences against report. Isolations of robots that were not compromised are false isolations: counted,
// timed, and (in the benign rows) their cost is the outcome difference against report.
// An episode in which report raises no flag runs identically under isolate and isolate-and-stop (a flag is
// the only thing they act on, and the episode's seeds are the same), so its report result stands for them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { z } from 'zod';
import { loadYamlFile, parseWithSchema } from '../core/config-file.js';
import { resolveSwarmConfig, type SwarmSettings } from '../core/swarm-config.js';
import { meanTCi95, summariseOutcomes, type OutcomeSummary } from '../../sim/evaluation.js';
import { attackRowName, episodeVictims, loadAttackRow, type AttackRow } from '../attacks/attack.js';
import type { RendezvousOutcome } from '../core/rendezvous.js';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam } from '../policy/team.js';
import { ON_FLAG_ACTIONS, type OnFlag } from '../runtime/isolation.js';
import { SimLink } from '../../sim/sim-link.js';
import { GatherWatch } from '../runtime/team-outcome.js';
import { swarmTrial } from '../runtime/trial.js';
import { resolveEvaluateOptions } from './evaluate.js';

const IsolationConfigSchema = z
  .object({
    /** Each variant: the deployed policy and the evaluation matrix whose attack rows it is run under. */
    variants: z.array(z.object({ policy: z.string().min(1), matrix: z.string().min(1) }).strict()).min(1),
    episodes: z.number().int().min(1).default(50),
    seed: z.number().int().min(0).default(5_000_000),
    out: z.string().min(1).default('policies/ISOLATION'),
  })
  .strict();

export interface IsolationEvalOptions {
  /** The YAML file naming the variants (default policies/isolation.yaml); flags given win. */
  config: string;
  episodes?: number;
  seed?: number;
  out?: string;
  /** Only these attack rows (names as the matrix writes them); all when empty. */
  attack?: string[];
  /** Only the variants of these policy folders (as the config names them); all when empty. */
  policy?: string[];
}

/** One robot's isolation in one episode, ticks [from, to). */
interface IsolationSpan {
  robot: number;
  from: number;
  to: number;
  /** The robot was not compromised: a false isolation. */
  false: boolean;
}

/** One episode under one onFlag. */
export interface EpisodeResult {
  outcome: RendezvousOutcome | null;
  flags: number;
  isolations: IsolationSpan[];
  /** Run under this onFlag (false: report raised no flag, so its result stands for this one). */
  ran: boolean;
}

/** A paired difference (this onFlag minus report, per episode) and its 95% t-interval. */
export interface Paired {
  mean: number;
  ci95: [number, number] | null;
}

export interface ModeResult extends OutcomeSummary {
  onFlag: OnFlag;
  episodes: number;
  /** Episodes actually run under this onFlag (the others raised no flag under report). */
  ran: number;
  vsReport: { gathered: Paired; spread: Paired; largestCluster: Paired };
  /** Isolations of compromised robots, and the fraction of the victims' ticks they spent isolated. */
  victimIsolations: number;
  victimIsolatedFraction: number;
  /** Isolations of uncompromised robots: how many, per episode, per robot-hour of uncompromised robots, and how long. */
  falseIsolations: number;
  falseIsolationsPerRobotHour: number;
  falseIsolationMeanS: number | null;
  falseIsolationTotalS: number;
}

export interface RowResult {
  variant: string;
  policy: string;
  attack: string;
  victims: number;
  modes: ModeResult[];
  /** isolate and isolate-and-stop against report: not significantly worse in gathered or spread (and better where significant). */
  verdict: Record<Exclude<OnFlag, 'report'>, Verdict>;
}

export type Verdict = 'better' | 'no measurable difference' | 'worse';

/**
 * One policy's trained-adversary rows taken together: per episode, the mean over those rows of this onFlag's
 * difference against report, then its mean and 95% t-interval over episodes. One question asked once, where
 * each row's own verdict is one of many (at 95%, about one comparison in 40 comes out "worse" by chance alone).
 */
export interface PooledAdversaryRows {
  policy: string;
  /** The rows pooled (the trained-adversary rows of this policy). */
  rows: string[];
  /** Episodes with every pooled row scored. */
  episodes: number;
  isolate: { gathered: Paired; spread: Paired };
  'isolate-and-stop': { gathered: Paired; spread: Paired };
}

export interface IsolationEvaluation {
  episodes: number;
  seed: number;
  ticks: Record<string, number>;
  rows: RowResult[];
  pooled: PooledAdversaryRows[];
}

/** One seeded episode of the runtime on the twin under `onFlag`: the victims compromised throughout. */
export async function isolationEpisode(settings: SwarmSettings, team: OnnxTeam, row: AttackRow, e: number, seed: number, onFlag: OnFlag): Promise<EpisodeResult> {
  const N = settings.robotIds.length;
  const ticks = settings.episodeSteps;
  const victims = episodeVictims(e, N, row.victims);
  const link = new SimLink(settings, 'fast', seed + e);
  const injections = row.attack.kind === 'none' ? [] : victims.map((robot) => ({ robot, fromTick: 0, toTick: ticks, attack: row.attack }));
  // No records kept: the rendezvous outcome is followed tick by tick. The victims are left out of the score
  // whether attacked or not (as in the matrix's benign rows).
  const run = swarmTrial(settings, team, link, { trialMode: true, injections, seed: seed + e, onFlag, keepRecords: false });
  const gathering = new GatherWatch(N, new Set(victims));
  for (let t = 0; t < ticks; t++) {
    await run.step();
    link.advance();
    gathering.add(run.snapshot, settings.gatherDiameter);
  }
  const compromised = new Set(row.attack.kind === 'none' ? [] : victims);
  const open = new Map<number, number>();
  const isolations: IsolationSpan[] = [];
  let flags = 0;
  for (const ev of run.events) {
    if (ev.kind === 'flag') flags++;
    if (ev.kind === 'isolate') open.set(settings.robotIds.indexOf(ev.robot), ev.tick);
    if (ev.kind === 'isolation-end') {
      const robot = settings.robotIds.indexOf(ev.robot);
      isolations.push({ robot, from: open.get(robot)!, to: ev.tick, false: !compromised.has(robot) });
      open.delete(robot);
    }
  }
  for (const [robot, from] of open) isolations.push({ robot, from, to: ticks, false: !compromised.has(robot) });
  return { outcome: gathering.outcome(settings.robotIds, run.snapshot, settings), flags, isolations, ran: true };
}

const paired = (xs: number[]): Paired => {
  const { mean, ci } = meanTCi95(xs);
  return { mean, ci95: ci };
};

/** Per episode, this onFlag minus report (null where either is unscored). */
function episodeDifferences(eps: EpisodeResult[], report: EpisodeResult[]): { gathered: (number | null)[]; spread: (number | null)[] } {
  const pairs = eps.map((x, i) => [x.outcome, report[i]!.outcome] as const);
  return {
    gathered: pairs.map(([o, r]) => (o && r ? Number(o.gatheredAtEnd) - Number(r.gatheredAtEnd) : null)),
    spread: pairs.map(([o, r]) => (o && r ? o.finalMeanPairwiseDistance - r.finalMeanPairwiseDistance : null)),
  };
}

/** Pools one policy's trained-adversary rows (see PooledAdversaryRows); null without such rows. */
export function poolAdversaryRows(policy: string, rows: { attack: string; differences: Record<'isolate' | 'isolate-and-stop', ReturnType<typeof episodeDifferences>> }[]): PooledAdversaryRows | null {
  if (rows.length === 0) return null;
  const episodes = rows[0]!.differences.isolate.gathered.length;
  const scored = Array.from({ length: episodes }, (_, e) => e).filter((e) =>
    rows.every((r) => (['isolate', 'isolate-and-stop'] as const).every((m) => r.differences[m].gathered[e] !== null)),
  );
  if (scored.length === 0) return null;
  const pool = (m: 'isolate' | 'isolate-and-stop', metric: 'gathered' | 'spread') =>
    paired(scored.map((e) => rows.reduce((sum, r) => sum + r.differences[m][metric][e]!, 0) / rows.length));
  const both = (m: 'isolate' | 'isolate-and-stop') => ({ gathered: pool(m, 'gathered'), spread: pool(m, 'spread') });
  return { policy, rows: rows.map((r) => r.attack), episodes: scored.length, isolate: both('isolate'), 'isolate-and-stop': both('isolate-and-stop') };
}

/** The summary of one onFlag's episodes against report's (the same episodes, in order). */
export function summariseMode(onFlag: OnFlag, eps: EpisodeResult[], report: EpisodeResult[], row: AttackRow, settings: SwarmSettings): ModeResult {
  const both = eps.map((x, i) => [x.outcome, report[i]!.outcome] as const).filter((p): p is readonly [RendezvousOutcome, RendezvousOutcome] => p[0] !== null && p[1] !== null);
  if (both.length === 0) throw new Error(`eval-isolation: no episode of ${attackRowName(row)} could be scored`);
  const differences = episodeDifferences(eps, report);
  const N = settings.robotIds.length;
  const ticks = settings.episodeSteps;
  const period = settings.controlPeriod;
  const spans = eps.flatMap((x) => x.isolations);
  const victimSpans = spans.filter((s) => !s.false);
  const falseSpans = spans.filter((s) => s.false);
  const victimTicks = row.attack.kind === 'none' ? 0 : eps.length * row.victims * ticks;
  const cleanRobotHours = (eps.length * (N - (row.attack.kind === 'none' ? 0 : row.victims)) * ticks * period) / 3600;
  const falseS = falseSpans.reduce((s, x) => s + (x.to - x.from) * period, 0);
  return {
    onFlag,
    episodes: eps.length,
    ran: eps.filter((x) => x.ran).length,
    ...summariseOutcomes(both.map(([o]) => o)),
    vsReport: {
      gathered: paired(differences.gathered.filter((d): d is number => d !== null)),
      spread: paired(differences.spread.filter((d): d is number => d !== null)),
      largestCluster: paired(both.map(([o, r]) => o.largestClusterFraction - r.largestClusterFraction)),
    },
    victimIsolations: victimSpans.length,
    victimIsolatedFraction: victimTicks ? victimSpans.reduce((s, x) => s + x.to - x.from, 0) / victimTicks : 0,
    falseIsolations: falseSpans.length,
    falseIsolationsPerRobotHour: falseSpans.length / cleanRobotHours,
    falseIsolationMeanS: falseSpans.length ? falseS / falseSpans.length : null,
    falseIsolationTotalS: falseS,
  };
}

/** Significantly worse (95% interval) in gathered at end or final spread: worse; significantly better in one and worse in neither: better. */
export function verdictOf(m: ModeResult): Verdict {
  const { gathered, spread } = m.vsReport;
  const below = (p: Paired) => p.ci95 !== null && p.ci95[1] < 0;
  const above = (p: Paired) => p.ci95 !== null && p.ci95[0] > 0;
  if (below(gathered) || above(spread)) return 'worse';
  if (above(gathered) || below(spread)) return 'better';
  return 'no measurable difference';
}

export async function runIsolationEvaluation(o: IsolationEvalOptions, log: (line: string) => void = (l) => console.error(l)): Promise<IsolationEvaluation> {
  const file = parseWithSchema(o.config, IsolationConfigSchema, loadYamlFile(o.config, z.unknown()));
  const episodes = o.episodes ?? file.episodes;
  const seed = o.seed ?? file.seed;
  const out = o.out ?? file.out;
  const ticks: Record<string, number> = {};
  const write = (ev: IsolationEvaluation) => {
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(`${out}.json`, `${JSON.stringify(ev, null, 2)}\n`);
    writeFileSync(`${out}.md`, isolationMarkdown(ev, o));
  };
  // Rows per variant, written in the config's order; the variants run side by side.
  const variants = o.policy?.length ? file.variants.filter((v) => o.policy!.some((p) => resolve(p) === resolve(v.policy))) : file.variants;
  if (variants.length === 0) throw new RangeError(`eval-isolation: no variant of ${o.config} runs ${o.policy!.join(', ')}`);
  const byVariant: RowResult[][] = variants.map(() => []);
  const rows = () => byVariant.flat();
  // Per variant, its trained-adversary rows' per-episode differences, pooled at the end.
  const adversaryRows: Parameters<typeof poolAdversaryRows>[1][] = variants.map(() => []);
  const pooled = () => variants.flatMap((v, k) => poolAdversaryRows(basename(resolve(v.policy)), adversaryRows[k]!) ?? []);
  const runVariant = async (variant: (typeof variants)[number], k: number): Promise<void> => {
    const policyDir = resolve(variant.policy);
    const matrix = resolveEvaluateOptions({ config: variant.matrix, policy: [], attack: [] });
    const refs = o.attack?.length ? matrix.attack.filter((a) => o.attack!.includes(a)) : matrix.attack;
    const settings = resolveSwarmConfig({ ...(readManifest(policyDir).training.config.env as Record<string, unknown>) });
    ticks[basename(policyDir)] = settings.episodeSteps;
    // One team per onFlag (a team's recurrent belief states belong to one run at a time): isolate and
    // isolate-and-stop run side by side once report's episodes are known.
    const teams = new Map<OnFlag, OnnxTeam>();
    try {
      for (const onFlag of ON_FLAG_ACTIONS) {
        const team = await OnnxTeam.load(policyDir, settings.observation);
        // Beliefs are forgotten as `swarmguard run` deploys them by default (launch key forgetNeighbourAfter: 5 s).
        team.setForgetAfter(Math.round(5 / settings.controlPeriod));
        teams.set(onFlag, team);
      }
      for (const ref of refs) {
        const row = await loadAttackRow(ref, settings);
        try {
          const lane = async (onFlag: OnFlag, report?: EpisodeResult[]): Promise<EpisodeResult[]> => {
            const eps: EpisodeResult[] = [];
            for (let e = 0; e < episodes; e++) {
              // Without a flag under report nothing differs under the others: the same episode, exactly.
              const r = report?.[e];
              eps.push(r && r.flags === 0 ? { ...r, ran: false } : await isolationEpisode(settings, teams.get(onFlag)!, row, e, seed, onFlag));
            }
            return eps;
          };
          const report = await lane('report');
          const acting = await Promise.all([lane('isolate', report), lane('isolate-and-stop', report)]);
          const modes = [report, ...acting].map((eps, m) => summariseMode(ON_FLAG_ACTIONS[m]!, eps, report, row, settings));
          if (row.attack.kind === 'adversary') {
            adversaryRows[k]!.push({ attack: attackRowName(row), differences: { isolate: episodeDifferences(acting[0]!, report), 'isolate-and-stop': episodeDifferences(acting[1]!, report) } });
          }
          byVariant[k]!.push({
            variant: variant.matrix,
            policy: basename(policyDir),
            attack: attackRowName(row),
            victims: row.victims,
            modes,
            verdict: { isolate: verdictOf(modes[1]!), 'isolate-and-stop': verdictOf(modes[2]!) },
          });
          // Written after every row: a long measurement cut short keeps what it has measured.
          write({ episodes, seed, ticks, rows: rows(), pooled: pooled() });
          log(`${basename(policyDir)} ${attackRowName(row)}: ${modes.map((m) => `${m.onFlag} ${(100 * m.gatheredAtEndRate).toFixed(0)}%`).join(', ')}`);
        } finally {
          if (row.attack.kind === 'adversary') await row.attack.adversary.release();
        }
      }
    } finally {
      await Promise.all([...teams.values()].map((t) => t.release()));
    }
  };
  await Promise.all(variants.map((v, k) => runVariant(v, k)));
  const result: IsolationEvaluation = { episodes, seed, ticks, rows: rows(), pooled: pooled() };
  write(result);
  log(`wrote ${out}.md, ${out}.json`);
  return result;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const signed = (x: number, digits: number, scale = 1) => `${x * scale >= 0 ? '+' : ''}${(x * scale).toFixed(digits)}`;
const interval = (p: Paired, digits: number, scale = 1) => (p.ci95 ? `${signed(p.mean, digits, scale)} [${signed(p.ci95[0], digits, scale)}, ${signed(p.ci95[1], digits, scale)}]` : signed(p.mean, digits, scale));

/** Per attack row: the uncompromised robots' outcome under each onFlag, and isolate's paired difference against report. */
export function outcomeTable(rows: RowResult[]): string {
  const lines = [
    '| policy | attack | gathered: report / isolate / isolate-and-stop [95% Wilson] | final spread (m) r / i / s | largest cluster r / i / s | isolate - report: gathered (pp), spread (m) [95%] | isolate-and-stop - report: gathered (pp), spread (m) [95%] | verdict i / s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const [rep, iso, stop] = r.modes as [ModeResult, ModeResult, ModeResult];
    const g = (m: ModeResult) => `${pct(m.gatheredAtEndRate)} [${pct(m.gatheredAtEndCi95[0])}, ${pct(m.gatheredAtEndCi95[1])}]`;
    const d = (m: ModeResult) => `${interval(m.vsReport.gathered, 0, 100)}; ${interval(m.vsReport.spread, 3)}`;
    lines.push(
      `| ${r.policy} | ${r.attack} | ${g(rep)} / ${g(iso)} / ${g(stop)} | ${[rep, iso, stop].map((m) => m.meanFinalDistance.toFixed(3)).join(' / ')} | ` +
        `${[rep, iso, stop].map((m) => m.meanLargestClusterFraction.toFixed(2)).join(' / ')} | ${d(iso)} | ${d(stop)} | ${r.verdict.isolate} / ${r.verdict['isolate-and-stop']} |`,
    );
  }
  return lines.join('\n');
}

/** Per policy: its trained-adversary rows pooled, isolate and isolate-and-stop against report. */
export function pooledTable(pooled: PooledAdversaryRows[]): string {
  const lines = [
    '| policy | trained-adversary rows | episodes | isolate - report: gathered (pp), spread (m) [95%] | isolate-and-stop - report: gathered (pp), spread (m) [95%] |',
    '|---|---|---|---|---|',
  ];
  const d = (x: { gathered: Paired; spread: Paired }) => `${interval(x.gathered, 1, 100)}; ${interval(x.spread, 4)}`;
  for (const p of pooled) lines.push(`| ${p.policy} | ${p.rows.length} | ${p.episodes} | ${d(p.isolate)} | ${d(p['isolate-and-stop'])} |`);
  return lines.join('\n');
}

/** Per attack row and acting onFlag: how often and how long the victims and the uncompromised robots were isolated. */
export function isolationTable(rows: RowResult[]): string {
  const lines = [
    '| policy | attack | onFlag | episodes run | victim isolations | victims\' time isolated | false isolations | per robot-hour | mean length | total |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    for (const m of r.modes.slice(1)) {
      lines.push(
        `| ${r.policy} | ${r.attack} | ${m.onFlag} | ${m.ran}/${m.episodes} | ${r.attack.endsWith('none') ? '-' : m.victimIsolations} | ${r.attack.endsWith('none') ? '-' : pct(m.victimIsolatedFraction)} | ` +
          `${m.falseIsolations} | ${m.falseIsolationsPerRobotHour.toFixed(2)} | ${m.falseIsolationMeanS === null ? '-' : `${m.falseIsolationMeanS.toFixed(1)} s`} | ${m.falseIsolationTotalS.toFixed(1)} s |`,
      );
    }
  }
  return lines.join('\n');
}

function isolationMarkdown(ev: IsolationEvaluation, o: IsolationEvalOptions): string {
  const flags = process.argv.slice(3).join(' ');
  return [
    '# Acting on flags: report vs isolate vs isolate-and-stop',
    '',
    `Generated by \`npm run eval:isolation${flags ? ` -- ${flags}` : ''}\` (config ${o.config}): ${ev.episodes} seeded episodes per attack row and onFlag (seed ${ev.seed}), the same episodes under each.`,
    `Runtime trials on the twin (fast sim link with its noise model, monitor at its defaults, beliefs forgotten after 5 s as deployed), ${Object.entries(ev.ticks).map(([p, t]) => `${p} ${t} ticks`).join(', ')}.`,
    'Victims as in the evaluation matrix (robot e mod N, two victims: also (e + N/2) mod N), compromised for the whole episode; they are left out of the score in the benign rows too.',
    'Uncompromised robots at the last tick: gathered at end = all inside the gather circle (95% Wilson interval); final spread = mean pairwise distance; largest cluster = their share in it.',
    'Paired differences (this onFlag minus report, same episodes) with 95% t-intervals over episodes: gathered in percentage points, spread in m.',
    'Verdict: worse = significantly lower gathered or wider spread than report; better = significantly better in one and worse in neither; else no measurable difference.',
    'An episode with no flag under report runs identically under the others (nothing to act on, same seeds): "episodes run" counts those actually rerun.',
    '',
    '## Uncompromised robots',
    '',
    outcomeTable(ev.rows),
    '',
    ...(ev.pooled.length > 0
      ? [
          '## Trained adversaries pooled',
          '',
          'Per episode, the mean over a policy\'s trained-adversary rows of the difference against report; its mean and 95% t-interval over episodes.',
          `This asks once whether acting on flags helps or hurts under the trained adversaries. Each row's verdict above is one of ${2 * ev.rows.length} comparisons: at 95%, about one in 40 comes out "worse" (and one in 40 "better") by chance alone.`,
          '',
          pooledTable(ev.pooled),
          '',
        ]
      : []),
    '## Isolations: of the victims, and false ones (of uncompromised robots)',
    '',
    isolationTable(ev.rows),
    '',
  ].join('\n');
}
