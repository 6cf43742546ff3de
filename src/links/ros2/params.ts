// The node's ROS 2 parameters: what they are (name, type, range, description: declarations.ts turns them into
// rclnodejs descriptors), validation of a set request against the current values, and applying an accepted
// one to the running settings. Plain functions, tested without ROS 2.
//
// The control period is the policy's (it was trained at it), so it is read-only here; the telemetry rate,
// the safety layer's thresholds, the monitor's thresholds and what a flag does (monitor.on_flag) are live. The ranges are wide enough for every
// value a launch file accepts, so declaring them with the launch file's values never fails. In trial mode, inject.robot,
// inject.attack and inject.seconds hold the request the ~/inject service carries out (std_srvs/Trigger has
// no fields).
//
// The rest of the monitor's settings (the consistency detector's sigmas, score cap and persistent-bias
// settings, the contact holds, the belief's weight and CUSUM) are parameters too, made from the launch
// file's schema (src/monitor/settings.ts): monitor.<block>_<key in snake case> (consistency.maxTickScore is
// monitor.consistency_max_tick_score), with the schema's bounds as the range and its description.
import { z } from 'zod';
import { MonitorSettingsSchema, type MonitorSettings } from '../../monitor/settings.js';
import type { SafetySettings } from '../../runtime/safety.js';
import { DEFAULT_ON_FLAG, ON_FLAG_ACTIONS, type OnFlag } from '../../runtime/isolation.js';

export type ParamKind = 'double' | 'integer' | 'string';

/** rcl_interfaces/msg/ParameterType values of the kinds used here. */
export const ROS_PARAMETER_TYPE: Record<ParamKind, number> = { integer: 2, double: 3, string: 4 };

export interface ParamSpec {
  name: string;
  kind: ParamKind;
  description: string;
  readOnly?: boolean;
  /** Inclusive range for numbers. */
  range?: { from: number; to: number };
  /** A constraint beyond the range, in words (checked by validateParameterUpdate). */
  constraint?: string;
  /** The values a string parameter takes (checked by validateParameterUpdate). */
  choices?: readonly string[];
  /** The range's lower bound itself is refused: a value must be above it (checked by validateParameterUpdate). */
  aboveFrom?: boolean;
}

/** Where a monitor setting made a parameter is kept in Tunables: its launch-file path (monitor.consistency.maxTickScore). */
export type MonitorPath = `monitor.${string}`;

/** Everything settable through parameters, with their current values. */
export interface Tunables {
  controlPeriodS: number;
  telemetryRateHz: number;
  maxPoseAgeMs: number;
  lookaheadS: number;
  wallMarginM: number;
  flagAt: number;
  clearAt: number;
  flagTicks: number;
  clearTicks: number;
  cusumThreshold: number;
  cusumDrift: number;
  onFlag: OnFlag;
  injectRobot: string;
  injectAttack: string;
  injectSeconds: number;
  /** The monitor settings made parameters from the schema (monitorParameterSpecs), by launch-file path. */
  [path: MonitorPath]: number;
}

type Key = keyof Tunables;

/**
 * Monitor settings that are not made parameters from the schema: those declared by hand above (they predate
 * it, and keep their names), and latencyTicks, which sizes the detector's command history when the run starts.
 */
export const MONITOR_SETTINGS_NOT_FROM_SCHEMA: readonly string[] = ['flagAt', 'clearAt', 'flagTicks', 'clearTicks', 'consistency.threshold', 'consistency.drift', 'consistency.latencyTicks'];

const MONITOR_BLOCKS = ['consistency', 'belief'] as const;
type MonitorBlock = (typeof MONITOR_BLOCKS)[number];

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** One parameter per numeric setting of the monitor's blocks, not set apart above: name, kind, range and description from the schema. */
function monitorParameterSpecs(): (ParamSpec & { key: MonitorPath; block: MonitorBlock; field: string })[] {
  const specs: (ParamSpec & { key: MonitorPath; block: MonitorBlock; field: string })[] = [];
  for (const block of MONITOR_BLOCKS) {
    for (const [field, schema] of Object.entries(MonitorSettingsSchema.shape[block].unwrap().shape)) {
      if (MONITOR_SETTINGS_NOT_FROM_SCHEMA.includes(`${block}.${field}`)) continue;
      const inner = schema.unwrap();
      if (!(inner instanceof z.ZodNumber)) continue;
      const from = inner.minValue;
      const to = inner.maxValue;
      if (from === null || to === null || !Number.isFinite(from) || !Number.isFinite(to)) throw new Error(`monitor.${block}.${field}: a parameter needs finite bounds in src/monitor/settings.ts`);
      const aboveFrom = !inner.safeParse(from).success;
      specs.push({
        key: `monitor.${block}.${field}`,
        block,
        field,
        name: `monitor.${block}_${snake(field)}`,
        kind: inner.isInt ? 'integer' : 'double',
        range: { from, to },
        ...(aboveFrom ? { aboveFrom, constraint: `above ${from}` } : {}),
        description: schema.description ?? field,
      });
    }
  }
  return specs;
}

