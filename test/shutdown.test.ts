// `swarmguard run` as a child process, ended the ways a real arena ends it: SIGTERM (a service manager, a
// container stop), SIGHUP (a closed terminal), SIGINT (Ctrl-C), a fatal error, SIGKILL. Every robot must get
// a stop before the process exits, seen by the robots themselves where they live outside it (the Wi-Fi
// protocol twin, the MQTT bus twin, both in this process); the run folder must be complete; a SIGKILLed
// run's recording must replay up to its last chunk and `swarmguard recover` close it. No timing is asserted:
// every wait is for an event or a file, with a generous bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';
import { ProtocolTwin } from '../sim/protocol-twin/twin.js';
import { runCompare } from '../src/cli/compare.js';
import { runReplay } from '../src/cli/replay.js';
import { EmbeddedBroker } from '../src/links/mqtt/broker.js';
import { BusTwin } from '../sim/protocol-twin/mqtt-bus-twin.js';
import { DEFAULT_QOS } from '../src/links/mqtt/topics.js';
import { FileReadable, readRecording, type RecordedRun } from '../src/recording/reader.js';
import type { RunSummary } from '../src/runtime/run-folder.js';
import { circleStarts } from './epuck2-helpers.js';
import { mqttLaunch, until } from './helpers/mqtt.js';

const BIN = join(PROJECT_ROOT, 'src', 'bin', 'swarmguard.js');
const FATAL_RUN = join(PROJECT_ROOT, 'test', 'helpers', 'fatal-run.mjs');
const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
/** Bounds on waits for events (not measurements), and on a test with a child process. */
const WAIT_MS = 90_000;
const CHILD_TIMEOUT_MS = 180_000;

const dirs: string[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'swarmguard-shutdown-'));
  dirs.push(d);
  return d;
}

