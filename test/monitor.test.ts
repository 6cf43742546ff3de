import { describe, expect, it } from 'vitest';
import { twistFromCommands } from '../src/core/kinematics.js';
import { CONTACT_MARGIN, ContactFinder } from '../src/monitor/contact.js';
import { aggregateBeliefs, DEFAULT_MONITOR, SwarmMonitor, type MonitorAlert } from '../src/monitor/monitor.js';
import { faultByName } from '../src/attacks/faults.js';
import { makeStreams } from '../src/core/random.js';
import { loadAttack } from '../src/attacks/attack.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial } from '../src/runtime/trial.js';
import { RendezvousWorld } from '../sim/world.js';
import { shippedMappo } from './helpers.js';

const { settings, team: mappo } = shippedMappo();

/** The default settings with the belief at full weight (by default it earns none, policies/MONITOR.md). */
const TRUSTING = { ...DEFAULT_MONITOR, belief: { ...DEFAULT_MONITOR.belief, weight: 1 } };

/** One seeded episode of the shipped MAPPO team on the twin (noise on), robot 3 spinning from `from` to `to`. */
async function watch(from: number, to: number): Promise<{ alerts: MonitorAlert[]; monitor: SwarmMonitor }> {
  const world = new RendezvousWorld(settings, { envs: 1, seed: 11, autoReset: false });
  const ids = settings.robots.map((_, i) => `epuck-${i}`);
  const monitor = new SwarmMonitor(ids, settings.robots, DEFAULT_MONITOR, { periodS: settings.controlPeriod });
  const actions = new Float32Array(2 * ids.length);
  const alerts: MonitorAlert[] = [];
  mappo().resetEnv(0);
  for (let t = 0; t < settings.episodeSteps; t++) {
    if (t === from) world.setVictim(0, { robot: 3, override: faultByName('spin') });
    if (t === to) world.setVictim(0, null);
    await mappo().act(world, actions);
    const poses = ids.map((_, g) => ({ x: world.tracked.x[g]!, y: world.tracked.y[g]!, theta: world.tracked.heading[g]! }));
    // The tracker's motion over the last tick (none before the first step).
    const motion = ids.map((_, g) => (t === 0 ? null : { linear: world.tracked.speed[g]!, angular: world.tracked.turnRate[g]! }));
    alerts.push(...monitor.update(t, { poses, motion, policyCommandsAfterSafety: actions, beliefs: null }));
    world.step(actions);
  }
  return { alerts, monitor };
}

