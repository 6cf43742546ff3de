// Acting on flags (monitor.onFlag, src/runtime/isolation.ts): under isolate a flagged robot is left out of
// every other robot's observation and belief-network input until the monitor clears it, then comes back;
// under isolate-and-stop the safety layer also holds it still; report changes nothing; the isolations are
// events, counted in the summary. The policy is the shipped EIR-MAPPO (it has a belief network), on the twin.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELD_STILL, LEFT_OUT, PAIR_DIM, ROW_DIM, RendezvousObserver, type ObservationSpec, type SwarmFrame } from '../src/core/observation.js';
import { readManifest } from '../src/policy/folder.js';
import { OnnxTeam } from '../src/policy/team.js';
import { FlagResponse, parseOnFlag, summariseIsolations, type OnFlag } from '../src/runtime/isolation.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial, type Injection, type TrialRun } from '../src/runtime/trial.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';

const SPEC: Omit<ObservationSpec, 'id'> = { maxNeighbours: 4, sensingRadius: 1.5, arenaWidth: 2, arenaHeight: 2, maxSpeed: 0.13, maxTurnRate: 4.7 };

/** Five robots within range of each other, headings and speeds all different. */
function frame(): SwarmFrame {
  const f = (xs: number[]) => Float64Array.from(xs);
  return {
    x: f([0.5, 0.7, 0.6, 0.9, 1.1]),
    y: f([0.5, 0.6, 0.9, 0.4, 0.8]),
    heading: f([0, 1, 2, -1, 0.5]),
    speed: f([0.05, 0.1, 0.02, 0.08, 0.01]),
    turnRate: f([0.1, -0.2, 0.3, 0, 1]),
    command: f([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]),
  };
}

/** Every robot's observation, row ids and belief-pair features of the test frame under an isolation mask. */
function observeWithMask(obs: RendezvousObserver, n: number, mask?: Uint8Array) {
  const out = new Float32Array(n * obs.size);
  const rowIds = new Int32Array(n * SPEC.maxNeighbours);
  const pairs = new Float32Array(n * n * PAIR_DIM);
  obs.observeAll(frame(), 0, n, out, 0, rowIds, 0, mask);
  obs.pairFeaturesAll(frame(), 0, n, pairs, 0);
  return { out, rowIds, pairs };
}

