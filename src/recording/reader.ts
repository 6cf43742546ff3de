// Reads a recording back: the run's header (settings, robot ids, policy), its per-tick records exactly as
// the runtime made them and its events; chunks compressed or not (zstd, lz4, bz2). Refuses, naming the file, anything that is not a complete
// swarmguard recording: not MCAP, truncated (no footer or index), another format version, a channel with
// the wrong schema, a message its schema does not accept.
import { open } from 'node:fs/promises';
import { hasMcapPrefix, McapIndexedReader, type IReadable, type TypedMcapRecords } from '@mcap/core';
import { z } from 'zod';
import { NoiseSchema } from '../../sim/noise.js';
import { RobotParamsSchema } from '../core/robot-params.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { decompressHandlers } from './compression.js';
import { CHANNELS, RECORDING_FORMAT, type ChannelRole } from './schemas.js';
import { ATTACHMENT_NAMES, METADATA_NAMES, type RecordedSettings, type RecordingHeader } from './writer.js';

export class RecordingError extends Error {
  override readonly name = 'RecordingError';
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
  /** The closing record is there (false: the recorder was dropped before the run ended). */
  closed: boolean;
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

class FileReadable implements IReadable {
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
  const fail = (what: string): never => {
    throw new RecordingError(`${path}: ${what}`);
  };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return fail(`cannot read the recording (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    if (size < 8 || !hasMcapPrefix(new DataView(prefix.buffer))) fail('not an MCAP file (no MCAP magic at the start)');
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable: new FileReadable(handle, size), decompressHandlers: await decompressHandlers() });
    } catch (err) {
      return fail(`not a complete MCAP file (truncated, or the recording was not closed): ${(err as Error).message}`);
    }
    return await decode(reader, path, fail);
  } finally {
    await handle.close();
  }
}

async function decode(reader: McapIndexedReader, path: string, fail: (what: string) => never): Promise<RecordedRun> {
  const meta = new Map<string, Map<string, string>>();
  for await (const m of reader.readMetadata()) meta.set(m.name, m.metadata);
  const run = meta.get(METADATA_NAMES.run) ?? fail(`no '${METADATA_NAMES.run}' metadata: not a swarmguard recording`);
  if (run.get('format') !== RECORDING_FORMAT) fail(`recording format '${run.get('format')}' is not ${RECORDING_FORMAT}`);
  const field = (key: string) => run.get(key) ?? fail(`metadata ${METADATA_NAMES.run}.${key} is missing`);
  const attachments = new Map<string, string>();
  for await (const a of reader.readAttachments()) attachments.set(a.name, decoder.decode(a.data));
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
  for (const ch of reader.channelsById.values()) {
    const entry = (Object.entries(CHANNELS) as [ChannelRole, (typeof CHANNELS)[ChannelRole]][]).find(([, c]) => c.topic === ch.topic);
    if (!entry) continue;
    const schema = reader.schemasById.get(ch.schemaId);
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
  for await (const msg of reader.readMessages()) {
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
  };
}
