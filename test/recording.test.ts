import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapStreamReader, McapWriter } from '@mcap/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runLaunch } from '../src/cli/run.js';
import { OnnxTeam } from '../src/policy/team.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial } from '../src/runtime/trial.js';
import { decompressHandlers } from '../src/recording/compression.js';
import { readRecording } from '../src/recording/reader.js';
import { RecorderService } from '../src/recording/service.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'swarmguard-rec-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function launchFile(dir: string, body: string, mode: 'fast' | 'live' = 'fast'): string {
  const path = join(dir, 'launch.yaml');
  writeFileSync(path, `swarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: ${mode}, seed: 3 }\npolicy: ${MAPPO}\nout: ${dir}\n${body}`);
  return path;
}

/** A fast trial with a spinning robot (flagged within a few ticks), every tick recorded by the recorder service. */
async function recordedTrial(dir: string) {
  const launch = await loadLaunch(launchFile(dir, `name: rt\nduration: 6\ntrial: true\ninjections: [{ robot: epuck-2, at: 1, duration: 3, attack: 'fault:spin' }]\n`));
  const team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
  try {
    const link = new SimLink(launch.settings, 'fast', launch.seed);
    const run = swarmTrial(launch.settings, team, link, { safety: launch.safety, monitor: launch.monitor, trialMode: true, injections: launch.injections, seed: launch.seed });
    const recorder = new RecorderService();
    const files = team.fileHashes;
    await recorder.start({ launch, run, control: new RunController(run, launch.settings), policy: { name: team.name, dir: launch.policyDir, files }, runDir: dir, log: () => {} });
    let reported = 0;
    while (run.tick < launch.ticks) {
      await run.step();
      recorder.tick(run.records.at(-1)!, run.events.slice(reported));
      reported = run.events.length;
      link.advance();
    }
    await recorder.stop();
    return { run, path: recorder.path!, launch, files };
  } finally {
    await team.release();
    await releaseRun(launch);
  }
}

