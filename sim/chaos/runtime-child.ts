// The runtime under test in the fault campaign: `swarmguard run <launch.yaml> --quiet` as the CLI runs it
// (same shutdown, same exit codes), with its link watched by the probe (probe.ts) writing to <probe.jsonl>.
//   node --import tsx sim/chaos/runtime-child.ts <launch.yaml> <probe.jsonl>
import { runLaunch } from '../../src/cli/run.js';
import { probeLink } from './probe.js';

const [launchPath, probePath] = process.argv.slice(2);
if (!launchPath || !probePath) {
  console.error('usage: runtime-child.ts <launch.yaml> <probe.jsonl>');
  process.exit(2);
}
const probe: { close: (() => void) | null } = { close: null };
try {
  const summary = await runLaunch(launchPath, { quiet: true, console: false, onLink: (link) => (probe.close = probeLink(link, probePath)) });
  probe.close?.();
  process.exit(summary.ended?.exitCode ?? 0);
} catch (err) {
  console.error(`runtime-child: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
