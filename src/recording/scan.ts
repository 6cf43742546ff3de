// A recording read from its first byte, record by record (McapStreamReader), as far as it is complete: what
// the reader falls back to for a file that was never closed (a process killed, a power loss: no footer, no
// index) and what `swarmguard recover` copies. Chunks are whole or not at all (a chunk's CRC covers it), so
// what is read ends at the last complete chunk; the ticks are then cut back to the last complete one.
import type { FileHandle } from 'node:fs/promises';
import { McapStreamReader, type TypedMcapRecords } from '@mcap/core';
import { decompressHandlers } from './compression.js';
import { CHANNELS } from './schemas.js';

type Rec<K extends keyof TypedMcapRecords> = TypedMcapRecords[K];

export interface ScannedRecording {
  header: Rec<'Header'> | null;
  schemas: Map<number, Rec<'Schema'>>;
  channels: Map<number, Rec<'Channel'>>;
  /** In file order. */
  metadata: Rec<'Metadata'>[];
  attachments: Rec<'Attachment'>[];
  /** Every message read, in file order (the order they were written). */
  messages: Rec<'Message'>[];
  /** The compression of the chunks read ('' for none; null: no chunk). */
  chunkCompression: string | null;
  /** The file ended with its footer and closing magic. */
  complete: boolean;
  /** The data section's end record was read: every chunk is there, whatever came after it was lost. */
  dataEnd: boolean;
  fileBytes: number;
  /** Bytes read as complete records (the rest is the unreadable tail). */
  readBytes: number;
  /** Why reading stopped short of the footer (null: it did not). */
  stoppedBy: string | null;
}

/** Read in pieces of this size: a long recording is never held whole as file bytes. */
const PIECE_BYTES = 1 << 20;

/** Every complete record of the file, in order; never throws on a cut-off or damaged tail, only on a failing read. */
export async function scanRecording(handle: FileHandle, fileBytes: number): Promise<ScannedRecording> {
  const out: ScannedRecording = { header: null, schemas: new Map(), channels: new Map(), metadata: [], attachments: [], messages: [], chunkCompression: null, complete: false, dataEnd: false, fileBytes, readBytes: 0, stoppedBy: null };
  const reader = new McapStreamReader({ includeChunks: true, validateCrcs: true, decompressHandlers: await decompressHandlers() });
  let appended = 0;
  const piece = new Uint8Array(Math.min(PIECE_BYTES, Math.max(fileBytes, 1)));
  try {
    while (appended < fileBytes && !reader.done()) {
      const { bytesRead } = await handle.read(piece, 0, Math.min(piece.length, fileBytes - appended), appended);
      if (bytesRead === 0) break;
      reader.append(piece.subarray(0, bytesRead));
      appended += bytesRead;
      for (let r = reader.nextRecord(); r; r = reader.nextRecord()) {
        take(out, r);
        out.readBytes = appended - reader.bytesRemaining();
      }
    }
    out.complete = reader.done();
    const where = out.dataEnd ? 'after its data, ' : '';
    if (!out.complete) out.stoppedBy = out.readBytes < fileBytes ? `the file ends ${where}inside a record (${fileBytes - out.readBytes} bytes after the last complete one)` : `the file ends ${where}without its footer`;
  } catch (err) {
    out.stoppedBy = `a damaged record after byte ${out.readBytes}: ${(err as Error).message}`;
  }
  return out;
}

function take(out: ScannedRecording, r: ReturnType<McapStreamReader['nextRecord']> & object): void {
  switch (r.type) {
    case 'Header':
      out.header = r;
      break;
    case 'Schema':
      out.schemas.set(r.id, r);
      break;
    case 'Channel':
      out.channels.set(r.id, r);
      break;
    case 'Metadata':
      out.metadata.push(r);
      break;
    case 'Attachment':
      out.attachments.push(r);
      break;
    case 'Message':
      out.messages.push(r);
      break;
    case 'Chunk':
      out.chunkCompression ??= r.compression;
      break;
    case 'DataEnd':
      out.dataEnd = true;
      break;
    default:
      break;
  }
}

/**
 * The messages of the complete ticks of a recording that was cut off: a tick's messages are written in one
 * go, beginning with its /robots/poses message, so every tick but the last one seen is complete; the last
 * is left out (its events may have been in the part cut off). All messages if the data section was
 * complete (the file, or at least its data section, ended as written).
 */
export function completeTicks(scan: ScannedRecording): { kept: Rec<'Message'>[]; dropped: number } {
  if (scan.complete || scan.dataEnd) return { kept: scan.messages, dropped: 0 };
  const poses = new Set([...scan.channels.values()].filter((c) => c.topic === CHANNELS.poses.topic).map((c) => c.id));
  let lastStart = -1;
  scan.messages.forEach((m, k) => {
    if (poses.has(m.channelId)) lastStart = k;
  });
  const cut = Math.max(lastStart, 0);
  return { kept: scan.messages.slice(0, cut), dropped: scan.messages.length - cut };
}
