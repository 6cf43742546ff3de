// The commands the docs show (README files' code blocks and inline code, launch and config files' comments)
// name commands, options, npm scripts and files that exist, and the files they pass load as what the command
// expects (a launch file for run, a sim config for trial --config, ...). A doc that drifts from the code fails
// here instead of on a new user's first try.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadYamlFile, parseWithSchema } from '../src/core/config-file.js';
import { buildProgram } from '../src/cli/program.js';
import { MatrixFileSchema } from '../src/cli/evaluate.js';
import { trainConfigFrom } from '../src/cli/train.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { loadSwarmConfig, PROJECT_ROOT } from '../src/core/swarm-config.js';
import { resolveAdversaryConfig } from '../sim/train/adversary.js';

const root = (p: string) => join(PROJECT_ROOT, p);
const tracked = (pattern: string) => execFileSync('git', ['ls-files', pattern], { cwd: PROJECT_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

interface Shown {
  where: string;
  text: string;
  /** A line of a README's code block: a command to copy and run as it is. */
  block: boolean;
}

/** Every line of a shell code block and every inline code span of the docs, and the comments of launch and config files. */
function shownCommands(): Shown[] {
  const shown: Shown[] = [];
  for (const file of tracked('*.md')) {
    let inBlock = false;
    readFileSync(root(file), 'utf8').split('\n').forEach((line, k) => {
      const where = `${file}:${k + 1}`;
      if (line.trimStart().startsWith('```')) inBlock = !inBlock;
      else if (inBlock) shown.push({ where, text: line, block: true });
      else for (const m of line.matchAll(/`([^`]+)`/g)) shown.push({ where, text: m[1]!, block: false });
    });
  }
  for (const file of [...tracked('launch/*.yaml'), ...tracked('sim/train/configs/*.yaml'), ...tracked('policies/*.yaml')]) {
    readFileSync(root(file), 'utf8').split('\n').forEach((line, k) => {
      const hash = line.indexOf('#');
      if (hash >= 0) for (const part of line.slice(hash + 1).split('`')) shown.push({ where: `${file}:${k + 1}`, text: part, block: false });
    });
  }
  return shown;
}

interface Invocation {
  where: string;
  /** The swarmguard subcommand (an npm script's too). */
  command: string;
  args: string[];
  /** Environment variables the command line sets (`SWARMGUARD_MQTT_PASSWORD=secret swarmguard ...`). */
  env: string[];
  block: boolean;
}

/** `scripts` entries that run the swarmguard command: script name -> subcommand. */
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(root('package.json'), 'utf8')).scripts;
const scriptCommand = (script: string) => /src\/bin\/swarmguard\.js (\S+)/.exec(SCRIPTS[script] ?? '')?.[1];

/** The swarmguard invocations (direct or through an npm script) and the npm scripts the docs show. */
function invocations(shown: Shown[]): { runs: Invocation[]; scripts: { where: string; script: string }[] } {
  const runs: Invocation[] = [];
  const scripts: { where: string; script: string }[] = [];
  for (const { where, text, block } of shown) {
    // One shell command: up to a comment, a pipe, a redirect or a list separator.
    for (const part of text.replace(/\s#.*$/, '').split(/&&|;|\||>/)) {
      const words = part.trim().split(/\s+/).filter(Boolean);
      // A command starts the part, after environment assignments (and `npx`); prose such as "the swarmguard command line" is no command.
      let at = 0;
      while (at < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[at]!)) at++;
      const env = words.slice(0, at).map((w) => w.split('=')[0]!);
      if (words[at] === 'npx') at++;
      if (words[at] === 'swarmguard' && /^[a-z][\w-]*$/.test(words[at + 1] ?? '')) runs.push({ where, command: words[at + 1]!, args: words.slice(at + 2), env, block });
      if (words[at] === 'npm' && words[at + 1] === 'run' && words[at + 2]) {
        const script = words[at + 2]!;
        scripts.push({ where, script });
        const sub = scriptCommand(script);
        const dashes = words.indexOf('--', at);
        if (sub) runs.push({ where, command: sub, args: dashes > 0 ? words.slice(dashes + 1) : [], env, block });
      }
    }
  }
  return { runs, scripts };
}

const SHOWN = shownCommands();
const { runs: RUNS, scripts: SCRIPT_USES } = invocations(SHOWN);
const PROGRAM = buildProgram();

function findCommand(name: string): Command | undefined {
  return PROGRAM.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

/** The value after a flag, if the invocation gives one that is a real path (no placeholder). */
function valueOf(args: readonly string[], ...flags: string[]): string | undefined {
  const k = args.findIndex((a) => flags.includes(a));
  const v = k >= 0 ? args[k + 1] : undefined;
  return v && !/[<>$]|\.\.\./.test(v) ? v : undefined;
}

/** Options whose value is a file or folder the command creates. */
const OUTPUTS = ['-o', '--out', '--run-dir', '--json', '--feed-out'];

/** Repository paths an invocation reads (policy folders, launch and config files), placeholders and outputs left out. */
function inputPaths(r: Invocation): string[] {
  if (r.command === 'mqtt-passwd') return []; // it creates the password file
  return r.args
    .filter((_, k) => !OUTPUTS.includes(r.args[k - 1] ?? ''))
    .flatMap((a) => a.split(/[=,]/))
    .map((a) => a.replace(/@.*$/, '').replace(/^2x:/, ''))
    .filter((a) => /^(launch|policies|sim|robots|src|docs)\//.test(a) && !/[<>*]|\.\.\./.test(a));
}

describe('the commands the docs show', () => {
  it('finds them (the scan reads the READMEs)', () => {
    expect(RUNS.length).toBeGreaterThan(50);
    expect(RUNS.some((r) => r.command === 'calibrate' && r.args.includes('--twin'))).toBe(true);
  });

  it('name swarmguard commands and options that exist', () => {
    const wrong: string[] = [];
    for (const r of RUNS) {
      const cmd = findCommand(r.command);
      if (!cmd) {
        wrong.push(`${r.where}: no command '${r.command}'`);
        continue;
      }
      for (const arg of r.args) {
        const flag = arg.split('=')[0]!;
        if (!/^--?[a-zA-Z]/.test(flag) || flag === '--help' || flag === '-h') continue;
        if (!cmd.options.some((o) => o.long === flag || o.short === flag || o.negate && o.long === flag)) wrong.push(`${r.where}: swarmguard ${r.command} has no option ${flag}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('name npm scripts that exist', () => {
    const missing = SCRIPT_USES.filter((u) => !(u.script in SCRIPTS)).map((u) => `${u.where}: npm run ${u.script}`);
    expect(missing).toEqual([]);
  });

  it('name files and folders that exist', () => {
    const missing = RUNS.flatMap((r) => inputPaths(r).filter((p) => !existsSync(root(p))).map((p) => `${r.where}: ${p}`));
    expect(missing).toEqual([]);
  });

  it('pass launch files where a launch file is expected, and each loads', async () => {
    // launch file -> the environment variables its command line sets (passwords: any value loads)
    const launchArgs = new Map<string, string[]>();
    for (const r of RUNS) {
      const file = ['run', 'twin-serve', 'distributed', 'agent', 'monitor', 'feed'].includes(r.command) ? r.args.find((a) => a.endsWith('.yaml')) : r.command === 'calibrate' ? valueOf(r.args, '--drive') : undefined;
      if (file && file.startsWith('launch/')) launchArgs.set(file, [...(launchArgs.get(file) ?? []), ...r.env]);
    }
    expect([...launchArgs.keys()]).toContain('launch/demo-wifi.yaml');
    for (const [file, env] of launchArgs) {
      const saved = env.map((name) => [name, process.env[name]] as const);
      for (const name of env) process.env[name] = 'set-by-the-docs-command';
      try {
        const launch = await loadLaunch(root(file)).catch((err: Error) => err);
        expect(launch instanceof Error ? `${file}: ${launch.message}` : file).toBe(file);
        if (!(launch instanceof Error)) await releaseRun(launch);
      } finally {
        for (const [name, value] of saved) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    }
  }, 60_000);

  it('pass configs where a config is expected, and each loads (trial, train, train-adversary, eval)', () => {
    const loaders: Record<string, (file: string) => unknown> = {
      trial: (f) => loadSwarmConfig(f),
      train: (f) => trainConfigFrom({ config: f } as Parameters<typeof trainConfigFrom>[0]),
      'train-adversary': (f) => resolveAdversaryConfig(loadYamlFile(f, z.record(z.string(), z.unknown())), f),
      eval: (f) => parseWithSchema(f, MatrixFileSchema, loadYamlFile(f, z.unknown())),
    };
    const failed: string[] = [];
    let checked = 0;
    for (const r of RUNS) {
      const file = valueOf(r.args, '--config');
      const load = loaders[r.command];
      if (!file || !load) continue;
      checked++;
      try {
        load(root(file));
      } catch (err) {
        failed.push(`${r.where}: ${(err as Error).message}`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(failed).toEqual([]);
  });

  it("train and adversary commands in a README's code block write a folder that does not exist yet (else they refuse at once)", () => {
    const clash: string[] = [];
    let checked = 0;
    for (const r of RUNS) {
      if (!r.block || !['train', 'train-adversary'].includes(r.command) || r.args.includes('--force') || r.args.some((a) => /[<>]|\.\.\./.test(a))) continue;
      let out = valueOf(r.args, '-o', '--out');
      if (!out && r.command === 'train') {
        const config = valueOf(r.args, '--config');
        const algo = valueOf(r.args, '-a', '--algo') ?? (config ? trainConfigFrom({ config: root(config) } as Parameters<typeof trainConfigFrom>[0]).config.algo : 'mappo');
        out = `policies/${algo}-rendezvous`;
      }
      if (!out && r.command === 'train-adversary') out = `policies/attacks/posthoc-vs-${basename(valueOf(r.args, '--against') ?? '')}`;
      checked++;
      if (existsSync(root(out!))) clash.push(`${r.where}: ${out} exists`);
    }
    expect(checked).toBeGreaterThan(5);
    expect(clash).toEqual([]);
  });
});
