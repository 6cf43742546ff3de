import { describe, expect, it } from 'vitest';
import { MetricsSchema } from '../src/core/policy-manifest.js';
import { isGathered, largestClusterFraction, meanPairwiseDistance, rendezvousOutcome } from '../src/core/rendezvous.js';
import { formatTeamOutcome, uncompromisedOutcome } from '../src/runtime/team-outcome.js';
import type { TickRecord } from '../src/runtime/trial.js';
import type { TeamController } from '../src/policy/team.js';
import { evaluationMetrics, summariseEpisodes, wilsonCi95 } from '../sim/evaluation.js';
import { overrideFromFunction } from '../src/attacks/override.js';
import { evaluateTeam } from '../sim/team-eval.js';
import { RendezvousWorld, type Pose } from '../sim/world.js';
import { settings } from './helpers.js';

const pose = (x: number, y: number, heading = 0): Pose => ({ x, y, heading });

describe('outcome metrics at the end of an episode', () => {
  it('largest cluster: robots linked within the link distance, chains included, a left-out robot ignored', () => {
    // Two pairs 1 m apart: two clusters of two.
    const x = Float64Array.of(0.5, 0.6, 1.5, 1.6);
    const y = Float64Array.of(0.5, 0.5, 0.5, 0.5);
    expect(largestClusterFraction(x, y, 0, 4, 0.15)).toBe(0.5);
    // Leaving robot 3 out: the pair {0, 1} is 2 of the 3 scored robots.
    expect(largestClusterFraction(x, y, 0, 4, 0.15, 3)).toBeCloseTo(2 / 3, 12);
    // A chain 0.14 m apart is one cluster, although its ends are 0.42 m apart.
    const chain = Float64Array.of(0, 0.14, 0.28, 0.42);
    expect(largestClusterFraction(chain, new Float64Array(4), 0, 4, 0.15)).toBe(1);
    // Scattered robots: each its own cluster.
    expect(largestClusterFraction(Float64Array.of(0, 1, 2, 3), new Float64Array(4), 0, 4, 0.15)).toBe(0.25);
  });

  it('the outcome is the gather test, the mean pairwise distance and the largest cluster over the same robots', () => {
    const x = Float64Array.of(1, 1.1, 0.1);
    const y = Float64Array.of(1, 1, 1.9);
    expect(rendezvousOutcome(x, y, 0, 3, 0.3, 2)).toEqual({ gatheredAtEnd: true, finalMeanPairwiseDistance: meanPairwiseDistance(x, y, 0, 3, Infinity, 2), largestClusterFraction: 1 });
    expect(rendezvousOutcome(x, y, 0, 3, 0.3)).toEqual({ gatheredAtEnd: false, finalMeanPairwiseDistance: meanPairwiseDistance(x, y, 0, 3), largestClusterFraction: 2 / 3 });
  });

  it('a victim that runs away does not count: the others gathered at the end', () => {
    const s = settings({ robots: 3, episodeSteps: 20 });
    const world = new RendezvousWorld(s, { envs: 2, seed: 0, autoReset: false });
    // Robots 0 and 1 together; robot 2 starts 0.3 m away and drives off at full speed.
    const start = [pose(1, 1), pose(1.1, 1), pose(1.3, 1)];
    world.resetEnv(0, start);
    world.resetEnv(1, start);
    world.setVictim(0, { robot: 2, override: overrideFromFunction('run away', () => [1, 1]) });
    // Env 1: the same motion without an attack, so robot 2 is scored.
    const actions = [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1];
    for (let t = 0; t < 20; t++) world.step(actions);
    expect(world.truth.x[2]).toBeGreaterThan(1.5);
    const attacked = world.metrics(0);
    expect(attacked).toMatchObject({ gatheredAtEnd: true, largestClusterFraction: 1, timeToGather: 0 });
    expect(attacked.finalMeanPairwiseDistance).toBeCloseTo(0.1, 9);
    const all = world.metrics(1);
    expect(all).toMatchObject({ gatheredAtEnd: false, timeToGather: null });
    expect(all.largestClusterFraction).toBeCloseTo(2 / 3, 12);
  });

  it('"ever gathered" is not "gathered at end": a swarm that gathers and scatters again', () => {
    const s = settings({ robots: 2, episodeSteps: 20 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
    // Together at the start, then driving apart.
    world.resetEnv(0, [pose(0.95, 1, Math.PI), pose(1.05, 1, 0)]);
    for (let t = 0; t < 20; t++) world.step([1, 1, 1, 1]);
    expect(world.metrics(0)).toMatchObject({ timeToGather: 0, gatheredAtEnd: false, largestClusterFraction: 0.5 });
  });

  it('a swarm split in two clusters: largest-cluster fraction 0.5, not gathered', () => {
    const s = settings({ robots: 4, episodeSteps: 3 });
    const world = new RendezvousWorld(s, { envs: 1, seed: 0, autoReset: false });
    world.resetEnv(0, [pose(0.5, 0.5), pose(0.6, 0.5), pose(1.5, 1.5), pose(1.6, 1.5)]);
    for (let t = 0; t < 3; t++) world.step(new Float32Array(8));
    expect(world.metrics(0)).toMatchObject({ gatheredAtEnd: false, largestClusterFraction: 0.5, timeToGather: null });
  });

  it('a scored-out robot is left out of the metrics only: not a victim, the reward and observations unchanged', () => {
    const s = settings({ robots: 3, episodeSteps: 10 });
    const world = new RendezvousWorld(s, { envs: 2, seed: 0, autoReset: false });
    const start = [pose(1, 1), pose(1.1, 1), pose(1.3, 1)];
    world.resetEnv(0, start);
    world.resetEnv(1, start);
    world.setScoredOut(1, 'epuck-2');
    expect(Array.from(world.victim)).toEqual([-1, -1]);
    const obsSize = 3 * world.obsSize;
    for (let t = 0; t < 10; t++) {
      world.step([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]);
      expect(world.rewards[1]).toBe(world.rewards[0]);
      expect(world.obs.subarray(obsSize, 2 * obsSize)).toEqual(world.obs.subarray(0, obsSize));
    }
    expect(world.metrics(0)).toMatchObject({ gatheredAtEnd: false, timeToGather: null });
    expect(world.metrics(1)).toMatchObject({ gatheredAtEnd: true, largestClusterFraction: 1, timeToGather: 0 });
    expect(() => world.setScoredOut(0, 'epuck-9')).toThrow(/epuck-9/);
  });

  it('benign evaluation episodes leave out robot e mod N, the victim of the same attacked episode', async () => {
    const s = settings({ robots: 4, episodeSteps: 5 });
    const episodes = 6;
    let world: RendezvousWorld | null = null;
    // A team that stands still and keeps the world it is shown, to check what was scored.
    const still: TeamController = {
      name: 'still',
      act: (view, out) => {
        if (view instanceof RendezvousWorld) world = view;
        out.fill(0);
      },
      resetEnv: () => {},
      release: async () => {},
    };
    const benign = await evaluateTeam(s, still, { episodes, seed: 11 });
    const w = world as RendezvousWorld | null;
    if (!w) throw new Error('the team was not shown the world');
    expect(Array.from(w.victim)).toEqual(new Array(episodes).fill(-1));
    expect(Array.from({ length: episodes }, (_, e) => w.scoredOutOf(e))).toEqual([[0], [1], [2], [3], [0], [1]]);
    const spread = (skip: (e: number) => number) =>
      Array.from({ length: episodes }, (_, e) => meanPairwiseDistance(w.truth.x, w.truth.y, e * 4, 4, Infinity, skip(e))).reduce((a, b) => a + b, 0) / episodes;
    expect(benign.meanFinalDistance).toBeCloseTo(spread((e) => e % 4), 12);
    expect(benign.meanFinalDistance).not.toBeCloseTo(spread(() => -1), 6);
    const gathered = Array.from({ length: episodes }, (_, e) => isGathered(w.truth.x, w.truth.y, e * 4, 4, s.gatherDiameter / 2, e % 4)).filter(Boolean).length;
    expect(benign.gatheredAtEndRate).toBe(gathered / episodes);
    await evaluateTeam(s, still, { episodes, seed: 11, attack: { kind: 'fault', fault: 'stuck' } });
    expect(Array.from((world as RendezvousWorld | null)!.victim)).toEqual([0, 1, 2, 3, 0, 1]);
  });

  it('summaries: the gathered-at-end rate with a 95% Wilson interval, written into a manifest that old manifests still match', () => {
    expect(wilsonCi95(0, 10)[0]).toBe(0);
    expect(wilsonCi95(0, 10)[1]).toBeCloseTo(0.2775, 4);
    expect(wilsonCi95(10, 10)[0]).toBeCloseTo(0.7225, 4);
    expect(wilsonCi95(5, 10)[0]).toBeCloseTo(0.2366, 4);
    expect(wilsonCi95(5, 10)[1]).toBeCloseTo(0.7634, 4);
    const episode = (gatheredAtEnd: boolean, largestClusterFraction: number) => ({
      episodeReturn: -1, defenderReturn: -1, steps: 10, finalMeanPairwiseDistance: 0.2, timeToGather: 1, collisionsPerRobotMinute: 0, wallHitsPerRobotMinute: 0, gatheredAtEnd, largestClusterFraction,
    });
    const ev = summariseEpisodes([episode(true, 1), episode(false, 0.5), episode(true, 1), episode(true, 0.9)]);
    // Ever gathered in all four, at the end in three.
    expect(ev.everGatheredRate).toBe(1);
    expect(ev.gatheredAtEndRate).toBe(0.75);
    expect(ev.gatheredAtEndCi95).toEqual(wilsonCi95(3, 4));
    expect(ev.meanLargestClusterFraction).toBeCloseTo(0.85, 12);
    const written = MetricsSchema.parse(evaluationMetrics(ev, 1, 'off'));
    expect(written).toMatchObject({ gatheredAtEndRate: 0.75, meanLargestClusterFraction: ev.meanLargestClusterFraction });
    const { gatheredAtEndRate: _r, gatheredAtEndCi95: _c, meanLargestClusterFraction: _l, ...old } = written;
    expect(MetricsSchema.parse(old)).toEqual(old);
  });
});

describe("a run's uncompromised robots", () => {
  /** A tick record with the given true poses and compromised robots (other fields as a run fills them). */
  const record = (tick: number, xs: number[], compromised: number[]): TickRecord => ({
    tick, timeMs: tick * 100, poses: xs.map((x) => ({ x, y: 1, theta: 0 })), truePoses: xs.map((x) => ({ x, y: 1, theta: 0 })),
    intended: [], commands: [], stopped: [], belief: [], consistency: [], suspicion: [], flagged: [], compromised,
  });

  it('are the robots never injected: the injected one is left out even after its injection ended', () => {
    const ids = ['a', 'b', 'c'];
    const records = [record(0, [0.5, 1.0, 1.2], []), record(1, [0.8, 1.0, 1.4], [2]), record(2, [0.9, 1.0, 1.8], [2]), record(3, [0.95, 1.0, 1.9], [])];
    const o = uncompromisedOutcome(records, ids, { gatherDiameter: 0.3, controlPeriod: 0.1 })!;
    expect(o.robots).toEqual(['a', 'b']);
    expect(o.gatheredAtEnd).toBe(true);
    expect(o.largestClusterFraction).toBe(1);
    expect(o.finalMeanPairwiseDistance).toBeCloseTo(0.05, 12);
    // a and b first within 0.15 m of their centroid at tick 1.
    expect(o.timeToGather).toBeCloseTo(0.1, 12);
    expect(formatTeamOutcome(o, 0.3)).toMatch(/^gathered at end \(0.3 m circle\), final spread 0.050 m, largest cluster 100% of them, first gathered after 0.1 s$/);
  });

  it('has no outcome when every robot was injected or a scored robot was never located', () => {
    const ids = ['a', 'b'];
    expect(uncompromisedOutcome([record(0, [1, 1.1], [0, 1])], ids, { gatherDiameter: 0.3, controlPeriod: 0.1 })).toBeNull();
    const unlocated = { ...record(0, [1, Number.NaN], []), truePoses: null };
    expect(uncompromisedOutcome([unlocated], ids, { gatherDiameter: 0.3, controlPeriod: 0.1 })).toBeNull();
  });
});
