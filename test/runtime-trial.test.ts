import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxAdversary } from '../src/policy/adversary.js';
import type { RobotLink } from '../src/runtime/link.js';
import { SimLink } from '../sim/sim-link.js';
import { parseConsoleCommand } from '../src/runtime/console.js';
import { RunController } from '../src/runtime/control.js';
import { outcomes, swarmTrial, type Injection } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { shippedMappo } from './helpers.js';

const { settings, team: mappo } = shippedMappo();

function run(injections: Injection[], opts: { trialMode?: boolean; link?: RobotLink & { advance(): void } } = {}) {
  const link = opts.link ?? new SimLink(settings, 'fast', 5);
  const trial = swarmTrial(settings, mappo(), link, { trialMode: opts.trialMode ?? true, injections, seed: 1 });
  return {
    trial,
    async ticks(n: number) {
      for (let k = 0; k < n; k++) {
        await trial.step();
        link.advance();
      }
    },
  };
}

describe('deployed trial on the twin (sim link, fast)', () => {
  it('a benign run: robots gather, nobody is flagged or stopped', async () => {
    const r = run([]);
    await r.ticks(300);
    expect(r.trial.events.filter((e) => e.kind === 'flag')).toEqual([]);
    expect(r.trial.events.filter((e) => e.kind === 'stop')).toEqual([]);
    const last = r.trial.records.at(-1)!.truePoses!;
    const cx = last.reduce((s, p) => s + p.x, 0) / last.length;
    const cy = last.reduce((s, p) => s + p.y, 0) / last.length;
    expect(Math.max(...last.map((p) => Math.hypot(p.x - cx, p.y - cy)))).toBeLessThan(0.4);
  });

  it('an injected fault and an injected trained adversary are recorded and flagged, and only their robots', async () => {
    const adversary = await OnnxAdversary.load(join(PROJECT_ROOT, 'policies/attacks/posthoc-vs-mappo-rendezvous'), settings.observation);
    try {
      const r = run([
        { robot: 3, fromTick: 40, toTick: 140, attack: { kind: 'fault', fault: 'spin' } },
        { robot: 7, fromTick: 60, toTick: 200, attack: { kind: 'adversary', adversary } },
      ]);
      await r.ticks(220);
      const starts = r.trial.events.filter((e) => e.kind === 'injection-start');
      expect(starts).toEqual([
        { tick: 40, kind: 'injection-start', robot: 'epuck-3', attack: 'fault:spin' },
        { tick: 60, kind: 'injection-start', robot: 'epuck-7', attack: 'posthoc-vs-mappo-rendezvous' },
      ]);
      const byRobot = Object.fromEntries(outcomes(r.trial).map((o) => [o.robot, o]));
      // Each tick adds a bounded amount to the monitor's CUSUM (one bad tick cannot flag): within a second.
      expect(byRobot['epuck-3']!.detectionDelayTicks).toBeLessThanOrEqual(10);
      expect(byRobot['epuck-7']!.detectionDelayTicks).not.toBeNull();
      for (const o of Object.values(byRobot)) expect(o.falseFlags).toBe(0);
    } finally {
      await adversary.release();
    }
  });

  it('refuses injections outside trial mode, before anything runs', () => {
    expect(() => run([{ robot: 1, fromTick: 0, toTick: 10, attack: { kind: 'fault', fault: 'stuck' } }], { trialMode: false })).toThrow(/trial mode/);
  });

  it('stops a robot whose poses stop coming or turn NaN, and keeps the others going', async () => {
    const sim = new SimLink(settings, 'fast', 6);
    let lostAfter = Infinity;
    const link = Object.assign(Object.create(sim) as SimLink, {
      poses: () => sim.poses().map((p, i) => (i === 2 && sim.now() >= lostAfter ? { ...p!, stampMs: lostAfter } : i === 4 && sim.now() >= 2000 ? { ...p!, x: Number.NaN } : p)),
      advance: () => sim.advance(),
      send: (i: number, l: number, r: number) => sim.send(i, l, r),
    });
    const r = run([], { link });
    await r.ticks(10);
    lostAfter = sim.now(); // robot 2's tracker goes silent
    await r.ticks(15);
    const stops = r.trial.events.filter((e) => e.kind === 'stop');
    expect(stops.map((e) => [e.kind === 'stop' && e.robot, e.kind === 'stop' && e.reason])).toEqual([
      ['epuck-2', 'stale-pose'],
      ['epuck-4', 'invalid-pose'],
    ]);
    // The stale robot stopped within the safety layer's pose age (300 ms = 3 ticks) of its last pose.
    expect(stops[0]!.tick - 10).toBeLessThanOrEqual(4);
    // Nobody's observation carries the NaN (robot 4 is seen where it was last measured).
    expect(r.trial.view.obs.every(Number.isFinite)).toBe(true);
    // The others still move.
    const moved = sim.twin.world.truth.speed.filter((v) => Math.abs(v) > 1e-3).length;
    expect(moved).toBeGreaterThan(3);
  });
});

