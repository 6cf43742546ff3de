// swarmguard as a ROS 2 node: `swarmguard-ros2.js <launch.yaml> [--ros-args ...]`, the executable
// launch/swarmguard.launch.py runs with launch_ros's Node action. It is `swarmguard run` (the same run, quiet,
// without the terminal console) that also takes ROS arguments, which launch_ros appends after `--ros-args`:
// the node's name and namespace (-r __node:=, -r __ns:=), remappings, parameter files and values
// (--params-file, -p, use_sim_time among them). rclnodejs is initialised with them (loader.ts), so a parent
// launch file's PushRosNamespace, SetRemap, SetParameter and SetUseSimTime reach the node as they reach any.
//
// A relative launch file is resolved against the working directory the node was started in (the caller's:
// launch_ros starts nodes in its own working directory); paths inside the launch file are relative to it.
import { resolve } from 'node:path';
import { ConfigError } from '../core/config-file.js';
import { UserError } from '../core/user-error.js';
import { runLaunch } from './run.js';
import { useRosArguments } from '../links/ros2/loader.js';

export const ROS_NODE_USAGE = 'usage: swarmguard-ros2.js <launch.yaml> [--ros-args <ROS arguments>]';

export interface RosNodeCommand {
  /** Absolute path of the launch file. */
  launchFile: string;
  /** From the first --ros-args on (up to a lone --, after which arguments are the program's again). */
  rosArguments: string[];
}

/** The launch file and the ROS arguments of a command line (without node and script); a ConfigError with the usage otherwise. */
export function parseRosNodeArgs(argv: readonly string[], cwd: string): RosNodeCommand {
  const start = argv.indexOf('--ros-args');
  const end = start < 0 ? -1 : argv.indexOf('--', start);
  const rosArguments = start < 0 ? [] : argv.slice(start, end < 0 ? undefined : end);
  const own = start < 0 ? [...argv] : [...argv.slice(0, start), ...(end < 0 ? [] : argv.slice(end + 1))];
  if (own.length !== 1 || own[0]!.startsWith('-')) {
    throw new ConfigError(`${own.length === 0 ? 'no launch file given' : `expected one launch file, got '${own.join(' ')}'`}\n${ROS_NODE_USAGE}`);
  }
  return { launchFile: resolve(cwd, own[0]!), rosArguments };
}

/** Runs the node until the launch file's duration ends or SIGINT; the process's exit status (2: unusable input). */
export async function runRosNode(argv: readonly string[], cwd: string = process.cwd(), log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  try {
    const cmd = parseRosNodeArgs(argv, cwd);
    useRosArguments(cmd.rosArguments);
    await runLaunch(cmd.launchFile, { quiet: true, console: false }, log);
    return 0;
  } catch (err) {
    if (err instanceof UserError) {
      console.error(`swarmguard-ros2: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
