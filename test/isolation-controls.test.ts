// monitor.onFlag wherever it is set: the launch file (default report, a bad value named), the console, the
// dashboard's authenticated control path, the ROS 2 parameter monitor.on_flag; and the isolations as events
// in events.jsonl, run.mcap, the terminal's lines and summary.json.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runLaunch } from '../src/cli/run.js';
import { DashboardServer } from '../src/dashboard/server.js';
import { parameterSpecs, tunablesFrom, validateParameterUpdate } from '../src/links/ros2/params.js';
import { DEFAULT_MONITOR } from '../src/monitor/monitor.js';
import { readRecording } from '../src/recording/reader.js';
import { parseConsoleCommand } from '../src/runtime/console.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { DEFAULT_SAFETY } from '../src/runtime/safety.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial, type TrialRun } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { shippedMappo } from './helpers.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const TOKEN = 'isolation-test-token-0123456789';

function launchFile(body: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swarmguard-onflag-'));
  const path = join(dir, 'launch.yaml');
  writeFileSync(path, `swarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 2 }\npolicy: ${MAPPO}\nout: ${dir}\n${body}`);
  return { path, dir };
}

describe('monitor.onFlag in launch files', () => {
  it('defaults to report; isolate and isolate-and-stop are taken', async () => {
    expect((await loadLaunch(launchFile('duration: 1\n').path)).onFlag).toBe('report');
    expect((await loadLaunch(launchFile('duration: 1\nmonitor: { onFlag: isolate-and-stop, flagAt: 0.7 }\n').path)).onFlag).toBe('isolate-and-stop');
  });

  it('a bad value is refused with an error naming monitor.onFlag and the values it takes', async () => {
    const { path } = launchFile('duration: 1\nmonitor: { onFlag: quarantine }\n');
    const err = await loadLaunch(path).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(path);
    expect(err?.message).toMatch(/monitor\.onFlag/);
    expect(err?.message).toMatch(/report.*isolate.*isolate-and-stop/);
  });
});

describe('monitor.onFlag and the distributed runtime', () => {
  it('a distributed launch file may act on flags (the monitor publishes the isolation mask: test/distributed-isolation.test.ts)', async () => {
    for (const onFlag of ['isolate', 'isolate-and-stop'] as const) {
      const demo = readFileSync(join(PROJECT_ROOT, 'launch', 'distributed-demo.yaml'), 'utf8')
        .replaceAll('../policies/', `${join(PROJECT_ROOT, 'policies')}/`)
        .replace('monitor: { flagAt', `monitor: { onFlag: ${onFlag}, flagAt`);
      const { dir } = launchFile('duration: 1\n');
      const path = join(dir, 'distributed.yaml');
      writeFileSync(path, demo);
      const launch = await loadLaunch(path);
      try {
        expect(launch.onFlag).toBe(onFlag);
        expect(launch.distributed?.mode).toBe('lockstep');
      } finally {
        await releaseRun(launch);
      }
    }
  });
});

describe('the console and the ROS 2 parameter', () => {
  it('console: onflag shows or sets it; a bad value is named', () => {
    expect(parseConsoleCommand('onflag')).toEqual({ kind: 'show-on-flag' });
    expect(parseConsoleCommand('onflag isolate')).toEqual({ kind: 'on-flag', onFlag: 'isolate' });
    expect(() => parseConsoleCommand('onflag stop-all')).toThrow("onflag: 'stop-all' is not one of report, isolate, isolate-and-stop");
    expect(() => parseConsoleCommand('onflag isolate now')).toThrow(/usage: onflag/);
  });

  it('ROS 2: monitor.on_flag is declared with its choices, validated, and a bad value refused by name', () => {
    const spec = parameterSpecs(false).find((s) => s.name === 'monitor.on_flag')!;
    expect(spec).toMatchObject({ kind: 'string', constraint: 'one of report, isolate, isolate-and-stop' });
    const t = tunablesFrom(0.1, 10, { ...DEFAULT_SAFETY }, { ...DEFAULT_MONITOR, consistency: { ...DEFAULT_MONITOR.consistency } }, 'isolate');
    expect(t.onFlag).toBe('isolate');
    const ok = validateParameterUpdate(t, [{ name: 'monitor.on_flag', value: 'isolate-and-stop' }], false);
    expect(ok).toMatchObject({ ok: true, next: { onFlag: 'isolate-and-stop' } });
    expect(validateParameterUpdate(t, [{ name: 'monitor.on_flag', value: 'panic' }], false)).toEqual({ ok: false, reason: "monitor.on_flag must be one of report, isolate, isolate-and-stop, got 'panic'" });
    expect(validateParameterUpdate(t, [{ name: 'monitor.on_flag', value: 3 }], false)).toEqual({ ok: false, reason: 'monitor.on_flag takes a string' });
  });
});

