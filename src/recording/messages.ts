// A run's messages, channel by channel, as JSON bytes: what the recorder writes to run.mcap and the live
// Foxglove server sends, so both carry the same channels with the same schemas. Stateful only where a
// message depends on the tick before (the timing channel's interval, when the scene is sent again).
import type { SwarmSettings } from '../core/swarm-config.js';
import { describeEvent } from '../runtime/status-text.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { FOXGLOVE_CHANNELS, frameTransforms, SceneSchedule, sceneUpdate, type FoxgloveRole, type SceneSpec } from './foxglove-scene.js';
import { CHANNELS, jsonSchemaOf, type ChannelRole } from './schemas.js';

export type MessageRole = ChannelRole | FoxgloveRole;

/** A channel as MCAP and the Foxglove WebSocket protocol both describe it: JSON messages, a JSON Schema. */
export interface ChannelDefinition {
  role: MessageRole;
  topic: string;
  schemaName: string;
  /** The JSON Schema's text (schema encoding `jsonschema`, message encoding `json`). */
  schema: string;
}

/** Every channel of a run, swarmguard's own first, then Foxglove's scene and transforms. */
export function channelDefinitions(): ChannelDefinition[] {
  const own = (Object.entries(CHANNELS) as [ChannelRole, (typeof CHANNELS)[ChannelRole]][]).map(([role, c]) => ({ role, topic: c.topic, schemaName: c.schemaName, schema: jsonSchemaOf(c) }));
  const foxglove = (Object.entries(FOXGLOVE_CHANNELS) as [FoxgloveRole, (typeof FOXGLOVE_CHANNELS)[FoxgloveRole]][]).map(([role, c]) => ({
    role,
    topic: c.topic,
    schemaName: c.schemaName,
    schema: JSON.stringify(c.jsonSchema),
  }));
  return [...own, ...foxglove];
}

/** Log time of a tick: the run's start on the wall clock plus the link's time since the first tick, ns. */
export class RunClock {
  private firstTimeMs: number | null = null;
  constructor(readonly startEpochMs: number) {}

  logTime(timeMs: number): bigint {
    this.firstTimeMs ??= timeMs;
    return BigInt(this.startEpochMs) * 1_000_000n + BigInt(Math.round((timeMs - this.firstTimeMs) * 1e6));
  }
}

/** What the messages need of the run's header. */
export interface MessageHeader {
  robotIds: readonly string[];
  controlPeriod: number;
  settings: { swarm: Pick<SwarmSettings, 'arenaWidth' | 'arenaHeight' | 'robots'> };
}

export interface EncodedMessage {
  role: MessageRole;
  data: Uint8Array;
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

export class TickMessages {
  private readonly scene: SceneSpec;
  private readonly schedule: SceneSchedule;
  private lastWallMs: number | null = null;

  /** `live`: the scene is also sent again once a second, for viewers that join late. */
  constructor(
    private readonly header: MessageHeader,
    o: { live: boolean },
  ) {
    const swarm = header.settings.swarm;
    this.scene = { robotIds: header.robotIds, arenaWidth: swarm.arenaWidth, arenaHeight: swarm.arenaHeight, bodyRadius: swarm.robots.map((r) => r.bodyRadius) };
    this.schedule = new SceneSchedule(o.live ? Math.max(1, Math.round(1 / header.controlPeriod)) : undefined);
  }

  /** One tick's messages and those of the events reported with it, in channel order. */
  encode(record: TickRecord, events: readonly RunEvent[], logTime: bigint, wallTimeMs: number): EncodedMessage[] {
    const ids = this.header.robotIds;
    const t = record.tick;
    const msgs: [MessageRole, unknown][] = [];
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
    msgs.push(['transforms', frameTransforms(this.scene, record, stamp)]);
    if (this.schedule.due(record)) msgs.push(['sceneUpdate', sceneUpdate(this.scene, record, stamp)]);
    for (const e of events) {
      const text = describeEvent(e, this.header.controlPeriod);
      msgs.push(['events', { reportedAtTick: t, text, event: e }]);
      const warning = e.kind === 'flag' || e.kind === 'isolate' || e.kind === 'e-stop' || e.kind === 'injection-start' || e.kind === 'attack-error';
      msgs.push(['log', { timestamp: stamp, level: warning ? 3 : 2, message: text.trim(), name: 'swarmguard', file: '', line: 0 }]);
    }
    return msgs.map(([role, m]) => ({ role, data: json(m) }));
  }
}