describe('the observation code leaves isolated robots out', () => {
  for (const id of ['rendezvous-v1', 'rendezvous-local-v1'] as const) {
    it(`${id}: out of every other robot's rows, centroid and belief pairs; it still observes them; back when unmasked`, () => {
      const n = 5;
      const obs = new RendezvousObserver({ ...SPEC, id });
      const size = obs.size;
      const run = (mask?: Uint8Array) => observeWithMask(obs, n, mask);
      const open = run();
      const mask = new Uint8Array(n);
      mask[2] = 1;
      const isolated = run(mask);
      const rows = (r: ReturnType<typeof run>, i: number) => Array.from(r.rowIds.subarray(i * SPEC.maxNeighbours, (i + 1) * SPEC.maxNeighbours));
      const inRange = (r: ReturnType<typeof run>, i: number, j: number) => r.pairs[(i * n + j) * PAIR_DIM];
      for (let i = 0; i < n; i++) {
        if (i === 2) continue;
        expect(rows(open, i)).toContain(2);
        expect(rows(isolated, i)).not.toContain(2);
        expect(inRange(open, i, 2)).toBe(1);
        // The belief network's input about robot 2 is that of a robot out of range: all zero.
        expect(Array.from(isolated.pairs.subarray((i * n + 2) * PAIR_DIM, (i * n + 3) * PAIR_DIM))).toEqual(new Array(PAIR_DIM).fill(0));
        // Its other neighbours are still there, and robot 2 is no longer in the centroid their pair features use.
        expect(rows(isolated, i).filter((j) => j >= 0)).toHaveLength(3);
      }
      const other = (0 * n + 1) * PAIR_DIM + PAIR_DIM - 1;
      expect(isolated.pairs[other]).not.toBe(open.pairs[other]);
      // The isolated robot still sees everyone.
      expect(rows(isolated, 2)).toEqual(rows(open, 2));
      expect(Array.from(isolated.out.subarray(2 * size, 3 * size))).toEqual(Array.from(open.out.subarray(2 * size, 3 * size)));
      // Cleared: exactly as before.
      const back = run(new Uint8Array(n));
      expect(back.out).toEqual(open.out);
      expect(back.rowIds).toEqual(open.rowIds);
      expect(back.pairs).toEqual(open.pairs);
    });

    it(`${id}: a robot held still (isolate-and-stop) stays in the others' rows as a still body, out of their centroid and belief pairs`, () => {
      const n = 5;
      const obs = new RendezvousObserver({ ...SPEC, id });
      const size = obs.size;
      const { rowsOffset } = obs.layout;
      const run = (mask?: Uint8Array) => observeWithMask(obs, n, mask);
      const open = run();
      const left = run(Uint8Array.from([0, 0, LEFT_OUT, 0, 0]));
      const held = run(Uint8Array.from([0, 0, HELD_STILL, 0, 0]));
      const row = (r: ReturnType<typeof run>, i: number, k: number) => Array.from(r.out.subarray(i * size + rowsOffset + k * ROW_DIM, i * size + rowsOffset + (k + 1) * ROW_DIM));
      for (let i = 0; i < n; i++) {
        if (i === 2) continue;
        // The same rows as when it is observed: where it is, its heading; shown still.
        expect(held.rowIds.subarray(i * SPEC.maxNeighbours, (i + 1) * SPEC.maxNeighbours)).toEqual(open.rowIds.subarray(i * SPEC.maxNeighbours, (i + 1) * SPEC.maxNeighbours));
        const k = Array.from(held.rowIds.subarray(i * SPEC.maxNeighbours, (i + 1) * SPEC.maxNeighbours)).indexOf(2);
        expect(k).toBeGreaterThanOrEqual(0);
        expect(row(held, i, k)).toEqual([...row(open, i, k).slice(0, 5), 0, 0]);
        expect(row(open, i, k).slice(5)).not.toEqual([0, 0]);
        // No belief-network input about it, as when it is left out.
        expect(Array.from(held.pairs.subarray((i * n + 2) * PAIR_DIM, (i * n + 3) * PAIR_DIM))).toEqual(new Array(PAIR_DIM).fill(0));
        expect(held.pairs.subarray(i * n * PAIR_DIM, (i + 1) * n * PAIR_DIM)).toEqual(left.pairs.subarray(i * n * PAIR_DIM, (i + 1) * n * PAIR_DIM));
      }
      // It still sees everyone as before.
      expect(Array.from(held.out.subarray(2 * size, 3 * size))).toEqual(Array.from(open.out.subarray(2 * size, 3 * size)));
      const pairs = obs.observedPairs;
      for (let p = 0; p < pairs.count; p++) expect(pairs.neighbour[p]).not.toBe(2);
    });
  }
});