describe('a robot the runtime has not located yet', () => {
  it('is in nobody\'s observation, is stopped, and joins once its first pose arrives', async () => {
    const sim = new SimLink(settings, 'fast', 8);
    let located = false;
    const link = Object.assign(Object.create(sim) as SimLink, {
      poses: () => sim.poses().map((p, i) => (i === 7 && !located ? null : p)),
      advance: () => sim.advance(),
      send: (i: number, l: number, r: number) => sim.send(i, l, r),
    });
    const r = run([], { link });
    await r.ticks(5);
    const K = mappo().policy.manifest.observation.maxNeighbours;
    const rowsOf = (i: number) => Array.from(r.trial.view.rowIds.subarray(i * K, (i + 1) * K));
    // Nobody takes the unlocated robot (or a stand-in at the arena's corner) for a neighbour.
    for (let i = 0; i < settings.robotIds.length; i++) if (i !== 7) expect(rowsOf(i)).not.toContain(7);
    expect(r.trial.records.at(-1)!.stopped[7]).toBe('no-pose');
    expect(Number.isNaN(r.trial.records.at(-1)!.poses[7]!.x)).toBe(true);
    located = true;
    await r.ticks(5);
    expect(r.trial.records.at(-1)!.stopped[7]).toBeNull();
    expect(r.trial.view.located(7)).toBe(true);
  });
});

describe('run controller (console, dashboard, ROS 2 and MQTT all go through it)', () => {
  it('holds every robot on stop until start, e-stops until release, and records who did it', async () => {
    const r = run([]);
    const control = new RunController(r.trial, settings);
    await r.ticks(5);
    await control.apply({ kind: 'stop' }, 'dashboard');
    expect(control.state.paused).toBe(true);
    await r.ticks(3);
    expect(r.trial.records.at(-1)!.stopped.every((s) => s === 'paused')).toBe(true);
    expect(r.trial.records.at(-1)!.commands.every((c) => c === 0)).toBe(true);
    await control.apply({ kind: 'start' }, 'dashboard');
    await control.apply({ kind: 'estop', reason: 'too close' }, 'ros2');
    await r.ticks(2);
    expect(r.trial.records.at(-1)!.stopped.every((s) => s === 'e-stop')).toBe(true);
    await control.apply({ kind: 'release' }, 'ros2');
    await r.ticks(2);
    expect(r.trial.records.at(-1)!.stopped.filter((s) => s !== null).length).toBe(0);
    expect(r.trial.events.filter((e) => e.kind !== 'flag' && e.kind !== 'clear' && e.kind !== 'stop')).toEqual([
      { tick: 5, kind: 'pause', reason: 'dashboard' },
      { tick: 8, kind: 'resume', reason: 'dashboard' },
      { tick: 8, kind: 'e-stop', reason: 'too close (ros2)' },
      { tick: 10, kind: 'release', reason: 'ros2' },
    ]);
    await control.close();
  });

  it('refuses an unknown robot, a bad duration, an injection outside trial mode, and anything after the run ended; nothing changes', async () => {
    const r = run([]);
    const control = new RunController(r.trial, settings);
    await expect(control.apply({ kind: 'inject', robot: 'epuck-99', attack: 'fault:spin', seconds: 2 }, 'test')).rejects.toThrow(/unknown robot id 'epuck-99'/);
    await expect(control.apply({ kind: 'inject', robot: 'epuck-1', attack: 'fault:spin', seconds: 0.01 }, 'test')).rejects.toThrow(/shorter than one control tick/);
    await expect(control.apply({ kind: 'inject', robot: 'epuck-1', attack: 'fault:nope', seconds: 2 }, 'test')).rejects.toThrow(/nope/);
    const inj = await control.apply({ kind: 'inject', robot: 'epuck-1', attack: 'fault:spin', seconds: 2 }, 'test');
    expect(inj).toMatchObject({ robot: 1, fromTick: 0, toTick: 20 });
    const benign = new RunController(run([], { trialMode: false }).trial, settings);
    await expect(benign.apply({ kind: 'inject', robot: 'epuck-1', attack: 'fault:spin', seconds: 2 }, 'test')).rejects.toThrow(/trial mode/);
    await control.close();
    await expect(control.apply({ kind: 'estop', reason: 'late' }, 'test')).rejects.toThrow(/run has ended/);
    expect(r.trial.events).toEqual([]);
  });
});

