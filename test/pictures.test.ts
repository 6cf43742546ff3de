// Every SVG picture the project writes, rendered from realistic inputs and edge cases: no NaN or Infinity
// anywhere (a browser drops a polyline with one NaN in it), every path drawn, no two labels overlapping.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxTeam } from '../src/policy/team.js';
import { loadLaunch, releaseLaunch, type Launch } from '../src/runtime/launch.js';
import { newRunDir, writeRunFolder, type RunSummary } from '../src/runtime/run-folder.js';
import { SimLink } from '../src/runtime/sim-link.js';
import { swarmTrial, type RunEvent, type TickRecord } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../sim/config.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-pictures-'));

/** No NaN or Infinity anywhere, and every polyline has at least one point. */
function expectFinite(svg: string): void {
  expect(svg).not.toMatch(/NaN|Infinity/);
  for (const [, points] of svg.matchAll(/<polyline points="([^"]*)"/g)) expect(points!.trim()).not.toBe('');
}

/** A polyline's points as numbers. */
function polylines(svg: string): number[][] {
  return [...svg.matchAll(/<polyline points="([^"]*)"/g)].map(([, p]) => p!.split(/[ ,]+/).filter(Boolean).map(Number));
}

// A trial launch on the twin: two injections at the same moment on two robots, a third later, each its own attack.
const LAUNCH = `
name: pictures
swarm: { robots: 10, noise: default }
link: { kind: sim, mode: fast, seed: 3 }
policy: ${join(PROJECT_ROOT, 'policies/mappo-rendezvous')}
duration: 8
trial: true
monitor: { flagAt: 0.8, clearAt: 0.3 }
injections:
  - { robot: epuck-3, at: 1, duration: 4, attack: 'fault:spin' }
  - { robot: epuck-5, at: 1, duration: 4, attack: 'fault:stuck' }
  - { robot: epuck-7, at: 3, duration: 2, attack: 'obs-noise:0.5' }
out: ${join(dir, 'runs')}
record: false
`;

describe('a run folder\'s pictures (trajectory.svg, suspicion.svg)', () => {
  let launch: Launch;
  let team: OnnxTeam;
  let records: TickRecord[];
  let events: RunEvent[];

  beforeAll(async () => {
    const path = join(dir, 'pictures.yaml');
    writeFileSync(path, LAUNCH);
    launch = await loadLaunch(path);
    team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    const link = new SimLink(launch.settings, 'fast', launch.seed);
    const trial = swarmTrial(launch.settings, team, link, { trialMode: true, injections: launch.injections, monitor: launch.monitor, seed: launch.seed });
    for (let k = 0; k < 60; k++) {
      await trial.step();
      link.advance();
    }
    records = trial.records;
    events = trial.events;
  });
  afterAll(async () => {
    await team?.release();
    if (launch) await releaseLaunch(launch);
  });

  function writeRun(what: string, recs: readonly TickRecord[], evs: readonly RunEvent[] = events): { trajectory: string; suspicion: string } {
    const runDir = newRunDir(launch, what);
    const summary: RunSummary = { runDir, ticks: recs.length, outcomes: [], uncompromised: null, stops: {}, scheduler: null, links: null, interrupted: false };
    writeRunFolder(summary, launch, 'mappo-rendezvous', recs, evs);
    return { trajectory: readFileSync(join(runDir, 'trajectory.svg'), 'utf8'), suspicion: readFileSync(join(runDir, 'suspicion.svg'), 'utf8') };
  }

  it('draws every robot\'s path, with no NaN or Infinity, from a run\'s records', () => {
    expect(events.filter((e) => e.kind === 'injection-start').map((e) => e.tick)).toEqual([10, 10, 30]);
    const { trajectory, suspicion } = writeRun('full', records);
    expectFinite(trajectory);
    expectFinite(suspicion);
    // One path per robot, through every recorded tick.
    const paths = polylines(trajectory);
    expect(paths).toHaveLength(10);
    for (const p of paths) expect(p).toHaveLength(2 * records.length);
    expect(polylines(suspicion)).toHaveLength(10);
  });

  it('stays finite for a single tick, no tick at all, and a robot not located for a while', () => {
    for (const picture of Object.values(writeRun('one', records.slice(0, 1), []))) expectFinite(picture);
    for (const picture of Object.values(writeRun('none', [], []))) expect(picture).not.toMatch(/NaN|Infinity/);
    const unlocated = records.map((r) => (r.tick < 5 ? { ...r, truePoses: null, poses: r.poses.map((p, i) => (i === 2 ? { x: NaN, y: NaN, theta: NaN } : p)) } : r));
    const { trajectory } = writeRun('unlocated', unlocated);
    expectFinite(trajectory);
    expect(polylines(trajectory)[2]).toHaveLength(2 * (records.length - 5));
  });
});

