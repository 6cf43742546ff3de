import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { readManifest } from '../src/policy/folder.js';
import type { PolicyManifest } from '../src/core/policy-manifest.js';
import { OnnxAdversary } from '../src/policy/adversary.js';
import { OnnxTeam } from '../src/policy/team.js';
import { PROJECT_ROOT, resolveSwarmConfig, type SwarmConfig, type SwarmSettings } from '../src/core/swarm-config.js';
import type { Clock } from '../src/core/clock.js';
import { evaluateTeam } from '../sim/team-eval.js';

/** Twin settings for tests: exact kinematics (noise off) unless a test asks otherwise. */
export function settings(overrides: Partial<Record<keyof SwarmConfig, unknown>> = {}): SwarmSettings {
  return resolveSwarmConfig({ noise: 'off', ...overrides }, 'test config');
}

/**
 * A freshly trained policy folder, deployed through onnxruntime (beliefs per pair, advanced every tick),
 * reproduces the trainer's own tfjs evaluations in its manifest: benign, and under each named adversary
 * the folder ships (manifest key '<name>-adversary').
 */
export async function expectDeployedMatchesTraining(policyDir: string, manifest: PolicyManifest, adversaries: string[]): Promise<void> {
  const settings = resolveSwarmConfig({ ...(manifest.training.config.env as object) });
  const team = await OnnxTeam.load(policyDir, settings.observation);
  try {
    for (const name of [null, ...adversaries]) {
      const want = manifest.evaluation[name === null ? 'benign' : `${name}-adversary`]!;
      const adversary = name === null ? null : await OnnxAdversary.load(policyDir, settings.observation, name);
      try {
        const got = await evaluateTeam(settings, team, { episodes: want.episodes, seed: want.seed, attack: adversary ? { kind: 'adversary', adversary } : undefined });
        // Different matMul summation orders in onnxruntime and tfjs: equal up to float rounding carried through the episode.
        expect(Math.abs(got.meanReturn - want.meanReturn)).toBeLessThan(1e-3 * Math.abs(want.meanReturn));
      } finally {
        await adversary?.release();
      }
    }
  } finally {
    await team.release();
  }
}

/** A clock driven by hand: advance() fires due timers in order. */
export class ManualClock implements Clock {
  t = 0;
  private timers: { due: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.nextId++;
    this.timers.push({ due: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  /** The next timer due by `end`, taken off the list with the clock moved to its due time (plus `stall`). */
  private takeDue(end: number, stall: number): (() => void) | null {
    this.timers.sort((a, b) => a.due - b.due);
    const next = this.timers[0];
    if (!next || next.due > end) return null;
    this.timers.shift();
    this.t = Math.max(this.t, next.due) + stall;
    return next.fn;
  }
  /** Moves time forward, firing timers as they fall due; `stall` delays every callback (a busy process). */
  advance(ms: number, stall = 0) {
    const end = this.t + ms;
    for (let fn = this.takeDue(end, stall); fn; fn = this.takeDue(end, stall)) fn();
    this.t = Math.max(this.t, end);
  }
  /** As advance(), letting the asynchronous work each timer starts settle before the next one fires. */
  async advanceAsync(ms: number) {
    const end = this.t + ms;
    for (let fn = this.takeDue(end, 0); fn; fn = this.takeDue(end, 0)) {
      fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = Math.max(this.t, end);
  }
  get pending() {
    return this.timers.length;
  }
}

/**
 * The shipped MAPPO policy loaded once for a test file (released after it), with the twin it was trained on.
 */
export function shippedMappo(): { dir: string; settings: SwarmSettings; team: () => OnnxTeam } {
  const dir = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
  const settings = resolveSwarmConfig({ ...(readManifest(dir).training.config.env as object) });
  let team: OnnxTeam | null = null;
  beforeAll(async () => {
    team = await OnnxTeam.load(dir, settings.observation);
  });
  afterAll(async () => {
    await team?.release();
  });
  return { dir, settings, team: () => team! };
}