describe('swarm monitor', () => {
  it('raises no flag on a benign episode with the real-arena noise model on', async () => {
    const { alerts } = await watch(-1, -1);
    expect(alerts).toEqual([]);
  });

  it('flags a robot that stops following its policy within a few ticks, and only that robot; clears it after it recovers', async () => {
    const { alerts } = await watch(100, 200);
    const flags = alerts.filter((a) => a.kind === 'flag');
    expect(flags.map((a) => a.robot)).toEqual(['epuck-3']);
    expect(flags[0]!.tick).toBeGreaterThanOrEqual(100);
    // Each tick adds at most maxTickScore - drift to the CUSUM: a gross deviation is flagged within a second.
    expect(flags[0]!.tick).toBeLessThanOrEqual(110);
    expect(flags[0]!.evidence.consistency).toBe(1);
    const clear = alerts.find((a) => a.kind === 'clear');
    expect(clear?.robot).toBe('epuck-3');
    expect(clear!.tick).toBeGreaterThan(200);
  });

  it('averages the prior-corrected evidence, log P/(1-P) - log prior/(1-prior) with P summed over types, over the observers that see each robot', () => {
    // 3 robots, 2 types: robot 2 seen by 0 and 1; robot 0 seen by 1 only; robot 1 seen by nobody.
    const R = 2;
    const N = 3;
    const b = new Float32Array(N * N * R);
    const set = (i: number, j: number, p: [number, number]) => b.set(p, (i * N + j) * R);
    set(0, 2, [0.5, 0.3]);
    set(1, 2, [0.1, 0.1]);
    set(1, 0, [0.2, 0]);
    set(2, 1, [0.9, 0.1]); // out of range: ignored
    const seen = new Set(['0-2', '1-2', '1-0']);
    const agg = aggregateBeliefs(b, R, N, (i, j) => seen.has(`${i}-${j}`), 0.05);
    const llr = (p: number) => Math.log(p / (1 - p)) - Math.log(0.05 / 0.95);
    expect(Array.from(agg.observers)).toEqual([1, 0, 2]);
    expect(agg.value[0]).toBeCloseTo(llr(0.2), 5);
    expect(agg.value[1]).toBe(0);
    // A belief at the training prior is no evidence; 0.8 and 0.2 average to the prior's odds times 1.
    expect(agg.value[2]).toBeCloseTo((llr(0.8) + llr(0.2)) / 2, 5);
    expect(aggregateBeliefs(Float32Array.from([0, 0.05, 0.05, 0]), 1, 2, () => true, 0.05).value[0]).toBeCloseTo(0, 5);
    expect(() => aggregateBeliefs(b, R, N, () => true, 0)).toThrow(/training prior/);
  });

  it('flags on confident belief evidence alone (weighted noisy-OR) a robot that moves as its policy says', () => {
    const monitor = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), TRUSTING, { periodS: 0.1 });
    const poses = [{ x: 1, y: 1, theta: 0 }, { x: 1.2, y: 1, theta: 0 }];
    const beliefs = { value: Float64Array.from([-2, 6]), observers: Int32Array.from([1, 1]) };
    const still = { linear: 0, angular: 0 };
    const alerts = Array.from({ length: 30 }, (_, t) => monitor.update(t, { poses, motion: t === 0 ? [null, null] : [still, still], policyCommandsAfterSafety: new Float32Array(4), beliefs })).flat();
    expect(alerts.map((a) => [a.robot, a.kind])).toEqual([['b', 'flag']]);
    expect(alerts[0]!.evidence.belief).toBeGreaterThanOrEqual(DEFAULT_MONITOR.flagAt);
    expect(alerts[0]!.evidence.consistency).toBe(0);
    // With weight 0 the belief is shown but never flags.
    const silent = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), { ...DEFAULT_MONITOR, belief: { ...DEFAULT_MONITOR.belief, weight: 0 } }, { periodS: 0.1 });
    const none = Array.from({ length: 30 }, (_, t) => silent.update(t, { poses, motion: t === 0 ? [null, null] : [still, still], policyCommandsAfterSafety: new Float32Array(4), beliefs })).flat();
    expect(none).toEqual([]);
    expect(silent.beliefSignal[1]).toBe(1);
  });

  it('does not accuse on belief evidence a robot that is being pushed, or was just now', () => {
    // b is pushed by a (touching, 0.074 m apart) for 40 ticks, then left alone; its observers are sure it is
    // compromised (the networks see it move as no policy would) all along. a is told to drive into b, so both
    // move as expected; b is told to stand still and only the push moves it.
    const monitor = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), TRUSTING, { periodS: 0.1 });
    const v = twistFromCommands(0.5, 0.5, settings.robots[0]!).linear;
    const flags: string[] = [];
    const beliefs = { value: Float64Array.from([-3, 6]), observers: Int32Array.from([1, 1]) };
    for (let t = 0; t < 45; t++) {
      const pushed = Math.min(t, 40) * v * 0.1;
      const poses = [{ x: 1 + pushed, y: 1, theta: 0 }, { x: 1.074 + pushed, y: 1, theta: 0 }];
      const moving = t > 0 && t <= 40 ? { linear: v, angular: 0, lateral: 0, seconds: 0.1 } : { linear: 0, angular: 0 };
      const cmd = t < 40 ? [0.5, 0.5, 0, 0] : [0, 0, 0, 0];
      flags.push(...monitor.update(t, { poses, motion: t === 0 ? [null, null] : [moving, moving], policyCommandsAfterSafety: Float32Array.from(cmd), beliefs }).map((a) => a.robot));
    }
    expect(flags).toEqual([]);
    expect(monitor.beliefCusum[1]).toBe(0);
    // The same belief about a robot nobody touches flags it.
    const alone = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), TRUSTING, { periodS: 0.1 });
    const poses = [{ x: 0.5, y: 1, theta: 0 }, { x: 1.5, y: 1, theta: 0 }];
    const still = { linear: 0, angular: 0 };
    const raised = Array.from({ length: 45 }, (_, t) => alone.update(t, { poses, motion: t === 0 ? [null, null] : [still, still], policyCommandsAfterSafety: new Float32Array(4), beliefs })).flat();
    expect(raised.map((a) => a.robot)).toEqual(['b']);
  });

  it('holds a touching robot responsible for what contact cannot explain: a push away from its neighbour is fine, stalling against it or swinging along it is flagged', () => {
    const v = twistFromCommands(0.8, 0.8, settings.robots[1]!).linear;
    /**
     * a at (1, 1) pushes along +x with speed `pushA` (its policy commands exactly that: both wheels at
     * `pushA`'s command); b touches it on its +x side (centres 0.074 m apart), heading `heading`, told `cmdB`,
     * moved each tick by a's push plus its own `ownStep(t)` (world frame, m per tick) and turning `turn` rad/s.
     */
    const run = (o: { pushA: number; cmdB: [number, number]; heading: number; ownStep: (t: number) => [number, number]; turn?: number }) => {
      const monitor = new SwarmMonitor(['a', 'b'], settings.robots.slice(0, 2), DEFAULT_MONITOR, { periodS: 0.1 });
      const pushCmd = o.pushA / v * 0.8;
      const flags: string[] = [];
      let ax = 1;
      let bx = 1.074;
      let by = 1;
      for (let t = 0; t < 60; t++) {
        const push = t === 0 ? 0 : o.pushA * 0.1;
        const [ox, oy] = t === 0 ? [0, 0] : o.ownStep(t);
        ax += push;
        bx += push + ox;
        by += oy;
        const hb = o.heading + (o.turn ?? 0) * 0.1 * t;
        const poses = [{ x: ax, y: 1, theta: 0 }, { x: bx, y: by, theta: hb }];
        const dx = push + ox;
        const motion = t === 0 ? [null, null] : [
          { linear: push / 0.1, angular: 0, lateral: 0, seconds: 0.1 },
          { linear: (dx * Math.cos(hb) + oy * Math.sin(hb)) / 0.1, lateral: (-dx * Math.sin(hb) + oy * Math.cos(hb)) / 0.1, angular: o.turn ?? 0, seconds: 0.1 },
        ];
        flags.push(...monitor.update(t, { poses, motion, policyCommandsAfterSafety: Float32Array.from([pushCmd, pushCmd, ...o.cmdB]), beliefs: null }).filter((a) => a.kind === 'flag').map((a) => a.robot));
        // Keep b touching a whatever b does along x (a stalled lure pushes back; the bodies cannot overlap).
        bx = Math.max(bx, ax + 0.074);
      }
      return flags;
    };
    // b told to stand still, pushed away by a that drives into it as its policy says: nobody flagged.
    expect(run({ pushA: 0.5 * v, cmdB: [0, 0], heading: 0, ownStep: () => [0, 0] })).toEqual([]);
    // The same push seen sideways (b facing along a's side): still nobody.
    expect(run({ pushA: 0.5 * v, cmdB: [0, 0], heading: Math.PI / 2, ownStep: () => [0, 0] })).toEqual([]);
    // b told to drive away from a but stalled against it (a lure pressed into a neighbour): b flagged.
    expect(run({ pushA: 0, cmdB: [0.8, 0.8], heading: 0, ownStep: () => [0, 0] })).toEqual(['b']);
    // b told to stand still but oscillating along a's side while touching it: b flagged.
    expect(run({ pushA: 0, cmdB: [0, 0], heading: Math.PI / 2, ownStep: (t) => [0, (t % 4 < 2 ? 1 : -1) * 0.8 * v * 0.1] })).toEqual(['b']);
    // b pushed as it should be, but spinning although told not to turn: b flagged.
    expect(run({ pushA: 0.5 * v, cmdB: [0, 0], heading: 0, ownStep: () => [0, 0], turn: 3 })).toEqual(['b']);
  });

  it('flags a robot acting on corrupted observations (noise 0.5): its motion is not what its policy commands from the tracker\'s view', async () => {
    const attack = await loadAttack('obs-noise:0.5', settings);
    const flagsOf = async (seed: number) => {
      const link = new SimLink(settings, 'fast', seed);
      const run = swarmTrial(settings, mappo(), link, { trialMode: true, injections: [{ robot: 3, fromTick: 50, toTick: 250, attack }], seed });
      for (let t = 0; t < 250; t++) {
        await run.step();
        link.advance();
      }
      return run.events.filter((e): e is MonitorAlert => e.kind === 'flag');
    };
    // Detection is statistical (policies/MONITOR.md: most trials within 5 s): of 6 seeded trials, at least 4.
    let inTime = 0;
    for (const seed of [21, 22, 23, 24, 25, 26]) {
      const flags = await flagsOf(seed);
      // Nobody else is flagged, and the victim not before its observations are corrupted.
      expect(flags.every((f) => f.robot === 'epuck-3' && f.tick >= 50)).toBe(true);
      if (flags.some((f) => f.tick <= 100)) inTime++;
    }
    expect(inTime).toBeGreaterThanOrEqual(4);
  });

  it('finds through its grid exactly the contacts a check of every pair finds, walls included', () => {
    const rng = makeStreams(3, 1)[0]!;
    const robots = Array.from({ length: 60 }, (_, i) => settings.robots[i % settings.robots.length]!);
    const finder = new ContactFinder(robots, { width: 1, height: 1 });
    for (let round = 0; round < 20; round++) {
      // Crowded: 60 robots in about a square metre (some just outside it, at negative coordinates).
      const poses = robots.map(() => ({ x: rng.range(-0.05, 1.05), y: rng.range(-0.05, 1.05) }));
      finder.find(poses);
      for (let j = 0; j < robots.length; j++) {
        const expected: number[] = [];
        for (let i = 0; i < robots.length; i++) {
          if (i === j) continue;
          const d = Math.hypot(poses[j]!.x - poses[i]!.x, poses[j]!.y - poses[i]!.y);
          if (d < robots[i]!.bodyRadius + robots[j]!.bodyRadius + CONTACT_MARGIN) expected.push(i);
        }
        const r = robots[j]!.bodyRadius + CONTACT_MARGIN;
        const walls = [poses[j]!.x < r, poses[j]!.x > 1 - r, poses[j]!.y < r, poses[j]!.y > 1 - r].filter(Boolean).length;
        const normals = finder.normalsOf(j);
        expect(normals.length / 2).toBe(expected.length + walls);
        // Every normal is a unit vector.
        for (let m = 0; m < normals.length; m += 2) expect(Math.hypot(normals[m]!, normals[m + 1]!)).toBeCloseTo(1, 9);
      }
    }
  });
});
