// The rendezvous outcome followed as a run goes (GatherWatch: eval-monitor, eval-isolation; RunTally settled
// after the run: the distributed monitor) against the same seeded run keeping every record: the same numbers,
// exactly, while the streamed run's records array stays empty.
import { describe, expect, it } from 'vitest';
import { SimLink } from '../sim/sim-link.js';
import { isolationEpisode } from '../src/cli/eval-isolation.js';
import { injectedAt, refollowed } from '../src/distributed/monitor-node.js';
import { TickSpool } from '../src/distributed/tick-spool.js';
import { summariseIsolations } from '../src/runtime/isolation.js';
import { MAX_PENDING, RunTally } from '../src/runtime/run-tally.js';
import { GatherWatch, scoredOutcome, uncompromisedOutcome, type TeamOutcome } from '../src/runtime/team-outcome.js';
import { outcomes, swarmTrial, type Injection, type TrialRun } from '../src/runtime/trial.js';
import { isGathered, rendezvousOutcome } from '../src/core/rendezvous.js';
import type { TickRecord } from '../src/runtime/tick-snapshot.js';
import { STOP_REASONS } from '../src/runtime/safety.js';
import { TickSnapshot } from '../src/runtime/tick-snapshot.js';
import { shippedMappo } from './helpers.js';

const { settings, team: mappo } = shippedMappo();
const N = settings.robotIds.length;

/** The same seeded trial twice, one keeping its records, one not; `each` told of the streamed run after every tick. */
async function twins(injections: Injection[], ticks: number, seed: number, each: (streamed: TrialRun) => void, o: { onFlag?: 'isolate' } = {}): Promise<{ kept: TrialRun; streamed: TrialRun }> {
  const links = [new SimLink(settings, 'fast', seed), new SimLink(settings, 'fast', seed)];
  const kept = swarmTrial(settings, mappo(), links[0]!, { trialMode: true, injections, seed, ...o });
  const streamed = swarmTrial(settings, mappo(), links[1]!, { trialMode: true, injections, seed, ...o, keepRecords: false });
  for (let t = 0; t < ticks; t++) {
    await kept.step();
    await streamed.step();
    for (const l of links) l.advance();
    each(streamed);
  }
  expect(kept.records).toHaveLength(ticks);
  expect(streamed.records).toHaveLength(0);
  return { kept, streamed };
}

/** The outcome written out from the twin's metric functions over every record (what scoredOutcome did before it shared GatherWatch). */
function byHand(records: readonly TickRecord[], leftOut: ReadonlySet<number>): TeamOutcome {
  const scored = settings.robotIds.map((_, i) => i).filter((i) => !leftOut.has(i));
  const at = (r: TickRecord) => {
    const poses = r.truePoses ?? r.poses;
    return [Float64Array.from(scored, (i) => poses[i]!.x), Float64Array.from(scored, (i) => poses[i]!.y)] as const;
  };
  const first = records.find((r) => isGathered(...at(r), 0, scored.length, settings.gatherDiameter / 2));
  const [x, y] = at(records.at(-1)!);
  return { robots: scored.map((i) => settings.robotIds[i]!), ...rendezvousOutcome(x, y, 0, scored.length, settings.gatherDiameter), timeToGather: first ? first.tick * settings.controlPeriod : null };
}

/** Every number bit for bit (Object.is: -0 and NaN too), not only toEqual's idea of equal. */
function expectSameBits(a: TeamOutcome | null, b: TeamOutcome | null): void {
  expect(a).toStrictEqual(b);
  for (const [k, v] of Object.entries(a ?? {})) if (typeof v === 'number') expect(Object.is(v, (b as unknown as Record<string, unknown>)[k]), k).toBe(true);
}

