// `swarmguard eval-monitor` (npm run eval:monitor): how well the monitor catches compromised robots, over
// seeded batch trials on the twin (fast sim link, noise on, no real-time waits). Each attacked episode one
// robot (e mod N) is compromised from `at` for `duration` seconds; benign episodes ('none', their own count)
// only count false alarms. For each detector (belief, consistency, fused) it reports the share of attacked
// episodes flagged within DETECT_WITHIN_S of the attack's start (95% Wilson interval), the mean time to
// detect, and false alarms per robot-hour with their 95% (Poisson) interval over the robot-hours they were
// counted on; it sweeps the belief's fusion weight (the weight the belief earns, see policies/MONITOR.md)
// and draws a ROC picture by sweeping the flag threshold. Per attack it also reports how the uncompromised
// robots (all but robot e mod N, in benign episodes too) did at rendezvous by the end of the episode.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { resolveSwarmConfig } from '../core/swarm-config.js';
import { summariseOutcomes, type OutcomeSummary, wilsonCi95 } from '../../sim/evaluation.js';
import type { RendezvousOutcome } from '../core/rendezvous.js';
import { attackName, loadAttack, type Attack } from '../attacks/attack.js';
import { DEFAULT_MONITOR, Hysteresis, type MonitorSettings } from '../monitor/monitor.js';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam } from '../policy/team.js';
import { SimLink } from '../../sim/sim-link.js';
import { GatherWatch } from '../runtime/team-outcome.js';
import { swarmTrial } from '../runtime/trial.js';
import { rocSvg } from './roc-picture.js';
import { UserError } from '../core/user-error.js';

export const DETECTORS = ['belief', 'consistency', 'fused'] as const;
export type Detector = (typeof DETECTORS)[number];

/** A detection counts if the victim is flagged within this many seconds of its attack's start. */
export const DETECT_WITHIN_S = 5;

/** Belief weights tried in the fusion sweep. */
export const BELIEF_WEIGHTS = [0, 0.25, 0.5, 0.75, 1] as const;

export interface MonitorEvalOptions {
  policy: string;
  attack: string[];
  episodes: number;
  /** Episodes of the benign case ('none'); `episodes` if absent. */
  benignEpisodes?: number;
  seed: number;
  /** Injection start and length, and episode length, s. */
  at: number;
  duration: number;
  length: number;
  /** Writes <out>.md, <out>.json and <out>-roc.svg. */
  out: string;
  quiet?: boolean;
}

/** One episode's signals: [tick][robot] per detector, and which robot was compromised when. */
export interface EpisodeSignals {
  attack: string;
  victim: number;
  fromTick: number;
  toTick: number;
  signals: Record<Detector, Float32Array | Float64Array>;
  ticks: number;
  robots: number;
}

export interface DetectionScore {
  /** Attacked episodes, and those whose victim was flagged while compromised / within DETECT_WITHIN_S of the start. */
  attacked: number;
  detected: number;
  detectedInTime: number;
  /** detected / attacked (null without attacked episodes). */
  detectionRate: number | null;
  /** detectedInTime / attacked, and its 95% Wilson interval. */
  detectionInTimeRate: number | null;
  detectionInTimeCi95: [number, number] | null;
  meanTimeToDetectS: number | null;
  /** Flags on robots not compromised at that tick, over the robot-hours they were not compromised. */
  falseAlarms: number;
  cleanRobotHours: number;
  falseAlarmsPerRobotHour: number;
  /** 95% interval of the false-alarm rate (exact Poisson). */
  falseAlarmsCi95: [number, number];
}

export interface DetectorResult extends DetectionScore {
  attack: string;
  detector: Detector;
}

/** One belief weight of the fusion sweep, all attacks pooled (benign episodes included in the false alarms). */
export interface WeightResult extends DetectionScore {
  beliefWeight: number;
}

/**
 * Exact (Garwood) 95% interval of a Poisson mean with `k` events observed: the means whose probability of k
 * or more (lower end) or of k or fewer (upper end) events is 2.5%.
 */
