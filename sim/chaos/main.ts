// `npm run chaos -- [--minutes 20] [--seed 1] [--out <dir>] [--segment 150] [--links wifi,bt,mqtt-embedded,mqtt-mosquitto]`:
// the fault campaign (campaign.ts). Progress on the console, the table at the end, chaos.md and chaos.json in --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { spawnSync } from 'node:child_process';
import { mosquittoMissing } from '../mosquitto.js';
import { PROJECT_ROOT } from '../../src/core/swarm-config.js';
import { runCampaign } from './campaign.js';
import { recheck } from './recheck.js';
import { chaosMarkdown, chaosTable } from './report.js';
import { RIG_KINDS, type RigKind } from './rigs.js';

const positive = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`${flag}: expected a number > 0, got '${v}'`);
  return n;
};

const program = new Command('chaos')
  .description('fault campaign: live runs over the Wi-Fi and Bluetooth twins and MQTT (embedded broker, mosquitto) under a seeded schedule of faults')
  .option('--minutes <n>', 'minutes of faults', positive('--minutes'), 20)
  .option('--seed <n>', 'seed of the fault schedule', (v) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError(`--seed: expected an integer >= 0, got '${v}'`);
    return n;
  }, 1)
  .option('--out <dir>', 'output folder (default runs/chaos-<time>)')
  .option('--segment <s>', 'seconds of faults per link before the next link', positive('--segment'), 150)
  .option('--links <list>', `links, comma-separated (${RIG_KINDS.join(', ')})`, (v) => {
    const ks = v.split(',').map((x) => x.trim());
    const bad = ks.filter((k) => !(RIG_KINDS as readonly string[]).includes(k));
    if (bad.length || !ks.length) throw new InvalidArgumentError(`--links: unknown link(s) ${bad.join(', ')} (known: ${RIG_KINDS.join(', ')})`);
    return ks as RigKind[];
  }, [...RIG_KINDS])
  .option('--gap <min,max>', 'seconds between faults, uniform in [min, max]', (v) => {
    const p = v.split(',').map(Number);
    if (p.length !== 2 || !p.every((x) => Number.isFinite(x) && x > 0) || p[0]! > p[1]!) throw new InvalidArgumentError(`--gap: expected min,max seconds (0 < min <= max), got '${v}'`);
    return p as [number, number];
  }, [3, 8] as [number, number])
  .option('--recheck <dir>', "compute a finished campaign's checks again from its files (writes chaos.recheck.md there), run nothing");

program.parse();
const hasSocat = () => spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
const o = program.opts<{ minutes: number; seed: number; out?: string; segment: number; links: RigKind[]; gap: [number, number]; recheck?: string }>();
if (o.recheck) {
  const { md } = await recheck(resolve(o.recheck));
  console.log(md.join('\n'));
  process.exit(0);
}
const missing = [...(o.links.includes('bt') && !hasSocat() ? ['bt: socat is not installed (apt-get install socat)'] : []), ...(o.links.includes('mqtt-mosquitto') && mosquittoMissing() ? [`mqtt-mosquitto: ${mosquittoMissing()}`] : [])];
if (missing.length) {
  console.error(`chaos: ${missing.join('; ')}; or leave those links out with --links`);
  process.exit(2);
}
const out = resolve(o.out ?? join(PROJECT_ROOT, 'runs', `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`));
mkdirSync(out, { recursive: true });
console.log(`chaos: ${o.minutes} min of faults, seed ${o.seed}, links ${o.links.join(', ')}, output in ${out} (processes' output: processes.log)`);
const result = await runCampaign({ minutes: o.minutes, seed: o.seed, out, segmentS: o.segment, rigs: o.links, gapS: o.gap, log: (l) => console.log(l) });
const table = chaosTable(result);
const md = chaosMarkdown(table, result);
writeFileSync(join(out, 'chaos.md'), `${md.join('\n')}\n`);
writeFileSync(join(out, 'chaos.json'), JSON.stringify({ table, ...result }, null, 1));
console.log(['', ...md].join('\n'));
const mustBeZero = table.total.staleRobots + table.total.unexplainedJumps + table.total.recordsLost;
process.exit(mustBeZero === 0 && table.total.failedChecks === 0 ? 0 : 1);
