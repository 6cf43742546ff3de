// Writes a run to an MCAP file: the header (run metadata, the launch file's text and resolved settings as
// attachments, the policy's file hashes), then per tick its messages (messages.ts), then a closing
// metadata record. Chunks are compressed (compression.ts: zstd by default). McapWriter calls must not overlap, so every write goes through one promise chain; a
// write that fails is reported at the next tick (the run's services drop the recorder) or at close.
import { closeSync, openSync, writeSync } from 'node:fs';
import { McapWriter, type IWritable } from '@mcap/core';
import type { SwarmSettings } from '../core/swarm-config.js';
import type { MonitorSettings } from '../monitor/monitor.js';
import type { SafetySettings } from '../runtime/safety.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { chunkCompressor, DEFAULT_CHUNK_COMPRESSION, type ChunkCompression } from './compression.js';
import { channelDefinitions, RunClock, TickMessages, type MessageRole } from './messages.js';
import { MCAP_PROFILE, RECORDING_FORMAT } from './schemas.js';

/** The run as resolved before its first tick: what the recording's header holds. */
export interface RecordingHeader {
  /** 'run': `swarmguard run`; 'calibration-drive': `swarmguard calibrate --drive`. */
  kind: 'run' | 'calibration-drive';
  name: string;
  robotIds: readonly string[];
  controlPeriod: number;
  linkKind: string;
  mode: 'live' | 'fast';
  trial: boolean;
  /** The launch file's path and text. */
  source: string;
  launchText: string;
  settings: RecordedSettings;
  policy: { name: string; dir: string; files: Record<string, string> };
}

/** The launch file resolved: the swarm (robot parameters, arena, noise), safety, monitor, injections. */
export interface RecordedSettings {
  swarm: SwarmSettings;
  safety: SafetySettings;
  monitor: MonitorSettings;
  injections: { robot: string; fromTick: number; toTick: number; attack: string }[];
  ticks: number;
  seed: number;
  link: unknown;
}

/** `recovered`: written by `swarmguard recover` into the closed copy of a recording that was cut off. */
export const METADATA_NAMES = { run: 'swarmguard.run', policy: 'swarmguard.policy', end: 'swarmguard.end', recovered: 'swarmguard.recovered' } as const;
export const ATTACHMENT_NAMES = { launch: 'launch.yaml', settings: 'settings.json' } as const;

/** Chunks are written when this full: what a crash can lose at most. */
export const CHUNK_BYTES = 256 * 1024;

/** A file written synchronously: the recorder is the only writer and the OS buffers. */
export class FileSink implements IWritable {
  private offset = 0;
  constructor(private readonly fd: number) {}
  write(buffer: Uint8Array): Promise<void> {
    for (let done = 0; done < buffer.length; ) done += writeSync(this.fd, buffer, done, buffer.length - done);
    this.offset += buffer.length;
    return Promise.resolve();
  }
  position(): bigint {
    return BigInt(this.offset);
  }
}

const encoder = new TextEncoder();

/** How the recording is written. */
export interface RecordingOptions {
  /** Chunk compression (default zstd). */
  compression: ChunkCompression;
}

