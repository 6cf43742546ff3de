import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEvaluation } from '../src/cli/evaluate.js';
import { formatTrial, runTrial } from '../src/cli/trial.js';
import { observationLayout, OWN_FEATURES, ROW_DIM } from '../src/core/observation.js';
import { ConsensusController, WmsrController, type RelativePoint } from '../sim/controllers.js';
import { makeController, runEpisode, type EpisodeResult } from '../sim/episode.js';
import { overrideFromFunction } from '../src/attacks/override.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { settings } from './helpers.js';

const s = settings({ robots: 10 });
const spec = s.observation;
const layout = observationLayout(spec);
const wmsr = (F = 1) => new WmsrController(spec, layout, s.robots[0]!, F);
const consensus = new ConsensusController(spec, layout, s.robots[0]!);

/** One robot's observation holding these neighbours (m, in its frame) and nothing else. */
function observationOf(neighbours: [number, number][]): Float32Array {
  const obs = new Float32Array(layout.size);
  neighbours.forEach(([x, y], k) => {
    const row = layout.rowsOffset + k * ROW_DIM;
    const d = Math.hypot(x, y);
    obs[row] = d / spec.sensingRadius;
    obs[row + 1] = x / d;
    obs[row + 2] = y / d;
    obs[layout.maskOffset + k] = 1;
  });
  return obs;
}

function commandsOf(controller: WmsrController | ConsensusController, obs: Float32Array): number[] {
  const out = new Float32Array(2);
  controller.act(obs, 1, out);
  return Array.from(out);
}

function expectNear(got: RelativePoint, want: RelativePoint): void {
  expect(got.x).toBeCloseTo(want.x, 5);
  expect(got.y).toBeCloseTo(want.y, 5);
}

describe('W-MSR target (F = 1)', () => {
  const honest: [number, number][] = [
    [0.4, 0.1],
    [0.2, -0.3],
    [-0.1, 0.2],
  ];
  // Two places for one far neighbour, both the most extreme value below 0 in x and above 0 in y.
  const farAway: [number, number][] = [
    [-1.0, 1.0],
    [-0.7, 1.2],
  ];

  it('ignores one neighbour at an extreme far-away position; the consensus target follows it', () => {
    // x: -1.0 (or -0.7) and 0.4 discarded, -0.1 and 0.2 kept; y: -0.3 and 1.0 (or 1.2) discarded, 0.1 and 0.2 kept;
    // each averaged with the robot's own 0.
    const want = { x: (-0.1 + 0.2) / 3, y: (0.1 + 0.2) / 3 };
    const [a, b] = farAway.map((far) => observationOf([...honest, far]));
    expectNear(wmsr().targetOf(a!, 0), want);
    expectNear(wmsr().targetOf(b!, 0), want);
    expect(commandsOf(wmsr(), a!)).toEqual(commandsOf(wmsr(), b!));

    const honestCentroid = consensus.targetOf(observationOf(honest), 0);
    const pulled = [a!, b!].map((obs) => consensus.targetOf(obs, 0));
    for (const t of pulled) expect(Math.hypot(t.x - honestCentroid.x, t.y - honestCentroid.y)).toBeGreaterThan(0.2);
    expect(Math.hypot(pulled[0]!.x - pulled[1]!.x, pulled[0]!.y - pulled[1]!.y)).toBeGreaterThan(0.05);
  });

  it('keeps every value with F = 0: the mean of the robot and all its neighbours', () => {
    const all = [...honest, farAway[0]!];
    const want = { x: all.reduce((sum, [x]) => sum + x, 0) / 5, y: all.reduce((sum, [, y]) => sum + y, 0) / 5 };
    expectNear(wmsr(0).targetOf(observationOf(all), 0), want);
  });

  it('refuses an F that is not a whole number >= 0', () => {
    expect(() => wmsr(-1)).toThrow(RangeError);
    expect(() => wmsr(0.5)).toThrow(RangeError);
  });
});

// With 2F or fewer neighbours the paper's rule is kept as it is (a side holding F or fewer values loses them
// all) rather than falling back to consensus: with that few neighbours a faulty one cannot be outvoted, and a
// robot whose only neighbour is faulty would follow it. The robot then never heads outside the box spanned
// by itself and its neighbours, and stays still when it cannot tell whom to trust.
describe('W-MSR with 2F or fewer neighbours (F = 1)', () => {
  it('stays still with no neighbour or a lone one, where consensus drives to the lone one', () => {
    expect(commandsOf(wmsr(), observationOf([]))).toEqual([0, 0]);
    const lone = observationOf([[0.5, 0.2]]);
    expectNear(wmsr().targetOf(lone, 0), { x: 0, y: 0 });
    expect(commandsOf(wmsr(), lone)).toEqual([0, 0]);
    expect(commandsOf(consensus, lone).some((u) => u !== 0)).toBe(true);
  });

  it('with two neighbours on one side of an axis keeps the nearer on that axis; on both sides keeps neither', () => {
    expectNear(wmsr().targetOf(observationOf([[0.5, 0.2], [0.3, 0.4]]), 0), { x: 0.3 / 2, y: 0.2 / 2 });
    expectNear(wmsr().targetOf(observationOf([[0.5, 0.2], [-0.4, 0.3]]), 0), { x: 0, y: 0.2 / 2 });
    expectNear(wmsr().targetOf(observationOf([[0.5, 0.2], [-0.4, -0.3]]), 0), { x: 0, y: 0 });
  });
});