describe('the dashboard sets it through its authenticated control path', () => {
  const { settings, team } = shippedMappo();
  let run: TrialRun;
  let link: SimLink;
  let server: DashboardServer;
  let port: number;
  beforeAll(async () => {
    link = new SimLink(settings, 'fast', 5);
    run = swarmTrial(settings, team(), link, { trialMode: false, injections: [], seed: 1 });
    server = new DashboardServer({
      arena: { width: settings.arenaWidth, height: settings.arenaHeight },
      ids: settings.robotIds,
      bodyRadius: settings.robots.map((r) => r.bodyRadius),
      controlPeriod: settings.controlPeriod,
      trialMode: false,
      flagAt: 0.8,
      clearAt: 0.3,
      cusumThreshold: 40,
      controller: new RunController(run, settings),
      onFlag: 'report',
      port: 0,
      token: TOKEN,
      log: () => {},
    });
    port = await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });

  /** Opens a client, sends one message after the welcome, and returns every message up to the answer with `id` (no message: up to the welcome). */
  async function exchange(msg: Record<string, unknown> | null, id: number): Promise<Record<string, any>[]> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const msgs: Record<string, any>[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('message', (d) => {
          const m = JSON.parse(d.toString());
          msgs.push(m);
          if (m.type === 'welcome' && !msg) resolve();
          if (m.type === 'welcome' && msg) ws.send(JSON.stringify({ ...msg, id }));
          // A malformed message is refused before its id is read: its answer has none.
          if (m.id === id || (m.type === 'error' && m.id === null)) resolve();
        });
        ws.once('error', reject);
        setTimeout(() => reject(new Error(`no answer ${id}: ${JSON.stringify(msgs).slice(0, 600)}`)), 10_000);
      });
    } finally {
      ws.terminate();
    }
    return msgs;
  }

  it('without the token it is refused and nothing changes; with it the run acts on flags, and a new page is told', async () => {
    const refused = await exchange({ type: 'control', action: { kind: 'on-flag', onFlag: 'isolate' } }, 1);
    expect(refused.at(-1)).toMatchObject({ type: 'error', id: 1, reason: expect.stringMatching(/token/) });
    expect(refused[0]).toMatchObject({ type: 'welcome', onFlag: 'report', isolated: [] });
    expect(run.response.onFlag).toBe('report');
    const bad = await exchange({ type: 'control', token: TOKEN, action: { kind: 'on-flag', onFlag: 'shutdown' } }, 2);
    expect(bad.at(-1)).toMatchObject({ type: 'error', reason: expect.stringMatching(/action\.onFlag/) });
    const done = await exchange({ type: 'control', token: TOKEN, action: { kind: 'on-flag', onFlag: 'isolate' } }, 3);
    expect(done.at(-1)).toMatchObject({ type: 'result', id: 3 });
    expect(run.response.onFlag).toBe('isolate');
    expect(run.events.at(-1)).toEqual({ tick: 0, kind: 'on-flag', onFlag: 'isolate', reason: 'dashboard' });
    // The tick that reports the change tells the server; a page that joins then sees it.
    await run.step();
    link.advance();
    server.tick(run.records.at(-1)!, run.events);
    const later = await exchange(null, 4);
    expect(later[0]).toMatchObject({ type: 'welcome', onFlag: 'isolate' });
    expect(later[0]!.events.map((e: { text: string }) => e.text).join('\n')).toMatch(/ON-FLAG +flags now isolate the robot \(dashboard\)/);
  });
});

describe('isolations are events: events.jsonl, run.mcap, the terminal and summary.json', () => {
  it('a fast trial with isolate-and-stop and a spinning robot', async () => {
    const { path } = launchFile('name: iso\nduration: 30\ntrial: true\nmonitor: { onFlag: isolate-and-stop }\ninjections: [{ robot: epuck-2, at: 1, duration: 4, attack: "fault:spin" }]\n');
    const lines: string[] = [];
    const sum = await runLaunch(path, { quiet: true, console: false }, (l) => lines.push(l));
    const events = readFileSync(join(sum.runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const isolations = events.filter((e) => e.kind === 'isolate' || e.kind === 'isolation-end' || e.kind === 'on-flag');
    expect(isolations[0]).toEqual({ tick: 0, kind: 'on-flag', onFlag: 'isolate-and-stop', reason: 'launch' });
    expect(isolations[1]).toMatchObject({ kind: 'isolate', robot: 'epuck-2', stopped: true });
    expect(isolations.at(-1)).toMatchObject({ kind: 'isolation-end', robot: 'epuck-2', reason: 'cleared' });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'stop', robot: 'epuck-2', reason: 'isolated' }));
    // The recording holds the same events.
    const rec = await readRecording(join(sum.runDir, 'run.mcap'));
    expect(rec.events.filter((e) => e.kind === 'isolate' || e.kind === 'isolation-end' || e.kind === 'on-flag')).toEqual(isolations);
    // Shown as they happen and counted at the end.
    const text = lines.join('\n');
    expect(text).toMatch(/ISOLATE +epuck-2 held still, a still body in the others' observations and out of their beliefs, until cleared/);
    expect(text).toMatch(/REJOIN +epuck-2 back in the others' observations after \d+\.\d s \(cleared by the monitor\)/);
    const starts = isolations.filter((e) => e.kind === 'isolate').length;
    expect(text).toContain(`on flag: isolate-and-stop; ${starts} isolation(s) (${starts} of compromised robots, 0 false)`);
    const summary = JSON.parse(readFileSync(join(sum.runDir, 'summary.json'), 'utf8'));
    expect(summary.isolations).toMatchObject({ onFlag: 'isolate-and-stop', isolations: starts, ofCompromised: starts, falseIsolations: 0, stillIsolated: [] });
    expect(summary.stops.isolated).toBeGreaterThan(0);
  });
});
