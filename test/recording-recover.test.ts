// A recording cut off anywhere (a killed process, a power loss) reads back up to its last complete tick, and
// `swarmguard recover` writes a closed, indexed copy of it: in process, on cuts at every kind of place. The
// same with a real SIGKILLed run: shutdown.test.ts.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLaunch } from '../src/cli/run.js';
import { runRecover } from '../src/cli/recover.js';
import { FileReadable, readRecording, recordingNote, type RecordedRun } from '../src/recording/reader.js';
import { recoverRecording } from '../src/recording/recover.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const dir = mkdtempSync(join(tmpdir(), 'swarmguard-recover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let path = '';
let bytes: Buffer;
let full: RecordedRun;

beforeAll(async () => {
  // 15 s of 10 robots: several 256 kB chunks; a spinning robot makes flag and injection events.
  const launch = join(dir, 'launch.yaml');
  writeFileSync(launch, `name: cut\nswarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 3 }\npolicy: ${MAPPO}\nout: ${dir}\nduration: 15\ntrial: true\ninjections: [{ robot: epuck-2, at: 1, duration: 5, attack: 'fault:spin' }]\n`);
  const sum = await runLaunch(launch, { quiet: true, console: false }, () => {});
  path = join(sum.runDir, 'run.mcap');
  bytes = readFileSync(path);
  full = await readRecording(path);
});

/** The events reported with ticks 0..n-1, in order: what a read of the first n ticks must give. */
function eventsOfFirst(n: number) {
  return Array.from({ length: n }, (_, t) => full.eventsAt.get(t) ?? []).flat();
}

function cutAt(name: string, size: number): string {
  const p = join(dir, name);
  writeFileSync(p, bytes.subarray(0, size));
  return p;
}

describe('a recording that was never closed', () => {
  it('reads back, wherever it was cut, exactly the ticks and events of the whole recording up to its last complete tick', async () => {
    expect(full.records).toHaveLength(150);
    expect(full.truncated).toBeNull();
    expect(full.events.length).toBeGreaterThanOrEqual(2);
    let previous = 0;
    const counts: number[] = [];
    // From just after the header to just before the footer, 24 cuts.
    for (let k = 1; k <= 24; k++) {
      const size = Math.floor(8000 + ((bytes.length - 8100) * k) / 24);
      const read = readRecording(cutAt(`cut-${k}.mcap`, size));
      if (previous === 0 && size < bytes.length / 4) {
        // Before its first chunk was written whole: refused as holding no complete tick (never once ticks were read).
        const refused = await read.then(() => null, (err: Error) => err.message);
        if (refused !== null) {
          expect(refused).toMatch(/holds no complete tick/);
          counts.push(0);
          continue;
        }
      }
      const back = await read;
      const n = back.records.length;
      counts.push(n);
      expect(back.truncated, `cut at ${size}`).toMatchObject({ fileBytes: size });
      expect(back.truncated!.readBytes).toBeLessThanOrEqual(size);
      expect(back.records, `cut at ${size}`).toEqual(full.records.slice(0, n));
      expect(back.events).toEqual(eventsOfFirst(n));
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
      expect(recordingNote(back)).toMatch(new RegExp(`cut-${k}\\.mcap was not closed \\(.*\\): read up to its last complete tick, ${n} ticks`));
    }
    // Each cut loses at most what a chunk holds: the first cuts hold no complete tick yet, the last ones nearly all.
    expect(counts.at(-1)).toBeGreaterThanOrEqual(120);
    expect(new Set(counts).size).toBeGreaterThanOrEqual(4);
  });

  it('without only its summary and footer, every tick is kept (its data section ended as written)', async () => {
    const stream = await open(path, 'r');
    let dataEndAt: number;
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileReadable(stream, bytes.length) });
      dataEndAt = Number(reader.footer.summaryStart);
    } finally {
      await stream.close();
    }
    const back = await readRecording(cutAt('no-summary.mcap', dataEndAt));
    expect(back.truncated).toMatchObject({ droppedMessages: 0 });
    expect(back.records).toEqual(full.records);
    expect(back.events).toEqual(full.events);
  });

  it('a damaged chunk ends the read there: the ticks before it come back, the error is named', async () => {
    const damaged = Buffer.from(bytes.subarray(0, bytes.length - 200));
    // A byte in the middle of the data (inside a compressed chunk): its CRC or its decompression fails.
    damaged[Math.floor(damaged.length * 0.6)]! ^= 0xff;
    const p = join(dir, 'damaged.mcap');
    writeFileSync(p, damaged);
    const back = await readRecording(p);
    expect(back.truncated!.reason).toMatch(/damaged record after byte \d+/);
    expect(back.records.length).toBeGreaterThan(0);
    expect(back.records.length).toBeLessThan(150);
    expect(back.records).toEqual(full.records.slice(0, back.records.length));
  });

  it('cut off before its first complete tick is refused, naming the file and why', async () => {
    await expect(readRecording(cutAt('header-only.mcap', 9000))).rejects.toThrow(/header-only\.mcap: the recording was not closed \(the file ends inside a record .*\), and it holds no complete tick/);
    await expect(recoverRecording(join(dir, 'header-only.mcap'))).rejects.toThrow(/header-only\.mcap: .*no complete tick/);
    expect(existsSync(join(dir, 'header-only.recovered.mcap'))).toBe(false);
    expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(false);
  });
});

