// Writes a run to an MCAP file: the header (run metadata, the launch file's text and resolved settings as
// attachments, the policy's file hashes), then per tick one message on each channel, then a closing
// metadata record. McapWriter calls must not overlap, so every write goes through one promise chain; a
// write that fails is reported at the next tick (the run's services drop the recorder) or at close.
import { closeSync, openSync, writeSync } from 'node:fs';
import { McapWriter, type IWritable } from '@mcap/core';
import type { SimSettings } from '../../sim/config.js';
import type { MonitorSettings } from '../monitor/monitor.js';
import { describeEvent } from '../runtime/status-text.js';
import type { SafetySettings } from '../runtime/safety.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { CHANNELS, jsonSchemaOf, MCAP_PROFILE, RECORDING_FORMAT, type ChannelRole } from './schemas.js';

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
  swarm: SimSettings;
  safety: SafetySettings;
  monitor: MonitorSettings;
  injections: { robot: string; fromTick: number; toTick: number; attack: string }[];
  ticks: number;
  seed: number;
  link: unknown;
}

export const METADATA_NAMES = { run: 'swarmguard.run', policy: 'swarmguard.policy', end: 'swarmguard.end' } as const;
export const ATTACHMENT_NAMES = { launch: 'launch.yaml', settings: 'settings.json' } as const;

/** Chunks are written when this full: what a crash can lose at most. */
const CHUNK_BYTES = 256 * 1024;

/** A file written synchronously: the recorder is the only writer and the OS buffers. */
class FileSink implements IWritable {
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
const json = (value: unknown) => encoder.encode(JSON.stringify(value));
/** A pose's coordinates, NaN (not located) as null. */
const coord = (v: number) => (Number.isFinite(v) ? v : null);

/**
 * Wheel commands are float32 in the runtime: written as the shortest decimal that reads back (through
 * Math.fround) as the same float32, about half the digits of the double it widens to.
 */
function shortestFloat32(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) return f;
  for (let p = 1; p < 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return Number(f.toPrecision(9));
}

/** The 3D panel's numbers are for the eye: 0.1 mm and 1e-5 of a quaternion are plenty. */
const visual = (v: number) => Math.round(v * 1e5) / 1e5;

export class McapRunWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private readonly channelIds = new Map<ChannelRole, number>();
  private sequence = 0;
  private firstTimeMs: number | null = null;
  private lastWallMs: number | null = null;
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
  ) {}

  /** Creates the file and writes the header; throws naming the file if it cannot be written. */
  static async open(path: string, header: RecordingHeader): Promise<McapRunWriter> {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      throw new Error(`${path}: cannot create the recording (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const sink = new FileSink(fd);
    const mcap = new McapWriter({ writable: sink, chunkSize: CHUNK_BYTES });
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
    for (const [role, spec] of Object.entries(CHANNELS) as [ChannelRole, (typeof CHANNELS)[ChannelRole]][]) {
      let schemaId = schemaIds.get(spec.schemaName);
      if (schemaId === undefined) {
        schemaId = await this.mcap.registerSchema({ name: spec.schemaName, encoding: 'jsonschema', data: encoder.encode(jsonSchemaOf(spec)) });
        schemaIds.set(spec.schemaName, schemaId);
      }
      this.channelIds.set(role, await this.mcap.registerChannel({ schemaId, topic: spec.topic, messageEncoding: 'json', metadata: new Map() }));
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

  /** Log time of a tick: the run's start on the wall clock plus the link's time since the first tick, ns. */
  private logTime(timeMs: number): bigint {
    this.firstTimeMs ??= timeMs;
    return BigInt(this.startEpochMs) * 1_000_000n + BigInt(Math.round((timeMs - this.firstTimeMs) * 1e6));
  }

  /** Queues one tick's messages and the events reported with it. Throws if an earlier write failed. */
  tick(record: TickRecord, events: readonly RunEvent[]): void {
    if (this.failure) throw new Error(`${this.path}: writing failed: ${this.failure.message}`);
    if (this.closed) throw new Error(`${this.path}: the recording is closed`);
    const ids = this.header.robotIds;
    const t = record.tick;
    const logTime = this.logTime(record.timeMs);
    const wallTimeMs = Date.now();
    const msgs: [ChannelRole, unknown][] = [];
    const poses = (list: TickRecord['poses']) => ({ tick: t, timeMs: record.timeMs, robots: list.map((p, i) => ({ id: ids[i]!, x: coord(p.x), y: coord(p.y), theta: coord(p.theta) })) });
    msgs.push(['poses', poses(record.poses)]);
    if (record.truePoses) msgs.push(['truePoses', poses(record.truePoses)]);
    const f32 = (list: readonly number[], k: number) => shortestFloat32(list[k]!);
    msgs.push(['commands', { tick: t, robots: ids.map((id, i) => ({ id, intendedLeft: f32(record.intended, 2 * i), intendedRight: f32(record.intended, 2 * i + 1), left: f32(record.commands, 2 * i), right: f32(record.commands, 2 * i + 1) })) }]);
    msgs.push(['safety', { tick: t, stopped: record.stopped.flatMap((reason, i) => (reason ? [{ id: ids[i]!, reason }] : [])) }]);
    msgs.push([
      'monitor',
      { tick: t, robots: ids.map((id, i) => ({ id, belief: record.belief[i] ?? null, consistency: record.consistency[i]!, suspicion: record.suspicion[i]!, flagged: record.flagged[i]!, compromised: record.compromised.includes(i) })) },
    ]);
    msgs.push(['timing', { tick: t, timeMs: record.timeMs, wallTimeMs, intervalMs: this.lastWallMs === null ? null : wallTimeMs - this.lastWallMs }]);
    this.lastWallMs = wallTimeMs;
    const stamp = { sec: Number(logTime / 1_000_000_000n), nsec: Number(logTime % 1_000_000_000n) };
    // The 3D panel: true poses where the link knows them, tracked ones otherwise; robots not located are left out.
    const shown = (record.truePoses ?? record.poses).filter((p) => [p.x, p.y, p.theta].every(Number.isFinite));
    msgs.push(['scene', { timestamp: stamp, frame_id: 'arena', poses: shown.map((p) => ({ position: { x: visual(p.x), y: visual(p.y), z: 0 }, orientation: { x: 0, y: 0, z: visual(Math.sin(p.theta / 2)), w: visual(Math.cos(p.theta / 2)) } })) }]);
    for (const e of events) {
      const text = describeEvent(e, this.header.controlPeriod);
      msgs.push(['events', { reportedAtTick: t, text, event: e }]);
      const warning = e.kind === 'flag' || e.kind === 'e-stop' || e.kind === 'injection-start';
      msgs.push(['log', { timestamp: stamp, level: warning ? 3 : 2, message: text.trim(), name: 'swarmguard', file: '', line: 0 }]);
    }
    this.ticks++;
    this.eventCount += events.length;
    const encoded = msgs.map(([role, m]) => ({ channelId: this.channelIds.get(role)!, data: json(m) }));
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
