// The swarmguard command line's commands and options (main.ts parses and maps errors to exit codes); a
// function, so tests can read every command and option without running one.
import { Command, InvalidArgumentError, Option } from 'commander';
import { CONTROLLER_NAMES, DEFAULT_WMSR_F } from '../../sim/controllers.js';
import { FAULT_NAMES } from '../attacks/faults.js';
import { ALGORITHMS } from '../../sim/train/config.js';
import { formatTrial, runTrial, type TrialOptions } from './trial.js';
import { runTraining, type TrainOptions } from './train.js';
import { runAdversaryTraining, type TrainAdversaryOptions } from './train-adversary.js';
import { outcomeTable, pairedTable, runEvaluation, teamReturnTable, type EvaluateOptions } from './evaluate.js';
import { runLaunch, type RunOptions } from './run.js';
import { runTwinServe, type TwinServeOptions } from './twin-serve.js';
import { mqttPasswd, type MqttPasswdOptions } from './mqtt-passwd.js';
import { runReplay, type ReplayCliOptions } from './replay.js';
import { DEFAULT_DASHBOARD_PORT } from '../dashboard/config.js';
import { runCompare, type CompareOptions } from './compare.js';
import { runRecover, type RecoverOptions } from './recover.js';
import { runCalibrate, type CalibrateOptions } from './calibrate.js';
import { monitorTable, rendezvousTable, runMonitorEvaluation, weightTable, type MonitorEvalOptions } from './eval-monitor.js';
import { addDistributedCommands } from './distributed.js';
import { isolationTable, outcomeTable as isolationOutcomeTable, pooledTable, runIsolationEvaluation, type IsolationEvalOptions } from './eval-isolation.js';

