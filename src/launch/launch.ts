// Launch configurations (`swarmguard run <launch.yaml>`): the swarm, the link, the policy, the safety and
// monitor settings and scheduled injections, validated as a whole before anything starts. Paths are
// relative to the launch file.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadYamlFile, parseWithSchema } from '../core/config-file.js';
import { resolveSwarmConfig } from '../core/swarm-config.js';
import { loadAttack, resolveAttackRef, type Attack } from '../attacks/attack.js';
import { injectionTicks, robotIndices } from '../runtime/injection-timing.js';
import { MonitorSettingsSchema } from '../monitor/settings.js';
import { isOracle } from '../core/policy-manifest.js';
import { observationMismatch, readManifest } from '../policy/folder.js';
import { SafetySettingsSchema } from '../runtime/safety.js';
import { planRobots, Ros2LinkSchema } from '../links/ros2/config.js';
import { DistributedSchema, type DistributedConfig } from './distributed-schema.js';
import { Epuck2BtLinkSchema, Epuck2WifiLinkSchema, resolveEpuck2Robots } from '../links/epuck2/config.js';
import { BusSchema, checkMqttLink, MqttLinkSchema, resolveBus, type BusOptions } from '../links/mqtt/config.js';
import { isTopicLevel } from '../links/mqtt/topics.js';
import { DashboardSchema, resolveDashboard, type DashboardConfig } from '../dashboard/config.js';
import { FoxgloveLiveSchema, RecordSchema, resolveFoxgloveLive, resolveRecord, type FoxgloveLiveConfig } from '../recording/config.js';
import type { RecordingOptions } from '../recording/writer.js';
import { releaseRun, type RunSpec } from '../runtime/run-spec.js';
import { DEFAULT_ON_FLAG, ON_FLAG_ACTIONS } from '../runtime/isolation.js';

