// Per-robot inference (one process per robot) against the single-process batched run: a team hosting one
// robot gives that robot exactly (bit for bit) the command and beliefs the batched team gives it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxTeam } from '../src/policy/team.js';
import { readManifest } from '../src/policy/folder.js';
import { SimLink } from '../sim/sim-link.js';
import { SwarmView } from '../src/runtime/swarm-view.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';

const dir = join(PROJECT_ROOT, 'policies', 'eir-mappo-rendezvous');
const settings = resolveSwarmConfig({ ...(readManifest(dir).training.config.env as object) });
const N = settings.robotIds.length;
let batched: OnnxTeam;
const hosted: OnnxTeam[] = [];

beforeAll(async () => {
  batched = await OnnxTeam.load(dir, settings.observation);
  for (let i = 0; i < N; i++) {
    const t = await OnnxTeam.load(dir, settings.observation);
    t.host([i], N);
    hosted.push(t);
  }
}, 120_000);
afterAll(async () => {
  await batched?.release();
  await Promise.all(hosted.map((t) => t.release()));
});

describe('OnnxTeam hosting one robot (distributed runtime)', () => {
  it('every robot alone gets bit-identical commands and beliefs to the batched run, tick after tick', async () => {
    expect(batched.usesBeliefs).toBe(true);
    const link = new SimLink(settings, 'fast', 3);
    const spec = batched.policy.manifest.observation;
    const view = new SwarmView({ ...spec, id: spec.spec }, N, settings.controlPeriod);
    const all = new Float32Array(2 * N);
    const one = new Float32Array(2 * N);
    const R = batched.beliefsPerPair;
    let compared = 0;
    for (let tick = 0; tick < 60; tick++) {
      view.update(link.poses().map((p) => p!));
      await batched.act(view, all);
      for (let i = 0; i < N; i++) {
        await hosted[i]!.act(view, one);
        expect([one[2 * i], one[2 * i + 1]]).toEqual([all[2 * i], all[2 * i + 1]]);
        const row = (b: Float32Array) => Array.from(b.subarray(i * N * R, (i + 1) * N * R));
        expect(row(hosted[i]!.lastBeliefs)).toEqual(row(batched.lastBeliefs));
        compared++;
      }
      for (let i = 0; i < N; i++) link.send(i, all[2 * i]!, all[2 * i + 1]!);
      view.sent(all);
      link.advance();
    }
    expect(compared).toBe(60 * N);
  }, 120_000);

  it('refuses a robot outside the swarm and a view of another size', async () => {
    expect(() => hosted[0]!.host([N], N)).toThrow(/no robot 10 in a swarm of 10/);
    const spec = batched.policy.manifest.observation;
    const small = new SwarmView({ ...spec, id: spec.spec }, N - 1, settings.controlPeriod);
    await expect(hosted[0]!.act(small, new Float32Array(2 * N))).rejects.toThrow(/hosts robots of a swarm of 10/);
  });
});
