// User-written attack modules (src/attacks/attack-module.ts): loaded and validated before a run, driving
// their robot in a trial, refused outside trial mode, failures stopping only their robot, usable as an eval
// matrix row and in eval:monitor; composable timing (several robots, intermittent) and the shipped examples.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEvaluation } from '../src/cli/evaluate.js';
import { runMonitorEvaluation } from '../src/cli/eval-monitor.js';
import { offeredAttacks } from '../src/dashboard/service.js';
import { isAttackModuleRef, loadAttackModule } from '../src/attacks/attack-module.js';
import { parseConsoleCommand } from '../src/runtime/console.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { SimLink } from '../sim/sim-link.js';
import { isActive, swarmTrial, type Injection } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { evaluateTeamEpisodes } from '../sim/team-eval.js';
import { loadAttack, loadAttackRow } from '../src/attacks/attack.js';
import { shippedMappo } from './helpers.js';

const { dir: MAPPO, settings, team: mappo } = shippedMappo();
const dir = mkdtempSync(join(tmpdir(), 'swarmguard-attacks-'));

/** Writes an attack module into the test folder and returns its path. */
function moduleFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

// Turns on the spot, and records what it was given (robot, tick, pose against swarm, intended) on globalThis.
const SPIN = moduleFile(
  'spin-recorder.ts',
  `export const name = 'spin-recorder';
   export function init(setup: { robot: string }) { return { robot: setup.robot, calls: 0 }; }
   export function attack(input: any): [number, number] {
     input.state.calls++;
     if (input.tick > 0) ((globalThis as any).spinSeen ??= []).push({ robot: input.robot, stateRobot: input.state.robot, calls: input.state.calls, tick: input.tick, time: input.time, poseIsOwn: input.pose === input.swarm[input.index], robots: input.swarm.length, obs: input.observation.length, intended: input.intended });
     return [0.6, -0.6];
   }`,
);
// Fails on its robot's 5th tick: throws, or returns NaN.
const THROWS = moduleFile('throws.mjs', `export default function ({ tick }) { if (tick >= 5) throw new Error('lost the plot'); return [0.2, 0.2]; }`);
const NAN = moduleFile('nan.js', `export function attack({ tick }) { return tick >= 5 ? [Number.NaN, 0] : [0.2, 0.2]; }`);

const at = (robot: number, fromTick: number, toTick: number, attack: Injection['attack']): Injection => ({ robot, fromTick, toTick, attack });

function trial(injections: Injection[], trialMode = true) {
  const link = new SimLink(settings, 'fast', 5);
  const run = swarmTrial(settings, mappo(), link, { trialMode, injections, seed: 1 });
  return {
    run,
    async ticks(n: number) {
      for (let k = 0; k < n; k++) {
        await run.step();
        link.advance();
      }
    },
  };
}