describe('run controller: trained adversaries', () => {
  it('loads an adversary once per reference however often it is injected, makes faults fresh each time, and releases the adversary when the run ends', async () => {
    const r = run([]);
    const control = new RunController(r.trial, settings, PROJECT_ROOT);
    const ref = 'policies/attacks/posthoc-vs-mappo-rendezvous';
    const [a, b] = await Promise.all([
      control.apply({ kind: 'inject', robot: 'epuck-1', attack: ref, seconds: 1 }, 'test'),
      control.apply({ kind: 'inject', robot: 'epuck-2', attack: ref, seconds: 1 }, 'test'),
    ]);
    expect(a!.attack.kind).toBe('adversary');
    expect(b!.attack).toBe(a!.attack);
    const [f, g] = [await control.apply({ kind: 'inject', robot: 'epuck-3', attack: 'fault:stuck', seconds: 1 }, 'test'), await control.apply({ kind: 'inject', robot: 'epuck-4', attack: 'fault:stuck', seconds: 1 }, 'test')];
    expect(g!.attack).not.toBe(f!.attack);
    await r.ticks(3);
    // Both victims drove under the one adversary.
    expect(r.trial.records.at(-1)!.compromised).toEqual([1, 2, 3, 4]);
    await control.close();
    // Released: its session refuses to run.
    const adv = a!.attack.kind === 'adversary' ? a!.attack.adversary : null;
    await expect(adv!.act(r.trial.view.obs, [0], new Float32Array(2))).rejects.toThrow();
  });
});