describe('MCAP recording', () => {
  it('a recorded trial read back reproduces its poses, commands, monitor signals, flags and events exactly', async () => {
    const dir = tempDir();
    const { run, path, launch, files } = await recordedTrial(dir);
    expect(run.events.some((e) => e.kind === 'flag' && e.robot === 'epuck-2')).toBe(true);
    // A valid MCAP stream from magic to footer, every chunk's CRC checked, a JSON Schema for every channel.
    const stream = new McapStreamReader({ validateCrcs: true, decompressHandlers: await decompressHandlers() });
    stream.append(readFileSync(path));
    const kinds = new Map<string, number>();
    for (let r; (r = stream.nextRecord()); ) {
      kinds.set(r.type, (kinds.get(r.type) ?? 0) + 1);
      if (r.type === 'Schema') expect(JSON.parse(new TextDecoder().decode(r.data)).title).toBe(r.name);
    }
    expect(stream.done()).toBe(true);
    expect(kinds.get('Message')).toBeGreaterThan(7 * launch.ticks);
    expect(kinds.get('Attachment')).toBe(2);
    expect(kinds.get('Metadata')).toBe(3);
    const back = await readRecording(path);
    expect(back.records).toHaveLength(launch.ticks);
    // Every field of every tick, the true poses included (toEqual: NaN equals NaN, so unlocated robots too).
    expect(back.records).toEqual(run.records);
    expect(back.events).toEqual(run.events);
    expect(back.records.map((r) => r.flagged)).toEqual(run.records.map((r) => r.flagged));
    expect(back.robotIds).toEqual(launch.settings.robotIds);
    expect(back.controlPeriod).toBe(0.1);
    expect(back.settings.swarm.robots).toEqual(launch.settings.robots);
    expect(back.settings.injections).toEqual([{ robot: 'epuck-2', fromTick: 10, toTick: 40, attack: 'fault:spin' }]);
    expect(back.launchText).toBe(readFileSync(launch.source, 'utf8'));
    expect(back.policy.files).toEqual(files);
    expect(back.closed).toBe(true);
    // Events come back with the tick they were reported with.
    const flag = run.events.find((e) => e.kind === 'flag')!;
    expect(back.eventsAt.get(flag.tick)).toContainEqual(flag);
  });

  it('swarmguard run records to run.mcap by default, fast and live, and not with record: false', async () => {
    const dir = tempDir();
    const on = await runLaunch(launchFile(dir, 'name: on\nduration: 1\n'), { quiet: true, console: false }, () => {});
    const rec = await readRecording(join(on.runDir, 'run.mcap'));
    expect(rec.records).toHaveLength(10);
    expect(rec.name).toBe('on');
    // Live (paced by the scheduler): the link clock advances about one period per tick.
    const live = await runLaunch(launchFile(dir, 'name: live\nduration: 1\n', 'live'), { quiet: true, console: false }, () => {});
    const lr = await readRecording(join(live.runDir, 'run.mcap'));
    expect(lr.mode).toBe('live');
    expect(lr.records.length).toBe(live.ticks);
    expect(lr.records.every((r, k) => k === 0 || r.timeMs > lr.records[k - 1]!.timeMs)).toBe(true);
    const off = await runLaunch(launchFile(dir, 'name: off\nduration: 1\nrecord: false\n'), { quiet: true, console: false }, () => {});
    expect(existsSync(join(off.runDir, 'run.mcap'))).toBe(false);
  });

  it('refuses a missing, non-MCAP, cut-off-in-its-header or wrong-schema file, naming it', async () => {
    const dir = tempDir();
    await expect(readRecording(join(dir, 'nope.mcap'))).rejects.toThrow(/nope\.mcap: cannot read the recording \(ENOENT\)/);
    const text = join(dir, 'text.mcap');
    writeFileSync(text, 'swarm: { robots: 10 }\n');
    await expect(readRecording(text)).rejects.toThrow(/text\.mcap: not an MCAP file/);
    const { path } = await recordedTrial(dir);
    const bytes = readFileSync(path);
    // Cut off before its header was written whole: nothing to read, and it says why (a cut after ticks reads back: recording-recover.test.ts).
    const cut = join(dir, 'cut.mcap');
    writeFileSync(cut, bytes.subarray(0, 300));
    await expect(readRecording(cut)).rejects.toThrow(/cut\.mcap: the recording was not closed \(the file ends inside a record .*\), and no 'swarmguard\.run' metadata/);
    // An MCAP file whose /robots/poses channel carries another schema.
    const wrong = join(dir, 'wrong.mcap');
    const chunks: Uint8Array[] = [];
    let size = 0n;
    const w = new McapWriter({ writable: { write: async (b) => { chunks.push(b.slice()); size += BigInt(b.length); }, position: () => size } });
    await w.start({ profile: 'swarmguard', library: 'test' });
    const schemaId = await w.registerSchema({ name: 'geometry_msgs/Pose', encoding: 'jsonschema', data: new TextEncoder().encode('{}') });
    await w.registerChannel({ schemaId, topic: '/robots/poses', messageEncoding: 'json', metadata: new Map() });
    const rec = await readRecording(path);
    await w.addMetadata({ name: 'swarmguard.run', metadata: new Map([['format', 'swarmguard.run/1'], ['robotIds', JSON.stringify(rec.robotIds)]]) });
    await w.addAttachment({ name: 'settings.json', logTime: 0n, createTime: 0n, mediaType: 'application/json', data: new TextEncoder().encode(JSON.stringify(rec.settings)) });
    await w.end();
    writeFileSync(wrong, Buffer.concat(chunks));
    await expect(readRecording(wrong)).rejects.toThrow(/wrong\.mcap: channel \/robots\/poses has schema 'geometry_msgs\/Pose'.*expected swarmguard\.Poses/);
    // Another format version.
    const old = join(dir, 'old.mcap');
    writeFileSync(old, bytes.toString('latin1').replaceAll('swarmguard.run/1', 'swarmguard.run/0'), 'latin1');
    await expect(readRecording(old)).rejects.toThrow(/old\.mcap: recording format 'swarmguard\.run\/0' is not swarmguard\.run\/1/);
  });
});
