// A deployed swarm's beliefs on live pairs only (OnnxTeam.setForgetAfter with the runtime's SwarmView):
// what they keep of the dense form, what they deliberately change, and the distributed runtime's bit parity.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAIR_DIM } from '../src/core/observation.js';
import { aggregateBeliefs, beliefEvidence } from '../src/monitor/monitor.js';
import { trainingPrior } from '../src/policy/pair-beliefs.js';
import { readManifest } from '../src/policy/folder.js';
import { OnnxTeam } from '../src/policy/team.js';
import { SimLink } from '../sim/sim-link.js';
import { SwarmView } from '../src/runtime/swarm-view.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';

const dir = join(PROJECT_ROOT, 'policies', 'eir-mappo-local-sparse');
const N = 40;
const side = 2 * Math.sqrt(N / 10);
const settings = resolveSwarmConfig({ ...(readManifest(dir).training.config.env as object), robots: N, arena: { width: side, height: side }, noise: 'default' });
const teams: OnnxTeam[] = [];
const load = async () => {
  const t = await OnnxTeam.load(dir, settings.observation);
  teams.push(t);
  return t;
};
afterAll(async () => {
  await Promise.all(teams.map((t) => t.release()));
});

/** Drives the swarm with `driver` for `ticks` ticks; `each` sees the view after every act. */
async function drive(driver: OnnxTeam, ticks: number, each: (view: SwarmView, tick: number, commands: Float32Array) => Promise<void>, seed = 2): Promise<void> {
  const link = new SimLink(settings, 'fast', seed);
  const spec = driver.policy.manifest.observation;
  const view = new SwarmView({ ...spec, id: spec.spec }, N, settings.controlPeriod);
  const cmd = new Float32Array(2 * N);
  for (let t = 0; t < ticks; t++) {
    view.update(link.poses().map((p) => p!));
    await driver.act(view, cmd);
    await each(view, t, cmd);
    for (let i = 0; i < N; i++) link.send(i, cmd[2 * i]!, cmd[2 * i + 1]!);
    view.sent(cmd);
    link.advance();
  }
}

describe('beliefs on live pairs (deployment)', () => {
  let sparse: OnnxTeam;
  let dense: OnnxTeam;
  beforeAll(async () => {
    sparse = await load();
    sparse.setForgetAfter(1_000_000);
    dense = await load();
  }, 60_000);

  it('keeps the dense beliefs of every pair observed since the start, runs on N x neighbours pairs, and aggregates as the monitor does', async () => {
    const R = sparse.beliefsPerPair;
    const always = new Uint8Array(N * N).fill(1);
    let compared = 0;
    await drive(sparse, 25, async (view) => {
      await dense.act(view, new Float32Array(2 * N));
      const live = sparse.livePairs!;
      expect(live).not.toBeNull();
      expect(dense.livePairs).toBeNull();
      // Nothing is forgotten in 25 ticks: the live pairs are every pair ever observed, far fewer than N^2.
      expect(live.count).toBeLessThan(N * 8);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (!view.observes(i, j)) always[i * N + j] = 0;
      const s = sparse.lastBeliefs;
      const d = dense.lastBeliefs;
      for (let p = 0; p < N * N; p++) {
        if (!always[p]) continue;
        for (let r = 0; r < R; r++) expect(s[p * R + r]!).toBeCloseTo(d[p * R + r]!, 5);
        compared++;
      }
      // The monitor's aggregation over the live pairs is its dense one over the pairs observed now.
      const prior = trainingPrior(sparse.policy.manifest);
      const mean = live.meanOverObservers(beliefEvidence(prior));
      const ref = aggregateBeliefs(s, R, N, (i, j) => view.observes(i, j), prior);
      expect(Array.from(mean.observers)).toEqual(Array.from(ref.observers));
      expect(Array.from(mean.value)).toEqual(Array.from(ref.value));
    });
    expect(compared).toBeGreaterThan(N);
  }, 120_000);

  it('forgets a pair out of range for more than forget-after ticks; observed again, it starts from a zero state', async () => {
    const team = await load();
    const F = 2;
    team.setForgetAfter(F);
    const belief = team.policy.sessions['belief.onnx']!;
    const H = team.policy.manifest.hiddenSizes.belief!;
    const R = team.beliefsPerPair;
    const seenAt = new Map<number, number>();
    let fresh = 0;
    await drive(team, 60, async (view, t) => {
      const live = team.livePairs!;
      for (let p = 0; p < live.count; p++) {
        const key = live.observer[p]! * N + live.neighbour[p]!;
        const observed = view.observes(live.observer[p]!, live.neighbour[p]!);
        // Live only while observed or out of range for at most F ticks.
        if (!observed) expect(t - seenAt.get(key)!).toBeLessThanOrEqual(F);
        if (observed) {
          const last = seenAt.get(key);
          if (last !== undefined && t - last > F + 1 && fresh < 5) {
            // Forgotten, now back: its belief is the network's from a zero state on today's features.
            const out = await belief.run({
              pair_features: new ort.Tensor('float32', live.features.slice(p * PAIR_DIM, (p + 1) * PAIR_DIM), [1, PAIR_DIM]),
              h_in: new ort.Tensor('float32', new Float32Array(H), [1, H]),
            });
            for (let r = 0; r < R; r++) expect(live.beliefs[p * R + r]!).toBeCloseTo((out.belief!.data as Float32Array)[r]!, 5);
            fresh++;
          }
          seenAt.set(key, t);
        }
      }
    });
    expect(fresh).toBeGreaterThan(0);
  }, 120_000);

  it('a team hosting one robot gets bit-identical commands and beliefs to the batched run (distributed runtime)', async () => {
    const hosted: OnnxTeam[] = [];
    for (const i of [0, 7, 23]) {
      const t = await load();
      t.setForgetAfter(3);
      t.host([i], N);
      hosted.push(t);
    }
    const batched = await load();
    batched.setForgetAfter(3);
    const R = batched.beliefsPerPair;
    await drive(batched, 30, async (view, _t, all) => {
      const one = new Float32Array(2 * N);
      for (const [k, i] of [0, 7, 23].entries()) {
        await hosted[k]!.act(view, one);
        expect([one[2 * i], one[2 * i + 1]]).toEqual([all[2 * i], all[2 * i + 1]]);
        const row = (b: Float32Array) => Array.from(b.subarray(i * N * R, (i + 1) * N * R));
        expect(row(hosted[k]!.lastBeliefs)).toEqual(row(batched.lastBeliefs));
      }
    });
  }, 120_000);
});