describe('attack modules in a trial', () => {
  it('drive their robot: the commands sent are the module\'s, from what the robot knows', async () => {
    (globalThis as { spinSeen?: unknown[] }).spinSeen = [];
    const attack = await loadAttack(`module:${SPIN}`, settings);
    expect(attack.kind).toBe('module');
    const t = trial([at(3, 10, 30, attack)]);
    await t.ticks(40);
    for (const r of t.run.records) {
      const [l, r3] = [r.commands[6], r.commands[7]];
      if (r.tick >= 10 && r.tick < 30) expect([l, r3]).toEqual([Math.fround(0.6), Math.fround(-0.6)]);
      else expect([l, r3]).toEqual([r.intended[6], r.intended[7]].map((v) => Math.max(-1, Math.min(1, v!))));
    }
    expect(t.run.events.filter((e) => e.kind === 'injection-start')).toEqual([{ tick: 10, kind: 'injection-start', robot: 'epuck-3', attack: 'spin-recorder' }]);
    const seen = (globalThis as unknown as { spinSeen: Record<string, unknown>[] }).spinSeen;
    expect(seen).toHaveLength(19);
    expect(seen[0]).toMatchObject({ robot: 'epuck-3', stateRobot: 'epuck-3', calls: 2, tick: 1, poseIsOwn: true, robots: 10 });
    expect(seen[0]!.time).toBeCloseTo(settings.controlPeriod);
    expect(seen[0]!.obs).toBe(t.run.view.observer.size);
    // The intended command handed over is the policy's for that robot at that tick.
    expect(seen[0]!.intended).toEqual({ left: t.run.records[11]!.intended[6], right: t.run.records[11]!.intended[7] });
  });

  it('are refused outside trial mode: the launch file, the run and the console', async () => {
    const launch = join(dir, 'benign.yaml');
    writeFileSync(launch, `swarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 2 }\npolicy: ${MAPPO}\nduration: 5\ninjections: [{ robot: epuck-1, at: 1, duration: 1, attack: 'module:${SPIN}' }]\n`);
    await expect(loadLaunch(launch)).rejects.toThrow(/refused outside trial mode/);
    const attack = await loadAttack(SPIN, settings);
    expect(() => trial([at(1, 0, 5, attack)], false)).toThrow(/refused outside trial mode/);
    const benign = trial([], false);
    const control = new RunController(benign.run, settings);
    await expect(control.apply({ kind: 'inject', robot: 'epuck-1', attack: SPIN, seconds: 2 }, 'console')).rejects.toThrow(/trial mode/);
    await control.close();
  });

  it('a module that throws or returns NaN stops its robot and is reported once; the others carry on', async () => {
    const [throws, nan] = [await loadAttack(THROWS, settings), await loadAttack(NAN, settings)];
    const t = trial([at(2, 10, 60, throws), at(6, 10, 60, nan)]);
    await t.ticks(60);
    const errors = t.run.events.filter((e) => e.kind === 'attack-error');
    expect(errors).toEqual([
      { tick: 15, kind: 'attack-error', robot: 'epuck-2', attack: 'module:throws.mjs', problem: 'threw: lost the plot' },
      { tick: 15, kind: 'attack-error', robot: 'epuck-6', attack: 'module:nan.js', problem: 'returned a non-finite left command (NaN)' },
    ]);
    expect(t.run.events.filter((e) => e.kind === 'stop')).toEqual([
      { tick: 15, kind: 'stop', robot: 'epuck-2', reason: 'invalid-command' },
      { tick: 15, kind: 'stop', robot: 'epuck-6', reason: 'invalid-command' },
    ]);
    // Stopped until the injection ends; nobody else was stopped and the others still drive.
    for (const r of t.run.records.slice(15)) {
      expect(r.stopped.map((s, i) => (s === null ? null : i))).toEqual(r.stopped.map((_, i) => (i === 2 || i === 6 ? i : null)));
      expect([r.commands[4], r.commands[5], r.commands[12], r.commands[13]]).toEqual([0, 0, 0, 0]);
    }
    const moving = t.run.records.at(-1)!.commands.filter((c, k) => Math.floor(k / 2) !== 2 && Math.floor(k / 2) !== 6 && c !== 0).length;
    expect(moving).toBeGreaterThan(8);
  });
});

