import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxTeam } from '../src/policy/team.js';
import { PhaseTimer, TICK_PHASES, type TickPhase } from '../src/core/phase-timer.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial } from '../src/runtime/trial.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';
import { parseRuntimeBenchArgs, servedBounds, ticksFor } from '../sim/bench/runtime-args.js';

/** Every phase the tick path reports, in order, one list per tick. */
async function lapsOfTicks(policy: string, ticks: number): Promise<TickPhase[][]> {
  const settings = resolveSwarmConfig({ robots: 6, observation: 'local', maxNeighbours: 4, sensingRadius: 0.6 });
  const team = await OnnxTeam.load(join(PROJECT_ROOT, 'policies', policy), settings.observation);
  try {
    const laps: TickPhase[][] = [];
    const link = new SimLink(settings, 'fast', 3);
    const run = swarmTrial(settings, team, link, { trialMode: false, injections: [], seed: 1, timer: { lap: (p) => laps.at(-1)!.push(p) } });
    for (let k = 0; k < ticks; k++) {
      laps.push([]);
      await run.step();
      link.advance();
    }
    return laps;
  } finally {
    await team.release();
  }
}

describe('per-phase timing of the runtime tick (bench:runtime)', () => {
  it('a tick reports every phase once, in the order it runs; the belief phase only with a belief network', async () => {
    const tail: TickPhase[] = ['actor', 'safety', 'link', 'observation', 'monitor', 'record'];
    for (const laps of await lapsOfTicks('eir-mappo-local-sparse', 3)) expect(laps).toEqual(['link', 'observation', 'belief', ...tail]);
    for (const laps of await lapsOfTicks('mappo-local-sparse', 3)) expect(laps).toEqual(['link', 'observation', ...tail]);
  });

  it("a tick's phases add up to the tick, and laps outside a timed tick count nowhere", () => {
    let t = 0;
    const timer = new PhaseTimer(() => t);
    timer.lap('link'); // warm-up: no tick started
    const laps: [TickPhase, number][] = [['link', 2], ['observation', 3], ['actor', 5], ['link', 1], ['record', 4]];
    timer.startTick();
    for (const [phase, dt] of laps) {
      t += dt;
      timer.lap(phase);
    }
    timer.endTick();
    timer.lap('monitor');
    expect(timer.ticks).toEqual([15]);
    expect(timer.samples.link).toEqual([3]);
    expect(timer.samples.belief).toEqual([0]);
    expect(timer.samples.monitor).toEqual([0]);
    expect(TICK_PHASES.reduce((s, p) => s + timer.samples[p][0]!, 0)).toBe(15);
  });
});

describe('bench:runtime options', () => {
  it('defaults, --quick, and sizes sorted and deduplicated', () => {
    expect(parseRuntimeBenchArgs([])).toMatchObject({ sizes: [10, 100, 1000, 2000], ticks: 300, bisect: 3, pin: true });
    expect(parseRuntimeBenchArgs(['--quick'])).toMatchObject({ ticks: 100, bisect: 0 });
    expect(parseRuntimeBenchArgs(['--sizes', '100,10,100', '--quick', '--no-pin']).sizes).toEqual([10, 100]);
    expect(parseRuntimeBenchArgs(['--quick', '--ticks', '20']).ticks).toBe(20);
  });

  it('refuses a bad value or option, naming it', () => {
    expect(() => parseRuntimeBenchArgs(['--sizes', '10,abc'])).toThrow(/--sizes: .*'abc'/);
    expect(() => parseRuntimeBenchArgs(['--sizes', '1'])).toThrow(/--sizes: expected an integer >= 2/);
    expect(() => parseRuntimeBenchArgs(['--ticks'])).toThrow(/--ticks: .*got nothing/);
    expect(() => parseRuntimeBenchArgs(['--fast'])).toThrow(/unknown option '--fast'/);
  });

  it('bigger swarms get fewer timed ticks, never fewer than 3', () => {
    expect(ticksFor(10, { ticks: 300 })).toBe(300);
    expect(ticksFor(1000, { ticks: 300 })).toBe(30);
    expect(ticksFor(2000, { ticks: 5 })).toBe(3);
  });

  it('the largest N served lies below the smallest size not served, whatever is served above it', () => {
    const at = (robots: number, served: boolean, refused = false) => ({ robots, served, refused });
    expect(servedBounds([at(10, true), at(100, true), at(1000, false), at(2000, true)])).toEqual({ lo: 100, hi: 1000 });
    expect(servedBounds([at(10, true), at(100, true), at(2000, false, true)])).toEqual({ lo: 100, hi: null });
    expect(servedBounds([at(10, false), at(100, true)])).toEqual({ lo: null, hi: 10 });
  });
});
