// Reads a recording back: the run's header (settings, robot ids, policy), its per-tick records exactly as
// the runtime made them and its events; chunks compressed or not (zstd, lz4, bz2). A closed recording is read
// through its index; one that was never closed (the process killed, a power loss: no footer, no index) is
// read from its start up to its last complete tick (scan.ts) and says so (`truncated`). Refuses, naming the
// file, anything that is not a swarmguard recording: not MCAP, another format version, a channel with the
// wrong schema, a message its schema does not accept, a cut-off file without one complete tick.
import { open } from 'node:fs/promises';
import { hasMcapPrefix, McapIndexedReader, type IReadable, type TypedMcapRecords } from '@mcap/core';
import { z } from 'zod';
import { NoiseSchema } from '../core/noise.js';
import { RobotParamsSchema } from '../core/robot-params.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { decompressHandlers } from './compression.js';
import { completeTicks, scanRecording, type ScannedRecording } from './scan.js';
import { CHANNELS, RECORDING_FORMAT, type ChannelRole } from './schemas.js';
import { ATTACHMENT_NAMES, METADATA_NAMES, type RecordedSettings, type RecordingHeader } from './writer.js';
import { UserError } from '../core/user-error.js';

export class RecordingError extends UserError {
  override readonly name: string = 'RecordingError';
}

export interface RecordedRun extends RecordingHeader {
  path: string;
  startedAt: string;
  /** One per recorded tick, in order. */
  records: TickRecord[];
  /** Every event, in the order the runtime reported them. */
  events: RunEvent[];
  /** The events reported with each tick's record (the tick they came with, which is not always their own). */
  eventsAt: Map<number, RunEvent[]>;
  /** The closing record is there (false: the recorder was dropped, or the process killed, before the run ended). */
  closed: boolean;
  /** The file was never closed (no footer or index): it was read from its start up to its last complete tick. */
  truncated: Truncation | null;
  /** A copy written by `swarmguard recover`: what it was recovered from. */
  recovered: RecoveredFrom | null;
}

/** What a streaming read of a recording that was never closed could and could not read. */
export interface Truncation {
  fileBytes: number;
  /** Bytes read as complete records (up to the last complete chunk). */
  readBytes: number;
  /** Why the file could not be read through its index or to its end. */
  reason: string;
  /** Messages read but left out: those of the last tick read, which the cut may have taken part of. */
  droppedMessages: number;
}

/** The `swarmguard.recovered` metadata of a copy `swarmguard recover` wrote. */
export interface RecoveredFrom {
  from: string;
  fileBytes: number;
  readBytes: number;
  reason: string;
  recoveredAt: string;
}

/** The line replay, compare and calibrate print about a recording that was cut off or recovered (null: neither). */
export function recordingNote(run: RecordedRun): string | null {
  const kept = `${run.records.length} ticks (${(run.records.length * run.controlPeriod).toFixed(1)} s) and ${run.events.length} events`;
  const t = run.truncated;
  if (t) {
    return (
      `${run.path} was not closed (${t.reason}): read up to its last complete tick, ${kept}; ` +
      `${t.fileBytes - t.readBytes} bytes unreadable; the last tick read (${t.droppedMessages} messages) left out, the cut may have taken part of it. ` +
      `\`swarmguard recover ${run.path}\` writes a closed copy`
    );
  }
  const r = run.recovered;
  return r ? `${run.path} is a copy recovered from ${r.from} (${r.reason}; ${r.fileBytes - r.readBytes} bytes were cut off): ${kept}` : null;
}

/** What compare and calibrate need of the swarm; the rest of the settings is carried through unchecked. */
const SettingsCheck = z.looseObject({
  swarm: z.looseObject({
    robotIds: z.array(z.string()).min(2),
    robots: z.array(RobotParamsSchema),
    arenaWidth: z.number().positive(),
    arenaHeight: z.number().positive(),
    controlPeriod: z.number().positive(),
    subSteps: z.number().int().min(1),
    noise: NoiseSchema,
  }),
  ticks: z.number().int().min(0),
});

