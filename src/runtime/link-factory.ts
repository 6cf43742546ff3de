// The link a launch file asks for. One case per link kind; each kind's options live in its own module. Links
// that need optional software (rclnodejs for ros2) load it here, only when asked for, and fail naming what is missing.
import { createEpuck2Link } from '../links/epuck2/factory.js';
import type { Launch } from './launch.js';
import type { RobotLink } from './link.js';
import { SimLink } from './sim-link.js';

export async function createLink(launch: Launch, log: (line: string) => void = (l) => console.log(l)): Promise<RobotLink> {
  const cfg = launch.link;
  switch (cfg.kind) {
    case 'sim':
      return new SimLink(launch.settings, launch.mode, launch.seed);
    case 'epuck2-wifi':
    case 'epuck2-bt':
      return createEpuck2Link(cfg, launch.settings, launch.source, log);
    case 'ros2': {
      const { Ros2Link } = await import('../links/ros2/link.js');
      return Ros2Link.open(cfg, launch.settings.robotIds, launch.settings.robots, log, `${launch.source}: link`);
    }
    case 'mqtt': {
      const { createMqttLink } = await import('../links/mqtt/factory.js');
      return createMqttLink(cfg, launch.name, launch.settings, launch.source, log);
    }
  }
}
