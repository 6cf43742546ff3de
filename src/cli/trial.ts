// `swarmguard trial`: one seeded rendezvous episode on the twin, metrics printed, trajectories drawn.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { z } from 'zod';
import { resolveSwarmConfig, type SwarmSettings } from '../core/swarm-config.js';
import { loadYamlFile } from '../core/config-file.js';
import { CONTROLLER_NAMES, DEFAULT_WMSR_F, makeController, type ControllerName } from '../../sim/controllers.js';
import { runEpisode, runEpisodeAsync } from '../../sim/episode.js';
import { OnnxTeam } from '../policy/team.js';
import { faultByName } from '../attacks/faults.js';
import { trajectorySvg } from '../pictures/trajectory-picture.js';
import type { VictimSetup } from '../../sim/world.js';
import type { RendezvousMetrics } from '../core/rendezvous.js';
import { UserError } from '../core/user-error.js';

export interface TrialOptions {
  controller: ControllerName;
  /** W-MSR's F (the `wmsr` controller only): extreme values discarded on each side per coordinate. */
  wmsrF?: number;
  /** A policy folder whose ONNX actor drives every robot instead of a reference controller. */
  policy?: string;
  seed: number;
  robots?: number;
  config?: string;
  noise?: 'default' | 'off';
  fault?: string;
  victim?: string;
  observationNoise?: number;
  out?: string;
  json: boolean;
}

export interface TrialResult {
  /** Outcome fields and time to gather are over the uncompromised robots (all but the victim). */
  metrics: RendezvousMetrics;
  picture: string;
  victim: string | null;
  /** Diameter of the gather circle, m. */
  gatherDiameter: number;
}

function settingsFor(o: TrialOptions): SwarmSettings {
  const overrides: Record<string, unknown> = {};
  if (o.robots !== undefined) overrides.robots = o.robots;
  if (o.noise !== undefined) overrides.noise = o.noise;
  if (!o.config) return resolveSwarmConfig(overrides, 'command line');
  // Flags win over the file's keys; relative paths in the file still resolve against the file.
  const raw = loadYamlFile(o.config, z.record(z.string(), z.unknown()));
  return resolveSwarmConfig({ ...raw, ...overrides }, Object.keys(overrides).length ? `${o.config} + command line` : o.config, dirname(resolve(o.config)));
}

function resolveVictim(o: TrialOptions, settings: SwarmSettings): VictimSetup | undefined {
  const attacked = o.fault !== undefined || (o.observationNoise ?? 0) > 0;
  if (!attacked) {
    if (o.victim !== undefined) throw new UserError('--victim needs --fault or --observation-noise');
    return undefined;
  }
  const id = o.victim ?? settings.robotIds[0]!;
  // Accept an index as well as an id.
  const robot = /^\d+$/.test(id) && !settings.robotIds.includes(id) ? Number(id) : id;
  return {
    robot,
    ...(o.fault !== undefined ? { override: faultByName(o.fault) } : {}),
    ...(o.observationNoise !== undefined ? { observationNoise: o.observationNoise } : {}),
  };
}

/** The reference controller with its parameter, for the printout and the picture's title. */
function controllerLabel(o: TrialOptions): string {
  return o.controller === 'wmsr' ? `wmsr (F = ${o.wmsrF ?? DEFAULT_WMSR_F})` : o.controller;
}

/** Who drives the robots, for titles and file names. */
function driverName(o: TrialOptions): string {
  return o.policy ? basename(resolve(o.policy)) : o.controller;
}

/**
 * `runs/trial-<...>.svg`, named by everything that sets the trial apart (who drives, the twin's options given,
 * the seed, the attack and its victim), so that different trials never write the same file.
 */
export function defaultPictureName(o: TrialOptions, victimId: string | null): string {
  const parts = [
    driverName(o),
    o.wmsrF !== undefined ? `F${o.wmsrF}` : '',
    o.config ? `config-${basename(o.config, extname(o.config))}` : '',
    o.robots !== undefined ? `${o.robots}robots` : '',
    o.noise ? `noise-${o.noise}` : '',
    `seed${o.seed}`,
    o.fault ? `fault-${o.fault}` : '',
    o.observationNoise ? `obsnoise${o.observationNoise}` : '',
    victimId ? `victim-${victimId}` : '',
  ];
  return `runs/trial-${parts.filter(Boolean).join('-').replace(/[^A-Za-z0-9._-]/g, '_')}.svg`;
}

