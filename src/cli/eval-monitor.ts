// `swarmguard eval-monitor` (npm run eval:monitor): how well the monitor catches compromised robots, over
// seeded batch trials on the twin (fast sim link, noise on). Each episode one robot (e mod N) is compromised
// from `at` for `duration` seconds; benign episodes ('none') only count false alarms. For each detector
// (belief, consistency, fused) it reports the detection rate, the mean time to detect and the false alarms
// per robot-hour at the configured thresholds, and draws a ROC picture by sweeping the flag threshold.
// Per attack it also reports how the uncompromised robots (all but robot e mod N, in benign episodes too)
// did at rendezvous by the end of the episode.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { resolveSimConfig } from '../core/swarm-config.js';
import { summariseOutcomes, type OutcomeSummary } from '../../sim/evaluation.js';
import type { RendezvousOutcome } from '../core/rendezvous.js';
import { attackName, loadAttack, type Attack } from '../attacks/attack.js';
import { DEFAULT_MONITOR, Hysteresis, type MonitorSettings } from '../monitor/monitor.js';
import { readManifest } from '../policy/folder.js';
import { OnnxTeam } from '../policy/team.js';
import { SimLink } from '../../sim/sim-link.js';
import { scoredOutcome } from '../runtime/team-outcome.js';
import { swarmTrial } from '../runtime/trial.js';
import { rocSvg } from './roc-picture.js';
import { UserError } from '../core/user-error.js';

export const DETECTORS = ['belief', 'consistency', 'fused'] as const;
export type Detector = (typeof DETECTORS)[number];

