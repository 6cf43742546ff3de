// A streamed run (no tick records kept: `swarmguard run`) against the same run keeping its records: the
// same tick records, and the same summary (outcomes, uncompromised robots, isolations) and pictures from
// its tally as from the records.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimLink } from '../sim/sim-link.js';
import { summariseIsolations } from '../src/runtime/isolation.js';
import { writeRunFolder, type RunSummary } from '../src/runtime/run-folder.js';
import { PictureHistory } from '../src/runtime/run-pictures.js';
import { RunTally } from '../src/runtime/run-tally.js';
import type { RunSpec } from '../src/runtime/run-spec.js';
import { uncompromisedOutcome } from '../src/runtime/team-outcome.js';
import { TickSnapshot } from '../src/runtime/tick-snapshot.js';
import { outcomes, swarmTrial, type Injection } from '../src/runtime/trial.js';
import { DEFAULT_MONITOR } from '../src/monitor/monitor.js';
import { shippedMappo } from './helpers.js';

const { settings, team: mappo } = shippedMappo();
const dir = mkdtempSync(join(tmpdir(), 'swarmguard-run-tally-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a run streamed through its tally, against the same run with every record kept', () => {
  it('gives the same records tick by tick, the same summary and the same pictures', async () => {
    const injections: Injection[] = [
      { robot: 3, fromTick: 20, toTick: 70, attack: { kind: 'fault', fault: 'spin' } },
      { robot: 6, fromTick: 30, toTick: 120, attack: { kind: 'fault', fault: 'stuck' }, onTicks: 10, offTicks: 5 },
      // Named but never acting within the run: its robot stays scored.
      { robot: 8, fromTick: 500, toTick: 600, attack: { kind: 'fault', fault: 'spin' } },
    ];
    const links = [new SimLink(settings, 'fast', 5), new SimLink(settings, 'fast', 5)];
    const kept = swarmTrial(settings, mappo(), links[0]!, { trialMode: true, injections, seed: 1, onFlag: 'isolate' });
    const streamed = swarmTrial(settings, mappo(), links[1]!, { trialMode: true, injections, seed: 1, onFlag: 'isolate', keepRecords: false });
    const tally = new RunTally(settings.robotIds, settings);
    expect(streamed.lastRecord).toBeUndefined();
    for (let t = 0; t < 150; t++) {
      // An operator's injection mid-run, on a robot the launch file already names.
      if (t === 100) for (const run of [kept, streamed]) run.inject(3, { kind: 'fault', fault: 'spin' }, 10);
      await kept.step();
      await streamed.step();
      for (const l of links) l.advance();
      tally.add(streamed.snapshot, streamed.injections.map((inj) => inj.robot));
      expect(streamed.lastRecord).toEqual(kept.records.at(-1));
    }
    expect(streamed.records).toHaveLength(0);
    expect(kept.records).toHaveLength(150);
    expect(streamed.events).toEqual(kept.events);
    // Robots were compromised, flagged and isolated: the comparison below is not of empty summaries.
    const byRecords = outcomes(kept);
    expect(byRecords.filter((o) => o.compromisedTicks > 0).map((o) => o.robot)).toEqual(['epuck-3', 'epuck-6']);
    expect(byRecords.some((o) => o.flaggedTicks > 0)).toBe(true);
    expect(tally.outcomes(streamed.events)).toEqual(byRecords);
    for (let t = -1; t < 153; t++) expect(tally.compromisedAt(t), `tick ${t}`).toEqual(kept.records[t]?.compromised ?? []);
    const uncompromised = uncompromisedOutcome(kept.records, settings.robotIds, settings);
    expect(uncompromised?.timeToGather).not.toBeNull();
    expect(tally.uncompromised()).toEqual(uncompromised);
    const isolations = (at: (t: number) => readonly number[]) => summariseIsolations(kept.events, settings.robotIds, at, 150, settings.controlPeriod, 'isolate');
    expect(isolations((t) => tally.compromisedAt(t))).toEqual(isolations((t) => kept.records[t]?.compromised ?? []));

    // The run folder's pictures: the same files from the tally's history as from the records.
    const spec = { name: 'tally', settings, injections, monitor: DEFAULT_MONITOR, source: 'test' } as unknown as RunSpec;
    const folder = (what: string, from: Parameters<typeof writeRunFolder>[3]) => {
      const runDir = join(dir, what);
      rmSync(runDir, { recursive: true, force: true });
      const summary: RunSummary = { runDir, ticks: 150, outcomes: byRecords, uncompromised, stops: {}, scheduler: null, links: null, interrupted: false };
      mkdirSync(runDir, { recursive: true });
      writeRunFolder(summary, spec, 'mappo-rendezvous', from, kept.events);
      return ['trajectory.svg', 'suspicion.svg'].map((f) => readFileSync(join(runDir, f), 'utf8'));
    };
    expect(folder('streamed', tally.history)).toEqual(folder('kept', kept.records));
  });
});

describe('the pictures\' history of a long run', () => {
  it('holds a bounded number of ticks, evenly spaced, and always the last one', () => {
    const N = 4;
    const history = new PictureHistory(N, 4 * N * 20); // room for 20 ticks
    const s = new TickSnapshot(N);
    for (let t = 0; t < 1000; t++) {
      s.tick = t;
      s.poses.fill(t);
      s.suspicion.fill(t / 1000);
      history.add(s);
      expect(history.pictures(t + 1).samples.length).toBeLessThanOrEqual(21);
    }
    const { ticks, samples } = history.pictures(1000);
    expect(ticks).toBe(1000);
    const taken = samples.map((x) => x.tick);
    expect(taken.at(-1)).toBe(999);
    // Every 64th tick once 1000 ticks are thinned to fewer than 20: 0, 64, ..., 960, then the last.
    expect(taken).toEqual([...Array.from({ length: 16 }, (_, k) => 64 * k), 999]);
    // Each sample carries its own tick's values (the last one's buffer is not another's).
    for (const x of samples) expect([x.poses[0], x.suspicion[0]]).toEqual([x.tick, x.tick / 1000]);
  });

  it('keeps every tick of a short run', () => {
    const history = new PictureHistory(2);
    const s = new TickSnapshot(2);
    for (let t = 0; t < 300; t++) {
      s.tick = t;
      history.add(s);
    }
    expect(history.pictures(300).samples.map((x) => x.tick)).toEqual(Array.from({ length: 300 }, (_, t) => t));
  });
});
