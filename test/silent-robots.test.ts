// Robots that do not answer on a link that connects to them: a calibration drive stops before anything is
// driven, naming the silent robots and their addresses (not a drive of minutes that then blames the
// recording); a run names them too. The robots' ports are local ports nothing listens on; `--twin` serves
// the same file.
import { freePorts } from './helpers/ports.js';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLaunch } from '../src/cli/run.js';
import { serveTwin } from '../src/cli/twin-serve.js';
import { runCalibrationDrive } from '../src/cli/calibration-drive.js';
import { readRecording } from '../src/recording/reader.js';
import { SilentRobotsError } from '../src/runtime/link.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const SHORT = [{ seconds: 0.5, left: 0.5, right: 0.5, what: 'forward' }];
// How long the link waits for first poses in these tests: enough for a local twin to answer.
const READY_MS = 1000;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));


/** A 3-robot Wi-Fi launch file (twin: false) whose robots are at these local ports; its run folders go to `<dir>/runs`. */
function wifiLaunch(ports: readonly number[], name = 'wifi.yaml'): { path: string; runs: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-silent-'));
  dirs.push(dir);
  const robots = ports.map((port, k) => `    epuck-${k}: { port: ${port}, start: { x: ${0.6 + 0.4 * k}, y: 1.0, theta: 0 } }`).join('\n');
  const path = join(dir, name);
  writeFileSync(path, `name: silent\nswarm: { robots: ${ports.length} }\npolicy: ${MAPPO}\nduration: 1\nout: runs\nlink:\n  kind: epuck2-wifi\n  robots:\n${robots}\n`);
  return { path, runs: join(dir, 'runs') };
}

describe('robots that do not answer', () => {
  it('a calibration drive with no robot connected stops before driving, naming every robot and its address', async () => {
    const ports = await freePorts(3);
    const { path, runs } = wifiLaunch(ports);
    const lines: string[] = [];
    const drive = runCalibrationDrive(path, { script: SHORT, readyTimeoutMs: READY_MS }, (l) => lines.push(l));
    await expect(drive).rejects.toThrow(SilentRobotsError);
    const message = await drive.catch((err: Error) => err.message);
    for (const [k, port] of ports.entries()) expect(message).toContain(`epuck-${k} (127.0.0.1:${port})`);
    expect(message).toMatch(/no robot answered within 1 s: .*; nothing was driven\. .*--twin.*swarmguard twin-serve/);
    // Nothing driven, nothing recorded.
    expect(lines.filter((l) => l.includes('forward') || l.includes('recording'))).toEqual([]);
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([]);
  });

  it('a calibration drive with one robot silent stops too: calibrate needs every robot', async () => {
    const ports = await freePorts(4);
    const served = wifiLaunch(ports.slice(0, 3), 'served.yaml');
    const twin = await serveTwin(served.path, {}, () => {});
    try {
      // The same robots, but epuck-2 looked for at a port nothing serves.
      const { path } = wifiLaunch([ports[0]!, ports[1]!, ports[3]!]);
      await expect(runCalibrationDrive(path, { script: SHORT, readyTimeoutMs: READY_MS }, () => {})).rejects.toThrow(
        new RegExp(`no reply within 1 s from epuck-2 \\(127\\.0\\.0\\.1:${ports[3]}\\) \\(2 of 3 robots answered\\); nothing was driven: calibrate fits every robot`),
      );
    } finally {
      await twin.stop();
    }
  });

  it('--twin serves the same file: the drive runs and is recorded', async () => {
    const { path, runs } = wifiLaunch(await freePorts(3));
    const drive = await runCalibrationDrive(path, { quiet: true, script: SHORT, twin: true, readyTimeoutMs: READY_MS }, () => {});
    expect(drive.interrupted).toBe(false);
    expect(drive.ticks).toBe(5);
    expect(readdirSync(runs)).toHaveLength(1);
    // The twin's robots answered and drove forward (east, from x = 0.6, 1.0, 1.4). How far depends on how
    // the 0.5 s went on a loaded machine, so the test asks only for forward motion seen in the recording.
    const records = (await readRecording(drive.recording)).records;
    [0, 1, 2].forEach((k) => {
      const furthest = Math.max(...records.map((r) => r.poses[k]!.x));
      expect(furthest, `epuck-${k}`).toBeGreaterThan(0.6 + 0.4 * k + 0.005);
    });
  });

  it('a run with no robot connected says which robots at which addresses, and how to get robots without hardware', async () => {
    const ports = await freePorts(3);
    const { path } = wifiLaunch(ports);
    const lines: string[] = [];
    const sum = await runLaunch(path, { quiet: true, console: false, readyTimeoutMs: READY_MS }, (l) => lines.push(l));
    // Robots may still come (a twin-serve started after the run): the run goes on with them stopped.
    expect(sum.stops['no-pose']).toBeGreaterThan(0);
    const said = lines.find((l) => l.startsWith('swarmguard run: no pose'));
    expect(said).toBeDefined();
    for (const [k, port] of ports.entries()) expect(said).toContain(`epuck-${k} (127.0.0.1:${port})`);
    expect(said).toMatch(/--twin/);
  }, 20_000);
});
