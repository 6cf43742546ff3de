import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLaunch } from '../src/cli/run.js';
import { loadLaunch } from '../src/launch/launch.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const ADVERSARY = join(PROJECT_ROOT, 'policies', 'attacks', 'posthoc-vs-mappo-rendezvous');

function launchFile(body: string): { path: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'swarmguard-launch-')), 'launch.yaml');
  writeFileSync(path, body);
  return { path };
}

const BASE = `swarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 2 }\npolicy: ${MAPPO}\nduration: 12\n`;

describe('launch files', () => {
  it('runs a fast trial end to end: injection recorded and flagged, run folder written', async () => {
    const out = mkdtempSync(join(tmpdir(), 'swarmguard-runs-'));
    const { path } = launchFile(`${BASE}name: t1\ntrial: true\nout: ${out}\ninjections:\n  - { robot: epuck-4, at: 3, duration: 6, attack: ${ADVERSARY} }\n`);
    const lines: string[] = [];
    const sum = await runLaunch(path, { quiet: true }, (l) => lines.push(l));
    expect(sum.ticks).toBe(120);
    const hit = sum.outcomes.find((o) => o.robot === 'epuck-4')!;
    expect(hit.compromisedTicks).toBe(60);
    expect(hit.detectionDelayTicks).not.toBeNull();
    expect(sum.outcomes.reduce((s, o) => s + o.falseFlags, 0)).toBe(0);
    for (const f of ['events.jsonl', 'summary.json', 'trajectory.svg', 'suspicion.svg']) expect(existsSync(join(sum.runDir, f))).toBe(true);
    const events = readFileSync(join(sum.runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toEqual({ tick: 30, kind: 'injection-start', robot: 'epuck-4', attack: 'posthoc-vs-mappo-rendezvous' });
    expect(lines.join('\n')).toContain('detected 1 of 1 compromised robot(s); 0 false flag(s)');
    // The rendezvous outcome of the robots never injected: all but epuck-4.
    const summary = JSON.parse(readFileSync(join(sum.runDir, 'summary.json'), 'utf8'));
    expect(summary.uncompromised.robots).toHaveLength(9);
    expect(summary.uncompromised.robots).not.toContain('epuck-4');
    expect(summary.uncompromised).toMatchObject({ gatheredAtEnd: expect.any(Boolean), largestClusterFraction: expect.any(Number), finalMeanPairwiseDistance: expect.any(Number) });
    expect(lines.join('\n')).toMatch(/uncompromised robots \(9 of 10\): (NOT )?gathered at end \(0\.3 m circle\), final spread/);
  });

  it('rejects a bad key, an unknown robot, injections outside trial mode, a policy that does not fit the swarm', async () => {
    await expect(loadLaunch(launchFile(`${BASE}durations: 5\n`).path)).rejects.toThrow(/durations/);
    await expect(loadLaunch(launchFile(`${BASE}trial: true\ninjections: [{ robot: epuck-77, at: 1, duration: 1, attack: 'fault:spin' }]\n`).path)).rejects.toThrow(/injections\[0\]\.robot: unknown robot id 'epuck-77'/);
    await expect(loadLaunch(launchFile(`${BASE}injections: [{ robot: epuck-1, at: 1, duration: 1, attack: 'fault:spin' }]\n`).path)).rejects.toThrow(/trial mode/);
    await expect(loadLaunch(launchFile(`${BASE}trial: true\ninjections: [{ robot: epuck-1, at: 1, duration: 1, attack: 'fault:wobble' }]\n`).path)).rejects.toThrow(/injections\[0\]\.attack: .*wobble/);
    await expect(loadLaunch(launchFile(`${BASE}trial: true\ninjections: [{ robot: epuck-1, at: 30, duration: 1, attack: 'fault:spin' }]\n`).path)).rejects.toThrow(/injections\[0\]\.at/);
    await expect(loadLaunch(launchFile(`${BASE}trial: true\ninjections: [{ robot: epuck-1, at: 1, duration: 1, attack: none }]\n`).path)).rejects.toThrow(/'none' compromises nothing/);
    await expect(loadLaunch(launchFile(`${BASE}trial: true\ninjections: [{ robot: epuck-1, at: 1, duration: 0.01, attack: 'fault:spin' }]\n`).path)).rejects.toThrow(/shorter than one control tick/);
    const narrow = BASE.replace('noise: default', 'noise: default, sensingRadius: 0.8');
    await expect(loadLaunch(launchFile(narrow).path)).rejects.toThrow(/does not fit this swarm: .*sensingRadius/);
  });
});
