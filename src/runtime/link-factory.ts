// Opens the link a launch file asks for. Links that need optional software (rclnodejs for ros2) load it here,
// only when asked for, and fail with an error naming what is missing.
import type { Launch } from './launch.js';
import type { RobotLink } from './link.js';
import { SimLink } from './sim-link.js';

export async function createLink(launch: Launch, log: (line: string) => void): Promise<RobotLink> {
  const o = launch.link;
  switch (o.kind) {
    case 'sim':
      return new SimLink(launch.settings, o.mode, o.seed);
    case 'ros2': {
      const { Ros2Link } = await import('../links/ros2/link.js');
      return Ros2Link.open(o, launch.settings.robotIds, launch.settings.robots, log, `${launch.source}: link`);
    }
  }
}