interface Child {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `swarmguard <args>` (or `script <args>`) as a child process, its output collected line by line. */
function spawnCli(args: string[], o: { script?: string; env?: Record<string, string> } = {}): Child {
  const child = spawn(process.execPath, [o.script ?? BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  const output: string[] = [];
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (b: Buffer) => output.push(...b.toString().split('\n').filter(Boolean)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, output, exited };
}

function spawnRun(launch: string, o: { script?: string; env?: Record<string, string> } = {}): Child {
  return spawnCli(['run', launch, '--quiet', '--no-console'], o);
}

/** The run folder a launch file's run created under `out` (null until there is one). */
function runFolder(out: string): string | null {
  if (!existsSync(out)) return null;
  const dirs = readdirSync(out);
  return dirs.length === 1 ? join(out, dirs[0]!) : null;
}

function eventLines(folder: string): Record<string, unknown>[] {
  const file = join(folder, 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits until the run has appended its first event (the injection's start) to events.jsonl, while it runs. */
async function firstEvent(out: string, run: Child): Promise<string> {
  await until(`the run's first event in events.jsonl (output: ${run.output.join(' | ')})`, () => {
    if (run.child.exitCode !== null) throw new Error(`the run exited (${run.child.exitCode}) first: ${run.output.join('\n')}`);
    const f = runFolder(out);
    return f !== null && eventLines(f).some((e) => e.kind === 'injection-start');
  }, WAIT_MS);
  return runFolder(out)!;
}

/** A live sim run with a robot spinning from 0.5 s on (an event to wait for) and a long duration. */
function simLaunch(dir: string, name: string): { path: string; out: string } {
  const out = join(dir, 'runs');
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\nswarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: live, seed: 7 }\npolicy: ${MAPPO}\nduration: 120\ntrial: true\n` +
      `injections: [{ robot: epuck-3, at: 0.5, duration: 100, attack: 'fault:spin' }]\nout: ${out}\n`,
  );
  return { path, out };
}

/** The files a run folder must hold after a shutdown, the recording closed and read through its index. */
async function expectCompleteFolder(folder: string): Promise<{ summary: RunSummary; recording: RecordedRun }> {
  expect(readdirSync(folder).sort()).toEqual(['events.jsonl', 'run.mcap', 'summary.json', 'suspicion.svg', 'trajectory.svg']);
  for (const svg of ['suspicion.svg', 'trajectory.svg']) expect(readFileSync(join(folder, svg), 'utf8')).toMatch(/<\/svg>\s*$/);
  const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as RunSummary;
  const recording = await readRecording(join(folder, 'run.mcap'));
  expect(recording.truncated).toBeNull();
  expect(recording.closed).toBe(true);
  expect(recording.records).toHaveLength(summary.ticks);
  expect(eventLines(folder)).toEqual(JSON.parse(JSON.stringify(recording.events)));
  return { summary, recording };
}

describe('swarmguard run ended by a signal or a fatal error (sim link)', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const)(
    '%s: every robot is sent a stop, the run folder is complete, the exit code is %i',
    async (signal, exitCode) => {
      const { path, out } = simLaunch(tempDir(), `sim-${signal.toLowerCase()}`);
      const run = spawnRun(path);
      // events.jsonl grows while the run goes: the injection's start is there before the run ends.
      const folder = await firstEvent(out, run);
      run.child.kill(signal);
      const { code } = await run.exited;
      expect(code, run.output.join('\n')).toBe(exitCode);
      const { summary } = await expectCompleteFolder(folder);
      expect(summary).toMatchObject({ interrupted: true, ended: { by: signal, exitCode } });
      // The twin runs in the child: the command each robot was left with is read back there.
      expect(summary.halt!.robots).toEqual(summary.outcomes.map((o) => ({ id: o.robot, stop: 'confirmed' })));
      expect(summary.ticks).toBeGreaterThan(5);
      expect(run.output.join('\n')).toMatch(new RegExp(`${signal}: ending the run[\\s\\S]*summary \\([\\d.]+ s, interrupted by ${signal}\\)[\\s\\S]*robots stopped: 10 of 10 sent a stop; 10 confirmed`));
    },
    CHILD_TIMEOUT_MS,
  );

  it.each([
    ['an uncaught exception', 'exception', 'injected uncaught exception'],
    ['an unhandled rejection', 'rejection', 'injected unhandled rejection'],
  ] as const)(
    '%s: the run ends as on a signal, robots stopped and folder written, exit code 1',
    async (_what, kind, message) => {
      const { path, out } = simLaunch(tempDir(), `sim-fatal-${kind}`);
      const run = spawnRun(path, { script: FATAL_RUN, env: { FATAL: kind } });
      const folder = await firstEvent(out, run);
      run.child.kill('SIGUSR2');
      const { code } = await run.exited;
      expect(code, run.output.join('\n')).toBe(1);
      const { summary } = await expectCompleteFolder(folder);
      expect(summary).toMatchObject({ interrupted: true, ended: { by: 'fatal-error', exitCode: 1, error: message } });
      expect(summary.halt!.robots.every((r) => r.stop === 'confirmed')).toBe(true);
      expect(run.output.join('\n')).toContain(`fatal error, ending the run: Error: ${message}`);
    },
    CHILD_TIMEOUT_MS,
  );
});

describe('swarmguard run ended by SIGTERM: the robots outside the process get their stop', () => {
  it('Wi-Fi link (protocol twin in this process): every robot receives zero wheel speeds after the signal, and keeps them', async () => {
    const s = resolveSwarmConfig({ robots: 10, noise: 'off' });
    const starts = circleStarts(s);
    const twin = await ProtocolTwin.start(s, { protocol: 'wifi', seed: 3, startPoses: starts, endpoints: starts.map(() => 0) });
    cleanup.push(() => twin.stop());
    // Every wheel command each robot receives, and whether it came after the signal.
    const received: { k: number; left: number; right: number; afterSignal: boolean }[] = [];
    let signalled = false;
    const setSpeeds = twin.robots.setSpeeds.bind(twin.robots);
    twin.robots.setSpeeds = (k, left, right) => {
      received.push({ k, left, right, afterSignal: signalled });
      setSpeeds(k, left, right);
    };
    const dir = tempDir();
    const out = join(dir, 'runs');
    const robots = s.robotIds.map((id, k) => `    ${id}: { port: ${twin.endpoints[k]}, start: { x: ${starts[k]!.x}, y: ${starts[k]!.y}, theta: ${starts[k]!.heading} } }`);
    const path = join(dir, 'wifi.yaml');
    writeFileSync(path, `name: wifi\nswarm: { robots: 10, noise: 'off' }\npolicy: ${MAPPO}\nduration: 120\nlink:\n  kind: epuck2-wifi\n  twin: false\n  robots:\n${robots.join('\n')}\nout: ${out}\n`);
    const run = spawnRun(path);
    // Driving: every robot has exchanged for a while, and the policy has them moving.
    await until(`every robot driven over Wi-Fi (output: ${run.output.join(' | ')})`, () => {
      if (run.child.exitCode !== null) throw new Error(`the run exited (${run.child.exitCode}) first: ${run.output.join('\n')}`);
      return s.robotIds.every((_, k) => received.filter((c) => c.k === k).length >= 20) && received.filter((c) => c.left !== 0 || c.right !== 0).length >= 50;
    }, WAIT_MS);
    signalled = true;
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code, run.output.join('\n')).toBe(143);
    for (const [k, id] of s.robotIds.entries()) {
      const after = received.filter((c) => c.k === k && c.afterSignal);
      expect(after.length, `${id} got no command after SIGTERM`).toBeGreaterThan(0);
      expect(after.at(-1), id).toMatchObject({ left: 0, right: 0 });
      // What the robot executes now that the process is gone.
      expect(twin.live.command(id), id).toEqual([0, 0]);
    }
    const { summary } = await expectCompleteFolder(runFolder(out)!);
    expect(summary).toMatchObject({ interrupted: true, ended: { by: 'SIGTERM', exitCode: 143 } });
    // Two exchanges after the stop went out confirmed it for every robot.
    expect(summary.halt!.robots.map((r) => r.stop)).toEqual(s.robotIds.map(() => 'confirmed'));
  }, CHILD_TIMEOUT_MS);

  it('MQTT link (embedded broker and bus twin in this process): every robot receives a stop command after the signal', async () => {
    const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, allowAnonymous: true, log: () => undefined });
    cleanup.push(() => broker.close());
    // A watchdog that never fires here: any stop the robots get is the run's.
    const twin = await BusTwin.start({ url: broker.url, swarm: 'bus', settings: resolveSwarmConfig({ robots: 10, noise: 'off' }, 'test'), seed: 3, commandTimeoutMs: 600_000, qos: DEFAULT_QOS, log: () => undefined });
    cleanup.push(() => twin.stop());
    const received: { id: string; left: number; right: number; afterSignal: boolean }[] = [];
    let signalled = false;
    const submit = twin.live.submitCommand.bind(twin.live);
    twin.live.submitCommand = (id, left, right) => {
      received.push({ id, left, right, afterSignal: signalled });
      submit(id, left, right);
    };
    const dir = tempDir();
    const run = spawnRun(mqttLaunch(dir, 'bus', broker.url));
    await until(`every robot driven over MQTT (output: ${run.output.join(' | ')})`, () => {
      if (run.child.exitCode !== null) throw new Error(`the run exited (${run.child.exitCode}) first: ${run.output.join('\n')}`);
      return twin.stats.every((st) => st.driving >= 10);
    }, WAIT_MS);
    signalled = true;
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code, run.output.join('\n')).toBe(143);
    // The broker hands the stops on after the controller has gone.
    await until('a stop for every robot', () => twin.ids.every((id) => received.some((c) => c.id === id && c.afterSignal && c.left === 0 && c.right === 0)));
    for (const id of twin.ids) {
      expect(received.filter((c) => c.id === id).at(-1), id).toMatchObject({ left: 0, right: 0, afterSignal: true });
      expect(twin.live.command(id), id).toEqual([0, 0]);
    }
    expect(twin.stats.every((st) => st.watchdogStops === 0)).toBe(true);
    const { summary } = await expectCompleteFolder(runFolder(join(dir, 'runs'))!);
    expect(summary).toMatchObject({ ended: { by: 'SIGTERM', exitCode: 143 } });
    expect(summary.halt!.robots.map((r) => r.stop)).toEqual(twin.ids.map(() => 'sent'));
  }, CHILD_TIMEOUT_MS);
});

describe('a SIGKILLed run', () => {
  it("keeps its events; its recording replays and compares up to its last chunk, and recover closes it", async () => {
    const { path, out } = simLaunch(tempDir(), 'killed');
    const run = spawnRun(path);
    const folder = await firstEvent(out, run);
    const mcap = join(folder, 'run.mcap');
    // Running long enough that some chunks are on disk: the recording, read as it is written, has ticks.
    let seen = 0;
    for (const end = Date.now() + WAIT_MS; seen < 20; await new Promise((r) => setTimeout(r, 300))) {
      if (run.child.exitCode !== null) throw new Error(`the run exited first: ${run.output.join('\n')}`);
      if (Date.now() > end) throw new Error('timed out waiting for complete chunks in the recording');
      seen = await readRecording(mcap).then(
        (r) => r.records.length,
        () => 0,
      );
    }
    const eventsBefore = eventLines(folder);
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    // Nothing ran after the kill: no summary, no pictures; the events appended while it ran are all there.
    expect(existsSync(join(folder, 'summary.json'))).toBe(false);
    expect(eventLines(folder).length).toBeGreaterThanOrEqual(eventsBefore.length);
    expect(eventLines(folder)[0]).toMatchObject({ kind: 'injection-start', robot: 'epuck-3' });

    const cut = await readRecording(mcap);
    expect(cut.truncated).not.toBeNull();
    expect(cut.records.length).toBeGreaterThanOrEqual(seen);
    expect(cut.events[0]).toMatchObject({ kind: 'injection-start' });
    const lines: string[] = [];
    const replayed = await runReplay(mcap, { speed: Number.POSITIVE_INFINITY, quiet: true }, (l) => lines.push(l));
    expect(replayed).toMatchObject({ ticks: cut.records.length, interrupted: false });
    expect(lines[0]).toMatch(new RegExp(`run\\.mcap was not closed \\(.*\\): read up to its last complete tick, ${cut.records.length} ticks`));
    const compared = await runCompare(mcap, {}, () => {});
    expect(compared.files.every((f) => existsSync(f))).toBe(true);

    const recover = spawnCli(['recover', mcap]);
    expect((await recover.exited).code, recover.output.join('\n')).toBe(0);
    expect(recover.output.join('\n')).toMatch(new RegExp(`recovered .*run\\.mcap -> .*run\\.recovered\\.mcap\\n  kept: ${cut.records.length} ticks`));
    const copy = join(folder, 'run.recovered.mcap');
    const handle = await open(copy, 'r');
    try {
      await McapIndexedReader.Initialize({ readable: new FileReadable(handle, (await handle.stat()).size) });
    } finally {
      await handle.close();
    }
    const closed = await readRecording(copy);
    expect(closed.truncated).toBeNull();
    expect(closed.records).toEqual(cut.records);
    expect(closed.events).toEqual(cut.events);
  }, CHILD_TIMEOUT_MS);
});