const SimLinkSchema = z
  .object({
    kind: z.literal('sim'),
    /** live: paced to the wall clock at the control period; fast: as fast as possible (batch trials). */
    mode: z.enum(['live', 'fast']).default('live'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  })
  .strict();

export const LaunchSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('run'),
    /** The swarm and its arena: the twin's settings (src/core/swarm-config.ts keys; robots, robotsFile, arena, noise...). */
    swarm: z.record(z.string(), z.unknown()).default({}),
    /** How the runtime reaches the robots: one schema per kind (src/runtime/link-factory.ts builds them). */
    link: z.discriminatedUnion('kind', [SimLinkSchema, Ros2LinkSchema, Epuck2WifiLinkSchema, Epuck2BtLinkSchema, MqttLinkSchema]).default({ kind: 'sim', mode: 'live', seed: 1 }),
    /** Publish the run (beliefs, suspicion, alerts, events, status) to an MQTT bus, whatever the link (src/links/mqtt). */
    mqtt: BusSchema.optional(),
    /** The policy folder every robot runs. */
    policy: z.string().min(1),
    /** A robot's belief about a neighbour is dropped after the neighbour has been out of range this long, s. */
    forgetNeighbourAfter: z.number().positive().default(5),
    /** Run length, s. */
    duration: z.number().positive().max(24 * 3600),
    /** Injections are refused unless this is a trial. */
    trial: z.boolean().default(false),
    /** The safety layer (src/runtime/safety.ts: each key's default and meaning); keys left out take their defaults. */
    safety: SafetySettingsSchema.prefault({}),
    /** The monitor (src/monitor/settings.ts: each key's default and meaning; consistency: and belief: blocks); keys left out take their defaults. */
    monitor: MonitorSettingsSchema.extend({
      /**
       * What a flag does (src/runtime/isolation.ts): report (only the flag, the default), isolate (every
       * other robot's observation and belief input leave the flagged robot out until it is cleared), or
       * isolate-and-stop (isolate, and the safety layer also holds it still until it is cleared).
       */
      onFlag: z.enum(ON_FLAG_ACTIONS).default(DEFAULT_ON_FLAG),
    })
      .strict()
      .prefault({}),
    injections: z
      .array(
        z
          .object({
            /** Robot id, or several robots at once (each compromised the same way); one of the two. */
            robot: z.string().min(1).optional(),
            robots: z.array(z.string().min(1)).min(1).optional(),
            /** Start, s after the run starts, and how long it lasts, s. */
            at: z.number().min(0),
            duration: z.number().positive(),
            /** Intermittent: on for `on` s, off for `off` s, repeated over the duration (both or neither). */
            on: z.number().positive().optional(),
            off: z.number().positive().optional(),
            /**
             * A trained adversary (adversary folder, policy folder, folder@name), fault:<name>, obs-noise:<eps>,
             * or an attack module (module:<file>, or a .ts/.mts/.js/.mjs path: src/attacks/attack-module.ts).
             */
            attack: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
    /** Where run folders go. */
    out: z.string().min(1).default('runs'),
    /** One process per robot over MQTT (`swarmguard distributed`): src/distributed/README.md. */
    distributed: DistributedSchema.optional(),
    /** Record the run to <run folder>/run.mcap (src/recording); false turns the recorder off; { compression: zstd | none }. */
    record: RecordSchema,
    /** The live web dashboard (src/dashboard): enabled, host, port, tokenEnv. */
    dashboard: DashboardSchema.optional(),
    /** Serve the run's channels live to Foxglove (src/recording): enabled, host, port. Read only. */
    foxglove: FoxgloveLiveSchema.optional(),
  })
  .strict();

export type LaunchFile = z.output<typeof LaunchSchema>;
export type LinkConfig = LaunchFile['link'];

/** A launch file resolved: what the runtime needs (RunSpec) and the options of the link and of the services around the run. */
export interface Launch extends RunSpec {
  /** The link's options as the launch file gives them (kind and per-kind settings). */
  link: LinkConfig;
  /** The `mqtt:` telemetry block, if any (the mqtt link publishes telemetry on its own connection). */
  mqtt: BusOptions | null;
  /** The distributed run's settings, where the launch file has a `distributed:` block. */
  distributed: DistributedConfig | null;
  /** How the run is recorded to run.mcap (null: not recorded). */
  record: RecordingOptions | null;
  /** The launch file's dashboard block (undefined: none; `swarmguard run --dashboard` may still ask for one). */
  dashboard: DashboardConfig | undefined;
  /** The live Foxglove server's address (null: none). */
  foxglove: FoxgloveLiveConfig | null;
}

/** Reads, validates and resolves a launch file; loads the injections' adversaries. Nothing runs yet. */
export async function loadLaunch(path: string): Promise<Launch> {
  const raw = loadYamlFile(path, z.unknown());
  const file = parseWithSchema(path, LaunchSchema, raw ?? {});
  const base = dirname(resolve(path));
  const settings = resolveSwarmConfig(file.swarm, `${path}: swarm`, base);
  const policyDir = resolve(base, file.policy);
  let manifest;
  try {
    manifest = readManifest(policyDir);
  } catch (err) {
    throw new ConfigError(`${path}: policy: ${(err as Error).message}`);
  }
  if (isOracle(manifest)) throw new ConfigError(`${path}: policy ${file.policy} is a known-type oracle (it reads which robot is compromised): an evaluation yardstick, not deployable`);
  const mismatch = observationMismatch(manifest.observation, settings.observation);
  if (mismatch) throw new ConfigError(`${path}: policy ${file.policy} does not fit this swarm: ${mismatch}`);
  if (Math.abs(manifest.controlPeriod - settings.controlPeriod) > 1e-9) {
    throw new ConfigError(`${path}: policy ${file.policy} runs at a ${manifest.controlPeriod} s control period, the swarm at ${settings.controlPeriod} s`);
  }
  const ticks = Math.round(file.duration / settings.controlPeriod);
  // Every robot of the swarm needs an address and a start pose on a real link: checked before anything runs.
  if (file.link.kind === 'epuck2-wifi' || file.link.kind === 'epuck2-bt') resolveEpuck2Robots(file.link, settings, path);
  if (file.link.kind === 'ros2') planRobots(file.link, settings.robotIds, `${path}: link`);
  if (file.link.kind === 'mqtt' || file.mqtt) {
    const bad = settings.robotIds.find((id) => !isTopicLevel(id));
    if (bad !== undefined) throw new ConfigError(`${path}: swarm: robot id '${bad}' cannot be an MQTT topic level (letters, digits, _ . - only)`);
    if (file.link.kind === 'mqtt' && file.mqtt) throw new ConfigError(`${path}: mqtt: the mqtt link publishes the telemetry on its own connection: leave the mqtt: block out`);
    // Password variables and file paths are checked before anything runs.
    if (file.link.kind === 'mqtt') checkMqttLink(file.link, base, `${path}: link`);
    if (file.mqtt) resolveBus(file.mqtt, base, `${path}: mqtt`);
  }
  // The dashboard's token variable too (before any attack is loaded: nothing to release).
  const dashboard = file.dashboard && resolveDashboard(file.dashboard, `${path}: dashboard`);
  if (file.injections.length > 0 && !file.trial) throw new ConfigError(`${path}: injections: refused outside trial mode (set trial: true)`);
  const { onFlag, ...monitor } = file.monitor;
  if (!(monitor.clearAt < monitor.flagAt)) throw new ConfigError(`${path}: monitor.clearAt (${monitor.clearAt}) must be below monitor.flagAt (${monitor.flagAt})`);
  const injections: Launch['injections'] = [];
  try {
    for (const [k, inj] of file.injections.entries()) {
      const where = `${path}: injections[${k}]`;
      if ((inj.robot === undefined) === (inj.robots === undefined)) throw new ConfigError(`${where}: name the robot (robot: <id>) or the robots (robots: [<id>, ...]), one of the two`);
      let robots: number[];
      try {
        robots = robotIndices(inj.robots ?? [inj.robot!], settings.robotIds);
      } catch (err) {
        throw new ConfigError(`${where}.${inj.robots ? 'robots' : 'robot'}: ${(err as Error).message}`);
      }
      if (inj.attack === 'none') throw new ConfigError(`${where}.attack: 'none' compromises nothing; leave the injection out`);
      let timing;
      try {
        timing = injectionTicks(inj, settings.controlPeriod, 0, ticks);
      } catch (err) {
        throw new ConfigError(`${where}.${(err as Error).message}`);
      }
      let attack: Attack;
      try {
        attack = await loadAttack(resolveAttackRef(inj.attack, base), settings);
      } catch (err) {
        throw new ConfigError(`${where}.attack: ${(err as Error).message}`);
      }
      for (const robot of robots) injections.push({ robot, ...timing, attack, ref: inj.attack });
    }
  } catch (err) {
    await releaseRun({ injections });
    throw err;
  }
  return {
    source: path,
    name: file.name,
    settings,
    link: file.link,
    mqtt: file.mqtt ?? null,
    mode: file.link.kind === 'sim' ? file.link.mode : 'live',
    seed: 'seed' in file.link ? file.link.seed : 1,
    policyDir,
    forgetAfterTicks: Math.max(1, Math.round(file.forgetNeighbourAfter / settings.controlPeriod)),
    ticks,
    trial: file.trial,
    safety: file.safety,
    monitor,
    onFlag,
    injections,
    outDir: resolve(base, file.out),
    distributed: file.distributed ?? null,
    record: resolveRecord(file.record),
    dashboard,
    foxglove: resolveFoxgloveLive(file.foxglove),
  };
}