const MONITOR_SPECS = monitorParameterSpecs();

const SPECS: readonly (ParamSpec & { key: Key; trialOnly?: boolean })[] = [
  { key: 'controlPeriodS', name: 'control_period_s', kind: 'double', readOnly: true, description: "seconds per control tick (the policy's; read-only)" },
  { key: 'telemetryRateHz', name: 'telemetry_rate_hz', kind: 'double', range: { from: 0.1, to: 100 }, description: 'diagnostics and markers published per second (at most one per control tick)' },
  { key: 'maxPoseAgeMs', name: 'safety.max_pose_age_ms', kind: 'double', range: { from: 0.001, to: 3_600_000 }, description: 'a robot whose latest pose is older than this is stopped, ms' },
  { key: 'lookaheadS', name: 'safety.lookahead_s', kind: 'double', range: { from: 0, to: 3600 }, description: 'a command that would leave the arena within this is refused, s' },
  { key: 'wallMarginM', name: 'safety.wall_margin_m', kind: 'double', range: { from: 0, to: 100 }, description: "the robot's body must stay this far inside the walls, m" },
  { key: 'flagAt', name: 'monitor.flag_at', kind: 'double', range: { from: 0, to: 1 }, constraint: 'above monitor.clear_at', description: 'suspicion at or above which a robot is flagged (after flag_ticks ticks)' },
  { key: 'clearAt', name: 'monitor.clear_at', kind: 'double', range: { from: 0, to: 1 }, constraint: 'below monitor.flag_at', description: 'suspicion at or below which a flag is cleared (after clear_ticks ticks); below flag_at' },
  { key: 'flagTicks', name: 'monitor.flag_ticks', kind: 'integer', range: { from: 1, to: 1_000_000 }, description: 'ticks at or above flag_at before a flag' },
  { key: 'clearTicks', name: 'monitor.clear_ticks', kind: 'integer', range: { from: 1, to: 1_000_000 }, description: 'ticks at or below clear_at before a flag is cleared' },
  { key: 'cusumThreshold', name: 'monitor.consistency_threshold', kind: 'double', range: { from: 1e-6, to: 1e6 }, description: 'policy-consistency CUSUM at which its suspicion reaches 1' },
  { key: 'cusumDrift', name: 'monitor.consistency_drift', kind: 'double', range: { from: 0, to: 1e6 }, description: 'per-tick allowance subtracted from the consistency residual' },
  {
    key: 'onFlag',
    name: 'monitor.on_flag',
    kind: 'string',
    choices: ON_FLAG_ACTIONS,
    constraint: `one of ${ON_FLAG_ACTIONS.join(', ')}`,
    description: "what a flag does: report; isolate (every other robot's observation and belief input leave the flagged robot out until it is cleared); isolate-and-stop (and the safety layer holds it still until then)",
  },
  ...MONITOR_SPECS,
  { key: 'injectRobot', name: 'inject.robot', kind: 'string', trialOnly: true, description: 'robot id the next ~/inject call compromises (trial mode only)' },
  { key: 'injectAttack', name: 'inject.attack', kind: 'string', trialOnly: true, description: 'attack of the next ~/inject: fault:<name>, obs-noise:<eps>, an adversary/policy folder, or one of the attack modules the launch file names (relative to the working directory)' },
  { key: 'injectSeconds', name: 'inject.seconds', kind: 'double', trialOnly: true, range: { from: 0.001, to: 86_400 }, description: 'how long the next ~/inject lasts, s' },
];

/** The parameters a node declares: the inject.* ones only in trial mode. */
export function parameterSpecs(trialMode: boolean): (ParamSpec & { key: Key })[] {
  return SPECS.filter((s) => trialMode || !s.trialOnly);
}

export function tunablesFrom(controlPeriod: number, telemetryRateHz: number, safety: SafetySettings, monitor: MonitorSettings, onFlag: OnFlag = DEFAULT_ON_FLAG): Tunables {
  return {
    controlPeriodS: controlPeriod,
    telemetryRateHz,
    maxPoseAgeMs: safety.maxPoseAgeMs,
    lookaheadS: safety.lookaheadS,
    wallMarginM: safety.wallMargin,
    flagAt: monitor.flagAt,
    clearAt: monitor.clearAt,
    flagTicks: monitor.flagTicks,
    clearTicks: monitor.clearTicks,
    cusumThreshold: monitor.consistency.threshold,
    cusumDrift: monitor.consistency.drift,
    onFlag,
    injectRobot: '',
    injectAttack: '',
    injectSeconds: 10,
    ...Object.fromEntries(MONITOR_SPECS.map((m) => [m.key, monitorValue(monitor, m)])),
  };
}

