// launch/swarmguard.launch.py without ROS 2: a Python harness (helpers/ros2_launch_harness.py) stands in for the
// launch and launch_ros names it uses, generates its description and runs its OpaqueFunction. What is checked is
// the file's own logic: one launch_ros Node whose executable is the ROS 2 node script, the launch YAML resolved
// against the caller's working directory, only the arguments given passed on (so a parent launch file's
// namespace, parameters and use_sim_time stay in force), and no name= or cwd=. That launch_ros turns these into
// `--ros-args -r __ns:= ...` as documented is launch_ros's part, not checked here.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CMD_VEL_TYPES } from '../src/links/ros2/config.js';
import { parseRosNodeArgs } from '../src/cli/ros2-node.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const LAUNCH_PY = join(PROJECT_ROOT, 'launch', 'swarmguard.launch.py');
const HARNESS = join(PROJECT_ROOT, 'test', 'helpers', 'ros2_launch_harness.py');
const SCRIPT = join(PROJECT_ROOT, 'src', 'bin', 'swarmguard-ros2.js');
const SHIPPED_YAML = join(PROJECT_ROOT, 'launch', 'ros2-swarm.yaml');

interface Evaluated {
  arguments: Record<string, string>;
  nodes?: Record<string, unknown>[];
  error?: string;
}

function pythonMissing(): string | null {
  const r = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'python3 is not installed';
}

/** The launch file evaluated with these launch arguments, from `cwd` (where `ros2 launch` would run). */
function evaluate(args: Record<string, string>, cwd = PROJECT_ROOT): Evaluated {
  const r = spawnSync('python3', ['-B', HARNESS, LAUNCH_PY, JSON.stringify(args)], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`harness failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Evaluated;
}

function onlyNode(e: Evaluated): Record<string, unknown> {
  expect(e.error).toBeUndefined();
  expect(e.nodes).toHaveLength(1);
  return e.nodes![0]!;
}

const missing = pythonMissing();

describe.skipIf(missing !== null)(`launch/swarmguard.launch.py${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('compiles', () => {
    const r = spawnSync('python3', ['-B', '-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', LAUNCH_PY], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('by default: one launch_ros Node running the node script on the shipped launch YAML, passing on nothing else', () => {
    const node = onlyNode(evaluate({}));
    expect(node).toEqual({ executable: SCRIPT, arguments: [SHIPPED_YAML], namespace: null, ros_arguments: null, parameters: [], output: 'screen', emulate_tty: true, sigterm_timeout: '10' });
    // launch_ros runs the executable itself: it must be there, executable, and start Node.js.
    accessSync(SCRIPT, constants.X_OK);
    expect(readFileSync(SCRIPT, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('a relative launch_yaml or params_file is the caller’s: resolved against the working directory; a missing one is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-launch-py-'));
    try {
      copyFileSync(SHIPPED_YAML, join(dir, 'mine.yaml'));
      writeFileSync(join(dir, 'params.yaml'), "/**:\n  ros__parameters:\n    telemetry_rate_hz: 2.0\n");
      const node = onlyNode(evaluate({ launch_yaml: 'mine.yaml', params_file: 'params.yaml' }, dir));
      expect(node.arguments).toEqual([join(dir, 'mine.yaml')]);
      expect(node.parameters).toEqual([join(dir, 'params.yaml')]);
      expect(onlyNode(evaluate({ launch_yaml: 'launch/ros2-swarm.yaml' })).arguments).toEqual([SHIPPED_YAML]);
      expect(evaluate({ launch_yaml: 'launch/ros2-swarm.yaml' }, dir).error).toBe(`swarmguard.launch.py: launch_yaml:=launch/ros2-swarm.yaml: no such file (${join(dir, 'launch/ros2-swarm.yaml')})`);
      expect(evaluate({ params_file: 'nope.yaml' }, dir).error).toMatch(/params_file:=nope\.yaml: no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('namespace, node name, use_sim_time and cmd_vel_type when given; bad values refused by name', () => {
    const node = onlyNode(evaluate({ namespace: 'lab1', node_name: 'sg', use_sim_time: 'True', cmd_vel_type: 'geometry_msgs/msg/TwistStamped' }));
    expect(node).toMatchObject({ namespace: 'lab1', ros_arguments: ['-r', '__node:=sg'], parameters: [{ use_sim_time: true }, { cmd_vel_type: 'geometry_msgs/msg/TwistStamped' }] });
    // The name goes as a remapping: with name= launch_ros would key its parameter file by the full node name.
    expect(node).not.toHaveProperty('name');
    expect(node).not.toHaveProperty('cwd');
    expect(onlyNode(evaluate({ use_sim_time: 'false' })).parameters).toEqual([{ use_sim_time: false }]);
    expect(evaluate({ use_sim_time: 'yes' }).error).toBe('swarmguard.launch.py: use_sim_time:=yes: true or false');
    // The launch file offers exactly the types the link knows.
    expect(evaluate({ cmd_vel_type: 'TwistStamped' }).error).toBe(`swarmguard.launch.py: cmd_vel_type:=TwistStamped: one of ${CMD_VEL_TYPES.join(', ')}`);
  });

  it('node_bin runs the script with that Node.js', () => {
    expect(onlyNode(evaluate({ node_bin: '/opt/node-22/bin/node' }))).toMatchObject({ executable: '/opt/node-22/bin/node', arguments: [SCRIPT, SHIPPED_YAML] });
  });

  it('the node script reads the command line launch_ros builds from it: the launch YAML, then the ROS arguments', () => {
    const node = onlyNode(evaluate({ namespace: '/lab1', node_name: 'sg', use_sim_time: 'true' }));
    // launch_ros's Node: [executable, ...arguments, '--ros-args', ...ros_arguments, '--ros-args', -r __ns:=, --params-file <its file>].
    const cmd = [node.executable as string, ...(node.arguments as string[]), '--ros-args', ...(node.ros_arguments as string[]), '--ros-args', '-r', '__ns:=/lab1', '--params-file', '/tmp/launch_params_1'];
    expect(parseRosNodeArgs(cmd.slice(1), '/somewhere')).toEqual({ launchFile: SHIPPED_YAML, rosArguments: cmd.slice(2) });
  });
});
