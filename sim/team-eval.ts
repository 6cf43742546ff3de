// Seeded evaluation episodes of a deployed (ONNX) team on the twin, benign or with one robot per episode
// driven by a trained adversary: the protocol every robustness number in this project uses.
import type { OnnxAdversary } from '../src/policy/adversary.js';
import type { OnnxTeam } from '../src/policy/team.js';
import type { SimSettings } from './config.js';
import { summariseEpisodes, type EvalResult } from './evaluation.js';
import { CommandOverride } from './override.js';
import { RendezvousWorld } from './world.js';

export interface TeamEvalOptions {
  episodes: number;
  seed: number;
  /** Drives robot e mod N of episode e (every episode attacked); benign without. */
  adversary?: OnnxAdversary;
}

/** All episodes side by side, every tick one batched call per network, as the runtime runs them. */
export async function evaluateTeam(settings: SimSettings, team: OnnxTeam, o: TeamEvalOptions): Promise<EvalResult> {
  const world = new RendezvousWorld(settings, { envs: o.episodes, seed: o.seed, autoReset: false });
  const N = world.robots;
  const override = new CommandOverride(o.episodes);
  const victimRows: number[] = [];
  if (o.adversary) {
    for (let e = 0; e < o.episodes; e++) {
      world.setVictim(e, { robot: e % N, override });
      victimRows.push(e * N + (e % N));
    }
  }
  const actions = new Float32Array(2 * o.episodes * N);
  for (let e = 0; e < o.episodes; e++) team.resetEnv(e);
  for (let t = 0; t < settings.episodeSteps; t++) {
    await team.act(world, actions);
    if (o.adversary) await o.adversary.act(world.obs, victimRows, override.commands);
    world.step(actions);
  }
  return summariseEpisodes(Array.from({ length: o.episodes }, (_, e) => world.metrics(e)));
}
