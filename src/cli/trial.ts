// `swarmguard trial`: one seeded rendezvous episode on the twin, metrics printed, trajectories drawn.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadSimConfig, resolveSimConfig, type SimSettings } from '../../sim/config.js';
import { CONTROLLER_NAMES, type ControllerName } from '../../sim/controllers.js';
import { makeController, runEpisode } from '../../sim/episode.js';
import { faultByName } from '../../sim/faults.js';
import { trajectorySvg } from '../../sim/picture.js';
import type { VictimSetup } from '../../sim/world.js';
import type { RendezvousMetrics } from '../core/rendezvous.js';

export interface TrialOptions {
  controller: ControllerName;
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
  metrics: RendezvousMetrics;
  picture: string;
  victim: string | null;
}

function settingsFor(o: TrialOptions): SimSettings {
  const overrides: Record<string, unknown> = {};
  if (o.robots !== undefined) overrides.robots = o.robots;
  if (o.noise !== undefined) overrides.noise = o.noise;
  if (!o.config) return resolveSimConfig(overrides, 'command line');
  const base = loadSimConfig(o.config);
  if (Object.keys(overrides).length === 0) return base;
  // Command-line flags win over the file: re-resolve with the file's values plus the flags.
  return resolveSimConfig(
    {
      robots: o.robots ?? [...base.robotIds],
      arena: { width: base.arenaWidth, height: base.arenaHeight },
      controlPeriod: base.controlPeriod,
      subSteps: base.subSteps,
      episodeSteps: base.episodeSteps,
      commRadius: base.observation.commRadius,
      maxNeighbours: base.observation.maxNeighbours,
      gatherDiameter: base.gatherDiameter,
      noise: o.noise ?? base.noise,
      reward: base.reward,
    },
    `${o.config} + command line`,
  );
}

function resolveVictim(o: TrialOptions, settings: SimSettings): VictimSetup | undefined {
  const attacked = o.fault !== undefined || (o.observationNoise ?? 0) > 0;
  if (!attacked) {
    if (o.victim !== undefined) throw new RangeError('--victim needs --fault or --observation-noise');
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

export function runTrial(o: TrialOptions): TrialResult {
  if (!(CONTROLLER_NAMES as readonly string[]).includes(o.controller)) {
    throw new RangeError(`unknown controller '${o.controller}' (known: ${CONTROLLER_NAMES.join(', ')})`);
  }
  const settings = settingsFor(o);
  const victim = resolveVictim(o, settings);
  const result = runEpisode(settings, o.seed, makeController(o.controller, settings, o.seed), victim);
  const victimId = result.victim >= 0 ? settings.robotIds[result.victim]! : null;
  const attackLabel = [o.fault ? `fault: ${o.fault}` : '', o.observationNoise ? `observation noise ${o.observationNoise}` : '']
    .filter(Boolean)
    .join(', ');
  const picture = resolve(
    o.out ?? `runs/trial-${o.controller}-seed${o.seed}${o.fault ? `-${o.fault}` : ''}.svg`,
  );
  mkdirSync(dirname(picture), { recursive: true });
  writeFileSync(
    picture,
    trajectorySvg({
      arenaWidth: settings.arenaWidth,
      arenaHeight: settings.arenaHeight,
      robotIds: settings.robotIds,
      bodyRadius: settings.robots.map((r) => r.bodyRadius),
      trajectory: result.trajectory,
      steps: result.steps,
      victim: result.victim,
      victimLabel: attackLabel,
      title: `${o.controller} controller · ${settings.robotIds.length} robots · seed ${o.seed} · noise ${
        settings.noise.positionNoise > 0 ? 'on' : 'off'
      }`,
      metrics: result.metrics,
      gatherDiameter: settings.gatherDiameter,
    }),
  );
  return { metrics: result.metrics, picture, victim: victimId };
}

export function formatTrial(o: TrialOptions, r: TrialResult): string {
  const m = r.metrics;
  const rows: [string, string][] = [
    ['controller', o.controller],
    ['seed', String(o.seed)],
    ['attacked robot', r.victim ? `${r.victim} (${[o.fault, o.observationNoise ? `obs noise ${o.observationNoise}` : ''].filter(Boolean).join(', ')})` : 'none'],
    ['episode return', m.episodeReturn.toFixed(3)],
    ['final mean pairwise distance', `${m.finalMeanPairwiseDistance.toFixed(3)} m`],
    ['time to gather (0.3 m circle)', m.timeToGather === null ? 'never' : `${m.timeToGather.toFixed(1)} s`],
    ['collisions per robot-minute', m.collisionsPerRobotMinute.toFixed(2)],
    ['wall hits per robot-minute', m.wallHitsPerRobotMinute.toFixed(2)],
    ['steps', `${m.steps}`],
    ['picture', r.picture],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
