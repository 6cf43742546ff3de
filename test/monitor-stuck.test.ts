// The stuck test (src/monitor/stuck.ts): a robot whose wheels do not turn, pressed by a neighbour, against
// healthy robots pushed or blocked by one.
import { describe, expect, it } from 'vitest';
import { twistFromCommands } from '../src/core/kinematics.js';
import { DEFAULT_MONITOR, SwarmMonitor, type MonitorSettings } from '../src/monitor/monitor.js';
import { shippedMappo } from './helpers.js';

const { settings } = shippedMappo();
const robots = settings.robots.slice(0, 2);
/** Both wheels at this command: about 0.06 m/s, the creep of a robot pressing into a gathering swarm. */
const CREEP = 0.42;
const creep = twistFromCommands(CREEP, CREEP, robots[1]!).linear;

/**
 * b heads along +x, told to creep forward; a touches it (centres 0.074 m apart) behind it (`side` -1) or in
 * front of it (+1) and moves with it. b moves `bStep` m per tick along x (what the push and its own wheels
 * give); a is told exactly what it does, so only b can be in question. Returns the flags raised within 5 s.
 */
function pressed(o: { side: -1 | 1; bStep: number; settings?: MonitorSettings }): { flags: string[]; stuck: number } {
  const monitor = new SwarmMonitor(['a', 'b'], robots, o.settings ?? DEFAULT_MONITOR, { periodS: 0.1 });
  const aCommand = (o.bStep / 0.1 / twistFromCommands(1, 1, robots[0]!).linear) * (o.side === -1 ? 1 : -1);
  const flags: string[] = [];
  let bx = 1;
  for (let t = 0; t < 50; t++) {
    if (t > 0) bx += o.bStep;
    const poses = [{ x: bx + 0.074 * o.side, y: 1, theta: o.side === -1 ? 0 : Math.PI }, { x: bx, y: 1, theta: 0 }];
    const moving = { linear: o.bStep / 0.1, angular: 0, lateral: 0, seconds: 0.1 };
    const motion = t === 0 ? [null, null] : [{ ...moving, linear: (o.side === -1 ? 1 : -1) * moving.linear }, moving];
    const commands = Float32Array.from([aCommand, aCommand, CREEP, CREEP]);
    flags.push(...monitor.update(t, { poses, motion, policyCommandsAfterSafety: commands, beliefs: null }).filter((a) => a.kind === 'flag').map((a) => a.robot));
  }
  return { flags, stuck: monitor.consistency.stuck.cusum[1]! };
}

describe('the stuck test', () => {
  it('flags a stuck robot pushed from behind at half its commanded speed, which the per-tick test and the speed bias do not', () => {
    // Stuck: b moves only because a pushes it, at half the speed b's policy asks for.
    const stuck = pressed({ side: -1, bStep: 0.5 * creep * 0.1 });
    expect(stuck.flags).toEqual(['b']);
    // The blind spot it closes: without the stuck test nothing flags b.
    const blind = { ...DEFAULT_MONITOR, consistency: { ...DEFAULT_MONITOR.consistency, stuckThreshold: Number.POSITIVE_INFINITY } };
    expect(pressed({ side: -1, bStep: 0.5 * creep * 0.1, settings: blind }).flags).toEqual([]);
  });

  it('does not flag a healthy robot pushed from behind faster than it drives, or blocked by a neighbour in front', () => {
    // Pushed: b makes its own creep and more; the push explains the excess.
    const pushed = pressed({ side: -1, bStep: 1.5 * creep * 0.1 });
    expect(pushed.flags).toEqual([]);
    expect(pushed.stuck).toBe(0);
    // Blocked: b drives into a neighbour that holds it; contact explains standing still (and a stuck robot
    // there looks the same: pressed head-on, stuck and blocked cannot be told apart by motion).
    const blocked = pressed({ side: 1, bStep: 0 });
    expect(blocked.flags).toEqual([]);
    expect(blocked.stuck).toBe(0);
  });
});
