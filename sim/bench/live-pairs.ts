// npm run bench:live-pairs — what running the belief network on live pairs only (a deployed team,
// OnnxTeam.setForgetAfter with the runtime's SwarmView) changes against the dense form with the same
// forgetting (every ordered pair advanced every tick, a forgotten pair's state zeroed each tick): the
// policy policies/eir-mappo-local-sparse drives the twin (noise on) with live pairs; at every tick the dense
// team acts on the same view, and the two are compared on the beliefs of the pairs observed now, the
// monitor's aggregated belief per robot and the commands. Then each form drives its own closed-loop run
// and the uncompromised outcome at the end is compared. `--seeds k` (default 4), `--ticks t` (default 300).
import { join } from 'node:path';
import { readManifest } from '../../src/policy/folder.js';
import { OnnxTeam, type TeamView } from '../../src/policy/team.js';
import { rendezvousOutcome } from '../../src/core/rendezvous.js';
import { SimLink } from '../sim-link.js';
import { SwarmView } from '../../src/runtime/swarm-view.js';
import { aggregateBeliefs, beliefEvidence } from '../../src/monitor/monitor.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../../src/core/swarm-config.js';
import { trainingPrior } from '../../src/policy/pair-beliefs.js';

const dir = join(PROJECT_ROOT, 'policies', 'eir-mappo-local-sparse');
const arg = (name: string, fallback: number) => {
  const k = process.argv.indexOf(`--${name}`);
  const v = k < 0 ? fallback : Number(process.argv[k + 1]);
  if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`bench:live-pairs: --${name} must be a positive integer, got ${process.argv[k + 1]}`);
  return v;
};
const SEEDS = arg('seeds', 4);
const TICKS = arg('ticks', 300);
/** The launch file's default forgetNeighbourAfter (5 s) at 10 Hz. */
const FORGET_AFTER = 50;

/** The same view without its observed-pairs list: the team falls back to the dense form. */
function denseView(view: SwarmView): TeamView {
  return { envs: 1, robots: view.robots, obs: view.obs, rowIds: view.rowIds, pairFeatures: (e, out) => view.pairFeatures(e, out) };
}

/** N robots at the training density (arena side 2 m x sqrt(N / 10)), noise on: the twin, and the view `team` observes through. */
function constantDensitySwarm(N: number, seed: number, team: OnnxTeam) {
  const side = 2 * Math.sqrt(N / 10);
  const settings = resolveSwarmConfig({ ...(readManifest(dir).training.config.env as object), robots: N, arena: { width: side, height: side }, noise: 'default' });
  const spec = team.policy.manifest.observation;
  return { settings, link: new SimLink(settings, 'fast', seed), view: new SwarmView({ ...spec, id: spec.spec }, N, settings.controlPeriod) };
}

async function lockstep(N: number, seed: number, live: OnnxTeam, dense: OnnxTeam) {
  const { settings, link, view } = constantDensitySwarm(N, seed, live);
  live.resetEnv(0);
  dense.resetEnv(0);
  const a = new Float32Array(2 * N);
  const b = new Float32Array(2 * N);
  const R = live.beliefsPerPair;
  let beliefMax = 0;
  let beliefSum = 0;
  let beliefs = 0;
  let aggMax = 0;
  let cmdMax = 0;
  let cmdSum = 0;
  for (let t = 0; t < TICKS; t++) {
    view.update(link.poses().map((p) => p!));
    await live.act(view, a);
    await dense.act(denseView(view), b);
    const lb = live.lastBeliefs;
    const db = dense.lastBeliefs;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        if (!view.observes(i, j)) continue;
        for (let r = 0; r < R; r++) {
          const d = Math.abs(lb[(i * N + j) * R + r]! - db[(i * N + j) * R + r]!);
          beliefMax = Math.max(beliefMax, d);
          beliefSum += d;
          beliefs++;
        }
      }
    }
    const prior = trainingPrior(live.policy.manifest);
    const la = live.livePairs!.meanOverObservers(beliefEvidence(prior));
    const da = aggregateBeliefs(db, R, N, (i, j) => view.observes(i, j), prior);
    for (let j = 0; j < N; j++) aggMax = Math.max(aggMax, Math.abs(la.value[j]! - da.value[j]!));
    for (let k = 0; k < 2 * N; k++) {
      const d = Math.abs(a[k]! - b[k]!);
      cmdMax = Math.max(cmdMax, d);
      cmdSum += d;
    }
    for (let i = 0; i < N; i++) link.send(i, a[2 * i]!, a[2 * i + 1]!);
    view.sent(a);
    link.advance();
  }
  await link.stop();
  return { beliefMax, beliefMean: beliefSum / Math.max(1, beliefs), aggMax, cmdMax, cmdMean: cmdSum / (2 * N * TICKS), settings };
}