describe('the rendezvous outcome streamed tick by tick', () => {
  it('equals scoredOutcome over the kept records, with an attacked victim left out and with a benign episode', async () => {
    const victim = 4;
    // As eval-monitor's episodes: the victim spins for a while, the outcome scores every other robot.
    const spin: Injection[] = [{ robot: victim, fromTick: 20, toTick: 80, attack: { kind: 'fault', fault: 'spin' } }];
    for (const [injections, leftOut] of [
      [spin, new Set([victim])],
      [[], new Set([1])],
      [spin, new Set<number>()],
    ] as const) {
      const gathering = new GatherWatch(N, leftOut);
      const { kept, streamed } = await twins([...injections], 150, 3, (run) => gathering.add(run.snapshot, settings.gatherDiameter));
      const streamedOutcome = gathering.outcome(settings.robotIds, streamed.snapshot, settings);
      const byRecords = scoredOutcome(kept.records, settings.robotIds, settings, leftOut);
      expect(byRecords).not.toBeNull();
      expect(byRecords!.robots).toHaveLength(N - leftOut.size);
      expectSameBits(streamedOutcome, byRecords);
      expectSameBits(byRecords, byHand(kept.records, leftOut));
      if (leftOut.has(victim)) expect(byRecords!.timeToGather).not.toBeNull(); // the first-gathered branch is compared too
    }
  });

  it("eval-isolation's episode (records not kept) scores as scoredOutcome over the same episode's kept records", async () => {
    const short = { ...settings, episodeSteps: 120 };
    const row = { attack: { kind: 'fault', fault: 'spin' } as const, victims: 1 };
    const e = 2;
    const episode = await isolationEpisode(short, mappo(), row, e, 7, 'isolate');
    // The same episode by hand, keeping its records (isolationEpisode's victim: episodeVictims(e, N, 1) = [e]).
    const link = new SimLink(short, 'fast', 7 + e);
    const run = swarmTrial(short, mappo(), link, { trialMode: true, injections: [{ robot: e, fromTick: 0, toTick: 120, attack: row.attack }], seed: 7 + e, onFlag: 'isolate' });
    for (let t = 0; t < 120; t++) {
      await run.step();
      link.advance();
    }
    expect(episode.outcome).not.toBeNull();
    expectSameBits(episode.outcome as TeamOutcome, scoredOutcome(run.records, short.robotIds, short, new Set([e])));
  });

  it("the distributed monitor's tally (ticks added with no one compromised, the ground truth told after the run) answers as the back-filled records", async () => {
    const injections: Injection[] = [
      { robot: 2, fromTick: 15, toTick: 60, attack: { kind: 'fault', fault: 'spin' } },
      { robot: 7, fromTick: 40, toTick: 130, attack: { kind: 'fault', fault: 'stuck' }, onTicks: 10, offTicks: 5 },
      // Named, never acting within the run: its robot stays scored.
      { robot: 9, fromTick: 900, toTick: 950, attack: { kind: 'fault', fault: 'spin' } },
    ];
    const tally = new RunTally(settings.robotIds, settings);
    const spool = new TickSpool(N);
    const { kept, streamed } = await twins(
      injections,
      150,
      5,
      (run) => {
        // As MonitorNode.writeTick: nothing compromised yet, the robots the launch file names planned.
        run.snapshot.compromised = [];
        tally.add(run.snapshot, injections.map((inj) => inj.robot));
        spool.write(run.snapshot);
      },
      { onFlag: 'isolate' },
    );
    expect(streamed.events).toEqual(kept.events);
    const compromisedAt = injectedAt(kept.events, settings.robotIds);
    for (let t = 0; t < 150; t++) expect(compromisedAt(t), `tick ${t}`).toEqual(kept.records[t]!.compromised);
    // Before the ground truth is told, nothing is compromised; after, the records' answers.
    expect(tally.outcomes(kept.events).every((o) => o.compromisedTicks === 0)).toBe(true);
    tally.settleCompromised(compromisedAt);
    const byRecords = outcomes(kept);
    expect(byRecords.filter((o) => o.compromisedTicks > 0).map((o) => o.robot)).toEqual(['epuck-2', 'epuck-7']);
    expect(tally.outcomes(kept.events)).toEqual(byRecords);
    for (let t = -1; t < 152; t++) expect(tally.compromisedAt(t), `tick ${t}`).toEqual(kept.records[t]?.compromised ?? []);
    const uncompromised = uncompromisedOutcome(kept.records, settings.robotIds, settings);
    expect(uncompromised!.robots).not.toContain('epuck-2');
    expect(uncompromised!.robots).toContain('epuck-9');
    expect(uncompromised!.timeToGather).not.toBeNull();
    expect(tally.scoredFollowedThroughout).toBe(true);
    expectSameBits(tally.uncompromised(), uncompromised);
    const isolations = (at: (t: number) => readonly number[]) => summariseIsolations(kept.events, settings.robotIds, at, 150, settings.controlPeriod, 'isolate');
    expect(isolations((t) => tally.compromisedAt(t))).toEqual(isolations((t) => kept.records[t]?.compromised ?? []));
    // The recording's ticks, read back from the spool file with the ground truth: the kept records (the
    // monitor's have no true poses), a value that did not survive the file would differ.
    try {
      expect(spool.ticks).toBe(150);
      expect(spool.lastTick).toBe(149);
      const back = [...spool.records(compromisedAt)];
      expect(back).toHaveLength(150);
      back.forEach((r, t) => expect(r, `tick ${t}`).toStrictEqual({ ...kept.records[t]!, truePoses: null }));
      expect(back.some((r) => r.flagged.some((x) => x))).toBe(true);
    } finally {
      spool.dispose();
    }
  });

  it("the monitor's tick spool gives back every value a tick's record holds: each stop reason, beliefs and their absence, -0 and NaN, float32 commands", () => {
    const R = STOP_REASONS.length + 2;
    const spool = new TickSpool(R);
    const written = [];
    try {
      for (let t = 0; t < 3; t++) {
        const s = new TickSnapshot(R);
        s.tick = 10 + t;
        s.timeMs = 1000.5 * t;
        for (let i = 0; i < R; i++) {
          s.poses.set(i === 1 ? [Number.NaN, Number.NaN, Number.NaN] : [0.1 * i + t, -0, Math.PI / (i + 1)], 3 * i);
          s.intended.set([0.1 * i, -0.3], 2 * i);
          s.commands.set([1 / 3, -1 / 7], 2 * i);
          s.stopped[i] = i < STOP_REASONS.length ? STOP_REASONS[(i + t) % STOP_REASONS.length]! : null;
          s.hasBelief[i] = i % 2;
          s.belief[i] = i % 2 ? 0.25 * t : Number.NaN;
          s.consistency[i] = 1e-300 * i;
          s.suspicion[i] = 0.5 + i;
          s.flagged[i] = (i + t) % 3 === 0 ? 1 : 0;
        }
        spool.write(s);
        written.push({ ...s.toRecord(), compromised: [t, 0] });
      }
      expect([...spool.records((tick) => [tick - 10, 0])]).toStrictEqual(written);
    } finally {
      spool.dispose();
    }
  });

  it('with more robots named by injections than the tally follows every scored set of, the monitor reads the scored robots\' first gathering back from its spool', async () => {
    // Robots 0 to 7 named; 0, 1 and 2 act within the run, the others never: neither extreme scored set.
    const injections: Injection[] = Array.from({ length: 8 }, (_, robot) => ({ robot, fromTick: robot < 3 ? 5 : 900, toTick: robot < 3 ? 40 : 950, attack: { kind: 'fault', fault: 'spin' } as const }));
    expect(new Set(injections.map((i) => i.robot)).size).toBeGreaterThan(MAX_PENDING);
    const tally = new RunTally(settings.robotIds, settings);
    const spool = new TickSpool(N);
    try {
      const { kept } = await twins(injections, 150, 8, (run) => {
        // As the monitor: no true poses, nothing compromised yet.
        run.snapshot.hasTruePoses = false;
        run.snapshot.compromised = [];
        tally.add(run.snapshot, injections.map((inj) => inj.robot));
        spool.write(run.snapshot);
      });
      tally.settleCompromised(injectedAt(kept.events, settings.robotIds));
      expect([...tally.everCompromised].sort()).toEqual([0, 1, 2]);
      expect(tally.scoredFollowedThroughout).toBe(false);
      const byRecords = uncompromisedOutcome(
        kept.records.map((r) => ({ ...r, truePoses: null })),
        settings.robotIds,
        settings,
      );
      expect(byRecords!.timeToGather).not.toBeNull();
      // The tally alone never followed that set; read back from the spool, the records' outcome exactly.
      expect(tally.uncompromised()!.timeToGather).toBeNull();
      expectSameBits(tally.uncompromised(refollowed(tally, spool, settings.gatherDiameter)), byRecords);
    } finally {
      spool.dispose();
    }
  });
});
