import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadPolicyFolder } from '../src/policy/folder.js';
import { PROJECT_ROOT, resolveSimConfig } from '../sim/config.js';
import { RendezvousWorld } from '../sim/world.js';

describe('shipped policies', () => {
  it('policies/mappo-rendezvous, run through onnxruntime as deployed, reproduces its manifest evaluation', async () => {
    const policy = await loadPolicyFolder(join(PROJECT_ROOT, 'policies', 'mappo-rendezvous'));
    const m = policy.manifest;
    expect(m.algorithm).toBe('mappo');
    expect(m.observation.spec).toBe('rendezvous-v1');
    const ev = m.evaluation.benign;
    const settings = resolveSimConfig({ ...(m.training.config.env as object) });
    const session = policy.sessions['actor.onnx']!;
    const size = m.observation.size;
    // The manifest's held-out episodes, all side by side, actions from the ONNX actor as the runtime runs it.
    const world = new RendezvousWorld(settings, { envs: ev.episodes, seed: ev.seed, autoReset: false });
    const robots = ev.episodes * world.robots;
    for (let t = 0; t < settings.episodeSteps; t++) {
      const out = await session.run({ obs: new ort.Tensor('float32', world.obs.slice(0, robots * size), [robots, size]) });
      world.step(out.action!.data as Float32Array);
    }
    const metrics = Array.from({ length: ev.episodes }, (_, e) => world.metrics(e));
    const gatherRate = metrics.filter((x) => x.timeToGather !== null).length / ev.episodes;
    const meanReturn = metrics.reduce((s, x) => s + x.episodeReturn, 0) / ev.episodes;
    // The manifest's seeds on today's twin (its episodes may be drawn differently than at training time):
    // the deployed ONNX policy must do as well as the manifest says, within the sampling error of 100 episodes.
    expect(gatherRate).toBeGreaterThanOrEqual(ev.gatherRate - 0.08);
    expect(gatherRate).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(meanReturn - ev.meanReturn)).toBeLessThan(0.05 * Math.abs(ev.meanReturn));
    await session.release();
  }, 120_000);
});
