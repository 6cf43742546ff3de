// Links to robots: each a small adapter behind one interface. The runtime reads the latest pose of every
// robot (with the time it was measured) and sends normalised wheel commands; it never assumes a link
// delivers on time, which is why the safety layer checks every pose's age.
import type { TimedPose } from './safety.js';

export interface RobotLink {
  readonly kind: string;
  readonly ids: readonly string[];
  /** The latest pose of every robot (robot i's at i; null if none yet). */
  poses(): (TimedPose | null)[];
  /** Sends robot i its command for the coming tick. */
  send(i: number, left: number, right: number): void;
  /** True poses, where the link knows them (the twin): ground truth for pictures, never for controllers. */
  truePoses?(): { x: number; y: number; theta: number }[];
  /** Clock the link stamps poses with, ms. */
  now(): number;
  start(): void;
  stop(): Promise<void>;
}
