// swarmguard replay --dashboard: a recorded trial played onto the dashboard reaches a viewer tick by tick,
// with the flag the run raised, and the replayed dashboard takes no controls (and says why); at the end of
// the recording the viewer is told the replay has ended, with the flags against the ground truth.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runLaunch } from '../src/cli/run.js';
import { runReplay } from '../src/cli/replay.js';
import { DashboardReplaySink } from '../src/dashboard/replay-sink.js';
import { readRecording } from '../src/recording/reader.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const dir = mkdtempSync(join(tmpdir(), 'swarmguard-dash-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Msg = Record<string, any>;

async function waitFor<T>(what: string, get: () => T | null | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('a recording replayed with --dashboard waits for its viewer, streams every robot up to the last tick with the recorded flag, refuses controls, and says when it has ended', async () => {
  const launch = join(dir, 'trial.yaml');
  writeFileSync(launch, `name: rp\nswarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 3 }\npolicy: ${MAPPO}\nout: ${dir}\nduration: 6\ntrial: true\ninjections: [{ robot: epuck-2, at: 1, duration: 3, attack: 'fault:spin' }]\n`);
  const summary = await runLaunch(launch, { quiet: true, console: false }, () => {});
  expect(summary.outcomes.find((o) => o.robot === 'epuck-2')?.detectionDelayTicks).not.toBeNull();

  const stop = new AbortController();
  const logs: string[] = [];
  const sink = new DashboardReplaySink({ port: 0, signal: stop.signal, log: (l) => logs.push(l) });
  const replaying = runReplay(join(summary.runDir, 'run.mcap'), { speed: 4, quiet: true, signal: stop.signal }, (l) => logs.push(l), [sink]);

  const server = await waitFor('the replay dashboard to listen', () => sink.server);
  // Nothing is played to an empty page.
  await new Promise((r) => setTimeout(r, 300));
  expect(logs.some((l) => l.startsWith('replay: waiting for a viewer'))).toBe(true);
  expect(logs.some((l) => /FLAG/.test(l))).toBe(false);

  const msgs: Msg[] = [];
  const ws = new WebSocket(server.url(false).replace(/^http/, 'ws').replace(/\/(#.*)?$/, '/ws'));
  let closedWith = 0;
  ws.on('close', (code) => (closedWith = code));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Msg;
    msgs.push(m);
    if (m.type === 'frame') ws.send(JSON.stringify({ type: 'ack', seq: m.seq }));
  });
  await waitFor('the welcome', () => msgs.find((m) => m.type === 'welcome'));
  expect(msgs.find((m) => m.type === 'welcome')).toMatchObject({ mode: 'replay', controlsOff: expect.stringMatching(/^a replay of a recording/) });

  const last = summary.ticks - 1;
  const end = await waitFor('the last tick', () => msgs.find((m) => m.type === 'frame' && m.tick === last));
  // The last frame shows every robot where the recording has it (mm, mrad).
  const recorded = (await readRecording(join(summary.runDir, 'run.mcap'))).records.at(-1)!;
  expect(end.poses).toEqual((recorded.truePoses ?? recorded.poses).flatMap((p) => [p.x, p.y, p.theta].map((v) => Math.round(v * 1000))));
  const frames = msgs.filter((m) => m.type === 'frame');
  expect(frames.length).toBeGreaterThan(10);
  const events = frames.flatMap((f) => f.events as Msg[]);
  expect(events.some((e) => e.kind === 'flag' && e.robot === 'epuck-2')).toBe(true);
  expect(events.some((e) => e.kind === 'injection-start' && e.robot === 'epuck-2')).toBe(true);

  ws.send(JSON.stringify({ type: 'control', id: 1, action: { kind: 'estop' }, token: server.token }));
  const refused = await waitFor('the refusal', () => msgs.find((m) => m.id === 1));
  expect(refused.reason).toBe('replay: no controls');

  // Held at the end until stopped, the viewer told the replay is over (what it played, detected or not).
  await waitFor('the hold', () => logs.find((l) => l.startsWith('replay: at the end')));
  const ended = await waitFor('the end of the replay', () => msgs.find((m) => m.type === 'run-ended'));
  expect(ended).toMatchObject({ reason: 'completed', tick: last });
  expect(ended.summary[0]).toMatch(new RegExp(`^replayed ${summary.ticks} ticks \\(6\\.0 s\\) of .*run\\.mcap$`));
  expect(ended.summary).toContainEqual(expect.stringMatching(/^ {2}epuck-2 {4}compromised for 3\.0 s, flagged after \d\.\d s/));
  expect(ended.summary.at(-1)).toMatch(/^ {2}detected 1 of 1 compromised robot\(s\)/);
  stop.abort();
  const result = await replaying;
  expect(result).toMatchObject({ ticks: summary.ticks, interrupted: false });
  await waitFor('the socket to close', () => ws.readyState === WebSocket.CLOSED || null);
  expect(closedWith).toBe(1001);
  ws.terminate();
}, 120_000);
