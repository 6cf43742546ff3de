import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompare } from '../src/cli/compare.js';
import { runReplay } from '../src/cli/replay.js';
import { compareWithTwin } from '../sim/sim2real-compare.js';
import { runCalibrationDrive } from '../src/cli/calibration-drive.js';
import { readRecording, type RecordedRun } from '../src/recording/reader.js';
import { replay, TerminalSink, type ReplayInfo, type ReplaySink } from '../src/recording/replay.js';
import { describeEvent } from '../src/runtime/status-text.js';
import type { RunEvent, TickRecord } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
let dir: string;
/** An 8 s drive of 4 robots on the exact twin (noise off), and one with real-arena noise. */
let exact: RecordedRun;
let noisy: RecordedRun;

async function drive(name: string, noise: string): Promise<RecordedRun> {
  const launch = join(dir, `${name}.yaml`);
  writeFileSync(launch, `name: ${name}\nswarm: { robots: 4, noise: ${noise} }\nlink: { kind: sim, mode: fast, seed: 4 }\npolicy: ${MAPPO}\nduration: 5\nout: ${dir}\n`);
  const script = [
    { seconds: 1, left: 0.5, right: 0.5, what: 'forward' },
    { seconds: 1, left: -0.5, right: 0.5, what: 'turn' },
    // Long enough to reach a wall: the safety layer's stops are the events.
    { seconds: 6, left: 0.9, right: 0.9, what: 'forward' },
  ];
  const r = await runCalibrationDrive(launch, { quiet: true, script }, () => {});
  return readRecording(r.recording);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'swarmguard-replay-'));
  exact = await drive('exact', 'off');
  noisy = await drive('noisy', 'default');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class Collect implements ReplaySink {
  readonly name = 'collect';
  info: ReplayInfo | null = null;
  ticks: { record: TickRecord; events: readonly RunEvent[] }[] = [];
  stopped = false;
  start(info: ReplayInfo) {
    this.info = info;
  }
  tick(record: TickRecord, events: readonly RunEvent[]) {
    this.ticks.push({ record, events });
  }
  stop() {
    this.stopped = true;
  }
}

/** A clock that only moves when the replay sleeps. */
function virtualTime() {
  const clock = { t: 0, slept: [] as number[] };
  return { clock, now: () => clock.t, sleep: async (ms: number) => void (clock.slept.push(ms), (clock.t += ms)) };
}

describe('replay', () => {
  it('feeds every recorded tick and the events reported with it to every sink, in order, paced by the recorded clock / speed', async () => {
    const a = new Collect();
    const b = new Collect();
    const { clock, now, sleep } = virtualTime();
    const result = await replay(noisy, [a, b], { speed: 4, now, sleep });
    expect(result).toEqual({ ticks: noisy.records.length, events: noisy.events.length, interrupted: false });
    expect(a.ticks.map((t) => t.record)).toEqual(noisy.records);
    expect(a.ticks.flatMap((t) => t.events)).toEqual(noisy.events);
    expect(a.ticks.every((t) => t.events.every((e) => noisy.eventsAt.get(t.record.tick)!.includes(e)))).toBe(true);
    expect(b.ticks).toEqual(a.ticks);
    expect(a.info!.robotIds).toEqual(noisy.robotIds);
    expect(a.stopped && b.stopped).toBe(true);
    // 80 ticks 100 ms apart at 4x: 79 waits of 25 ms.
    expect(clock.t).toBeCloseTo((noisy.records.at(-1)!.timeMs - noisy.records[0]!.timeMs) / 4, 6);
    expect(clock.slept).toHaveLength(noisy.records.length - 1);
  });

  it('stops when told, and still stops its sinks; refuses a speed <= 0', async () => {
    const a = new Collect();
    const stop = new AbortController();
    const { now, sleep } = virtualTime();
    const result = await replay(noisy, [a, { name: 'stopper', tick: (r) => r.tick === 9 && stop.abort() }], { speed: 1, signal: stop.signal, now, sleep });
    expect(result.ticks).toBe(10);
    expect(result.interrupted).toBe(true);
    expect(a.stopped).toBe(true);
    await expect(replay(noisy, [a], { speed: 0 })).rejects.toThrow(/speed must be > 0/);
  });

  it('the terminal sink prints every event as the live run did', async () => {
    const lines: string[] = [];
    await replay(noisy, [new TerminalSink((l) => lines.push(l), false)], { speed: Number.POSITIVE_INFINITY });
    expect(noisy.events.length).toBeGreaterThan(0);
    expect(lines.slice(1)).toEqual(noisy.events.map((e) => describeEvent(e, 0.1)));
    const cli: string[] = [];
    await runReplay(noisy.path, { speed: Number.POSITIVE_INFINITY, quiet: true }, (l) => cli.push(l));
    expect(cli.at(-1)).toBe(`replayed 80 of 80 ticks (8.0 s), ${noisy.events.length} events`);
  });
});

describe('compare (twin vs recording)', () => {
  it('a recording of the exact twin is reproduced exactly by the twin driven by its commands', () => {
    const c = compareWithTwin(exact);
    expect(c.reference).toBe('true');
    expect(Math.max(...c.positionError.flat())).toBeLessThan(1e-12);
    expect(Math.max(...c.headingError.flat())).toBeLessThan(1e-12);
  });

  it('a noisy recording diverges, more with time; the wrong wheel radius diverges more; JSON and SVG written next to the recording', async () => {
    const c = compareWithTwin(noisy);
    expect(c.checkpoints.map((p) => p.t)).toEqual([1, 5, 7.9].map((t) => expect.closeTo(t, 9)));
    const [at1, at5, end] = c.checkpoints;
    expect(at1!.swarm.meanPosition).toBeGreaterThan(0);
    expect(end!.swarm.meanPosition).toBeGreaterThan(at1!.swarm.meanPosition);
    expect(at5!.swarm.maxPosition).toBeGreaterThanOrEqual(at5!.swarm.meanPosition);
    const small = compareWithTwin(exact, { robots: exact.settings.swarm.robots.map((p) => ({ ...p, wheelRadius: 0.9 * p.wheelRadius })) });
    // 10% smaller wheels: 10% less of the first second's 7 cm forward run.
    expect(small.checkpoints[0]!.swarm.meanPosition).toBeCloseTo(0.1 * 0.5 * ((1100 / 1000) * 2 * Math.PI * 0.0205) * 1, 3);
    const lines: string[] = [];
    const out = await runCompare(noisy.path, {}, (l) => lines.push(l));
    expect(out.files.every(existsSync)).toBe(true);
    const json = JSON.parse(readFileSync(out.files[0]!, 'utf8'));
    expect(json.positionErrorM['epuck-0']).toHaveLength(noisy.records.length);
    expect(readFileSync(out.files[1]!, 'utf8')).toMatch(/^<svg[\s\S]*swarm mean[\s\S]*<\/svg>$/);
    expect(lines[0]).toContain('true poses');
  });
});