export interface MonitorEvalOptions {
  policy: string;
  attack: string[];
  episodes: number;
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
interface EpisodeSignals {
  attack: string;
  victim: number;
  fromTick: number;
  toTick: number;
  signals: Record<Detector, Float64Array>;
  ticks: number;
  robots: number;
}

export interface DetectorResult {
  attack: string;
  detector: Detector;
  /** Attacked episodes whose victim was flagged while compromised, of all attacked episodes. */
  detectionRate: number | null;
  meanTimeToDetectS: number | null;
  falseAlarmsPerRobotHour: number;
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
export function score(eps: EpisodeSignals[], d: Detector, s: Pick<MonitorSettings, 'flagAt' | 'clearAt' | 'flagTicks' | 'clearTicks'>, period: number): Omit<DetectorResult, 'attack' | 'detector'> {
  let attacked = 0;
  let detected = 0;
  let delay = 0;
  let falseAlarms = 0;
  let cleanRobotTicks = 0;
  for (const ep of eps) {
    const compromised = (t: number, j: number) => j === ep.victim && t >= ep.fromTick && t < ep.toTick;
    const flags = flagsOf(ep, d, s);
    if (ep.victim >= 0) {
      attacked++;
      const hit = flags.find(([t, j]) => compromised(t, j));
      if (hit) {
        detected++;
        delay += (hit[0] - ep.fromTick) * period;
      }
    }
    falseAlarms += flags.filter(([t, j]) => !compromised(t, j)).length;
    cleanRobotTicks += ep.ticks * ep.robots - (ep.victim >= 0 ? ep.toTick - ep.fromTick : 0);
  }
  return {
    detectionRate: attacked ? detected / attacked : null,
    meanTimeToDetectS: detected ? delay / detected : null,
    falseAlarmsPerRobotHour: falseAlarms / ((cleanRobotTicks * period) / 3600),
  };
}

export interface MonitorEvaluation {
  /** Per attack (and all attacks pooled) and detector. */
  detectors: DetectorResult[];
  /** Per attack: the uncompromised robots at the end of the episodes. */
  rendezvous: AttackOutcome[];
}

export async function runMonitorEvaluation(o: MonitorEvalOptions, log: (line: string) => void = (l) => console.error(l)): Promise<MonitorEvaluation> {
  const policyDir = resolve(o.policy);
  const manifest = readManifest(policyDir);
  const settings = resolveSimConfig({ ...(manifest.training.config.env as Record<string, unknown>) });
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
    bar?.start(attacks.length * o.episodes, 0, { attack: '' });
    for (const attack of attacks) {
      for (let e = 0; e < o.episodes; e++) {
        const link = new SimLink(settings, 'fast', o.seed + e);
        const victim = attack.kind === 'none' ? -1 : e % N;
        const run = swarmTrial(settings, team, link, { trialMode: true, injections: victim < 0 ? [] : [{ robot: victim, fromTick, toTick, attack }], seed: o.seed + e });
        const monitor = run.parts.monitor;
        const signals = { belief: new Float64Array(ticks * N), consistency: new Float64Array(ticks * N), fused: new Float64Array(ticks * N) };
        for (let t = 0; t < ticks; t++) {
          await run.step();
          link.advance();
          for (let j = 0; j < N; j++) {
            signals.belief[t * N + j] = monitor.beliefSignal[j]!;
            signals.consistency[t * N + j] = monitor.consistency.suspicion(j);
            signals.fused[t * N + j] = monitor.suspicion[j]!;
          }
        }
        for (const ev of run.events) if (ev.kind === 'attack-error') log(`${attackName(attack)}: episode ${e}, ${ev.robot} stopped: ${ev.problem}`);
        all.push({ attack: attackName(attack), victim, fromTick, toTick, signals, ticks, robots: N });
        // Robot e mod N left out whether attacked or not: every attack's row scores the same robots.
        const ending = scoredOutcome(run.records, settings.robotIds, settings, new Set([e % N]));
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
    // ROC: the flag threshold swept (clear threshold kept at the same fraction of it), all episodes pooled.
    const thresholds = Array.from({ length: 19 }, (_, i) => 0.05 * (i + 1));
    const roc = Object.fromEntries(
      DETECTORS.map((d) => [d, thresholds.map((th) => ({ threshold: th, ...score(all, d, { ...DEFAULT_MONITOR, flagAt: th, clearAt: th * (DEFAULT_MONITOR.clearAt / DEFAULT_MONITOR.flagAt) }, period) }))]),
    );
    mkdirSync(resolve(o.out, '..'), { recursive: true });
    writeFileSync(`${o.out}.json`, `${JSON.stringify({ policy: basename(policyDir), episodes: o.episodes, seed: o.seed, at: o.at, duration: o.duration, length: o.length, monitor: DEFAULT_MONITOR, results, rendezvous, roc }, null, 2)}\n`);
    writeFileSync(`${o.out}.md`, monitorMarkdown(results, rendezvous, o, basename(policyDir)));
    writeFileSync(`${o.out}-roc.svg`, rocSvg(DETECTORS.map((d) => ({ name: d, colour: ROC_COLOURS[d], points: roc[d]! })), basename(policyDir)));
    log(`wrote ${o.out}.md, ${o.out}.json, ${o.out}-roc.svg`);
    return { detectors: results, rendezvous };
  } finally {
    await team.release();
    await Promise.all(attacks.map((a) => (a.kind === 'adversary' ? a.adversary.release() : undefined)));
  }
}

const ROC_COLOURS: Record<Detector, string> = { belief: '#27c', consistency: '#c72', fused: '#2a7' };

export function monitorTable(results: DetectorResult[]): string {
  const lines = ['| attack | detector | detection rate | mean time to detect | false alarms per robot-hour |', '|---|---|---|---|---|'];
  for (const r of results) {
    lines.push(`| ${r.attack} | ${r.detector} | ${r.detectionRate === null ? '-' : `${(100 * r.detectionRate).toFixed(0)}%`} | ${r.meanTimeToDetectS === null ? '-' : `${r.meanTimeToDetectS.toFixed(2)} s`} | ${r.falseAlarmsPerRobotHour.toFixed(2)} |`);
  }
  return lines.join('\n');
}

/** Per attack: the uncompromised robots gathered at end [95% Wilson interval], final spread, largest-cluster fraction. */
export function rendezvousTable(rows: AttackOutcome[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const lines = ['| attack | episodes | gathered at end [95% interval] | final spread | largest-cluster fraction |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.attack} | ${r.episodes} | ${pct(r.gatheredAtEndRate)} [${pct(r.gatheredAtEndCi95[0])}, ${pct(r.gatheredAtEndCi95[1])}] | ${r.meanFinalDistance.toFixed(2)} m | ${r.meanLargestClusterFraction.toFixed(2)} |`);
  }
  return lines.join('\n');
}

function monitorMarkdown(results: DetectorResult[], rendezvous: AttackOutcome[], o: MonitorEvalOptions, policy: string): string {
  const m = DEFAULT_MONITOR;
  return [
    `# Monitor evaluation: ${policy}`,
    '',
    `${o.episodes} seeded episodes per attack (seed ${o.seed}), ${o.length} s each on the twin with its noise model; robot e mod N compromised from ${o.at} s for ${o.duration} s.`,
    `Flag at suspicion >= ${m.flagAt} for ${m.flagTicks} ticks, clear at <= ${m.clearAt} for ${m.clearTicks} ticks; consistency CUSUM drift ${m.consistency.drift}, threshold ${m.consistency.threshold}.`,
    'Detected = the victim flagged while compromised. False alarm = a flag raised on a robot that was not compromised at that tick.',
    '',
    `Reproduce: \`npm run eval:monitor -- ${process.argv.slice(3).join(' ')}\``,
    '',
    monitorTable(results),
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
