import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePorts } from './helpers/ports.js';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCalibrate } from '../src/cli/calibrate.js';
import { loadRobotsFile, resolveRobotParams } from '../src/core/robot-params.js';
import { calibrate, fittedParams } from '../src/recording/calibrate.js';
import { compareWithTwin } from '../sim/sim2real-compare.js';
import { runCalibrationDrive } from '../src/cli/calibration-drive.js';
import { readRecording } from '../src/recording/reader.js';
import { DEFAULT_ROBOTS_FILE, PROJECT_ROOT } from '../src/core/swarm-config.js';
import { NO_NOISE } from '../src/core/noise.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const NOMINAL = { wheelRadius: 0.0205, wheelDistance: 0.053 };
/** The robots as they really are: some with +4% wheel radius, some with -3% wheel distance, latencies 0-2. */
const TRUTH: Record<string, { wheelRadius: number; wheelDistance: number; latencyTicks: number }> = {
  'epuck-0': { wheelRadius: 1.04 * NOMINAL.wheelRadius, wheelDistance: NOMINAL.wheelDistance, latencyTicks: 0 },
  'epuck-1': { wheelRadius: NOMINAL.wheelRadius, wheelDistance: 0.97 * NOMINAL.wheelDistance, latencyTicks: 2 },
  'epuck-2': { wheelRadius: 1.04 * NOMINAL.wheelRadius, wheelDistance: 0.97 * NOMINAL.wheelDistance, latencyTicks: 1 },
  'epuck-3': { ...NOMINAL, latencyTicks: 1 },
  'epuck-4': { wheelRadius: 0.97 * NOMINAL.wheelRadius, wheelDistance: 1.04 * NOMINAL.wheelDistance, latencyTicks: 1 },
  'epuck-5': { ...NOMINAL, latencyTicks: 0 },
};

/** A swarm of six twins whose robots file says how they really are; tracker, actuator noise and drops on. */
function setup(noise = '{ wheelRadiusSpread: 0, wheelDistanceSpread: 0, positionNoise: 0.001, headingNoise: 0.01 }') {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-cal-'));
  dirs.push(dir);
  const truth = join(dir, 'truth.yaml');
  writeFileSync(
    truth,
    `model: e-puck2\ndefaults: { wheelRadius: 0.0205, wheelDistance: 0.053, stepsPerRevolution: 1000, maxStepsPerSecond: 1100, bodyRadius: 0.037 }\noverrides:\n` +
      Object.entries(TRUTH).map(([id, p]) => `  ${id}: ${JSON.stringify(p)}\n`).join(''),
  );
  const launch = join(dir, 'launch.yaml');
  writeFileSync(launch, `name: cal\nswarm: { robots: 6, robotsFile: truth.yaml, noise: ${noise} }\nlink: { kind: sim, mode: fast, seed: 5 }\npolicy: ${MAPPO}\nduration: 5\nout: ${dir}\n`);
  // What calibrate writes into: the nominal robots file as shipped (comments and all).
  const nominal = join(dir, 'epuck2.yaml');
  copyFileSync(DEFAULT_ROBOTS_FILE, nominal);
  return { dir, launch, nominal };
}