/** One closed-loop run driven by `team` (live pairs, or dense through the view wrapper): the outcome at the end. */
async function closedLoop(N: number, seed: number, team: OnnxTeam, asDense: boolean) {
  const { settings, link, view } = constantDensitySwarm(N, seed, team);
  team.resetEnv(0);
  const a = new Float32Array(2 * N);
  for (let t = 0; t < TICKS; t++) {
    view.update(link.poses().map((p) => p!));
    await team.act(asDense ? denseView(view) : view, a);
    for (let i = 0; i < N; i++) link.send(i, a[2 * i]!, a[2 * i + 1]!);
    view.sent(a);
    link.advance();
  }
  const poses = link.truePoses();
  const x = Float64Array.from(poses, (p) => p.x);
  const y = Float64Array.from(poses, (p) => p.y);
  await link.stop();
  return rendezvousOutcome(x, y, 0, N, settings.gatherDiameter);
}

const trained = resolveSwarmConfig({ ...(readManifest(dir).training.config.env as object) }).observation;
const live = await OnnxTeam.load(dir, trained);
const dense = await OnnxTeam.load(dir, trained);
live.setForgetAfter(FORGET_AFTER);
dense.setForgetAfter(FORGET_AFTER);
console.log(`bench:live-pairs: ${dir}, forget after ${FORGET_AFTER} ticks, ${TICKS} ticks x ${SEEDS} seeds, noise on; live pairs against dense (differences: absolute)`);
for (const N of [10, 40, 100]) {
  const rows: Awaited<ReturnType<typeof lockstep>>[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) rows.push(await lockstep(N, seed, live, dense));
  const max = (k: 'beliefMax' | 'aggMax' | 'cmdMax') => Math.max(...rows.map((r) => r[k])).toFixed(3);
  const mean = (k: 'beliefMean' | 'cmdMean') => (rows.reduce((s, r) => s + r[k], 0) / rows.length).toFixed(4);
  const outcomes: (readonly [ReturnType<typeof rendezvousOutcome>, ReturnType<typeof rendezvousOutcome>])[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) outcomes.push([await closedLoop(N, seed, live, false), await closedLoop(N, seed, dense, true)] as const);
  const gathered = (k: 0 | 1) => outcomes.filter((o) => o[k].gatheredAtEnd).length;
  const spread = (k: 0 | 1) => (outcomes.reduce((s, o) => s + o[k].finalMeanPairwiseDistance, 0) / outcomes.length).toFixed(3);
  console.log(
    `  N=${String(N).padEnd(4)} belief of observed pairs: mean ${mean('beliefMean')}, max ${max('beliefMax')}; monitor's aggregated belief: max ${max('aggMax')}; ` +
      `commands: mean ${mean('cmdMean')}, max ${max('cmdMax')}; closed loop, gathered at end: live ${gathered(0)}/${SEEDS}, dense ${gathered(1)}/${SEEDS}; ` +
      `final mean pairwise distance: live ${spread(0)} m, dense ${spread(1)} m`,
  );
}
await live.release();
await dense.release();
