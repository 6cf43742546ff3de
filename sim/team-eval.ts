// Seeded evaluation episodes of a deployed (ONNX) team on the twin, benign or with robots compromised: the
// protocol every robustness number in this project uses. With one victim per episode robot e mod N of
// episode e is the victim; with k victims, robots (e + floor(i N / k)) mod N for i < k (two: e mod N and
// (e + floor(N / 2)) mod N). In benign episodes the same robots are left out of the outcome metrics (not
// attacked), so benign and attacked results with as many victims score the same robots.
import type { RendezvousMetrics } from '../src/core/rendezvous.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import type { TeamController } from '../src/policy/team.js';
import { checkVictimCount, episodeVictims, type Attack } from '../src/attacks/attack.js';
import { AttackSession, type UserAttack } from '../src/attacks/attack-module.js';
import { faultByName } from '../src/attacks/faults.js';
import { CommandOverride, type ActionOverride } from '../src/attacks/override.js';
import type { ControllerName } from './controllers.js';
import { summariseEpisodes, type EvalResult } from './evaluation.js';
import { RENDEZVOUS_TASK } from './tasks/rendezvous.js';
import { RendezvousWorld } from './world.js';

/** A reference controller (consensus, W-MSR, random wheels) driving the team, for comparison columns. */
export function controllerTeam(name: ControllerName, settings: SwarmSettings, seed: number): TeamController {
  const controller = RENDEZVOUS_TASK.makeController(name, settings, seed);
  return {
    name,
    act: (view, out) => controller.act(view.obs, view.envs * view.robots, out),
    resetEnv: () => {},
    release: async () => {},
  };
}

export interface TeamEvalOptions {
  episodes: number;
  seed: number;
  /** Benign without. */
  attack?: Attack;
  /**
   * Compromised robots per episode (default 1; see episodeVictims), each attacked the same way. Benign
   * episodes leave as many robots out of the metrics.
   */
  victims?: number;
  /** Told when an attack module fails on a victim (that victim is stopped for the rest of its episode). */
  onAttackError?: (failure: { env: number; robot: string; problem: string }) => void;
}

/**
 * An attack module as a victim override in the twin: one session per victim (its own init state), fed the
 * victim's observation, the episode's tracked poses and its controller's proposal. A failed session holds
 * the victim still, as the runtime's safety layer does.
 */
function moduleOverride(module: UserAttack, world: RendezvousWorld, settings: SwarmSettings, onError: TeamEvalOptions['onAttackError']): ActionOverride {
  const sessions = new Map<number, AttackSession>();
  const N = world.robots;
  const arena = { width: settings.arenaWidth, height: settings.arenaHeight };
  return {
    name: module.name,
    act(ctx, out) {
      const g = ctx.env * N + ctx.robot;
      let session = sessions.get(g);
      if (!session || ctx.step === 0) {
        session = new AttackSession(module, { robot: settings.robotIds[ctx.robot]!, index: ctx.robot, robots: N, controlPeriod: settings.controlPeriod, arena });
        sessions.set(g, session);
      }
      const wasFailed = session.failed !== null;
      const t = world.tracked;
      const swarm = Array.from({ length: N }, (_, k) => ({ x: t.x[ctx.env * N + k]!, y: t.y[ctx.env * N + k]!, theta: t.heading[ctx.env * N + k]! }));
      const r = session.step({
        observation: ctx.observation.slice(ctx.obsOffset, ctx.obsOffset + world.obsSize),
        pose: swarm[ctx.robot]!,
        swarm,
        intended: { left: ctx.proposedLeft, right: ctx.proposedRight },
        time: ctx.step * settings.controlPeriod,
        tick: ctx.step,
      });
      if (r.ok) {
        out[0] = r.left;
        out[1] = r.right;
        return;
      }
      if (!wasFailed) onError?.({ env: ctx.env, robot: settings.robotIds[ctx.robot]!, problem: `${module.name}: ${r.problem}` });
      out[0] = 0;
      out[1] = 0;
    },
  };
}

/** Every episode's metrics; all episodes side by side, every tick one batched call per network, as the runtime runs them. */
export async function evaluateTeamEpisodes(settings: SwarmSettings, team: TeamController, o: TeamEvalOptions): Promise<RendezvousMetrics[]> {
  const world = new RendezvousWorld(settings, { envs: o.episodes, seed: o.seed, autoReset: false });
  const N = world.robots;
  const attack = o.attack ?? { kind: 'none' };
  const victims = o.victims ?? 1;
  if (victims !== 1) checkVictimCount(victims, N, 'evaluation');
  // One adversary command per victim: slot i of episode e at victim row e * victims + i (the adversary's batch order).
  const override = new CommandOverride(o.episodes, victims);
  const victimRows: number[] = [];
  for (let e = 0; e < o.episodes; e++) {
    const robots = episodeVictims(e, N, victims);
    world.setScoredOut(e, robots);
    if (attack.kind === 'none') continue;
    world.setVictims(
      e,
      robots.map((robot) => {
        if (attack.kind === 'adversary') return { robot, override };
        if (attack.kind === 'fault') return { robot, override: faultByName(attack.fault) };
        if (attack.kind === 'module') return { robot, override: moduleOverride(attack.module, world, settings, o.onAttackError) };
        return { robot, observationNoise: attack.epsilon };
      }),
    );
    for (const robot of robots) victimRows.push(e * N + robot);
  }
  const actions = new Float32Array(2 * o.episodes * N);
  for (let e = 0; e < o.episodes; e++) team.resetEnv(e);
  for (let t = 0; t < settings.episodeSteps; t++) {
    await team.act(world, actions);
    if (attack.kind === 'adversary') await attack.adversary.act(world.obs, victimRows, override.commands);
    world.step(actions);
  }
  return Array.from({ length: o.episodes }, (_, e) => world.metrics(e));
}

/** The episodes of evaluateTeamEpisodes, summarised. */
export async function evaluateTeam(settings: SwarmSettings, team: TeamController, o: TeamEvalOptions): Promise<EvalResult> {
  return summariseEpisodes(await evaluateTeamEpisodes(settings, team, o));
}
