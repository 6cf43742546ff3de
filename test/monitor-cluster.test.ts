// The consistency detector on a benign robot pressed into a gathered cluster, from recorded monitor inputs
// (test/fixtures/demo-benign-robot-in-cluster.json: `npm start`'s demo, where the detector used to flag it).
// Its policy's turn commands alternate in sign every tick there; the robot executes them through a steady
// command lag with actuator noise and the odd dropped command, and the tracker adds heading noise.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RobotParams } from '../src/core/robot-params.js';
import { ConsistencyDetector, type MeasuredMotion } from '../src/monitor/consistency.js';
import { DEFAULT_MONITOR, Hysteresis } from '../src/monitor/monitor.js';

interface RecordedTick {
  seen: [number, number, number | null, number | null] | null;
  command: [number, number];
  theta: number;
  contacts: number[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/demo-benign-robot-in-cluster.json', import.meta.url), 'utf8')) as {
  robot: RobotParams;
  periodS: number;
  ticks: RecordedTick[];
};

/** The robot's suspicion per tick and the ticks it was flagged at; `turnOffset(t)` is added to its measured turn rate. */
function replay(turnOffset: (t: number) => number = () => 0): { suspicion: number[]; flags: number[] } {
  const detector = new ConsistencyDetector([fixture.robot], DEFAULT_MONITOR.consistency, fixture.periodS);
  const flags = new Hysteresis(1, DEFAULT_MONITOR);
  const suspicion: number[] = [];
  const flagged: number[] = [];
  fixture.ticks.forEach((tick, t) => {
    let seen: MeasuredMotion | null = null;
    if (tick.seen) {
      const [linear, angular, lateral, seconds] = tick.seen;
      seen = { linear, angular: angular + turnOffset(t), ...(lateral === null ? {} : { lateral }), ...(seconds === null ? {} : { seconds }) };
    }
    detector.update(0, seen, tick.command, { theta: tick.theta }, tick.contacts);
    const s = detector.signal[0]!;
    suspicion.push(s);
    if (flags.update(0, s) === 'flag') flagged.push(t);
  });
  return { suspicion, flags: flagged };
}

describe('a benign robot in a gathered cluster', () => {
  it('is recorded touching its neighbours while its turn commands alternate in sign', () => {
    const late = fixture.ticks.slice(250, 290);
    expect(late.filter((t) => t.contacts.length > 0).length).toBe(late.length);
    // Turn command signs (right wheel minus left) change on most ticks.
    const turns = late.map((t) => Math.sign(t.command[1] - t.command[0]));
    const changes = turns.slice(1).filter((s, i) => s !== turns[i]).length;
    expect(changes).toBeGreaterThan(late.length / 2);
  });

  it('is not flagged: its turn residuals are taken against its own command lag, not the best command of each tick', () => {
    const { suspicion, flags } = replay();
    expect(flags).toEqual([]);
    expect(Math.max(...suspicion)).toBeLessThan(DEFAULT_MONITOR.flagAt);
  });

  it('is flagged when, in the same cluster, it turns 0.4 rad/s more than it is told (a persistent actuator bias)', () => {
    const { flags } = replay((t) => (t >= 200 ? -0.4 : 0));
    expect(flags.length).toBeGreaterThan(0);
    expect(flags[0]!).toBeGreaterThanOrEqual(200);
    expect(flags[0]!).toBeLessThan(250);
  });
});
