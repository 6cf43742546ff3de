// The monitor under the timing faults of a real arena: dropped commands and ticks that come late or early.
// Three robots far apart follow commands that change every tick, through one tick of latency, seen by a tracker
// with the twin's noise (3 mm, 1 degree); what the tracker sees goes through the runtime's SwarmView.
import { describe, expect, it } from 'vitest';
import { twistFromCommands } from '../src/core/kinematics.js';
import { makeStreams } from '../src/core/random.js';
import { DEFAULT_MONITOR, SwarmMonitor, type MonitorAlert } from '../src/monitor/monitor.js';
import { readManifest } from '../src/policy/folder.js';
import { SwarmView } from '../src/runtime/swarm-view.js';
import { shippedMappo } from './helpers.js';

const { dir, settings } = shippedMappo();
const N = 3;
const robots = settings.robots.slice(0, N);

interface Timing {
  /** Ticks at which robot 0 misses its new command and keeps executing the one before. */
  drops?: number[];
  /** Milliseconds between tick t - 1 and tick t (100 unless given). */
  gapMs?: (t: number) => number;
}

/** 120 ticks of the synthetic arena; returns the alerts and the view's motion per tick. */
function arena(timing: Timing): { alerts: MonitorAlert[]; scored: boolean[][]; peak: number } {
  const spec = readManifest(dir).observation;
  const view = new SwarmView({ ...spec, id: spec.spec }, N, 0.1);
  const monitor = new SwarmMonitor(['r0', 'r1', 'r2'], robots, DEFAULT_MONITOR, { periodS: 0.1 });
  const rng = makeStreams(7, 1)[0]!;
  const truth = [0, 1, 2].map((i) => ({ x: 0.4 + 0.6 * i, y: 1, theta: 0 }));
  // Sent one and two ticks ago: the older one is executed now (one tick of latency).
  const sent1 = new Float64Array(2 * N);
  const sent2 = new Float64Array(2 * N);
  const executing = new Float64Array(2 * N);
  const commands = new Float32Array(2 * N);
  const alerts: MonitorAlert[] = [];
  const scored: boolean[][] = [];
  let peak = 0;
  let now = 0;
  for (let t = 0; t < 120; t++) {
    if (t > 0) {
      const dt = (timing.gapMs?.(t) ?? 100) / 1000;
      now += dt * 1000;
      // The robots execute what they were sent two ticks ago; a dropped command leaves the one before in force.
      for (let i = 0; i < N; i++) {
        if (!(i === 0 && timing.drops?.includes(t))) executing.set(sent2.subarray(2 * i, 2 * i + 2), 2 * i);
        const tw = twistFromCommands(executing[2 * i]!, executing[2 * i + 1]!, robots[i]!);
        for (let k = 0; k < 10; k++) {
          const p = truth[i]!;
          p.x += tw.linear * Math.cos(p.theta) * (dt / 10);
          p.y += tw.linear * Math.sin(p.theta) * (dt / 10);
          p.theta += tw.angular * (dt / 10);
        }
      }
    }
    const poses = truth.map((p) => ({ x: p.x + 0.003 * rng.gaussian(), y: p.y + 0.003 * rng.gaussian(), theta: p.theta + 0.0175 * rng.gaussian(), stampMs: now }));
    view.update(poses);
    scored.push(view.motion.map((m) => m !== null));
    // Commands that change every tick: the policy's, and what is sent.
    for (let k = 0; k < 2 * N; k++) commands[k] = 0.8 * (2 * rng.uniform() - 1);
    alerts.push(...monitor.update(t, { poses, motion: view.motion, policyCommandsAfterSafety: commands, beliefs: null }));
    if (view.motion[0]) peak = Math.max(peak, monitor.consistency.lastScore[0]!);
    view.sent(commands);
    sent2.set(sent1);
    sent1.set(commands);
  }
  return { alerts, scored, peak };
}

describe('monitor timing faults', () => {
  it('flags nobody on a clean run of this arena', () => {
    expect(arena({}).alerts).toEqual([]);
  });

  it('two dropped commands in a row do not flag a healthy robot', () => {
    // With one tick of latency, the second dropped tick executes a command older than the latency tolerance.
    const dropped = arena({ drops: [40, 41] });
    expect(dropped.alerts).toEqual([]);
    // The drops did show: robot 0's score went past what one tick may add to the CUSUM.
    expect(dropped.peak).toBeGreaterThan(DEFAULT_MONITOR.consistency.maxTickScore);
    expect(arena({}).peak).toBeLessThan(dropped.peak);
    expect(arena({ drops: [40, 41, 80, 81] }).alerts).toEqual([]);
  });

  it('a robot that keeps missing its commands is flagged (the same arena can fail)', () => {
    const drops = Array.from({ length: 40 }, (_, k) => 40 + 2 * k).flatMap((t) => [t, t + 1]).filter((t) => t % 6 !== 0);
    const flags = arena({ drops }).alerts.filter((a) => a.kind === 'flag');
    expect(flags.map((a) => a.robot)).toEqual(['r0']);
  });

  it('a late tick followed by an early one flags nobody: the early pose waits for a longer interval before speeds are measured', () => {
    // Tick 50 comes 190 ms after tick 49, tick 51 9 ms after it.
    const { alerts, scored } = arena({ gapMs: (t) => (t === 50 ? 190 : t === 51 ? 9 : 100) });
    expect(alerts).toEqual([]);
    expect(scored[50]).toEqual([true, true, true]);
    expect(scored[51]).toEqual([false, false, false]);
    expect(scored[52]).toEqual([true, true, true]);
    // Every few ticks late and early again: still nobody.
    expect(arena({ gapMs: (t) => (t % 10 === 0 ? 190 : t % 10 === 1 ? 9 : 100) }).alerts).toEqual([]);
  });
});