describe('calibration', () => {
  it("the twin delays a robot's commands by its own latencyTicks (a robots file value), whatever the noise model draws", () => {
    const base = settings({ robots: 2, noise: { ...NO_NOISE, latencyTicks: { min: 1, max: 1 } } });
    const world = new RendezvousWorld({ ...base, robots: [{ ...base.robots[0]!, latencyTicks: 2 }, base.robots[1]!] }, { envs: 1, seed: 1, autoReset: false });
    world.resetEnv(0, [{ x: 0.4, y: 0.4, heading: 0 }, { x: 1.6, y: 1.6, heading: 0 }]);
    const moved: boolean[][] = [];
    for (let t = 0; t < 3; t++) {
      world.step([1, 1, 1, 1]);
      moved.push([world.truth.x[0]! > 0.4, world.truth.x[1]! > 1.6]);
    }
    // Robot 0 (its own 2 ticks) starts on the third step, robot 1 (the noise model's 1 tick) on the second.
    expect(moved).toEqual([[false, false], [false, true], [true, true]]);
  });

  it('a recorded calibration drive of robots with perturbed wheels: every fitted parameter within 2% of the truth, latencies exact, written to the robots file', async () => {
    const { launch, nominal } = setup();
    const lines: string[] = [];
    const result = await runCalibrate(undefined, { drive: launch, repeats: 4, robots: nominal, write: true, quiet: true }, (l) => lines.push(l));
    expect(result.fits.map((f) => f.id)).toEqual(Object.keys(TRUTH));
    for (const f of result.fits) {
      const t = TRUTH[f.id]!;
      expect(Math.abs(f.wheelRadius / t.wheelRadius - 1), `${f.id} wheel radius ${f.wheelRadius}`).toBeLessThan(0.02);
      expect(Math.abs(f.wheelDistance / t.wheelDistance - 1), `${f.id} wheel distance ${f.wheelDistance}`).toBeLessThan(0.02);
      expect(f.latencyTicks, `${f.id} latency`).toBe(t.latencyTicks);
    }
    // The robots file: fitted values under overrides, its comments kept, still a valid robots file.
    const text = readFileSync(nominal, 'utf8');
    expect(text).toContain('# e-puck2 parameters used by the simulator twin and the runtime');
    const written = loadRobotsFile(nominal);
    for (const f of result.fits) {
      expect(written.overrides[f.id]!.wheelRadius).toBeCloseTo(f.wheelRadius, 6);
      expect(written.overrides[f.id]!.wheelDistance).toBeCloseTo(f.wheelDistance, 6);
      expect(written.overrides[f.id]!.latencyTicks).toBe(f.latencyTicks);
    }
    // sim2real: open loop, the twin's divergence from the recording (mostly the noise's random walk) is as
    // small with the fitted parameters as with the true ones, and smaller than with the nominal ones.
    const run = await readRecording(result.recording);
    expect(run.kind).toBe('calibration-drive');
    const nominalParams = resolveRobotParams(loadRobotsFile(DEFAULT_ROBOTS_FILE), run.robotIds);
    const divergence = (robots: Parameters<typeof compareWithTwin>[1]) => compareWithTwin(run, robots).meanPosition;
    const fitted = divergence({ robots: fittedParams(run, result.fits) });
    expect(fitted).toBeLessThan(divergence({ robots: nominalParams }));
    expect(fitted).toBeLessThan(1.05 * divergence({}));
    expect(lines.join('\n')).toContain(`robots file ${nominal}`);
  });

  it('refuses a recording that does not excite the parameters, naming the file and the robot', async () => {
    const { launch } = setup();
    const still = await runCalibrationDrive(launch, { quiet: true, script: [{ seconds: 5, left: 0, right: 0, what: 'still' }] }, () => {});
    const run = await readRecording(still.recording);
    expect(() => calibrate(run)).toThrow(new RegExp(`${still.recording.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: robot epuck-0 drove straight in 0 and turned in 0 usable ticks`));
  });

  it('a drive whose recording cannot be created stops the link it opened (the in-process twin closes its ports)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-cal-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'not-a-folder'), '');
    const [base, next] = await freePorts(2);
    const launch = join(dir, 'wifi.yaml');
    writeFileSync(
      launch,
      `name: w\nswarm: { robots: 2 }\npolicy: ${MAPPO}\nduration: 5\nout: ${join(dir, 'not-a-folder', 'runs')}\n` +
        `link:\n  kind: epuck2-wifi\n  twin: true\n  robots:\n    epuck-0: { port: ${base}, start: { x: 0.8, y: 1.0, theta: 0 } }\n    epuck-1: { port: ${next}, start: { x: 1.2, y: 1.0, theta: 3.1 } }\n`,
    );
    await expect(runCalibrationDrive(launch, { quiet: true }, () => {})).rejects.toThrow(/not-a-folder/);
    const refused = await new Promise<boolean>((resolve) => {
      const sock = connect(base!, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(false)));
      sock.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('refuses a robots file that is not valid instead of overwriting it', async () => {
    const { launch, dir } = setup();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'model: e-puck2\ndefaults: { wheelRadius: -1 }\n');
    await expect(runCalibrate(undefined, { drive: launch, robots: bad, write: true, quiet: true }, () => {})).rejects.toThrow(/bad\.yaml: defaults\.wheelRadius/);
    expect(readFileSync(bad, 'utf8')).toBe('model: e-puck2\ndefaults: { wheelRadius: -1 }\n');
  });
});