/** Distance (m) the centroid of every robot but the victim moved between the first and the last step. */
function honestCentroidDrift(r: EpisodeResult): number {
  const centroid = (step: number) => {
    let x = 0;
    let y = 0;
    for (let k = 0; k < r.robots; k++) {
      if (k === r.victim) continue;
      x += r.trajectory[(step * r.robots + k) * 3]!;
      y += r.trajectory[(step * r.robots + k) * 3 + 1]!;
    }
    const honest = r.robots - (r.victim >= 0 ? 1 : 0);
    return [x / honest, y / honest] as const;
  };
  const [x0, y0] = centroid(0);
  const [x1, y1] = centroid(r.steps);
  return Math.hypot(x1 - x0, y1 - y0);
}

/** A robot that drives to the arena's (+x, +y) corner from its own tracked pose and parks there. */
const parksInCorner = overrideFromFunction('parks-in-corner', (ctx) => {
  const own = (feature: (typeof OWN_FEATURES)[number]) => ctx.observation[ctx.obsOffset + OWN_FEATURES.indexOf(feature)]!;
  const dx = 0.9 - own('positionX');
  const dy = 0.9 - own('positionY');
  if (Math.hypot(dx, dy) < 0.03) return [0, 0];
  const cos = own('cosHeading');
  const sin = own('sinHeading');
  const bearing = Math.atan2(-dx * sin + dy * cos, dx * cos + dy * sin);
  const forward = Math.max(0, Math.cos(bearing));
  const turn = Math.max(-1, Math.min(1, 2 * bearing));
  return [Math.max(-1, forward - turn), Math.min(1, forward + turn)];
});

describe('W-MSR on the twin (10 robots, noise off)', () => {
  it('gathers a benign swarm inside 0.3 m', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      expect(runEpisode(s, seed, makeController('wmsr', s, seed)).metrics.timeToGather, `seed ${seed}`).not.toBeNull();
    }
  });

  it('is not dragged by a robot that parks in a corner, which drags the consensus swarm there', () => {
    for (const seed of [2, 3, 4]) {
      const victim = { robot: 0, override: parksInCorner };
      const resilient = runEpisode(s, seed, makeController('wmsr', s, seed), victim);
      const plain = runEpisode(s, seed, makeController('consensus', s, seed), victim);
      expect(resilient.metrics.timeToGather, `seed ${seed}`).not.toBeNull();
      expect(honestCentroidDrift(resilient), `seed ${seed}`).toBeLessThan(0.25);
      expect(honestCentroidDrift(plain), `seed ${seed}`).toBeGreaterThan(0.5);
    }
  });
});

describe('wmsr from the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-wmsr-'));

  it('drives a trial, with F as given, and refuses F for another driver', async () => {
    const options = { controller: 'wmsr', seed: 4, noise: 'off', out: join(dir, 'wmsr.svg'), json: false } as const;
    const byDefault = await runTrial(options);
    const withF2 = await runTrial({ ...options, wmsrF: 2 });
    expect(byDefault.metrics.timeToGather).not.toBeNull();
    expect(withF2.metrics.episodeReturn).not.toBe(byDefault.metrics.episodeReturn);
    expect(formatTrial(options, byDefault)).toContain('wmsr (F = 1)');
    expect(formatTrial({ ...options, wmsrF: 2 }, withF2)).toContain('wmsr (F = 2)');
    await expect(runTrial({ ...options, controller: 'consensus', wmsrF: 2 })).rejects.toThrow('--wmsr-f needs --controller wmsr');
  });

  it('is a column of the evaluation matrix', async () => {
    const mappo = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
    const { cells } = await runEvaluation({ quiet: true, policy: [mappo, 'consensus', 'wmsr'], attack: ['fault:spin'], episodes: 2, seed: 5 }, () => {});
    expect(cells.map((c) => c.policy)).toEqual(['mappo-rendezvous', 'consensus', 'wmsr']);
    expect(cells[2]!.result.meanReturn).not.toBe(cells[1]!.result.meanReturn);
  }, 60_000);
});