describe('FlagResponse and onFlag values', () => {
  it('isolates flagged robots only when acting, ends isolations on clear or a switch to report, and says so as events', () => {
    const ids = ['a', 'b', 'c'];
    const r = new FlagResponse(ids, 'report');
    expect(r.update(1, [false, true, false])).toEqual([]);
    expect(Array.from(r.isolated)).toEqual([0, 0, 0]);
    expect(r.set('isolate-and-stop', 2, [false, true, false], 'console')).toEqual([
      { tick: 2, kind: 'on-flag', onFlag: 'isolate-and-stop', reason: 'console' },
      { tick: 2, kind: 'isolate', robot: 'b', stopped: true },
    ]);
    expect(r.holds(1)).toBe(true);
    // Held still: the others see it as a still body (src/core/observation.ts).
    expect(Array.from(r.isolated)).toEqual([0, HELD_STILL, 0]);
    expect(r.set('isolate', 3, [false, true, false], 'dashboard')).toEqual([{ tick: 3, kind: 'on-flag', onFlag: 'isolate', reason: 'dashboard' }]);
    expect(r.holds(1)).toBe(false);
    expect(Array.from(r.isolated)).toEqual([0, LEFT_OUT, 0]);
    expect(r.update(9, [false, false, false])).toEqual([{ tick: 9, kind: 'isolation-end', robot: 'b', reason: 'cleared', ticks: 7 }]);
    r.update(10, [true, false, false]);
    expect(r.set('report', 12, [true, false, false], 'ros2').at(-1)).toEqual({ tick: 12, kind: 'isolation-end', robot: 'a', reason: 'report', ticks: 2 });
    expect(Array.from(r.isolated)).toEqual([0, 0, 0]);
    // A robot held still is released when the monitor clears it, on probation: back in the others' view.
    const s = new FlagResponse(ids, 'isolate-and-stop');
    expect(s.update(1, [false, false, true])).toEqual([{ tick: 1, kind: 'isolate', robot: 'c', stopped: true }]);
    expect(s.update(4, [false, false, false])).toEqual([{ tick: 4, kind: 'probation', robot: 'c', state: 'started', ticks: 50 }]);
    expect([s.holds(2), s.isIsolated(2), s.onProbation(2)]).toEqual([false, true, true]);
    expect(Array.from(s.isolated)).toEqual([0, 0, 0]);
  });

  it('isolate-and-stop: a robot the monitor clears while held drives again on probation, still isolated; flagged again it is held again, in the same isolation', () => {
    const r = new FlagResponse(['a', 'b'], 'isolate-and-stop', 3);
    expect(r.update(1, [true, false])).toEqual([{ tick: 1, kind: 'isolate', robot: 'a', stopped: true }]);
    expect(r.holds(0)).toBe(true);
    // Cleared while held: released from the hold and back in the others' observations, on probation.
    expect(r.update(2, [false, false])).toEqual([{ tick: 2, kind: 'probation', robot: 'a', state: 'started', ticks: 3 }]);
    expect([r.holds(0), r.onProbation(0), r.isolated[0]]).toEqual([false, true, 0]);
    // Flagged again on probation: held again, no new isolation.
    expect(r.update(3, [true, false])).toEqual([{ tick: 3, kind: 'probation', robot: 'a', state: 'failed', ticks: 3 }]);
    expect([r.holds(0), r.onProbation(0), r.isolated[0]]).toEqual([true, false, HELD_STILL]);
    // Cleared again; a probation that passes (3 ticks unflagged) ends the isolation, cleared.
    expect(r.update(4, [false, false])).toEqual([{ tick: 4, kind: 'probation', robot: 'a', state: 'started', ticks: 3 }]);
    expect(r.update(5, [false, false])).toEqual([]);
    expect(r.update(6, [false, false])).toEqual([]);
    expect(r.update(7, [false, false])).toEqual([{ tick: 7, kind: 'isolation-end', robot: 'a', reason: 'cleared', ticks: 6 }]);
    expect([r.holds(0), r.onProbation(0), r.isolated[0]]).toEqual([false, false, 0]);
    // Under isolate there is no hold, so no probation: a clear ends the isolation at once.
    const iso = new FlagResponse(['a'], 'isolate', 3);
    iso.update(1, [true]);
    expect(iso.update(2, [false])).toEqual([{ tick: 2, kind: 'isolation-end', robot: 'a', reason: 'cleared', ticks: 1 }]);
    expect(() => new FlagResponse(['a'], 'isolate-and-stop', 0)).toThrow(/probationTicks must be an integer >= 1, got 0/);
  });

  it('a bad value is refused, naming it and the choices', () => {
    expect(parseOnFlag('isolate')).toBe('isolate');
    expect(() => parseOnFlag('quarantine', 'monitor.onFlag')).toThrow("monitor.onFlag: 'quarantine' is not one of report, isolate, isolate-and-stop");
  });

  it('the summary counts isolations of compromised robots apart from false ones, with their time', () => {
    const events = [
      { tick: 5, kind: 'isolate', robot: 'a' },
      { tick: 8, kind: 'isolate', robot: 'b' },
      { tick: 15, kind: 'isolation-end', robot: 'b' },
      { tick: 20, kind: 'isolation-end', robot: 'a' },
      { tick: 30, kind: 'isolate', robot: 'a' },
    ];
    const s = summariseIsolations(events, ['a', 'b'], () => [0], 40, 0.1, 'isolate');
    expect(s).toMatchObject({ onFlag: 'isolate', isolations: 3, ofCompromised: 2, falseIsolations: 1, stillIsolated: ['a'] });
    expect(s.isolatedS).toBeCloseTo(1.5 + 0.7 + 1.0);
    expect(s.falseIsolatedS).toBeCloseTo(0.7);
  });
});

