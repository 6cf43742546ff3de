import { describe, expect, it } from 'vitest';
import { makeController, runEpisode } from '../sim/episode.js';
import { faultByName } from '../src/attacks/faults.js';
import { RendezvousWorld } from '../sim/world.js';
import { settings } from './helpers.js';

describe('seeding', () => {
  const s = settings({ noise: 'default', episodeSteps: 120 });

  it('gives bit-identical trajectories for the same seed (noise and a fault on)', () => {
    const run = () =>
      runEpisode(s, 42, makeController('random', s, 5), { robot: 'epuck-2', override: faultByName('random') });
    const a = run();
    const b = run();
    expect(Buffer.from(a.trajectory.buffer).equals(Buffer.from(b.trajectory.buffer))).toBe(true);
    expect(a.metrics).toEqual(b.metrics);
  });

  it('gives different trajectories for different seeds', () => {
    const a = runEpisode(s, 1, makeController('consensus', s, 0));
    const b = runEpisode(s, 2, makeController('consensus', s, 0));
    expect(Buffer.from(a.trajectory.buffer).equals(Buffer.from(b.trajectory.buffer))).toBe(false);
  });

  it("makes environment e's episode independent of how many environments run beside it", () => {
    const small = new RendezvousWorld(s, { envs: 2, seed: 9 });
    const large = new RendezvousWorld(s, { envs: 5, seed: 9 });
    const N = s.robots.length;
    const controller = makeController('consensus', s, 0);
    const aSmall = new Float32Array(2 * 2 * N);
    const aLarge = new Float32Array(2 * 5 * N);
    for (let t = 0; t < 60; t++) {
      controller.act(small.obs, 2 * N, aSmall);
      controller.act(large.obs, 5 * N, aLarge);
      small.step(aSmall);
      large.step(aLarge);
    }
    expect(Array.from(large.truth.x.subarray(N, 2 * N))).toEqual(Array.from(small.truth.x.subarray(N, 2 * N)));
    expect(Array.from(large.obs.subarray(0, 2 * N * large.obsSize))).toEqual(Array.from(small.obs));
  });
});