export class McapRunWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private readonly channelIds = new Map<MessageRole, number>();
  private readonly messages: TickMessages;
  private readonly clock: RunClock;
  private sequence = 0;
  private ticks = 0;
  private eventCount = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly sink: FileSink,
    private readonly mcap: McapWriter,
    private readonly header: RecordingHeader,
    private readonly startEpochMs: number,
  ) {
    this.messages = new TickMessages(header, { live: false });
    this.clock = new RunClock(startEpochMs);
  }

  /** Creates the file and writes the header; throws naming the file if it cannot be written. */
  static async open(path: string, header: RecordingHeader, options: RecordingOptions = { compression: DEFAULT_CHUNK_COMPRESSION }): Promise<McapRunWriter> {
    const compressChunk = await chunkCompressor(options.compression);
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      throw new Error(`${path}: cannot create the recording (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const sink = new FileSink(fd);
    const mcap = new McapWriter({ writable: sink, chunkSize: CHUNK_BYTES, compressChunk });
    const w = new McapRunWriter(path, fd, sink, mcap, header, Date.now());
    try {
      await w.writeHeader();
    } catch (err) {
      closeSync(fd);
      throw new Error(`${path}: cannot write the recording's header: ${(err as Error).message}`);
    }
    return w;
  }

  /** Bytes written so far (chunks still being filled are not counted until they are written). */
  get bytes(): number {
    return Number(this.sink.position());
  }

  private async writeHeader(): Promise<void> {
    const h = this.header;
    await this.mcap.start({ profile: MCAP_PROFILE, library: `swarmguard ${RECORDING_FORMAT}` });
    const schemaIds = new Map<string, number>();
    for (const ch of channelDefinitions()) {
      let schemaId = schemaIds.get(ch.schemaName);
      if (schemaId === undefined) {
        schemaId = await this.mcap.registerSchema({ name: ch.schemaName, encoding: 'jsonschema', data: encoder.encode(ch.schema) });
        schemaIds.set(ch.schemaName, schemaId);
      }
      this.channelIds.set(ch.role, await this.mcap.registerChannel({ schemaId, topic: ch.topic, messageEncoding: 'json', metadata: new Map() }));
    }
    const now = BigInt(this.startEpochMs) * 1_000_000n;
    await this.mcap.addMetadata({
      name: METADATA_NAMES.run,
      metadata: new Map([
        ['format', RECORDING_FORMAT],
        ['kind', h.kind],
        ['name', h.name],
        ['robotIds', JSON.stringify(h.robotIds)],
        ['controlPeriodS', String(h.controlPeriod)],
        ['link', h.linkKind],
        ['mode', h.mode],
        ['trial', String(h.trial)],
        ['source', h.source],
        ['startedAt', new Date(this.startEpochMs).toISOString()],
      ]),
    });
    await this.mcap.addMetadata({
      name: METADATA_NAMES.policy,
      metadata: new Map([['name', h.policy.name], ['dir', h.policy.dir], ...Object.entries(h.policy.files).map(([f, sha]) => [`sha256:${f}`, sha] as [string, string])]),
    });
    await this.mcap.addAttachment({ name: ATTACHMENT_NAMES.launch, logTime: now, createTime: now, mediaType: 'application/yaml', data: encoder.encode(h.launchText) });
    await this.mcap.addAttachment({ name: ATTACHMENT_NAMES.settings, logTime: now, createTime: now, mediaType: 'application/json', data: encoder.encode(JSON.stringify(h.settings, null, 1)) });
  }

  private enqueue(write: () => Promise<void>): void {
    this.chain = this.chain.then(write).catch((err: unknown) => {
      this.failure ??= err as Error;
    });
  }

  /** Queues one tick's messages and the events reported with it. Throws if an earlier write failed. */
  tick(record: TickRecord, events: readonly RunEvent[]): void {
    if (this.failure) throw new Error(`${this.path}: writing failed: ${this.failure.message}`);
    if (this.closed) throw new Error(`${this.path}: the recording is closed`);
    const logTime = this.clock.logTime(record.timeMs);
    const encoded = this.messages.encode(record, events, logTime, Date.now()).map((m) => ({ channelId: this.channelIds.get(m.role)!, data: m.data }));
    this.ticks++;
    this.eventCount += events.length;
    this.enqueue(async () => {
      for (const m of encoded) await this.mcap.addMessage({ ...m, sequence: this.sequence++, logTime, publishTime: logTime });
    });
  }

  /** Waits for the queued writes. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw new Error(`${this.path}: writing failed: ${this.failure.message}`);
  }

  /** Writes the closing record and the index, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.enqueue(async () => {
      await this.mcap.addMetadata({ name: METADATA_NAMES.end, metadata: new Map([['ticks', String(this.ticks)], ['events', String(this.eventCount)], ['endedAt', new Date().toISOString()]]) });
      await this.mcap.end();
    });
    try {
      await this.flush();
    } finally {
      closeSync(this.fd);
    }
  }
}
