// `swarmguard recover`: a recording that was never closed (the process killed, a power loss: no footer, no
// index) copied into a closed, indexed MCAP file up to its last complete tick. The copy keeps every record
// as it was written (schemas, channels, metadata, attachments, and each kept message with its sequence, log
// and publish time and bytes), adds a `swarmguard.recovered` metadata record saying what it came from and
// what was cut off, and is checked by reading it back through its index before it takes its name.
import { closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hasMcapPrefix, McapIndexedReader, McapWriter } from '@mcap/core';
import { chunkCompressor } from './compression.js';
import { FileReadable, readRecording, readScanned, RecordingError, type RecordedRun } from './reader.js';
import { completeTicks, scanRecording, type ScannedRecording } from './scan.js';
import { CHUNK_BYTES, FileSink, METADATA_NAMES } from './writer.js';

export interface RecoverResult {
  from: string;
  /** The copy written; null when the recording was already closed (nothing written). */
  to: string | null;
  /** The recording as read from the cut-off file (the copy reads back the same). */
  run: RecordedRun;
  fileBytes: number;
  readBytes: number;
  /** Messages read but left out (the last tick read, which the cut may have taken part of). */
  droppedMessages: number;
  writtenBytes: number;
}

/** The copy's default name: run.mcap -> run.recovered.mcap, next to it. */
export function recoveredName(path: string): string {
  return join(dirname(path), `${basename(path, '.mcap')}.recovered.mcap`);
}

export async function recoverRecording(path: string, o: { out?: string; force?: boolean } = {}): Promise<RecoverResult> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new RecordingError(`${path}: cannot read the recording (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let scan: ScannedRecording;
  let indexError: string;
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    if (size < 8 || !hasMcapPrefix(new DataView(prefix.buffer))) throw new RecordingError(`${path}: not an MCAP file (no MCAP magic at the start)`);
    const index = await indexReadable(handle, size);
    if (index === null) {
      const run = await readRecording(path);
      return { from: path, to: null, run, fileBytes: size, readBytes: size, droppedMessages: 0, writtenBytes: 0 };
    }
    indexError = index;
    scan = await scanRecording(handle, size);
  } finally {
    await handle.close();
  }
  // Refuses, naming the file, a cut-off file that is no swarmguard recording or holds no complete tick.
  const run = await readScanned(path, scan, indexError);
  const out = o.out ?? recoveredName(path);
  if (existsSync(out) && !o.force) throw new RecordingError(`${out} exists: give another with -o, or --force to replace it`);
  const partial = `${out}.partial`;
  const writtenBytes = await writeCopy(partial, path, scan, run);
  try {
    const back = await readRecording(partial);
    if (back.truncated || back.records.length !== run.records.length) throw new Error(`read back ${back.records.length} ticks${back.truncated ? ' without its index' : ''}, ${run.records.length} expected`);
  } catch (err) {
    rmSync(partial, { force: true });
    throw new RecordingError(`${out}: the copy does not read back: ${(err as Error).message}`);
  }
  renameSync(partial, out);
  return { from: path, to: out, run, fileBytes: scan.fileBytes, readBytes: scan.readBytes, droppedMessages: run.truncated!.droppedMessages, writtenBytes };
}

/** null if the file reads through its index (it was closed), else why not. */
async function indexReadable(handle: FileHandle, size: number): Promise<string | null> {
  try {
    await McapIndexedReader.Initialize({ readable: new FileReadable(handle, size) });
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Every record scanRecording kept, the messages up to the last complete tick, into a closed MCAP file. */
async function writeCopy(path: string, from: string, scan: ScannedRecording, run: RecordedRun): Promise<number> {
  // Chunks compressed as the original's were (zstd unless they were stored as they are).
  const compressChunk = await chunkCompressor(scan.chunkCompression === '' ? 'none' : 'zstd');
  const fd = openSync(path, 'w');
  let written = false;
  try {
    const sink = new FileSink(fd);
    const w = new McapWriter({ writable: sink, chunkSize: CHUNK_BYTES, compressChunk });
    await w.start({ profile: scan.header?.profile ?? '', library: scan.header?.library ?? '' });
    const schemaIds = new Map<number, number>();
    for (const sc of scan.schemas.values()) schemaIds.set(sc.id, await w.registerSchema({ name: sc.name, encoding: sc.encoding, data: sc.data }));
    const channelIds = new Map<number, number>();
    for (const ch of scan.channels.values()) {
      channelIds.set(ch.id, await w.registerChannel({ topic: ch.topic, messageEncoding: ch.messageEncoding, metadata: ch.metadata, schemaId: ch.schemaId === 0 ? 0 : schemaIds.get(ch.schemaId)! }));
    }
    for (const m of scan.metadata) await w.addMetadata({ name: m.name, metadata: m.metadata });
    for (const a of scan.attachments) await w.addAttachment({ name: a.name, logTime: a.logTime, createTime: a.createTime, mediaType: a.mediaType, data: a.data });
    for (const m of completeTicks(scan).kept) await w.addMessage({ channelId: channelIds.get(m.channelId)!, sequence: m.sequence, logTime: m.logTime, publishTime: m.publishTime, data: m.data });
    const t = run.truncated!;
    await w.addMetadata({
      name: METADATA_NAMES.recovered,
      metadata: new Map([
        ['from', from],
        ['fileBytes', String(t.fileBytes)],
        ['readBytes', String(t.readBytes)],
        ['reason', t.reason],
        ['ticks', String(run.records.length)],
        ['events', String(run.events.length)],
        ['droppedMessages', String(t.droppedMessages)],
        ['recoveredAt', new Date().toISOString()],
      ]),
    });
    await w.end();
    written = true;
    return Number(sink.position());
  } finally {
    closeSync(fd);
    if (!written) rmSync(path, { force: true });
  }
}
