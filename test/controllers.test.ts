import { describe, expect, it } from 'vitest';
import { makeController, runEpisode } from '../sim/episode.js';
import { settings } from './helpers.js';

const EPISODES = 20;

function everGatheredRate(controller: 'consensus' | 'random'): number {
  const s = settings({ robots: 10, noise: 'default' });
  let gathered = 0;
  for (let seed = 100; seed < 100 + EPISODES; seed++) {
    if (runEpisode(s, seed, makeController(controller, s, seed)).metrics.timeToGather !== null) gathered++;
  }
  return gathered / EPISODES;
}

describe('reference controllers on the twin (10 robots, noise on)', () => {
  it('consensus gathers the swarm inside 0.3 m in most seeded episodes', () => {
    expect(everGatheredRate('consensus')).toBeGreaterThanOrEqual(0.8);
  });

  it('random does not', () => {
    expect(everGatheredRate('random')).toBeLessThanOrEqual(0.05);
  });
});
