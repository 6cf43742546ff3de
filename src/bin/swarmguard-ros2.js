#!/usr/bin/env node
// swarmguard as a ROS 2 node (src/cli/ros2-node.ts): `swarmguard-ros2.js <launch.yaml> [--ros-args ...]`, the executable
// of launch/swarmguard.launch.py. Runs the TypeScript through tsx's loader, as src/bin/swarmguard.js does.
import { register } from 'tsx/esm/api';

register();
const { runRosNode } = await import('../cli/ros2-node.ts');
process.exitCode = await runRosNode(process.argv.slice(2));