export function poissonCi95(k: number): [number, number] {
  if (!(Number.isInteger(k) && k >= 0)) throw new RangeError(`poissonCi95: the event count must be an integer >= 0, got ${k}`);
  // P(X <= k; mu), summed in log space.
  const cdf = (mu: number, upTo: number) => {
    let term = Math.exp(-mu);
    let sum = term;
    for (let i = 1; i <= upTo; i++) {
      term *= mu / i;
      sum += term;
    }
    return sum;
  };
  const solve = (f: (mu: number) => number) => {
    // f decreases in mu from f(0) > 0 to < 0; bisection.
    let lo = 0;
    let hi = 10 + 10 * k;
    for (let it = 0; it < 200; it++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > 0) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  const upper = solve((mu) => cdf(mu, k) - 0.025);
  const lower = k === 0 ? 0 : solve((mu) => 0.025 - (1 - cdf(mu, k - 1)));
  return [lower, upper];
}

/** The uncompromised robots' outcome at the end of an attack's episodes. */
export interface AttackOutcome extends OutcomeSummary {
  attack: string;
  episodes: number;
}

/** Flags of every robot under a detector's signal with the given thresholds: flags raised, [tick, robot]. */
function flagsOf(ep: EpisodeSignals, d: Detector, s: Pick<MonitorSettings, 'flagAt' | 'clearAt' | 'flagTicks' | 'clearTicks'>): [number, number][] {
  const h = new Hysteresis(ep.robots, s);
  const out: [number, number][] = [];
  const sig = ep.signals[d];
  for (let t = 0; t < ep.ticks; t++) for (let j = 0; j < ep.robots; j++) if (h.update(j, sig[t * ep.robots + j]!) === 'flag') out.push([t, j]);
  return out;
}

/** Detection and false alarms of one detector over some episodes. */
export function score(eps: EpisodeSignals[], d: Detector, s: Pick<MonitorSettings, 'flagAt' | 'clearAt' | 'flagTicks' | 'clearTicks'>, period: number): DetectionScore {
  let attacked = 0;
  let detected = 0;
  let detectedInTime = 0;
  let delay = 0;
  let falseAlarms = 0;
  let cleanRobotTicks = 0;
  const inTime = Math.round(DETECT_WITHIN_S / period);
  for (const ep of eps) {
    const compromised = (t: number, j: number) => j === ep.victim && t >= ep.fromTick && t < ep.toTick;
    const flags = flagsOf(ep, d, s);
    if (ep.victim >= 0) {
      attacked++;
      const hit = flags.find(([t, j]) => compromised(t, j));
      if (hit) {
        detected++;
        delay += (hit[0] - ep.fromTick) * period;
        if (hit[0] - ep.fromTick <= inTime) detectedInTime++;
      }
    }
    falseAlarms += flags.filter(([t, j]) => !compromised(t, j)).length;
    cleanRobotTicks += ep.ticks * ep.robots - (ep.victim >= 0 ? ep.toTick - ep.fromTick : 0);
  }
  const cleanRobotHours = (cleanRobotTicks * period) / 3600;
  const [lo, hi] = poissonCi95(falseAlarms);
  return {
    attacked,
    detected,
    detectedInTime,
    detectionRate: attacked ? detected / attacked : null,
    detectionInTimeRate: attacked ? detectedInTime / attacked : null,
    detectionInTimeCi95: attacked ? wilsonCi95(detectedInTime, attacked) : null,
    meanTimeToDetectS: detected ? delay / detected : null,
    falseAlarms,
    cleanRobotHours,
    falseAlarmsPerRobotHour: falseAlarms / cleanRobotHours,
    falseAlarmsCi95: [lo / cleanRobotHours, hi / cleanRobotHours],
  };
}

/** The episodes with the fused signal recomputed for another belief weight (from the recorded belief and consistency). */
export function reweighted(eps: EpisodeSignals[], beliefWeight: number): EpisodeSignals[] {
  return eps.map((ep) => {
    const { belief, consistency } = ep.signals;
    const fused = belief.map((b, k) => 1 - (1 - beliefWeight * b) * (1 - consistency[k]!));
    return { ...ep, signals: { belief, consistency, fused } };
  });
}

export interface MonitorEvaluation {
  /** Per attack (and all attacks pooled) and detector. */
  detectors: DetectorResult[];
  /** Per attack: the uncompromised robots at the end of the episodes. */
  rendezvous: AttackOutcome[];
  /** The fused detector with each belief weight of BELIEF_WEIGHTS. */
  weights: WeightResult[];
}

export async function runMonitorEvaluation(o: MonitorEvalOptions, log: (line: string) => void = (l) => console.error(l)): Promise<MonitorEvaluation> {
  const policyDir = resolve(o.policy);
  const manifest = readManifest(policyDir);
  const settings = resolveSwarmConfig({ ...(manifest.training.config.env as Record<string, unknown>) });
  const period = settings.controlPeriod;
  const ticks = Math.round(o.length / period);
  const fromTick = Math.round(o.at / period);
  const toTick = Math.min(ticks, fromTick + Math.round(o.duration / period));
  if (fromTick >= ticks) throw new UserError(`eval-monitor: --at ${o.at} s is not within the ${o.length} s episodes`);
  const team = await OnnxTeam.load(policyDir, settings.observation);
  // Beliefs are forgotten as `swarmguard run` deploys them by default (launch key forgetNeighbourAfter: 5 s).
  team.setForgetAfter(Math.round(5 / period));
  const attacks: Attack[] = [];
  try {
    for (const a of o.attack) attacks.push(await loadAttack(a, settings));
    const N = settings.robotIds.length;
    const all: EpisodeSignals[] = [];
    const endings = new Map<string, RendezvousOutcome[]>();
    const bar = o.quiet ? null : new SingleBar({ format: ' {bar} {value}/{total} episodes | ETA {eta_formatted} | {attack}', stream: process.stderr, hideCursor: true });
    const episodesOf = (a: Attack) => (a.kind === 'none' ? (o.benignEpisodes ?? o.episodes) : o.episodes);
    bar?.start(attacks.reduce((n, a) => n + episodesOf(a), 0), 0, { attack: '' });
    for (const attack of attacks) {
      for (let e = 0, episodes = episodesOf(attack); e < episodes; e++) {
        const link = new SimLink(settings, 'fast', o.seed + e);
        const victim = attack.kind === 'none' ? -1 : e % N;
        // No records kept: the rendezvous outcome is followed tick by tick. Robot e mod N left out whether
        // attacked or not: every attack's row scores the same robots.
        const run = swarmTrial(settings, team, link, { trialMode: true, injections: victim < 0 ? [] : [{ robot: victim, fromTick, toTick, attack }], seed: o.seed + e, keepRecords: false });
        const gathering = new GatherWatch(N, new Set([e % N]));
        const monitor = run.parts.monitor;
        const signals = { belief: new Float32Array(ticks * N), consistency: new Float32Array(ticks * N), fused: new Float32Array(ticks * N) };
        for (let t = 0; t < ticks; t++) {
          await run.step();
          link.advance();
          gathering.add(run.snapshot, settings.gatherDiameter);
          for (let j = 0; j < N; j++) {
            signals.belief[t * N + j] = monitor.beliefSignal[j]!;
            signals.consistency[t * N + j] = monitor.consistency.suspicion(j);
            signals.fused[t * N + j] = monitor.suspicion[j]!;
          }
        }
        for (const ev of run.events) if (ev.kind === 'attack-error') log(`${attackName(attack)}: episode ${e}, ${ev.robot} stopped: ${ev.problem}`);
        all.push({ attack: attackName(attack), victim, fromTick, toTick, signals, ticks, robots: N });
        const ending = gathering.outcome(settings.robotIds, run.snapshot, settings);
        if (ending) endings.set(attackName(attack), [...(endings.get(attackName(attack)) ?? []), ending]);
        bar?.increment(1, { attack: attackName(attack) });
      }
    }
    bar?.stop();
    const rendezvous: AttackOutcome[] = [...endings].map(([attack, os]) => ({ attack, episodes: os.length, ...summariseOutcomes(os) }));
    const results: DetectorResult[] = [];
    const names = [...new Set(all.map((x) => x.attack))];
    for (const attack of [...names, 'all attacks']) {
      const eps = attack === 'all attacks' ? all : all.filter((x) => x.attack === attack);
      for (const d of DETECTORS) results.push({ attack, detector: d, ...score(eps, d, DEFAULT_MONITOR, period) });
    }
    const weights: WeightResult[] = BELIEF_WEIGHTS.map((w) => ({ beliefWeight: w, ...score(reweighted(all, w), 'fused', DEFAULT_MONITOR, period) }));
    // ROC: the flag threshold swept (clear threshold kept at the same fraction of it), all episodes pooled.
    const thresholds = Array.from({ length: 19 }, (_, i) => 0.05 * (i + 1));
    const roc = Object.fromEntries(
      DETECTORS.map((d) => [d, thresholds.map((th) => ({ threshold: th, ...score(all, d, { ...DEFAULT_MONITOR, flagAt: th, clearAt: th * (DEFAULT_MONITOR.clearAt / DEFAULT_MONITOR.flagAt) }, period) }))]),
    );
    mkdirSync(resolve(o.out, '..'), { recursive: true });
    const benignEpisodes = attacks.some((a) => a.kind === 'none') ? (o.benignEpisodes ?? o.episodes) : 0;
    writeFileSync(
      `${o.out}.json`,
      `${JSON.stringify({ policy: basename(policyDir), episodes: o.episodes, benignEpisodes, seed: o.seed, at: o.at, duration: o.duration, length: o.length, detectWithinS: DETECT_WITHIN_S, monitor: DEFAULT_MONITOR, results, weights, rendezvous, roc }, null, 2)}\n`,
    );
    writeFileSync(`${o.out}.md`, monitorMarkdown(results, weights, rendezvous, o, basename(policyDir)));
    // The picture's rate: flagged within DETECT_WITHIN_S.
    const rocPoints = (d: Detector) => roc[d]!.map((p) => ({ falseAlarmsPerRobotHour: p.falseAlarmsPerRobotHour, detectionRate: p.detectionInTimeRate }));
    writeFileSync(`${o.out}-roc.svg`, rocSvg(DETECTORS.map((d) => ({ name: d, colour: ROC_COLOURS[d], points: rocPoints(d) })), basename(policyDir), `flagged within ${DETECT_WITHIN_S} s`));
    log(`wrote ${o.out}.md, ${o.out}.json, ${o.out}-roc.svg`);
    return { detectors: results, rendezvous, weights };
  } finally {
    await team.release();
    await Promise.all(attacks.map((a) => (a.kind === 'adversary' ? a.adversary.release() : undefined)));
  }
}

const ROC_COLOURS: Record<Detector, string> = { belief: '#27c', consistency: '#c72', fused: '#2a7' };

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** False alarms per robot-hour with their 95% interval and the robot-hours counted. */
function falseAlarmText(r: DetectionScore): string {
  return `${r.falseAlarmsPerRobotHour.toFixed(2)} [${r.falseAlarmsCi95[0].toFixed(2)}, ${r.falseAlarmsCi95[1].toFixed(2)}] (${r.falseAlarms} in ${r.cleanRobotHours.toFixed(1)} h)`;
}

function detectionText(r: DetectionScore): [string, string, string] {
  return [
    r.detectionInTimeRate === null ? '-' : `${pct(r.detectionInTimeRate)} [${pct(r.detectionInTimeCi95![0])}, ${pct(r.detectionInTimeCi95![1])}]`,
    r.detectionRate === null ? '-' : pct(r.detectionRate),
    r.meanTimeToDetectS === null ? '-' : `${r.meanTimeToDetectS.toFixed(2)} s`,
  ];
}

export function monitorTable(results: DetectorResult[]): string {
  const lines = [
    `| attack | detector | flagged within ${DETECT_WITHIN_S} s [95% interval] | flagged while compromised | mean time to detect | false alarms per robot-hour [95% interval] (count in robot-hours) |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of results) lines.push(`| ${r.attack} | ${r.detector} | ${detectionText(r).join(' | ')} | ${falseAlarmText(r)} |`);
  return lines.join('\n');
}

/** The fused detector per belief weight, all episodes pooled. */
export function weightTable(rows: WeightResult[]): string {
  const lines = [`| belief weight | flagged within ${DETECT_WITHIN_S} s [95% interval] | flagged while compromised | mean time to detect | false alarms per robot-hour [95% interval] (count in robot-hours) |`, '|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.beliefWeight}${r.beliefWeight === DEFAULT_MONITOR.belief.weight ? ' (default)' : ''} | ${detectionText(r).join(' | ')} | ${falseAlarmText(r)} |`);
  return lines.join('\n');
}

/** Per attack: the uncompromised robots gathered at end [95% Wilson interval], final spread, largest-cluster fraction. */
export function rendezvousTable(rows: AttackOutcome[]): string {
  const lines = ['| attack | episodes | gathered at end [95% interval] | final spread | largest-cluster fraction |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.attack} | ${r.episodes} | ${pct(r.gatheredAtEndRate)} [${pct(r.gatheredAtEndCi95[0])}, ${pct(r.gatheredAtEndCi95[1])}] | ${r.meanFinalDistance.toFixed(2)} m | ${r.meanLargestClusterFraction.toFixed(2)} |`);
  }
  return lines.join('\n');
}

function monitorMarkdown(results: DetectorResult[], weights: WeightResult[], rendezvous: AttackOutcome[], o: MonitorEvalOptions, policy: string): string {
  const m = DEFAULT_MONITOR;
  const c = m.consistency;
  const b = m.belief;
  const benign = results.find((r) => r.attack === 'none' && r.detector === 'fused');
  return [
    `# Monitor evaluation: ${policy}`,
    '',
    `${o.episodes} seeded episodes per attack${benign ? ` and ${o.benignEpisodes ?? o.episodes} benign episodes (${benign.cleanRobotHours.toFixed(1)} robot-hours)` : ''} (seed ${o.seed}), ${o.length} s each on the twin with its noise model; in attacked episodes robot e mod N is compromised from ${o.at} s for ${o.duration} s.`,
    `Flag at suspicion >= ${m.flagAt} for ${m.flagTicks} ticks, clear at <= ${m.clearAt} for ${m.clearTicks} ticks. Consistency: CUSUM drift ${c.drift}, threshold ${c.threshold}, at most ${c.maxTickScore} per tick; bias threshold ${c.biasThreshold}. Belief: CUSUM of the prior-corrected log-likelihood ratio, drift ${b.drift}, threshold ${b.threshold}, weight ${b.weight} in the fusion.`,
    `Flagged within ${DETECT_WITHIN_S} s = the victim flagged within ${DETECT_WITHIN_S} s of its attack's start (95% Wilson interval); flagged while compromised = at any time during the attack. False alarm = a flag raised on a robot that was not compromised at that tick, per robot-hour of such robots (95% exact Poisson interval; the count and the robot-hours it is over in brackets). The "none" rows count benign episodes only; "all attacks" pools every episode, benign ones included.`,
    '',
    `Reproduce: \`npm run eval:monitor -- ${process.argv.slice(3).join(' ')}\``,
    '',
    monitorTable(results),
    '',
    '## What the belief earns: the fused detector per belief weight',
    '',
    'The fused suspicion is 1 - (1 - w b)(1 - c), with b the belief and c the consistency signal; every episode above rescored with each weight w:',
    '',
    weightTable(weights),
    '',
    '## Uncompromised robots at the end of the episode',
    '',
    'All robots but robot e mod N (in benign episodes too, left out but not attacked, so that every row scores the same robots), at the last tick:',
    'gathered at end = all inside the gather circle around their centroid; final spread = their mean pairwise distance; largest-cluster fraction = their share in the largest cluster (robots linked within half the gather diameter).',
    '',
    rendezvousTable(rendezvous),
    '',
    `![ROC](${basename(o.out)}-roc.svg)`,
    '',
  ].join('\n');
}
