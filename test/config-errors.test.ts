// A config error names the key's path, what the key expects and the value it got, for every config schema
// (launch files, the twin's sim config, training and adversary configs, robots files): never zod's bare
// "Invalid input".
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseWithSchema } from '../src/core/config-file.js';
import { loadLaunch } from '../src/launch/launch.js';
import { PROJECT_ROOT, resolveSwarmConfig } from '../src/core/swarm-config.js';
import { resolveTrainConfig } from '../sim/train/config.js';
import { resolveAdversaryConfig } from '../sim/train/adversary.js';
import { readManifest } from '../src/policy/folder.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-config-errors-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');

describe('config errors name the key, the expected type and the value received', () => {
  it('the twin: robots: "ten"', () => {
    expect(() => resolveSwarmConfig({ robots: 'ten' }, 'sim.yaml')).toThrow(ConfigError);
    expect(() => resolveSwarmConfig({ robots: 'ten' }, 'sim.yaml')).toThrow('sim.yaml: robots: expected a number or a list, received "ten" (a string)');
    expect(() => resolveSwarmConfig({ robots: [1, 2] }, 'sim.yaml')).toThrow('sim.yaml: robots.0: expected a string, received 1');
    expect(() => resolveSwarmConfig({ arena: { width: 'wide', height: 2 } }, 'sim.yaml')).toThrow('sim.yaml: arena.width: expected a number, received "wide" (a string)');
    expect(() => resolveSwarmConfig({ controlPeriod: -1 }, 'sim.yaml')).toThrow(/sim\.yaml: controlPeriod: expected a number .*0, received -1/);
  });

  it('a launch file: the swarm block and the link block', async () => {
    const launch = (body: string) => loadLaunch(file('launch.yaml', `name: t\npolicy: ${MAPPO}\nduration: 5\n${body}`));
    await expect(launch('swarm: { robots: "ten" }\nlink: { kind: sim }\n')).rejects.toThrow(/launch\.yaml: swarm: robots: expected a number or a list, received "ten" \(a string\)/);
    await expect(launch('link: { kind: sim, mode: slow }\n')).rejects.toThrow(/launch\.yaml: link\.mode: expected one of "live"\|"fast", received "slow" \(a string\)/);
    await expect(launch('link: { kind: tcp }\n')).rejects.toThrow(/launch\.yaml: link\.kind: expected one of .*"epuck2-wifi".*, received "tcp" \(a string\)/);
    await expect(launch('link: { kind: sim }\ntrial: yes\n')).rejects.toThrow(/launch\.yaml: trial: expected true or false, received "yes" \(a string\)/);
    await expect(loadLaunch(file('no-duration.yaml', `name: t\npolicy: ${MAPPO}\nlink: { kind: sim }\n`))).rejects.toThrow(/duration: expected a number, but the key is missing/);
  });

  it('a renamed key (commRadius, now sensingRadius) is named with its new name in a swarm block, a launch file and a training config', async () => {
    expect(() => resolveSwarmConfig({ commRadius: 0.6 }, 'sim.yaml')).toThrow(ConfigError);
    expect(() => resolveSwarmConfig({ commRadius: 0.6 }, 'sim.yaml')).toThrow('sim.yaml: commRadius: renamed sensingRadius (it is a sensing radius: nothing is communicated); write sensingRadius: 0.6');
    await expect(loadLaunch(file('renamed.yaml', `name: t\npolicy: ${MAPPO}\nduration: 5\nswarm: { commRadius: 1.5 }\n`))).rejects.toThrow(/renamed\.yaml: swarm: commRadius: renamed sensingRadius/);
    expect(() => resolveSwarmConfig(resolveTrainConfig({ env: { commRadius: 0.6 } }, 'train.yaml').env, 'train.yaml: env')).toThrow(/train\.yaml: env: commRadius: renamed sensingRadius/);
  });

  it('a manifest written before the rename is read under the new name (a record, not a file to fix)', () => {
    const old = readManifest(join(PROJECT_ROOT, 'policies', 'mappo-local-sparse'));
    expect(old.observation.sensingRadius).toBe(0.6);
    expect(old.observation).not.toHaveProperty('commRadius');
    expect((old.training.config.env as Record<string, unknown>).sensingRadius).toBe(0.6);
    expect(resolveSwarmConfig(old.training.config.env).observation.sensingRadius).toBe(0.6);
  });

  it('a training config and an adversary config', () => {
    expect(() => resolveTrainConfig({ algo: 'mapo' }, 'train.yaml')).toThrow(/train\.yaml: algo: expected one of "mappo"\|.*, received "mapo" \(a string\)/);
    expect(() => resolveTrainConfig({ seed: 1.5 }, 'train.yaml')).toThrow('train.yaml: seed: expected an integer, received 1.5');
    expect(() => resolveTrainConfig({ lrDecay: 'yes' }, 'train.yaml')).toThrow('train.yaml: lrDecay: expected true or false, received "yes" (a string)');
    expect(() => resolveAdversaryConfig({ totalEnvSteps: 'lots' }, 'adv.yaml')).toThrow('adv.yaml: totalEnvSteps: expected a number, received "lots" (a string)');
  });

  it('a robots file', () => {
    const robots = file('robots.yaml', 'model: e-puck2\ndefaults:\n  wheelRadius: small\n  wheelDistance: 0.053\n  stepsPerRevolution: 1000\n  maxStepsPerSecond: 1100\n  bodyRadius: 0.037\n');
    expect(() => resolveSwarmConfig({ robotsFile: robots })).toThrow(/robots\.yaml: defaults\.wheelRadius: expected a number, received "small" \(a string\)/);
  });

  it('every line names its key; a schema message of its own is kept, with the value', () => {
    const schema = z
      .object({ a: z.number().refine((x) => x > 3, 'must exceed 3'), b: z.array(z.string()).min(1), c: z.null(), d: z.union([z.boolean(), z.object({ n: z.number() })], { error: 'true, false or { n: <number> }' }) })
      .strict();
    let message = '';
    try {
      parseWithSchema('f.yaml', schema, { a: 1, b: [], d: { n: 'x' }, extra: true });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'f.yaml: a: must exceed 3, received 1',
      'f.yaml: b: expected a list with >=1 items, received a list []',
      'f.yaml: c: expected null, but the key is missing',
      'f.yaml: d: true, false or { n: <number> }, received a mapping {"n":"x"}',
      'f.yaml: (root): Unrecognized key: "extra"',
    ]);
    expect(message).not.toMatch(/Invalid input/);
  });
});
