// The runtime under test in the fault campaign: `swarmguard run <launch.yaml> --quiet` as the CLI runs it
// (same shutdown, same exit codes), with its link watched by the probe (probe.ts) writing to <probe.jsonl>.
// The campaign is also the operator who places a robot whose odometry lost its reference (a reboot, counters
// that jumped): over the IPC channel it sends `{ relocate: i, pose }`, given to the e-puck2 link's relocate().
//   node --import tsx sim/chaos/runtime-child.ts <launch.yaml> <probe.jsonl>
import { runLaunch } from '../../src/cli/run.js';
import { probeLink } from './probe.js';

const [launchPath, probePath] = process.argv.slice(2);
if (!launchPath || !probePath) {
  console.error('usage: runtime-child.ts <launch.yaml> <probe.jsonl>');
  process.exit(2);
}
const probe: { close: (() => void) | null } = { close: null };
let relocatable: { relocate(i: number, pose: { x: number; y: number; theta: number }): void } | null = null;
process.on('message', (m: { relocate?: number; pose?: { x: number; y: number; theta: number } }) => {
  if (relocatable && typeof m.relocate === 'number' && m.pose) relocatable.relocate(m.relocate, m.pose);
});
process.channel?.unref();
try {
  const summary = await runLaunch(launchPath, { quiet: true, console: false, onLink: (link) => {
      probe.close = probeLink(link, probePath);
      if ('relocate' in link && typeof link.relocate === 'function') relocatable = link as unknown as typeof relocatable;
    },
  });
  probe.close?.();
  process.exit(summary.ended?.exitCode ?? 0);
} catch (err) {
  console.error(`runtime-child: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