describe('attack module validation before the run', () => {
  const bad: [string, string, RegExp][] = [
    ['no-function.mjs', 'export const attack = 3;', /no-function\.mjs: exports no attack function/],
    ['bad-init.mjs', 'export const init = 1; export default () => [0, 0];', /bad-init\.mjs: init is exported but is not a function/],
    ['nan-dry.mjs', 'export default () => [NaN, 0];', /nan-dry\.mjs: failed its dry run on a synthetic swarm: returned a non-finite left command \(NaN\)/],
    ['too-fast.mjs', 'export default () => [0, 2];', /too-fast\.mjs: failed its dry run .*right command of 2, outside \[-1, 1\]/],
    ['not-a-pair.mjs', 'export default () => 0.5;', /not-a-pair\.mjs: failed its dry run .*returned 0\.5, not a \[left, right\] pair/],
    ['async.mjs', 'export default async () => [0, 0];', /async\.mjs: failed its dry run .*returned a Promise/],
    ['init-throws.mjs', "export function init() { throw new Error('no config'); } export default () => [0, 0];", /init-throws\.mjs: failed its dry run .*threw: no config/],
    ['syntax.mjs', 'export default () => [0, 0', /syntax\.mjs: cannot be imported/],
  ];
  for (const [file, body, message] of bad) {
    it(`refuses ${file}, naming the file and the problem`, async () => {
      await expect(loadAttackModule(moduleFile(file, body), settings)).rejects.toThrow(message);
    });
  }

  it('refuses a missing file, and names the launch file entry', async () => {
    await expect(loadAttack('module:nowhere/attack.ts', settings)).rejects.toThrow(/attack module .*nowhere\/attack\.ts: no such file/);
    const launch = join(dir, 'missing.yaml');
    writeFileSync(launch, `swarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 2 }\npolicy: ${MAPPO}\nduration: 5\ntrial: true\ninjections: [{ robot: epuck-1, at: 1, duration: 1, attack: gone.ts }]\n`);
    await expect(loadLaunch(launch)).rejects.toThrow(/injections\[0\]\.attack: attack module .*gone\.ts: no such file/);
  });

  it('takes a typed array of two as a command', async () => {
    const typed = await loadAttackModule(moduleFile('typed.mjs', 'export default () => Float32Array.of(0.25, -0.5);'), settings);
    expect(typed.name).toBe('module:typed.mjs');
  });

  it('names modules by module:<file> or a .ts/.mts/.js/.mjs path, nothing else', () => {
    for (const ref of ['module:x', 'a/b.ts', 'b.mts', 'c.js', 'd.mjs']) expect(isAttackModuleRef(ref)).toBe(true);
    for (const ref of ['fault:spin', 'policies/attacks/posthoc-vs-mappo-rendezvous', 'policies/batpal-rendezvous@severity-3']) expect(isAttackModuleRef(ref)).toBe(false);
  });
});

describe('attack modules in evaluations', () => {
  it('as an eval matrix row: a module spinning at full speed scores exactly as fault:spin on the same episodes', async () => {
    const spin = moduleFile('full-spin.mjs', 'export default () => [-1, 1];');
    const ev = await runEvaluation({ policy: [MAPPO], attack: ['fault:spin', `module:${spin}`, `2x:${spin}`], episodes: 3, seed: 5, quiet: true }, () => {});
    expect(ev.cells.map((c) => c.attack)).toEqual(['fault:spin', 'module:full-spin.mjs', '2x:module:full-spin.mjs']);
    expect(ev.cells[1]!.result.meanReturn).toBe(ev.cells[0]!.result.meanReturn);
    expect(ev.cells[2]!.result.meanReturn).not.toBe(ev.cells[0]!.result.meanReturn);
  }, 120_000);

  it('a module failing in an evaluation stops its victim (as fault:stuck) and is reported per episode', async () => {
    const fails = moduleFile('fails-at-once.mjs', "export default ({ tick }) => { if (tick > 0) throw new Error('boom'); return [0, 0]; };");
    const row = await loadAttackRow(fails, settings);
    const errors: { env: number; robot: string; problem: string }[] = [];
    const failed = await evaluateTeamEpisodes(settings, mappo(), { episodes: 2, seed: 5, attack: row.attack, onAttackError: (f) => errors.push(f) });
    const stuck = await evaluateTeamEpisodes(settings, mappo(), { episodes: 2, seed: 5, attack: { kind: 'fault', fault: 'stuck' } });
    expect(failed).toEqual(stuck);
    expect(errors).toEqual([
      { env: 0, robot: 'epuck-0', problem: 'module:fails-at-once.mjs: threw: boom' },
      { env: 1, robot: 'epuck-1', problem: 'module:fails-at-once.mjs: threw: boom' },
    ]);
  }, 120_000);

  it('in eval:monitor: the shipped orbit example is an attack the monitor is scored on', async () => {
    const { detectors } = await runMonitorEvaluation(
      { policy: MAPPO, attack: [join(PROJECT_ROOT, 'launch/attacks/orbit.ts')], episodes: 1, seed: 9, at: 2, duration: 3, length: 6, out: join(dir, 'monitor'), quiet: true },
      () => {},
    );
    expect(detectors.find((d) => d.attack === 'orbit' && d.detector === 'consistency')).toBeDefined();
  }, 120_000);
});