/** Repeatable option: every occurrence appended. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got '${value}'`);
    return n;
  };
}

function speed(value: string): number {
  if (value === 'max') return Number.POSITIVE_INFINITY;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`--speed must be a number > 0 or 'max', got '${value}'`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('swarmguard')
    .description('Robust multi-agent policies on e-puck2 swarms, with a monitor for compromised robots')
    .showHelpAfterError('(run with --help for usage)')
    // Commander's errors are thrown instead of exiting with 1: main.ts exits 2 for a usage error, as for bad
    // input in a file. Every command below inherits this.
    .exitOverride();

  program
    .command('trial')
    .description('run one seeded rendezvous episode on the simulator twin, print its metrics and draw the trajectories')
    .addOption(new Option('-c, --controller <name>', 'reference controller driving every robot').choices(CONTROLLER_NAMES).default('consensus'))
    .option('--wmsr-f <F>', `wmsr: extreme neighbour values discarded on each side of its own, per coordinate (default ${DEFAULT_WMSR_F})`, integer('--wmsr-f', 0, 1000))
    .option('-p, --policy <dir>', 'a trained policy folder (e.g. policies/mappo-rendezvous) driving every robot instead')
    .option('-s, --seed <n>', 'episode seed', integer('--seed', 0, 2 ** 31 - 1), 1)
    .option('-n, --robots <n>', 'number of robots (overrides the config)', integer('--robots', 2, 1000))
    .option('--config <file>', 'sim config YAML (keys left out take their defaults)')
    .addOption(new Option('--noise <model>', 'sim2real noise model').choices(['default', 'off']))
    .addOption(new Option('-f, --fault <name>', 'fault model for the attacked robot').choices(FAULT_NAMES))
    .option('-v, --victim <id>', 'attacked robot, by id or index (default: the first robot)')
    .option('--observation-noise <eps>', "bounded noise on the attacked robot's observation", nonNegative('--observation-noise'))
    .option('-o, --out <file>', 'where to write the trajectory picture (SVG; default runs/trial-<driver>-...-seed<n>[-fault-<name>][-obsnoise<eps>][-victim-<id>].svg)')
    .option('--json', 'print the metrics as JSON', false)
    .action(async (opts: TrialOptions) => {
      const result = await runTrial(opts);
      if (opts.json) console.log(JSON.stringify({ ...result.metrics, victim: result.victim, picture: result.picture }, null, 2));
      else console.log(`swarmguard trial: simulated rendezvous on the e-puck2 twin\n${formatTrial(opts, result)}`);
    });

  program
    .command('train')
    .description('train a policy on the simulator twin and write its policy folder (ONNX + manifest)')
    .addOption(new Option('-a, --algo <name>', 'algorithm (overrides the config)').choices(ALGORITHMS))
    .option('--config <file>', 'training config YAML (keys left out take their defaults)')
    .option('-s, --seed <n>', 'training seed (overrides the config)', integer('--seed', 0, 2 ** 31 - 1))
    .option('--total-steps <n>', 'environment steps to train for (overrides the config)', integer('--total-steps', 1, 1e12))
    .option('-o, --out <dir>', 'policy folder to write (default: policies/<algo>-rendezvous)')
    .option('--run-dir <dir>', 'checkpoints and learning curves (default: runs/train/<name>)')
    .option('--fresh', 'ignore an existing checkpoint instead of resuming from it', false)
    .option('--force', 'replace an existing policy folder', false)
    .option('--quiet', 'no progress bar; a line per evaluation', false)
    .action(async (opts: TrainOptions) => {
      await runTraining(opts);
    });

  program
    .command('train-adversary')
    .description('train a posthoc adversary against a frozen policy folder and write its folder (ONNX + manifest)')
    .requiredOption('--against <dir>', 'the frozen team: a policy folder (e.g. policies/mappo-rendezvous)')
    .option('--config <file>', 'adversary training config YAML (PPO keys of the training config; left out: defaults)')
    .option('-s, --seed <n>', 'training seed (overrides the config)', integer('--seed', 0, 2 ** 31 - 1))
    .option('--total-steps <n>', 'environment steps to train for (overrides the config)', integer('--total-steps', 1, 1e12))
    .option('-o, --out <dir>', 'adversary folder to write (default: policies/attacks/posthoc-vs-<policy>)')
    .option('--force', 'replace an existing adversary folder', false)
    .option('--quiet', 'no progress bar; a line every 20 iterations', false)
    .action(async (opts: TrainAdversaryOptions) => {
      await runAdversaryTraining(opts);
    });

  program
    .command('run')
    .description('run a deployed swarm from a launch file: policy on every robot, safety layer, monitor, scheduled injections; writes a run folder')
    .argument('<launch>', 'launch file (YAML), e.g. launch/demo.yaml')
    .option('--quiet', 'no status table or progress bar; events as lines', false)
    .option('--no-console', 'do not read operator commands (inject, estop, release) from the terminal')
    .option('--dashboard [port]', "serve the live dashboard (at the launch file's port, default 8765, or this one; 0: any free port)", integer('--dashboard', 0, 65535))
    .option('--twin', "no robots needed: the e-puck2 or mqtt link's protocol twin serves them in this process (as twin: true in the file)", false)
    .addHelpText('after', '\nExit codes: 0 the run completed; 130 / 143 / 129 SIGINT (Ctrl-C) / SIGTERM / SIGHUP ended it; 1 an error ended it (a failed control tick, an uncaught exception); 2 bad input. Every robot is sent a stop however the run ends.')
    .action(async (launch: string, opts: RunOptions) => {
      const summary = await runLaunch(launch, opts);
      // Ended by a signal or an error: the run is shut down (robots stopped, files written); nothing else may keep the process.
      if (summary.ended && summary.ended.exitCode !== 0) process.exit(summary.ended.exitCode);
    });

  program
    .command('replay')
    .description('play a recording (run.mcap) back at any speed: event lines and the status table in the terminal, and on the dashboard with --dashboard')
    .argument('<recording>', 'a run.mcap from a run folder')
    .option('-x, --speed <x>', "playback speed (2 = twice as fast, 'max' = as fast as possible)", speed, 1)
    .option('--quiet', 'no status table; event lines only', false)
    .option('--dashboard [port]', `also show it on the dashboard (default port ${DEFAULT_DASHBOARD_PORT}; 0: any free port); playback starts when the first viewer connects, the page stays up after the end until Ctrl-C`, integer('--dashboard', 0, 65535))
    .option('--no-wait', 'with --dashboard: start playing at once, without waiting for a viewer')
    .action(async (recording: string, opts: ReplayCliOptions) => {
      await runReplay(recording, opts);
    });

  program
    .command('compare')
    .description('sim2real: drive the twin with the recorded commands from the recorded start poses; divergence per robot and swarm, JSON and SVG next to the recording')
    .argument('<recording>', 'a run.mcap from a run folder')
    .option('--robots <file>', "run the twin with this robots file's parameters (e.g. after calibrate) instead of the recording's")
    .action(async (recording: string, opts: CompareOptions) => {
      await runCompare(recording, opts);
    });

  program
    .command('recover')
    .description('a recording cut off by a killed process or a power loss (no footer, no index): write a closed, indexed copy of it up to its last complete tick, and say what it kept')
    .argument('<recording>', 'a run.mcap that was not closed')
    .option('-o, --out <file>', 'the copy to write (default: <recording>.recovered.mcap next to it, e.g. run.recovered.mcap)')
    .option('--force', 'replace the copy if it exists', false)
    .action(async (recording: string, opts: RecoverOptions) => {
      await runRecover(recording, opts);
    });

  program
    .command('calibrate')
    .description("fit every robot's wheel radius, wheel distance and command latency to a recording (or to a calibration drive it records first) and write them to the robots file")
    .argument('[recording]', 'a run.mcap (best: one recorded with --drive)')
    .option('--drive <launch>', "first drive the launch file's robots through the calibration script (straight runs, turns, arcs) and record it")
    .option('--twin', "with --drive, no robots needed: the e-puck2 or mqtt link's protocol twin serves them in this process", false)
    .option('--repeats <n>', 'with --drive: times the moves are repeated (26 s each; 4 keeps every fit within 2% at a 3 mm tracker error)', integer('--repeats', 1, 100), 4)
    .option('--robots <file>', "the robots file to write (default: the recorded launch file's robotsFile, else robots/epuck2.yaml)")
    .option('--write', 'write the fitted values under overrides in the robots file', false)
    .option('--quiet', 'no line per drive segment', false)
    .action(async (recording: string | undefined, opts: CalibrateOptions) => {
      await runCalibrate(recording, opts);
    });

  program
    .command('twin-serve')
    .description("serve the launch file's swarm as simulated e-puck2 robots over its link's protocol (Wi-Fi TCP ports, sercom PTYs or the MQTT bus) for `swarmguard run`")
    .argument('<launch>', 'launch file with an epuck2-wifi, epuck2-bt or mqtt link, e.g. launch/demo-wifi.yaml')
    .option('-d, --duration <s>', 'serve this long, s (default: until Ctrl-C)', nonNegative('--duration'))
    .option('-s, --seed <n>', "the twin's seed (default: the link's)", integer('--seed', 0, 2 ** 31 - 1))
    .action(async (launch: string, opts: TwinServeOptions) => {
      await runTwinServe(launch, opts);
    });

  program
    .command('mqtt-passwd')
    .description("add or replace a user in a mosquitto-format password file (the embedded broker's and mosquitto's); the password is read from stdin or an environment variable, never the command line")
    .argument('<file>', 'password file (created with mode 600 if missing)')
    .argument('<user>', 'user name')
    .option('--password-env <name>', 'read the password from this environment variable instead of stdin')
    .action(async (file: string, user: string, opts: MqttPasswdOptions) => {
      console.log(await mqttPasswd(file, user, opts));
    });

  program
    .command('eval-monitor')
    .description("the monitor's detection rate, time to detect and false alarms per robot-hour per attack and detector, and the uncompromised robots' outcome per attack, over seeded batch trials; ROC picture")
    .option('-p, --policy <dir>', 'the deployed policy folder', 'policies/eir-mappo-rendezvous')
    .option('-a, --attack <ref>', 'none, fault:<name>, obs-noise:<eps>, an adversary or policy folder (<dir>@<name>), or an attack module (module:<file>, a .ts/.js path) (repeat)', collect, [])
    .option('-e, --episodes <n>', 'episodes per attack', integer('--episodes', 1, 10_000), 10)
    .option('--benign-episodes <n>', 'episodes of the benign case (none); --episodes if absent', integer('--benign-episodes', 1, 100_000))
    .option('-s, --seed <n>', 'seed of the first episode', integer('--seed', 0, 2 ** 31 - 1), 4_000_000)
    .option('--at <s>', 'injection start, s', nonNegative('--at'), 5)
    .option('--duration <s>', 'injection length, s', nonNegative('--duration'), 15)
    .option('--length <s>', 'episode length, s', nonNegative('--length'), 30)
    .option('-o, --out <path>', 'writes <path>.md, <path>.json and <path>-roc.svg', 'runs/eval-monitor/monitor')
    .option('--quiet', 'no progress bar', false)
    .action(async (opts: MonitorEvalOptions) => {
      const attacks = opts.attack.length ? opts.attack : ['none', 'fault:spin', 'fault:stuck', 'fault:random', 'fault:dead-wheel', 'obs-noise:0.5', opts.policy];
      const ev = await runMonitorEvaluation({ ...opts, attack: attacks });
      console.log(`${monitorTable(ev.detectors)}\n\nfused detector per belief weight:\n${weightTable(ev.weights)}\n\nuncompromised robots at the end of the episode:\n${rendezvousTable(ev.rendezvous)}`);
    });

  program
    .command('eval-isolation')
    .description("the uncompromised robots' outcome with monitor.onFlag report vs isolate vs isolate-and-stop under every attack row of the evaluation matrices and in benign runs, and what false isolations cost; writes <out>.md and <out>.json")
    .option('--config <file>', 'the variants (policy and evaluation matrix), episodes, seed and out', 'policies/isolation.yaml')
    .option('-p, --policy <dir>', "only the variant of this policy folder, as the config names it (repeat)", collect, [])
    .option('-a, --attack <row>', "only this attack row, as the matrix names it, e.g. 'fault:spin' (repeat)", collect, [])
    .option('-e, --episodes <n>', "episodes per attack row and onFlag (default: the config's)", integer('--episodes', 1, 100_000))
    .option('-s, --seed <n>', "seed of the episodes (default: the config's)", integer('--seed', 0, 2 ** 31 - 1))
    .option('-o, --out <path>', "writes <path>.md and <path>.json (default: the config's, policies/ISOLATION)")
    .action(async (opts: IsolationEvalOptions) => {
      const ev = await runIsolationEvaluation(opts);
      console.log(`${isolationOutcomeTable(ev.rows)}\n\n${ev.pooled.length > 0 ? `${pooledTable(ev.pooled)}\n\n` : ''}${isolationTable(ev.rows)}`);
    });

  program
    .command('eval')
    .alias('evaluate')
    .description("deployed policies under attacks on the same seeded episodes: the uncompromised robots' outcome at the end (gathered, spread, largest cluster) and the team return (papers' protocol), with 95% intervals; JSON, markdown and heatmap")
    .option('--config <file>', 'a matrix YAML (policy, attack, episodes, seed, reference, out, jobs); flags given win')
    .option('-p, --policy <dir>', "a policy folder, 'consensus' / 'wmsr' / 'random', or a method trained with several seeds as <method>=<dir>,<dir>,... (repeat for several)", collect, [])
    .option('-a, --attack <ref>', 'none, fault:<random|stuck|dead-wheel|spin>, obs-noise:<eps>, an adversary folder, a policy folder shipping adversaries (<dir>@<name> picks one), or an attack module (module:<file>, a .ts/.js path); 2x:<ref> compromises two robots per episode (repeat)', collect, [])
    .option('-e, --episodes <n>', 'episodes per cell (default 100)', integer('--episodes', 1, 100_000))
    .option('-s, --seed <n>', 'seed of the episodes (default 3000000)', integer('--seed', 0, 2 ** 31 - 1))
    .option('--reference <dir>', 'the column whose benign return is V_max and against which paired differences are taken: a policy folder or a method (default: the first MAPPO column)')
    .option('-o, --out <path>', 'write <path>.md, <path>.svg and <path>.json (e.g. policies/EVALUATION)')
    .option('--json <file>', 'also write every result as JSON to this file')
    .option('-j, --jobs <n>', 'policies evaluated at once (default 2)', integer('--jobs', 1, 16))
    .option('--quiet', 'no progress bar; a line per cell', false)
    .action(async (opts: EvaluateOptions) => {
      const ev = await runEvaluation(opts);
      console.log(`uncompromised robots at the end: gathered at end [95% interval] · final spread · largest-cluster fraction\n${outcomeTable(ev)}\n`);
      console.log(`gathered at end minus ${ev.normalisation.reference}'s on the same episodes [95% interval]\n${pairedTable(ev)}\n`);
      console.log(`team return (papers' protocol): normalised return [95% interval] · ever gathered\n${teamReturnTable(ev)}`);
    });

  addDistributedCommands(program);
  return program;
}