describe('swarmguard recover', () => {
  it('writes a closed, indexed copy the normal reader reads: the same ticks and events, and what it was recovered from', async () => {
    const cut = cutAt('run.mcap', Math.floor(bytes.length * 0.7));
    const lines: string[] = [];
    const r = await runRecover(cut, {}, (l) => lines.push(l));
    const before = await readRecording(cut);
    expect(before.closed).toBe(false);
    expect(r.to).toBe(join(dir, 'run.recovered.mcap'));
    expect(lines.join('\n')).toMatch(new RegExp(`recovered ${cut} -> ${r.to}\\n  kept: ${before.records.length} ticks \\(.* s, ticks 0 to ${before.records.length - 1}\\) and ${before.events.length} events`));
    expect(lines.join('\n')).toMatch(/cut off: the file ends inside a record .*bytes unreadable/);
    // Through its index: a closed file.
    const copy = readFileSync(r.to!);
    const stream = await open(r.to!, 'r');
    try {
      const indexed = await McapIndexedReader.Initialize({ readable: new FileReadable(stream, copy.length) });
      expect(indexed.chunkIndexes.length).toBeGreaterThan(0);
    } finally {
      await stream.close();
    }
    const back = await readRecording(r.to!);
    expect(back.truncated).toBeNull();
    expect(back.records).toEqual(before.records);
    expect(back.events).toEqual(before.events);
    expect(back.settings).toEqual(full.settings);
    expect(back.policy).toEqual(full.policy);
    expect(back.launchText).toBe(full.launchText);
    expect(back.recovered).toMatchObject({ from: cut, fileBytes: before.truncated!.fileBytes, readBytes: before.truncated!.readBytes });
    expect(recordingNote(back)).toMatch(/is a copy recovered from .*run\.mcap/);
    // Its name is taken: refused unless forced; -o writes elsewhere.
    await expect(recoverRecording(cut)).rejects.toThrow(/run\.recovered\.mcap exists: give another with -o, or --force/);
    const other = join(dir, 'elsewhere.mcap');
    expect((await recoverRecording(cut, { out: other })).to).toBe(other);
    expect((await readRecording(other)).records).toEqual(before.records);
    expect((await recoverRecording(cut, { force: true })).to).toBe(r.to);
  });

  it('leaves a closed recording alone', async () => {
    const lines: string[] = [];
    const r = await runRecover(path, {}, (l) => lines.push(l));
    expect(r.to).toBeNull();
    expect(lines[0]).toMatch(/is closed and indexed \(150 ticks .*\): nothing to recover, no copy written/);
    expect(existsSync(path.replace(/\.mcap$/, '.recovered.mcap'))).toBe(false);
  });
});
