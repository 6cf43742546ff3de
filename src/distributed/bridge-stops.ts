// What a robot's bridge (the distributed feed for the twin; a real robot's bridge alike) lets through to the
// wheels: its agent's command, unless one of two stops holds the robot there, each lifted only by whoever set it.
//   the monitor's hold: the isolation mask (`.../isolation`, isolate-and-stop), lifted by a mask that no longer
//                       holds the robot (a clear, a switch to report);
//   the operator's e-stop: `swarmguard operator <launch> estop <robot|all>` (`.../control/feed`), lifted by
//                       `release <robot|all>`.
// A release never lifts the monitor's hold and a mask never lifts an e-stop: the robot drives again, with its
// agent's next command, only once neither stops it. Both are enforced here and never left to the robot's agent,
// which may be the compromised party.
import { HELD_STILL } from '../core/observation.js';

export class BridgeStops {
  /** Per robot, the e-stop's reason while it is in force (null: not e-stopped). */
  private readonly eStops: (string | null)[];

  /** `mask`: the monitor's isolation mask as the bridge holds it now (HELD_STILL at a held robot), read live. */
  constructor(private readonly mask: Uint8Array) {
    this.eStops = new Array<string | null>(mask.length).fill(null);
  }

  /** Held still by the monitor's mask (isolate-and-stop). */
  held(i: number): boolean {
    return this.mask[i] === HELD_STILL;
  }

  /** The operator's e-stop reason, or null. */
  eStopped(i: number): string | null {
    return this.eStops[i]!;
  }

  /** Whether the robot's wheels are zeroed whatever its agent commands. */
  stops(i: number): boolean {
    return this.held(i) || this.eStops[i] !== null;
  }

  eStop(i: number, reason: string): void {
    this.eStops[i] = reason;
  }

  /** Lifts the operator's e-stop only; whether the robot drives again is stops(i) (the monitor may still hold it). */
  release(i: number): void {
    this.eStops[i] = null;
  }

  /** The wheels the robot executes for its agent's command. */
  wheels(i: number, left: number, right: number): [number, number] {
    return this.stops(i) ? [0, 0] : [left, right];
  }
}
