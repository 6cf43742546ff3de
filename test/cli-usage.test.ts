// The command line's exit codes: a usage error (bad flag value, unknown option or command, missing argument)
// exits 2 for every command, as input refused in a file does; --help exits 0.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'src', 'bin', 'swarmguard.js');

async function swarmguard(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)('node', [BIN, ...args], { encoding: 'utf8' });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('swarmguard exit codes', () => {
  it('usage errors exit 2 across commands, naming the bad input; --help exits 0', async () => {
    const ten = join(mkdtempSync(join(tmpdir(), 'swarmguard-cli-')), 'ten.yaml');
    writeFileSync(ten, 'robots: "ten"\n');
    const cases: [string[], number, RegExp][] = [
      [['trial', '--robots', '1'], 2, /--robots must be an integer from 2 to 1000, got '1'/],
      [['trial', '--seed', 'x'], 2, /--seed must be an integer .* got 'x'/],
      [['eval', '--episodes', '0'], 2, /--episodes must be an integer/],
      [['trial', '--controller', 'nope'], 2, /Allowed choices are consensus/],
      [['trial', '--bogus'], 2, /unknown option '--bogus'/],
      [['nosuch'], 2, /unknown command 'nosuch'/],
      [['run'], 2, /missing required argument 'launch'/],
      [['agent', 'launch/distributed-demo.yaml'], 2, /required option '-r, --robot <id>' not specified/],
      [['replay', 'x.mcap', '--speed', 'fast'], 2, /--speed must be a number > 0 or 'max'/],
      [['trial', '--config', ten], 2, /ten\.yaml: robots: expected a number or a list, received "ten" \(a string\)/],
      [['trial', '--help'], 0, /^$/],
    ];
    const results = await Promise.all(cases.map(([args]) => swarmguard(...args)));
    results.forEach((r, k) => {
      const [args, code, message] = cases[k]!;
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
    });
  }, 120_000);
});
