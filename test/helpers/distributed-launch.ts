// The shipped distributed demo launch file, made runnable from a test's temp dir: paths absolute, output in
// the temp dir, the broker password taken from the test's own environment variable, then the test's edits.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll } from 'vitest';
import { agentUser, distributedAcl } from '../../src/distributed/config.js';
import { passwordEntry } from '../../src/links/mqtt/passwd.js';
import { OnnxTeam } from '../../src/policy/team.js';
import { loadLaunch } from '../../src/launch/launch.js';
import { releaseRun } from '../../src/runtime/run-spec.js';
import { SimLink } from '../../sim/sim-link.js';
import { outcomes, swarmTrial } from '../../src/runtime/trial.js';
import { summariseIsolations } from '../../src/runtime/isolation.js';
import { PROJECT_ROOT } from '../../src/core/swarm-config.js';
import { startMosquitto, type Mosquitto } from '../../sim/mosquitto.js';

/**
 * One test file's distributed runs: a temp dir (`.dir`, made before the file's tests, removed after them) and a
 * test password in the environment variable `passwordEnv`, which its launch files name.
 */
export function distributedTestFiles(name: string, passwordEnv: string): { dir: string } {
  const files = { dir: '' };
  beforeAll(() => {
    files.dir = mkdtempSync(join(tmpdir(), `swarmguard-${name}-`));
    process.env[passwordEnv] = `${name}-test-password`;
  });
  afterAll(() => {
    delete process.env[passwordEnv];
    if (files.dir) rmSync(files.dir, { recursive: true, force: true });
  });
  return files;
}

export function writeDistributedLaunch(dir: string, name: string, passwordEnv: string, edit: (l: Record<string, any>) => void): string {
  const l = parse(readFileSync(join(PROJECT_ROOT, 'launch/distributed-demo.yaml'), 'utf8')) as Record<string, any>;
  l.name = name;
  l.policy = join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous');
  l.out = join(dir, `runs-${name}`);
  for (const inj of l.injections) inj.attack = join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous');
  l.distributed.passwordEnv = passwordEnv;
  edit(l);
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify(l));
  return path;
}

/** The single-process fast trial of a launch file (what `swarmguard run` does in fast mode): what a distributed run of it must reproduce. */
export async function singleProcessTrial(path: string) {
  const launch = await loadLaunch(path);
  const team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
  try {
    team.setForgetAfter(launch.forgetAfterTicks);
    const link = new SimLink(launch.settings, 'fast', launch.seed);
    const run = swarmTrial(launch.settings, team, link, { safety: launch.safety, monitor: launch.monitor, onFlag: launch.onFlag, trialMode: true, injections: launch.injections, seed: launch.seed });
    while (run.tick < launch.ticks) {
      await run.step();
      link.advance();
    }
    return {
      events: run.events,
      stops: { ...run.parts.safety.stops },
      isolations: summariseIsolations(run.events, launch.settings.robotIds, (t) => run.records[t]?.compromised ?? [], run.tick, launch.settings.controlPeriod, run.response.onFlag),
      flagged: run.records.map((r) => r.flagged),
      outcomes: outcomes(run),
      truePoses: link.truePoses(),
      poses: link.poses().map((p) => ({ x: p!.x, y: p!.y, theta: p!.theta })),
    };
  } finally {
    await team.release();
    await releaseRun(launch);
  }
}

/**
 * A mosquitto for distributed runs: every agent, the monitor, the feed and a test `observer` log in with
 * `password`; the ACL is each swarm's distributed ACL, plus read access for the observer to `observerReads`.
 */
export function startDistributedMosquitto(dir: string, o: { password: string; ids: readonly string[]; swarms: readonly string[]; observerReads: readonly string[] }): Promise<Mosquitto> {
  const users = [...o.ids.map(agentUser), 'monitor', 'feed', 'observer'];
  writeFileSync(join(dir, 'passwd'), users.map((u) => passwordEntry(u, o.password)).join('\n') + '\n', { mode: 0o600 });
  const observer = ['', 'user observer', ...o.observerReads.map((t) => `topic read ${t}`), ''].join('\n');
  writeFileSync(join(dir, 'acl'), o.swarms.map((s) => distributedAcl(s, o.ids)).join('') + observer);
  return startMosquitto({ passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl') });
}