describe('a deployed trial acting on flags (shipped EIR-MAPPO with its belief network, twin)', () => {
  const dir = join(PROJECT_ROOT, 'policies', 'eir-mappo-rendezvous');
  const settings = resolveSwarmConfig({ ...(readManifest(dir).training.config.env as object) });
  let team: OnnxTeam;
  beforeAll(async () => {
    team = await OnnxTeam.load(dir, settings.observation);
    team.setForgetAfter(50);
  });
  afterAll(async () => {
    await team.release();
  });

  const VICTIM = 3;
  /** Robot 3 spins from tick 10 to 60 (flagged within a few ticks, cleared about 4 s after). */
  const spin: Injection[] = [{ robot: VICTIM, fromTick: 10, toTick: 60, attack: { kind: 'fault', fault: 'spin' } }];

  /**
   * `ticks` ticks under `onFlag`; per tick, whether the victim was isolated when the observations were built,
   * who had it in a neighbour row, and the belief-network input (pair features) the team was given.
   */
  async function trial(onFlag: OnFlag | undefined, injections: Injection[], ticks: number) {
    const link = new SimLink(settings, 'fast', 7);
    const run: TrialRun = swarmTrial(settings, team, link, { trialMode: true, injections, seed: 7, ...(onFlag ? { onFlag } : {}) });
    const N = settings.robotIds.length;
    // What the team's belief network is fed: the features of the pairs the view observed this tick (the
    // deployed team runs its belief on those live pairs, src/policy/sparse-pair-beliefs.ts).
    const beliefInputsOf = (victim: number): number => {
      const { pairs, features } = run.view.observed();
      let count = 0;
      for (let i = 0; i < N; i++) {
        if (i === victim) continue;
        for (let p = pairs.start[i]!; p < pairs.start[i + 1]!; p++) if (pairs.neighbour[p] === victim && features[p * PAIR_DIM] === 1) count++;
      }
      return count;
    };
    const ticksSeen: { isolated: boolean; held: boolean; seenBy: number; seenMoving: number; beliefInputs: number; belief: number | null }[] = [];
    const { size, layout } = run.view.observer;
    for (let t = 0; t < ticks; t++) {
      const isolated = run.response.isIsolated(VICTIM);
      const held = run.response.holds(VICTIM);
      await run.step();
      link.advance();
      const rowIds = run.view.rowIds;
      const K = rowIds.length / N;
      let seenBy = 0;
      // Rows that show it with a speed or turn rate.
      let seenMoving = 0;
      for (let i = 0; i < N; i++) {
        if (i === VICTIM) continue;
        const k = Array.from(rowIds.subarray(i * K, (i + 1) * K)).indexOf(VICTIM);
        if (k < 0) continue;
        seenBy++;
        const r = i * size + layout.rowsOffset + k * ROW_DIM;
        if (run.view.obs[r + 5] !== 0 || run.view.obs[r + 6] !== 0) seenMoving++;
      }
      const beliefInputs = beliefInputsOf(VICTIM);
      ticksSeen.push({ isolated, held, seenBy, seenMoving, beliefInputs, belief: run.records.at(-1)!.belief[VICTIM]! });
    }
    return { run, ticksSeen };
  }

  it('isolate: the flagged robot is out of every other observation and belief input until cleared, then back', async () => {
    const { run, ticksSeen } = await trial('isolate', spin, 160);
    const iso = run.events.filter((e) => e.kind === 'isolate' || e.kind === 'isolation-end');
    expect(iso[0]).toMatchObject({ kind: 'isolate', robot: 'epuck-3', stopped: false });
    expect(iso[0]!.tick).toBeGreaterThanOrEqual(10);
    expect(iso[0]!.tick).toBeLessThan(20);
    const end = iso.find((e) => e.kind === 'isolation-end')!;
    expect(end).toMatchObject({ robot: 'epuck-3', reason: 'cleared' });
    expect(end.tick).toBeGreaterThan(60);
    const during = ticksSeen.filter((s) => s.isolated);
    expect(during.length).toBeGreaterThan(40);
    for (const s of during) {
      expect(s.seenBy).toBe(0);
      expect(s.beliefInputs).toBe(0);
      // No robot observes it: the monitor has no belief about it (consistency alone judges it).
      expect(s.belief).toBeNull();
    }
    // Before and after: the others observe it (the swarm gathers around it).
    expect(ticksSeen.slice(0, 10).every((s) => s.seenBy > 0 && s.beliefInputs > 0)).toBe(true);
    const after = ticksSeen.slice(end.tick + 1);
    expect(after.length).toBeGreaterThan(10);
    expect(after.every((s) => !s.isolated && s.seenBy > 0 && s.beliefInputs > 0)).toBe(true);
    // Never held still under isolate.
    expect(run.records.every((r) => r.stopped[VICTIM] !== 'isolated')).toBe(true);
  });

  it('isolate-and-stop: the safety layer holds the flagged robot still, the others seeing a still body with no belief input, until the monitor clears it; then it drives on probation, back in the view of the others; one isolation for the fault, not one after another', async () => {
    const { run, ticksSeen } = await trial('isolate-and-stop', spin, 160);
    const first = run.events.find((e) => e.kind === 'isolate')!;
    expect(first).toMatchObject({ robot: 'epuck-3', stopped: true });
    expect(run.events).toContainEqual({ tick: first.tick + 1, kind: 'stop', robot: 'epuck-3', reason: 'isolated' });
    const held = ticksSeen.filter((s) => s.isolated);
    expect(held.length).toBeGreaterThan(20);
    run.records.forEach((r, t) => {
      const s = ticksSeen[t]!;
      if (!s.isolated || !s.held) return;
      // No belief-network input about it while held.
      expect(s.beliefInputs).toBe(0);
      expect(s.belief).toBeNull();
      expect(r.stopped[VICTIM]).toBe('isolated');
      expect([r.commands[2 * VICTIM], r.commands[2 * VICTIM + 1]]).toEqual([0, 0]);
      // In the others' rows (the swarm gathers around it), never moving there.
      expect(s.seenMoving).toBe(0);
    });
    expect(held.filter((s) => s.held).every((s) => s.seenBy > 0)).toBe(true);
    // Released from the hold (on probation) for some ticks, driving under its policy, back in the others' view.
    const probation = run.records.filter((_, t) => ticksSeen[t]!.isolated && !ticksSeen[t]!.held);
    expect(probation.length).toBeGreaterThan(0);
    expect(probation.every((r) => r.stopped[VICTIM] !== 'isolated')).toBe(true);
    expect(ticksSeen.some((s) => s.isolated && !s.held && s.seenBy > 0)).toBe(true);
    expect(run.events.some((e) => e.kind === 'probation' && e.state === 'started')).toBe(true);
    // One isolation for the whole fault: flagged again on probation, it is held again within the same isolation.
    expect(run.events.filter((e) => e.kind === 'isolate')).toHaveLength(1);
    const ends = run.events.filter((e) => e.kind === 'isolation-end');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ robot: 'epuck-3', reason: 'cleared' });
    expect(ends[0]!.tick).toBeGreaterThan(60);
    // Rejoined: it drives again under its policy.
    expect(run.records.slice(ends[0]!.tick + 1).every((r) => r.stopped[VICTIM] === null)).toBe(true);
    expect(run.parts.safety.stops.isolated).toBeGreaterThan(0);
  });

  it('report changes nothing: the same run as without onFlag, the flagged robot stays in every observation', async () => {
    const plain = await trial(undefined, spin, 100);
    const report = await trial('report', spin, 100);
    expect(report.run.records).toEqual(plain.run.records);
    expect(report.run.events).toEqual(plain.run.events);
    expect(report.run.events.some((e) => e.kind === 'flag' && e.robot === 'epuck-3')).toBe(true);
    expect(report.run.events.filter((e) => e.kind === 'isolate' || e.kind === 'isolation-end' || e.kind === 'on-flag')).toEqual([]);
    expect(report.run.records.some((r, t) => r.flagged[VICTIM] && report.ticksSeen[t]!.seenBy > 0)).toBe(true);
  });

  it('without a flag, isolate runs exactly as report (what eval-isolation relies on to reuse benign episodes)', async () => {
    const report = await trial('report', [], 80);
    const isolate = await trial('isolate', [], 80);
    expect(report.run.events.filter((e) => e.kind === 'flag')).toEqual([]);
    expect(isolate.run.records).toEqual(report.run.records);
    // The only difference: the run says from the start that it acts on flags.
    expect(isolate.run.events).toEqual([{ tick: 0, kind: 'on-flag', onFlag: 'isolate', reason: 'launch' }, ...report.run.events]);
  });
});
