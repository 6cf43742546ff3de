// Seeded evaluation episodes of a deployed (ONNX) team on the twin, benign or with one robot per episode
// compromised: the protocol every robustness number in this project uses. In attacked episodes robot
// e mod N of episode e is the victim; in benign ones the same robot is left out of the outcome metrics (not
// attacked), so benign and attacked results score the same robots.
import { existsSync } from 'node:fs';
import { OnnxAdversary } from '../src/policy/adversary.js';
import type { TeamController } from '../src/policy/team.js';
import type { SimSettings } from './config.js';
import type { ControllerName } from './controllers.js';
import { makeController } from './episode.js';
import { summariseEpisodes, type EvalResult } from './evaluation.js';
import { FAULT_NAMES, faultByName, type FaultName } from './faults.js';
import { CommandOverride } from './override.js';
import { RendezvousWorld } from './world.js';

/** A reference controller (consensus, W-MSR, random wheels) driving the team, for comparison columns. */
export function controllerTeam(name: ControllerName, settings: SimSettings, seed: number): TeamController {
  const controller = makeController(name, settings, seed);
  return {
    name,
    act: (view, out) => controller.act(view.obs, view.envs * view.robots, out),
    resetEnv: () => {},
    release: async () => {},
  };
}

/** What compromises the victim. */
export type Attack =
  | { kind: 'none' }
  | { kind: 'adversary'; adversary: OnnxAdversary }
  | { kind: 'fault'; fault: FaultName }
  | { kind: 'observation-noise'; epsilon: number };

export function attackName(a: Attack): string {
  switch (a.kind) {
    case 'none':
      return 'none';
    case 'adversary':
      return a.adversary.name;
    case 'fault':
      return `fault:${a.fault}`;
    case 'observation-noise':
      return `obs-noise:${a.epsilon}`;
  }
}

/** A built-in attack reference (`fault:<name>`, `obs-noise:<epsilon>`): no folder to load, no path to resolve. */
export function isBuiltinAttack(ref: string): boolean {
  return ref.startsWith('fault:') || ref.startsWith('obs-noise:');
}

/**
 * Parses an attack reference: `none`, `fault:<name>`, `obs-noise:<epsilon>`, or a folder (an adversary's,
 * or a policy folder that ships its training adversaries, one picked as `<folder>@<name>` when there are
 * several, e.g. `policies/batpal-rendezvous@severity-3`). Folders are loaded; every error names the reference.
 */
export async function loadAttack(ref: string, settings: SimSettings): Promise<Attack> {
  if (ref === 'none') return { kind: 'none' };
  if (ref.startsWith('fault:')) {
    const fault = ref.slice('fault:'.length);
    if (!(FAULT_NAMES as readonly string[]).includes(fault)) throw new RangeError(`attack '${ref}': unknown fault '${fault}' (known: ${FAULT_NAMES.join(', ')})`);
    return { kind: 'fault', fault: fault as FaultName };
  }
  if (ref.startsWith('obs-noise:')) {
    const epsilon = Number(ref.slice('obs-noise:'.length));
    if (!(Number.isFinite(epsilon) && epsilon > 0)) throw new RangeError(`attack '${ref}': the noise bound must be a number > 0`);
    return { kind: 'observation-noise', epsilon };
  }
  // A folder whose own name holds an '@' is taken whole.
  const at = existsSync(ref) ? -1 : ref.lastIndexOf('@');
  return { kind: 'adversary', adversary: await OnnxAdversary.load(at > 0 ? ref.slice(0, at) : ref, settings.observation, at > 0 ? ref.slice(at + 1) : undefined) };
}

export interface TeamEvalOptions {
  episodes: number;
  seed: number;
  /** Benign without. */
  attack?: Attack;
}

/** All episodes side by side, every tick one batched call per network, as the runtime runs them. */
export async function evaluateTeam(settings: SimSettings, team: TeamController, o: TeamEvalOptions): Promise<EvalResult> {
  const world = new RendezvousWorld(settings, { envs: o.episodes, seed: o.seed, autoReset: false });
  const N = world.robots;
  const attack = o.attack ?? { kind: 'none' };
  const override = new CommandOverride(o.episodes);
  const victimRows: number[] = [];
  for (let e = 0; e < o.episodes; e++) world.setScoredOut(e, e % N);
  for (let e = 0; e < o.episodes && attack.kind !== 'none'; e++) {
    const robot = e % N;
    if (attack.kind === 'adversary') world.setVictim(e, { robot, override });
    else if (attack.kind === 'fault') world.setVictim(e, { robot, override: faultByName(attack.fault) });
    else world.setVictim(e, { robot, observationNoise: attack.epsilon });
    victimRows.push(e * N + robot);
  }
  const actions = new Float32Array(2 * o.episodes * N);
  for (let e = 0; e < o.episodes; e++) team.resetEnv(e);
  for (let t = 0; t < settings.episodeSteps; t++) {
    await team.act(world, actions);
    if (attack.kind === 'adversary') await attack.adversary.act(world.obs, victimRows, override.commands);
    world.step(actions);
  }
  return summariseEpisodes(Array.from({ length: o.episodes }, (_, e) => world.metrics(e)));
}