export async function runTrial(o: TrialOptions): Promise<TrialResult> {
  if (!(CONTROLLER_NAMES as readonly string[]).includes(o.controller)) {
    throw new UserError(`unknown controller '${o.controller}' (known: ${CONTROLLER_NAMES.join(', ')})`);
  }
  if (o.wmsrF !== undefined && (o.policy || o.controller !== 'wmsr')) throw new UserError('--wmsr-f needs --controller wmsr (and no --policy)');
  const settings = settingsFor(o);
  const victim = resolveVictim(o, settings);
  let result;
  if (o.policy) {
    const team = await OnnxTeam.load(o.policy, settings.observation);
    try {
      result = await runEpisodeAsync(settings, o.seed, (world, out) => team.act(world, out), victim);
    } finally {
      await team.release();
    }
  } else {
    result = runEpisode(settings, o.seed, makeController(o.controller, settings, o.seed, { wmsrF: o.wmsrF }), victim);
  }
  const victimId = result.victim >= 0 ? settings.robotIds[result.victim]! : null;
  const attackLabel = [o.fault ? `fault: ${o.fault}` : '', o.observationNoise ? `observation noise ${o.observationNoise}` : '']
    .filter(Boolean)
    .join(', ');
  const picture = resolve(o.out ?? defaultPictureName(o, victimId));
  mkdirSync(dirname(picture), { recursive: true });
  writeFileSync(
    picture,
    trajectorySvg({
      arenaWidth: settings.arenaWidth,
      arenaHeight: settings.arenaHeight,
      robotIds: settings.robotIds,
      bodyRadius: settings.robots.map((r) => r.bodyRadius),
      trajectory: result.trajectory,
      attacked: result.victim >= 0 ? [result.victim] : [],
      attackLabel: victimId ? `${victimId}${attackLabel ? ` (${attackLabel})` : ''}` : undefined,
      title: `${o.policy ? `policy ${driverName(o)}` : `${controllerLabel(o)} controller`} · ${settings.robotIds.length} robots · seed ${o.seed} · noise ${
        settings.noise.positionNoise > 0 ? 'on' : 'off'
      }`,
      metrics: result.metrics,
      gatherDiameter: settings.gatherDiameter,
    }),
  );
  return { metrics: result.metrics, picture, victim: victimId, gatherDiameter: settings.gatherDiameter };
}

export function formatTrial(o: TrialOptions, r: TrialResult): string {
  const m = r.metrics;
  const circle = `${r.gatherDiameter} m`;
  const rows: [string, string][] = [
    [o.policy ? 'policy' : 'controller', o.policy ? resolve(o.policy) : controllerLabel(o)],
    ['seed', String(o.seed)],
    ['attacked robot', r.victim ? `${r.victim} (${[o.fault, o.observationNoise ? `obs noise ${o.observationNoise}` : ''].filter(Boolean).join(', ')})` : 'none'],
    ["team return (papers' protocol)", m.episodeReturn.toFixed(3)],
    ['scored robots', r.victim ? `the uncompromised ones (all but ${r.victim})` : 'all'],
    [`gathered at end (${circle} circle)`, m.gatheredAtEnd ? 'yes' : 'no'],
    ['final spread (mean pairwise distance)', `${m.finalMeanPairwiseDistance.toFixed(3)} m`],
    ['largest-cluster fraction', m.largestClusterFraction.toFixed(2)],
    [`time to gather (${circle} circle)`, m.timeToGather === null ? 'never' : `${m.timeToGather.toFixed(1)} s`],
    ['collisions per robot-minute', m.collisionsPerRobotMinute.toFixed(2)],
    ['wall hits per robot-minute', m.wallHitsPerRobotMinute.toFixed(2)],
    ['steps', `${m.steps}`],
    ['picture', r.picture],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
