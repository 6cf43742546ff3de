// Why does isolating a flagged robot cost the others their gathering in the local variant? Runs the same
// seeded episodes as `npm run eval:isolation` (runtime trials on the twin, fast sim link, the victims
// compromised throughout, beliefs forgotten after 5 s) and prints, per episode and onFlag, what the
// outcome table does not show: how far the uncompromised robots are from their gather circle at the end,
// where the victim is, how many ticks an uncompromised robot touches it, and how long the uncompromised
// robots' sensing graph is split. With --counterfactual (attack row `none`), the victim is a benign robot
// that the others see (visible), that no robot observes from tick 0 (invisible), or that is also held in a
// corner of the arena for the whole episode (removed): what the other nine do with the tenth robot present,
// unseen, or absent.
//   node --import tsx scripts/isolation-diagnosis.ts <policy> <attack row> [modes] [episodes] [seed]
//   node --import tsx scripts/isolation-diagnosis.ts <policy> none --counterfactual visible|invisible|removed [episodes] [seed]
import { resolve } from 'node:path';
import { meanTCi95, wilsonCi95 } from '../sim/evaluation.js';
import { SimLink } from '../sim/sim-link.js';
import { episodeVictims, loadAttackRow } from '../src/attacks/attack.js';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { readManifest } from '../src/policy/folder.js';
import { OnnxTeam } from '../src/policy/team.js';
import { parseOnFlag, type OnFlag } from '../src/runtime/isolation.js';
import { scoredOutcome } from '../src/runtime/team-outcome.js';
import { swarmTrial } from '../src/runtime/trial.js';

type Pose = { x: number; y: number };

/** Connected components of `idx` in the graph of pairs within r. */
function components(P: readonly Pose[], idx: readonly number[], r: number): number {
  const parent = new Map(idx.map((i) => [i, i]));
  const root = (i: number): number => (parent.get(i) === i ? i : root(parent.get(i)!));
  for (const a of idx) for (const b of idx) if (a < b && Math.hypot(P[a]!.x - P[b]!.x, P[a]!.y - P[b]!.y) <= r) parent.set(root(a), root(b));
  return new Set(idx.map(root)).size;
}

const [policyArg, rowArg, third, fourth, fifth, sixth] = process.argv.slice(2);
if (!policyArg || !rowArg) throw new Error('usage: isolation-diagnosis.ts <policy> <attack row|none> [modes|--counterfactual kind] [episodes] [seed]');
const counterfactual = third === '--counterfactual' ? fourth : undefined;
if (counterfactual !== undefined && !['visible', 'invisible', 'removed'].includes(counterfactual)) throw new Error(`--counterfactual: '${counterfactual}' is not visible, invisible or removed`);
const modes: OnFlag[] = counterfactual ? ['isolate'] : (third ?? 'report,isolate,isolate-and-stop').split(',').map((m) => parseOnFlag(m));
const episodes = Number((counterfactual ? fifth : fourth) ?? 50);
const seed = Number((counterfactual ? sixth : fifth) ?? 6_000_000);

const policyDir = resolve(policyArg);
const settings = resolveSwarmConfig({ ...(readManifest(policyDir).training.config.env as Record<string, unknown>) });
const row = await loadAttackRow(rowArg, settings);
const N = settings.robotIds.length;
const ticks = settings.episodeSteps;
const R = settings.observation.sensingRadius;
const contact = 2 * settings.robots[0]!.bodyRadius + 0.005;
const teams = new Map<OnFlag, OnnxTeam>();
for (const m of modes) {
  const team = await OnnxTeam.load(policyDir, settings.observation);
  team.setForgetAfter(Math.round(5 / settings.controlPeriod));
  teams.set(m, team);
}
const label = (m: OnFlag) => counterfactual ?? m;
console.log(`${rowArg}, ${episodes} episodes from seed ${seed}; gather circle radius ${settings.gatherDiameter / 2} m, sensing radius ${R} m`);
const gathered = new Map<OnFlag, number[]>(modes.map((m) => [m, []]));
for (let e = 0; e < episodes; e++) {
  const victims = episodeVictims(e, N, row.victims);
  const clean = settings.robotIds.map((_, i) => i).filter((i) => !victims.includes(i));
  const line = [`e${e} victim ${victims.join(',')}`];
  for (const m of modes) {
    const link = new SimLink(settings, 'fast', seed + e);
    const injections = row.attack.kind === 'none' ? [] : victims.map((robot) => ({ robot, fromTick: 0, toTick: ticks, attack: row.attack }));
    const run = swarmTrial(settings, teams.get(m)!, link, { trialMode: true, injections, seed: seed + e, onFlag: counterfactual ? 'report' : m });
    const truth = (link.twin.world as unknown as { truth: { x: Float64Array; y: Float64Array } }).truth;
    let touching = 0;
    let split = 0;
    for (let t = 0; t < ticks; t++) {
      if (counterfactual === 'invisible' || counterfactual === 'removed') for (const v of victims) run.response.isolated[v] = 1;
      if (counterfactual === 'removed') for (const v of victims) [truth.x[v], truth.y[v]] = [0.05, 0.05];
      await run.step();
      link.advance();
      const P = run.records.at(-1)!.truePoses!;
      for (const i of clean) for (const v of victims) if (Math.hypot(P[i]!.x - P[v]!.x, P[i]!.y - P[v]!.y) < contact) touching++;
      if (components(P, clean, R) > 1) split++;
    }
    const o = scoredOutcome(run.records, settings.robotIds, settings, new Set(victims))!;
    const P = run.records.at(-1)!.truePoses!;
    const cx = clean.reduce((s, i) => s + P[i]!.x, 0) / clean.length;
    const cy = clean.reduce((s, i) => s + P[i]!.y, 0) / clean.length;
    const farthest = Math.max(...clean.map((i) => Math.hypot(P[i]!.x - cx, P[i]!.y - cy)));
    const victimFrom = victims.map((v) => Math.hypot(P[v]!.x - cx, P[v]!.y - cy).toFixed(3)).join(',');
    gathered.get(m)!.push(Number(o.gatheredAtEnd));
    line.push(
      `${label(m)}: gathered ${Number(o.gatheredAtEnd)} farthest ${farthest.toFixed(3)} m spread ${o.finalMeanPairwiseDistance.toFixed(3)} m ` +
        `victim at ${victimFrom} m touching ${touching} robot-ticks sensing graph split ${split} ticks (${components(P, clean, R)} part(s) at the end) ` +
        `isolations ${run.events.filter((x) => x.kind === 'isolate').length}`,
    );
  }
  console.log(line.join(' | '));
}
for (const m of modes) {
  const g = gathered.get(m)!;
  const k = g.reduce((a, b) => a + b, 0);
  const [lo, hi] = wilsonCi95(k, g.length);
  const report = gathered.get('report');
  const paired = report && m !== 'report' ? meanTCi95(g.map((x, i) => x - report[i]!)) : null;
  const diff = paired ? `; minus report ${(100 * paired.mean).toFixed(0)} pp [${paired.ci ? paired.ci.map((x) => (100 * x).toFixed(0)).join(', ') : '-'}]` : '';
  console.log(`${label(m)}: gathered ${k}/${g.length} = ${((100 * k) / g.length).toFixed(0)}% [${(100 * lo).toFixed(0)}%, ${(100 * hi).toFixed(0)}%]${diff}`);
}
for (const team of teams.values()) await team.release();
if (row.attack.kind === 'adversary') await row.attack.adversary.release();