/** Every tick needs a message on each of these channels: a field each sets, and the channel. */
const TICK_CHANNELS = [['poses', 'poses'], ['intended', 'commands'], ['stopped', 'safety'], ['suspicion', 'monitor']] as const satisfies readonly (readonly [keyof TickRecord, ChannelRole])[];

/** A file as @mcap/core's random-access readable. */
export class FileReadable implements IReadable {
  constructor(private readonly handle: import('node:fs/promises').FileHandle, private readonly length: number) {}
  async size(): Promise<bigint> {
    return BigInt(this.length);
  }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const buf = new Uint8Array(Number(size));
    const { bytesRead } = await this.handle.read(buf, 0, buf.length, Number(offset));
    if (bytesRead !== buf.length) throw new Error(`short read at ${offset} (${bytesRead} of ${size} bytes)`);
    return buf;
  }
}

const decoder = new TextDecoder();
/** null (a pose not known) back to NaN, as the runtime had it. */
const num = (v: number | null) => (v === null ? Number.NaN : v);

export async function readRecording(path: string): Promise<RecordedRun> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new RecordingError(`${path}: cannot read the recording (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    if (size < 8 || !hasMcapPrefix(new DataView(prefix.buffer))) throw new RecordingError(`${path}: not an MCAP file (no MCAP magic at the start)`);
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable: new FileReadable(handle, size), decompressHandlers: await decompressHandlers() });
    } catch (err) {
      // No footer or index (never closed) or a damaged one: read from the start as far as it is complete.
      return await readScanned(path, await scanRecording(handle, size), (err as Error).message);
    }
    return await decode(await indexedContents(reader), path, (what) => {
      throw new RecordingError(`${path}: ${what}`);
    });
  } finally {
    await handle.close();
  }
}

/**
 * A recording read by scanRecording, as far as it holds complete ticks. `indexError`: why its index could not
 * be read (the reason given when the file did end with its footer).
 */
export async function readScanned(path: string, scan: ScannedRecording, indexError = 'no index'): Promise<RecordedRun> {
  const { kept, dropped } = completeTicks(scan);
  const truncated: Truncation = { fileBytes: scan.fileBytes, readBytes: scan.readBytes, reason: scan.stoppedBy ?? `its index could not be read: ${indexError}`, droppedMessages: dropped };
  const fail = (what: string): never => {
    throw new RecordingError(`${path}: the recording was not closed (${truncated.reason}), and ${what}`);
  };
  const contents: Contents = {
    metadata: new Map(scan.metadata.map((m) => [m.name, m.metadata])),
    attachments: new Map(scan.attachments.map((a) => [a.name, a.data])),
    schemas: scan.schemas,
    channels: scan.channels,
    messages: kept,
  };
  // A swarmguard recording cut off before its first chunk has no channels yet: said as such.
  const noTick = () => fail(`it holds no complete tick (${scan.messages.length} messages read)`);
  if (kept.length === 0 && contents.metadata.has(METADATA_NAMES.run)) noTick();
  const run = await decode(contents, path, fail);
  if (run.records.length === 0) noTick();
  return { ...run, truncated };
}

/** What decode() needs of a recording, however it was read. */
interface Contents {
  metadata: Map<string, Map<string, string>>;
  attachments: Map<string, Uint8Array>;
  schemas: ReadonlyMap<number, { name: string; encoding: string }>;
  channels: ReadonlyMap<number, { id: number; topic: string; schemaId: number; messageEncoding: string }>;
  messages: AsyncIterable<TypedMcapRecords['Message']> | Iterable<TypedMcapRecords['Message']>;
}

async function indexedContents(reader: McapIndexedReader): Promise<Contents> {
  const metadata = new Map<string, Map<string, string>>();
  for await (const m of reader.readMetadata()) metadata.set(m.name, m.metadata);
  const attachments = new Map<string, Uint8Array>();
  for await (const a of reader.readAttachments()) attachments.set(a.name, a.data);
  return { metadata, attachments, schemas: reader.schemasById, channels: reader.channelsById, messages: reader.readMessages() };
}

async function decode(c: Contents, path: string, fail: (what: string) => never): Promise<Omit<RecordedRun, 'truncated'> & { truncated: null }> {
  const meta = c.metadata;
  const run = meta.get(METADATA_NAMES.run) ?? fail(`no '${METADATA_NAMES.run}' metadata: not a swarmguard recording`);
  if (run.get('format') !== RECORDING_FORMAT) fail(`recording format '${run.get('format')}' is not ${RECORDING_FORMAT}`);
  const field = (key: string) => run.get(key) ?? fail(`metadata ${METADATA_NAMES.run}.${key} is missing`);
  const attachments = new Map([...c.attachments].map(([name, data]) => [name, decoder.decode(data)]));
  const settingsText = attachments.get(ATTACHMENT_NAMES.settings) ?? fail(`attachment ${ATTACHMENT_NAMES.settings} is missing`);
  let settingsJson: unknown;
  try {
    settingsJson = JSON.parse(settingsText);
  } catch (err) {
    fail(`attachment ${ATTACHMENT_NAMES.settings}: ${(err as Error).message}`);
  }
  const checked = SettingsCheck.safeParse(settingsJson);
  if (!checked.success) fail(`attachment ${ATTACHMENT_NAMES.settings}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const settings = settingsJson as RecordedSettings;
  const ids = JSON.parse(field('robotIds')) as string[];
  if (JSON.stringify(ids) !== JSON.stringify(settings.swarm.robotIds)) fail(`metadata robotIds (${ids.join(', ')}) are not the settings' (${settings.swarm.robotIds.join(', ')})`);

  // Every one of our topics must carry our schema.
  const roleOf = new Map<number, ChannelRole>();
  for (const ch of c.channels.values()) {
    const entry = (Object.entries(CHANNELS) as [ChannelRole, (typeof CHANNELS)[ChannelRole]][]).find(([, x]) => x.topic === ch.topic);
    if (!entry) continue;
    const schema = c.schemas.get(ch.schemaId);
    if (!schema || schema.name !== entry[1].schemaName || schema.encoding !== 'jsonschema' || ch.messageEncoding !== 'json') {
      fail(`channel ${ch.topic} has schema '${schema?.name ?? 'none'}' (${schema?.encoding ?? '-'}/${ch.messageEncoding}), expected ${entry[1].schemaName} (jsonschema/json)`);
    }
    roleOf.set(ch.id, entry[0]);
  }
  for (const role of ['poses', 'commands', 'safety', 'monitor', 'events'] as const) {
    if (![...roleOf.values()].includes(role)) fail(`channel ${CHANNELS[role].topic} is missing`);
  }

  const N = ids.length;
  const ticks = new Map<number, Partial<TickRecord>>();
  const at = (t: number) => {
    let r = ticks.get(t);
    if (!r) ticks.set(t, (r = { tick: t }));
    return r;
  };
  const events: RunEvent[] = [];
  const eventsAt = new Map<number, RunEvent[]>();
  const parse = <R extends ChannelRole>(role: R, msg: TypedMcapRecords['Message']): z.output<(typeof CHANNELS)[R]['schema']> => {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(msg.data));
    } catch (err) {
      fail(`${CHANNELS[role].topic} message ${msg.sequence}: not JSON (${(err as Error).message})`);
    }
    const r = CHANNELS[role].schema.safeParse(value);
    if (!r.success) fail(`${CHANNELS[role].topic} message ${msg.sequence}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const out = r.data as z.output<(typeof CHANNELS)[R]['schema']>;
    const robots = (out as { robots?: { id: string }[] }).robots;
    if (robots && (robots.length !== N || robots.some((x, i) => x.id !== ids[i]))) fail(`${CHANNELS[role].topic} message ${msg.sequence}: robots are not the swarm's ${ids.join(', ')}`);
    return out;
  };
  for await (const msg of c.messages) {
    const role = roleOf.get(msg.channelId);
    switch (role) {
      case 'poses':
      case 'truePoses': {
        const m = parse(role, msg);
        const r = at(m.tick);
        const poses = m.robots.map((p) => ({ x: num(p.x), y: num(p.y), theta: num(p.theta) }));
        if (role === 'poses') {
          r.poses = poses;
          r.timeMs = m.timeMs;
        } else r.truePoses = poses;
        break;
      }
      case 'commands': {
        const m = parse(role, msg);
        const r = at(m.tick);
        // Written as their shortest float32 decimals (writer.ts): widened back exactly as the runtime has them.
        r.intended = m.robots.flatMap((c) => [Math.fround(c.intendedLeft), Math.fround(c.intendedRight)]);
        r.commands = m.robots.flatMap((c) => [Math.fround(c.left), Math.fround(c.right)]);
        break;
      }
      case 'safety': {
        const m = parse(role, msg);
        const stopped = new Array<TickRecord['stopped'][number]>(N).fill(null);
        for (const s of m.stopped) {
          const i = ids.indexOf(s.id);
          if (i < 0) fail(`${CHANNELS.safety.topic} message ${msg.sequence}: unknown robot '${s.id}'`);
          stopped[i] = s.reason;
        }
        at(m.tick).stopped = stopped;
        break;
      }
      case 'monitor': {
        const m = parse(role, msg);
        const r = at(m.tick);
        r.belief = m.robots.map((x) => x.belief);
        r.consistency = m.robots.map((x) => x.consistency);
        r.suspicion = m.robots.map((x) => x.suspicion);
        r.flagged = m.robots.map((x) => x.flagged);
        r.compromised = m.robots.flatMap((x, i) => (x.compromised ? [i] : []));
        break;
      }
      case 'events': {
        const m = parse(role, msg);
        const e = m.event as unknown as RunEvent;
        events.push(e);
        const list = eventsAt.get(m.reportedAtTick) ?? [];
        list.push(e);
        eventsAt.set(m.reportedAtTick, list);
        break;
      }
      default:
        break;
    }
  }
  const records: TickRecord[] = [];
  for (const t of [...ticks.keys()].sort((a, b) => a - b)) {
    const r = ticks.get(t)!;
    for (const [key, role] of TICK_CHANNELS) if (r[key] === undefined) fail(`tick ${t} has no ${CHANNELS[role].topic} message`);
    records.push({ truePoses: null, ...r } as TickRecord);
  }
  records.forEach((r, k) => {
    if (r.tick !== records[0]!.tick + k) fail(`ticks are not consecutive: tick ${r.tick} follows tick ${records[k - 1]!.tick}`);
  });
  const policyMeta = meta.get(METADATA_NAMES.policy) ?? new Map<string, string>();
  const kind = field('kind');
  if (kind !== 'run' && kind !== 'calibration-drive') fail(`metadata ${METADATA_NAMES.run}.kind '${kind}' is unknown`);
  const mode = field('mode');
  return {
    path,
    kind,
    name: field('name'),
    robotIds: ids,
    controlPeriod: Number(field('controlPeriodS')),
    linkKind: field('link'),
    mode: mode === 'fast' ? 'fast' : 'live',
    trial: field('trial') === 'true',
    source: field('source'),
    startedAt: field('startedAt'),
    launchText: attachments.get(ATTACHMENT_NAMES.launch) ?? '',
    settings,
    policy: {
      name: policyMeta.get('name') ?? '',
      dir: policyMeta.get('dir') ?? '',
      files: Object.fromEntries([...policyMeta].filter(([k]) => k.startsWith('sha256:')).map(([k, v]) => [k.slice('sha256:'.length), v])),
    },
    records,
    events,
    eventsAt,
    closed: meta.has(METADATA_NAMES.end),
    truncated: null,
    recovered: recoveredFrom(meta.get(METADATA_NAMES.recovered)),
  };
}

function recoveredFrom(m: Map<string, string> | undefined): RecoveredFrom | null {
  if (!m) return null;
  return { from: m.get('from') ?? '', fileBytes: Number(m.get('fileBytes')), readBytes: Number(m.get('readBytes')), reason: m.get('reason') ?? '', recoveredAt: m.get('recoveredAt') ?? '' };
}