function monitorValue(monitor: MonitorSettings, m: { block: MonitorBlock; field: string }): number {
  return (monitor[m.block] as Record<string, number>)[m.field]!;
}

export type ParamUpdate = { name: string; value: unknown };
export type ParamResult = { ok: true; next: Tunables } | { ok: false; reason: string };

function asNumber(v: unknown, kind: ParamKind): number | null {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (kind === 'integer' && !Number.isInteger(v)) return null;
  return v;
}

/**
 * The values after a set request (all of its parameters at once, as ROS sets them atomically), or the reason
 * it is refused: unknown or read-only name, wrong type, out of range, clear_at not below flag_at.
 * `declaring`: the node is declaring its parameters (with launch-time overrides); read-only ones may be set then.
 */
export function validateParameterUpdate(current: Tunables, updates: readonly ParamUpdate[], trialMode: boolean, declaring = false): ParamResult {
  const next: Tunables = { ...current };
  const specs = parameterSpecs(trialMode);
  for (const u of updates) {
    const spec = specs.find((s) => s.name === u.name);
    if (!spec) return { ok: false, reason: `unknown parameter ${u.name}` };
    if (spec.readOnly && !declaring) return { ok: false, reason: `${u.name} is read-only` };
    if (spec.kind === 'string') {
      if (typeof u.value !== 'string') return { ok: false, reason: `${u.name} takes a string` };
      const value = u.value.trim();
      if (spec.choices && !spec.choices.includes(value)) return { ok: false, reason: `${u.name} must be one of ${spec.choices.join(', ')}, got '${value}'` };
      (next as unknown as Record<Key, unknown>)[spec.key] = value;
      continue;
    }
    const v = asNumber(u.value, spec.kind);
    if (v === null) return { ok: false, reason: `${u.name} takes ${spec.kind === 'integer' ? 'an integer' : 'a finite number'}, got ${String(u.value)}` };
    if (spec.range && (v < spec.range.from || v > spec.range.to)) return { ok: false, reason: `${u.name} must be within [${spec.range.from}, ${spec.range.to}], got ${v}` };
    if (spec.aboveFrom && spec.range && !(v > spec.range.from)) return { ok: false, reason: `${u.name} must be above ${spec.range.from}, got ${v}` };
    (next as unknown as Record<Key, unknown>)[spec.key] = v;
  }
  if (!(next.clearAt < next.flagAt)) return { ok: false, reason: `monitor.clear_at (${next.clearAt}) must be below monitor.flag_at (${next.flagAt})` };
  return { ok: true, next };
}

/** Puts accepted values into the settings the safety layer and the monitor read every tick (onFlag goes to the run: see the service). */
export function applyTunables(t: Tunables, safety: SafetySettings, monitor: MonitorSettings): void {
  safety.maxPoseAgeMs = t.maxPoseAgeMs;
  safety.lookaheadS = t.lookaheadS;
  safety.wallMargin = t.wallMarginM;
  monitor.flagAt = t.flagAt;
  monitor.clearAt = t.clearAt;
  monitor.flagTicks = t.flagTicks;
  monitor.clearTicks = t.clearTicks;
  monitor.consistency.threshold = t.cusumThreshold;
  monitor.consistency.drift = t.cusumDrift;
  for (const m of MONITOR_SPECS) (monitor[m.block] as Record<string, number>)[m.field] = tunable(t, m.key);
}

/** Every parameter's value as it is declared (integers as bigint, as rclnodejs holds them). */
export function parameterValue(spec: ParamSpec & { key: Key }, t: Tunables): number | bigint | string {
  const v = tunable(t, spec.key);
  return spec.kind === 'integer' ? BigInt(v as number) : v;
}

/** A parameter's value; every declared parameter has one, so a missing one is a bug in how Tunables was built. */
function tunable<K extends Key>(t: Tunables, key: K): NonNullable<Tunables[K]> {
  const v = t[key];
  if (v === undefined) throw new RangeError(`parameter ${String(key)} has no value in the node's tunables`);
  return v as NonNullable<Tunables[K]>;
}

/** Every `period`-long tick, how many ticks between two telemetry messages at `rateHz` (at least 1). */
export function telemetryEvery(rateHz: number, controlPeriod: number): number {
  return Math.max(1, Math.round(1 / (rateHz * controlPeriod)));
}
