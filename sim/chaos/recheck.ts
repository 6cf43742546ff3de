// `npm run chaos -- --recheck <out>`: the checks of a finished campaign computed again from what it left on
// disk (every runtime's probe, recording and events), with this version's invariants: a campaign's data
// outlives a fix to a check. Writes chaos.recheck.md and chaos.recheck.json next to the originals.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecording } from '../../src/recording/reader.js';
import { ticksPerChunk, type CampaignResult } from './campaign.js';
import { recordLoss } from './invariants.js';
import { readProbe } from './probe.js';
import { chaosMarkdown, chaosTable } from './report.js';

export async function recheck(out: string): Promise<{ md: string[]; result: CampaignResult }> {
  const file = ['chaos.json', 'chaos.partial.json'].map((f) => join(out, f)).find(existsSync);
  if (!file) throw new Error(`${out}: no chaos.json or chaos.partial.json (not a campaign's output folder?)`);
  const result = JSON.parse(readFileSync(file, 'utf8')) as CampaignResult;
  result.relocations ??= 0;
  for (const r of result.runtimes) {
    if (!r.runDir || !r.loss) continue;
    const probe = r.launch.replace(/launch-(\d+)\.yaml$/, 'probe-$1.jsonl');
    const mcap = join(r.runDir, 'run.mcap');
    const killed = r.endedBy === 'SIGKILL' || r.endedBy === 'exited by itself';
    const loss = recordLoss(readProbe(probe).length, (await readRecording(mcap)).records.map((x) => x.tick), killed, await ticksPerChunk(mcap));
    r.problems = r.problems.filter((p) => !/records lost/.test(p));
    if (loss.lost > 0) r.problems.push(`${loss.lost} records lost (ran ${loss.ran}, recorded ${loss.recorded}, gaps ${loss.gaps}, tail ${loss.tail}, a chunk holds at most ${loss.ticksPerChunk.toFixed(0)})`);
    r.loss = loss;
  }
  const table = chaosTable(result);
  const md = [...chaosMarkdown(table, result), '', `Rechecked from the files of ${file} with the invariants of this version (${new Date().toISOString()}).`];
  writeFileSync(join(out, 'chaos.recheck.md'), `${md.join('\n')}\n`);
  writeFileSync(join(out, 'chaos.recheck.json'), JSON.stringify({ table, ...result }, null, 1));
  return { md, result };
}