describe('operator console', () => {
  it('parses inject, estop, release and help, and says what is wrong with a bad line', () => {
    expect(parseConsoleCommand('inject epuck-3 fault:spin 4')).toEqual({ kind: 'inject', robot: 'epuck-3', attack: 'fault:spin', seconds: 4 });
    expect(parseConsoleCommand('  inject epuck-3 obs-noise:0.5 ')).toEqual({ kind: 'inject', robot: 'epuck-3', attack: 'obs-noise:0.5', seconds: 10 });
    expect(parseConsoleCommand('estop too close')).toEqual({ kind: 'estop', reason: 'too close' });
    expect(parseConsoleCommand('release')).toEqual({ kind: 'release' });
    expect(parseConsoleCommand('end epuck-3,epuck-4')).toEqual({ kind: 'end-injection', robot: 'epuck-3,epuck-4' });
    expect(() => parseConsoleCommand('end')).toThrow(/usage: end <robot-id>/);
    expect(parseConsoleCommand('')).toBeNull();
    expect(() => parseConsoleCommand('inject epuck-3')).toThrow(/usage: inject/);
    expect(() => parseConsoleCommand('inject epuck-3 fault:spin -2')).toThrow(/seconds must be a number > 0/);
    expect(() => parseConsoleCommand('launch missiles')).toThrow(/unknown command 'launch'/);
  });

  it('an injection decided mid-run starts at the next tick and is recorded; the e-stop holds every robot until released', async () => {
    const r = run([]);
    await r.ticks(20);
    r.trial.inject(5, { kind: 'fault', fault: 'spin' }, 15);
    await r.ticks(20);
    expect(r.trial.events.find((e) => e.kind === 'injection-start')).toEqual({ tick: 20, kind: 'injection-start', robot: 'epuck-5', attack: 'fault:spin' });
    expect(outcomes(r.trial).find((o) => o.robot === 'epuck-5')!.detectionDelayTicks).not.toBeNull();
    r.trial.engageEStop('operator');
    await r.ticks(3);
    expect(r.trial.parts.safety.stops['e-stop']).toBe(30);
    r.trial.releaseEStop();
    expect(r.trial.events.filter((e) => e.kind === 'e-stop' || e.kind === 'release').map((e) => e.kind)).toEqual(['e-stop', 'release']);
  });

  it('a flag raised only after an injection ended is a false flag, not a detection', async () => {
    // Five ticks of spinning: the residual flags the robot (3 ticks above the threshold) only after the
    // injection is over (one tick of spinning no longer flags anybody: each tick's evidence is bounded).
    const r = run([{ robot: 2, fromTick: 10, toTick: 15, attack: { kind: 'fault', fault: 'spin' } }]);
    await r.ticks(40);
    const o = outcomes(r.trial).find((x) => x.robot === 'epuck-2')!;
    const flags = r.trial.events.filter((e) => e.kind === 'flag' && e.robot === 'epuck-2');
    expect(o.detectionDelayTicks).toBeNull();
    expect(flags.length).toBeGreaterThan(0);
    expect(o.falseFlags).toBe(flags.length);
  });

  it("the operator's end puts a compromised robot back under its policy at once, cancels a planned injection, and refuses a robot with none", async () => {
    const r = run([{ robot: 4, fromTick: 100, toTick: 200, attack: { kind: 'fault', fault: 'stuck' } }]);
    const control = new RunController(r.trial, settings);
    await r.ticks(10);
    await control.apply({ kind: 'inject', robot: 'epuck-2,epuck-7', attack: 'fault:spin', seconds: 30 }, 'console');
    await r.ticks(5);
    expect(r.trial.records.at(-1)!.compromised).toEqual([2, 7]);
    await expect(control.apply({ kind: 'end-injection', robot: 'epuck-2,epuck-3' }, 'console')).rejects.toThrow(/no injection on epuck-3 is running or planned/);
    expect(r.trial.events.filter((e) => e.kind === 'end-injection')).toEqual([]);
    await control.apply({ kind: 'end-injection', robot: 'epuck-2,epuck-4' }, 'console');
    await r.ticks(1);
    const t = r.trial.records.at(-1)!.tick;
    expect(r.trial.records.at(-1)!.compromised).toEqual([7]);
    expect(r.trial.events.filter((e) => e.kind === 'end-injection')).toEqual([
      { tick: 15, kind: 'end-injection', robot: 'epuck-2', reason: 'console' },
      { tick: 15, kind: 'end-injection', robot: 'epuck-4', reason: 'console' },
    ]);
    expect(r.trial.events).toContainEqual({ tick: t, kind: 'injection-end', robot: 'epuck-2', attack: 'fault:spin' });
    // The planned injection on epuck-4 never starts; epuck-7's runs on.
    await r.ticks(100);
    expect(r.trial.events.filter((e) => e.kind === 'injection-start').map((e) => (e as { robot: string }).robot)).toEqual(['epuck-2', 'epuck-7']);
    await expect(control.apply({ kind: 'end-injection', robot: 'epuck-2' }, 'console')).rejects.toThrow(/no injection on epuck-2/);
    const benign = new RunController(run([], { trialMode: false }).trial, settings);
    await expect(benign.apply({ kind: 'end-injection', robot: 'epuck-2' }, 'console')).rejects.toThrow(/trial mode/);
  });

  it('refuses a mid-run injection outside trial mode', () => {
    const r = run([], { trialMode: false });
    expect(() => r.trial.inject(1, { kind: 'fault', fault: 'stuck' }, 10)).toThrow(/trial mode/);
  });
});
