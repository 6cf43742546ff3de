// The distributed runtime's commands: `swarmguard agent`, `monitor`, `feed` (one process each),
// `distributed` (starts them all) and `operator` (an order to a live run). src/distributed/README.md.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runAgent } from '../distributed/agent.js';
import { distributedAcl } from '../distributed/config.js';
import { runFeed } from '../../sim/distributed-feed.js';
import { runDistributed } from '../distributed/launcher.js';
import { runMonitor } from '../distributed/monitor-node.js';
import { formatAnswer, ORDER_USAGE, parseOrder, sendOrder } from '../distributed/operator.js';
import { loadLaunch } from '../launch/launch.js';
import { releaseRun } from '../runtime/run-spec.js';
import { UserError } from '../core/user-error.js';

/** An AbortSignal that SIGINT and SIGTERM fire (a process ends its run cleanly: offline status, no will). */
function interruption(): AbortSignal {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac.signal;
}

const brokerOption = ['--broker <url>', "the broker (mqtt://host:port), instead of the launch file's distributed.broker"] as const;

export function addDistributedCommands(program: Command): void {
  program
    .command('agent')
    .description("one robot's controller in its own process, fed only by MQTT: its actor and belief row, its safety layer, its injections in a trial")
    .argument('<launch>', 'launch file with a distributed: block, e.g. launch/distributed-demo.yaml')
    .requiredOption('-r, --robot <id>', 'the robot this agent drives')
    .option(...brokerOption)
    .action(async (launch: string, opts: { robot: string; broker?: string }) => {
      const summary = await runAgent(launch, { ...opts, signal: interruption() });
      if (summary.interrupted) process.exitCode = 1;
    });

  program
    .command('monitor')
    .description('the swarm monitor of a distributed run, fed by MQTT: suspicion, alerts and events out; summary and run folder at the end')
    .argument('<launch>', 'launch file with a distributed: block')
    .option(...brokerOption)
    .action(async (launch: string, opts: { broker?: string }) => {
      const result = await runMonitor(launch, { ...opts, signal: interruption() });
      if (result.interrupted) process.exitCode = 1;
    });

  program
    .command('feed')
    .description("the pose feed of a distributed run: the launch file's twin publishing poses and obeying commands (lock-step or live)")
    .argument('<launch>', 'launch file with a sim link and a distributed: block')
    .option(...brokerOption)
    .option('-o, --out <file>', 'write the summary (ticks, wall time, watchdog stops, final poses) as JSON')
    .action(async (launch: string, opts: { broker?: string; out?: string }) => {
      const summary = await runFeed(launch, { broker: opts.broker, signal: interruption() });
      if (opts.out) writeFileSync(opts.out, `${JSON.stringify(summary, null, 2)}\n`);
      if (summary.interrupted) process.exitCode = 1;
    });

  program
    .command('operator')
    .description(
      "an operator's order to a distributed live run over its bus, as the operator login, in the console's words: what a flag does from now on (the monitor answers), " +
        "e-stop / release of robots at their bridge (the feed answers), an injection in a trial (the victim's agent answers); it prints when the order took effect",
    )
    .argument('<launch>', 'the launch file of the running distributed run (mode: live)')
    .argument('<order...>', ORDER_USAGE)
    .option(...brokerOption)
    .option('--timeout <s>', "how long to wait for the answer, s", '5')
    .action(async (launch: string, words: string[], opts: { broker?: string; timeout: string }) => {
      const order = parseOrder(words);
      const seconds = Number(opts.timeout);
      if (!(Number.isFinite(seconds) && seconds > 0)) throw new UserError(`--timeout must be a number of seconds > 0, got '${opts.timeout}'`);
      const answer = await sendOrder(launch, order, { broker: opts.broker, timeoutMs: seconds * 1000, log: (l) => console.error(l) });
      console.log(formatAnswer(answer));
    });

  program
    .command('distributed')
    .description('a distributed run on this machine: the monitor, one agent process per robot and the pose feed, over MQTT')
    .argument('<launch>', 'launch file with a distributed: block, e.g. launch/distributed-demo.yaml')
    .option(...brokerOption)
    .option('--embedded', "start an embedded broker (aedes) on a free loopback port with logins and the run's ACL (the password: distributed.passwordEnv's, or made up for the run)", false)
    .option('--feed-out <file>', "write the feed's summary as JSON")
    .option('--print-acl', 'print the mosquitto ACL (acl_file) of the run and exit', false)
    .action(async (launch: string, opts: { broker?: string; embedded: boolean; feedOut?: string; printAcl: boolean }) => {
      if (opts.printAcl) {
        const l = await loadLaunch(launch);
        await releaseRun(l);
        process.stdout.write(distributedAcl(l.name, l.settings.robotIds));
        return;
      }
      const exits = await runDistributed(launch, { ...opts, signal: interruption() });
      const failed = exits.filter((e) => e.code !== 0);
      if (failed.length) {
        console.error(`swarmguard distributed: ${failed.map((e) => `${e.role} exit ${e.code ?? e.signal}`).join(', ')}`);
        process.exitCode = 1;
      }
    });
}