describe('composable timing', () => {
  it('an intermittent injection acts in its on-phases only, with ground truth per phase', async () => {
    const inj: Injection = { robot: 4, fromTick: 5, toTick: 25, onTicks: 4, offTicks: 3, attack: { kind: 'fault', fault: 'spin' } };
    expect(Array.from({ length: 30 }, (_, t) => (isActive(inj, t) ? 1 : 0)).join('')).toBe('000001111000111100011110000000');
    const t = trial([inj]);
    await t.ticks(30);
    const truth = t.run.events.filter((e) => e.kind === 'injection-start' || e.kind === 'injection-end').map((e) => `${e.kind === 'injection-start' ? '+' : '-'}${e.tick}`);
    expect(truth).toEqual(['+5', '-9', '+12', '-16', '+19', '-23']);
    expect(t.run.records.filter((r) => r.compromised.includes(4)).map((r) => r.tick)).toEqual([5, 6, 7, 8, 12, 13, 14, 15, 19, 20, 21, 22]);
  });

  it('launch file timing errors name the entry and the field', async () => {
    const launch = (inj: string) => {
      const path = join(dir, 'timing.yaml');
      writeFileSync(path, `swarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 2 }\npolicy: ${MAPPO}\nduration: 5\ntrial: true\ninjections: [${inj}]\n`);
      return loadLaunch(path);
    };
    await expect(launch("{ robot: epuck-1, at: 1, duration: 2, on: 1, attack: 'fault:spin' }")).rejects.toThrow(/injections\[0\]\.on\/off: an intermittent injection needs both on and off/);
    await expect(launch("{ robots: [epuck-1, epuck-1], at: 1, duration: 2, attack: 'fault:spin' }")).rejects.toThrow(/injections\[0\]\.robots: robot 'epuck-1' is named twice/);
    await expect(launch("{ robot: epuck-1, robots: [epuck-2], at: 1, duration: 2, attack: 'fault:spin' }")).rejects.toThrow(/injections\[0\]: name the robot .* one of the two/);
    await expect(launch("{ robot: epuck-1, at: 6, duration: 2, attack: 'fault:spin' }")).rejects.toThrow(/injections\[0\]\.at: 6 s is not within the run's 5 s/);
  });

  it('the console injects several robots at once, intermittently, each with its own module state', async () => {
    expect(parseConsoleCommand('inject epuck-1,epuck-2 attacks/lure.ts 6 on=1 off=0.5')).toEqual({ kind: 'inject', robot: 'epuck-1,epuck-2', attack: 'attacks/lure.ts', seconds: 6, on: 1, off: 0.5 });
    expect(() => parseConsoleCommand('inject epuck-1 fault:spin 6 on=1')).toThrow(/on=<s> and off=<s> go together/);
    (globalThis as { spinSeen?: unknown[] }).spinSeen = [];
    const t = trial([]);
    const control = new RunController(t.run, settings);
    await control.apply({ kind: 'inject', robot: 'epuck-1,epuck-2', attack: SPIN, seconds: 2, on: 0.5, off: 0.5 }, 'console');
    await t.ticks(20);
    expect(t.run.records.map((r) => r.compromised.join(','))).toEqual([...Array(5).fill('1,2'), ...Array(5).fill(''), ...Array(5).fill('1,2'), ...Array(5).fill('')]);
    const seen = (globalThis as unknown as { spinSeen: { robot: string; stateRobot: string }[] }).spinSeen;
    expect(seen.every((s) => s.robot === s.stateRobot)).toBe(true);
    expect(new Set(seen.map((s) => s.robot))).toEqual(new Set(['epuck-1', 'epuck-2']));
    await control.close();
  });
});

describe('shipped examples', () => {
  it('launch/attack-modules.yaml loads: the lure, the orbit on two robots, the intermittent mimic-then-defect', async () => {
    const l = await loadLaunch(join(PROJECT_ROOT, 'launch/attack-modules.yaml'));
    try {
      expect(l.trial).toBe(true);
      expect(l.injections.map((i) => [l.settings.robotIds[i.robot], i.attack.kind === 'module' ? i.attack.module.name : '', i.fromTick, i.toTick, i.onTicks, i.offTicks])).toEqual([
        ['epuck-3', 'lure', 50, 200, undefined, undefined],
        ['epuck-6', 'orbit', 120, 220, undefined, undefined],
        ['epuck-8', 'orbit', 120, 220, undefined, undefined],
        ['epuck-1', 'mimic-then-defect', 20, 320, 60, 40],
      ]);
    } finally {
      await releaseRun(l);
    }
  });

  it('the lure leads its robot toward the corner farthest from the others; mimic-then-defect mimics, then reverses', async () => {
    const [lure, mimic] = [await loadAttack(join(PROJECT_ROOT, 'launch/attacks/lure.ts'), settings), await loadAttack(join(PROJECT_ROOT, 'launch/attacks/mimic-then-defect.ts'), settings)];
    const t = trial([at(3, 0, 150, lure), at(7, 0, 150, mimic)]);
    await t.ticks(150);
    const first = t.run.records[0]!.poses;
    const last = t.run.records.at(-1)!.poses;
    const others = (ps: typeof first) => ps.filter((_, i) => i !== 3 && i !== 7);
    const cx = others(last).reduce((s, p) => s + p.x, 0) / 8;
    const cy = others(last).reduce((s, p) => s + p.y, 0) / 8;
    const away = (p: { x: number; y: number }) => Math.hypot(p.x - cx, p.y - cy);
    expect(away(last[3]!)).toBeGreaterThan(away(first[3]!));
    // Mimicry for the first 5 s (50 ticks): the policy's command; then its reverse.
    const r10 = t.run.records[10]!;
    expect([r10.commands[14], r10.commands[15]]).toEqual([r10.intended[14], r10.intended[15]]);
    const r80 = t.run.records[80]!;
    if (r80.stopped[7] === null) expect([r80.commands[14], r80.commands[15]]).toEqual([-r80.intended[14]!, -r80.intended[15]!].map((v) => Math.fround(Math.max(-1, Math.min(1, v)))));
  });
});

describe('the dashboard', () => {
  it("offers the launch file's attack modules, resolved against the launch file", async () => {
    const l = await loadLaunch(join(PROJECT_ROOT, 'launch/attack-modules.yaml'));
    try {
      const offered = offeredAttacks(l);
      expect(offered['lure.ts']).toBe(`module:${join(PROJECT_ROOT, 'launch/attacks/lure.ts')}`);
      expect(offered['orbit.ts']).toBe(`module:${join(PROJECT_ROOT, 'launch/attacks/orbit.ts')}`);
      // What it offers loads as an injection through the run controller.
      const t = trial([]);
      const control = new RunController(t.run, settings);
      const inj = await control.apply({ kind: 'inject', robot: 'epuck-4', attack: offered['lure.ts']!, seconds: 1 }, 'dashboard');
      expect(inj!.attack.kind === 'module' && inj!.attack.module.name).toBe('lure');
      await control.close();
    } finally {
      await releaseRun(l);
    }
  });
});
