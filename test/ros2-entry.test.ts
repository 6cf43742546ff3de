// The ROS 2 node's executable (what launch/swarmguard.launch.py runs through launch_ros) without ROS 2: it takes
// launch_ros's command line (the launch file, then --ros-args ...), resolves a relative launch file against the
// directory it was started in (the caller's), and stops naming what is missing where ROS 2 is not sourced.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/config-file.js';
import { parseRosNodeArgs } from '../src/cli/ros2-node.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const ENTRY = join(PROJECT_ROOT, 'src', 'bin', 'swarmguard-ros2.js');

describe('the ROS 2 node’s command line', () => {
  it('takes the launch file, then everything from --ros-args on as ROS arguments (as launch_ros appends them)', () => {
    // launch_ros's Node: executable, arguments, --ros-args, -r __node:=, -r __ns:=, --params-file / -p, -r remaps.
    const argv = ['run.yaml', '--ros-args', '-r', '__node:=sg', '-r', '__ns:=/lab1', '--params-file', '/tmp/launch_params_x', '-p', 'use_sim_time:=True', '-r', '/epuck_3/cmd_vel:=/robot3/cmd_vel'];
    expect(parseRosNodeArgs(argv, '/home/op/lab')).toEqual({ launchFile: '/home/op/lab/run.yaml', rosArguments: argv.slice(1) });
    // A second --ros-args section stays in the ROS arguments; a lone -- ends them.
    expect(parseRosNodeArgs(['/abs/run.yaml', '--ros-args', '--log-level', 'debug', '--ros-args', '-r', '__ns:=/x'], '/cwd')).toEqual({
      launchFile: '/abs/run.yaml',
      rosArguments: ['--ros-args', '--log-level', 'debug', '--ros-args', '-r', '__ns:=/x'],
    });
    expect(parseRosNodeArgs(['--ros-args', '-r', '__ns:=/x', '--', '../run.yaml'], '/cwd/launch')).toEqual({ launchFile: '/cwd/run.yaml', rosArguments: ['--ros-args', '-r', '__ns:=/x'] });
    expect(parseRosNodeArgs(['run.yaml'], '/cwd')).toEqual({ launchFile: '/cwd/run.yaml', rosArguments: [] });
  });

  it('refuses no launch file, two, or an option of its own, with the usage', () => {
    expect(() => parseRosNodeArgs(['--ros-args', '-r', '__ns:=/x'], '/cwd')).toThrow(ConfigError);
    expect(() => parseRosNodeArgs([], '/cwd')).toThrow(/no launch file given\nusage: swarmguard-ros2\.js <launch\.yaml>/);
    expect(() => parseRosNodeArgs(['a.yaml', 'b.yaml'], '/cwd')).toThrow(/expected one launch file, got 'a\.yaml b\.yaml'/);
    expect(() => parseRosNodeArgs(['--quiet', 'a.yaml'], '/cwd')).toThrow(/expected one launch file, got '--quiet a\.yaml'/);
  });

  it('the executable resolves a relative launch file against its working directory and, without ROS 2, exits 2 naming what is missing', () => {
    const env = { ...process.env };
    delete env.ROS_DISTRO;
    delete env.AMENT_PREFIX_PATH;
    const run = (cwd: string) => spawnSync(process.execPath, [ENTRY, 'ros2-swarm.yaml', '--ros-args', '-r', '__ns:=/lab1', '-p', 'use_sim_time:=true'], { cwd, env, encoding: 'utf8', timeout: 120_000 });
    // From launch/: the shipped launch file is found and read, and the run stops at the ROS 2 check.
    const inLaunch = run(join(PROJECT_ROOT, 'launch'));
    expect(inLaunch.stderr).toMatch(/^swarmguard-ros2: the ros2 link cannot start here:\n {2}- ROS 2 is not sourced/);
    expect(inLaunch.status).toBe(2);
    // From elsewhere: the same relative name is looked for there.
    const elsewhere = mkdtempSync(join(tmpdir(), 'swarmguard-ros2-cwd-'));
    try {
      const r = run(elsewhere);
      expect(r.stderr).toContain(`swarmguard-ros2: ${join(elsewhere, 'ros2-swarm.yaml')}: cannot read file (ENOENT)`);
      expect(r.status).toBe(2);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 240_000);
});
