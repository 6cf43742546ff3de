// The operator's console during a live run (stdin of the terminal that started it; nothing listens on the
// network): inject an attack into a robot, engage or release the swarm-wide e-stop, hold the robots still.
//   inject <robot-id> <attack> [seconds]    attack: fault:<name>, obs-noise:<eps>, an adversary or policy folder (<dir>@<name>)
//   estop [reason]   |   release   |   stop   |   start   |   help
import type { ControlAction } from './control.js';

export type ConsoleCommand = ControlAction | { kind: 'help' };

export const CONSOLE_HELP = 'commands: inject <robot-id> <attack> [seconds=10] | estop [reason] | release | stop | start | help';

/** Parses one console line; throws a RangeError that says what is wrong. */
export function parseConsoleCommand(line: string): ConsoleCommand | null {
  const words = line.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return null;
  const [verb, ...args] = words as [string, ...string[]];
  switch (verb) {
    case 'inject': {
      if (args.length < 2 || args.length > 3) throw new RangeError(`usage: inject <robot-id> <attack> [seconds]`);
      const seconds = args[2] === undefined ? 10 : Number(args[2]);
      if (!(Number.isFinite(seconds) && seconds > 0)) throw new RangeError(`inject: seconds must be a number > 0, got '${args[2]}'`);
      return { kind: 'inject', robot: args[0]!, attack: args[1]!, seconds };
    }
    case 'estop':
      return { kind: 'estop', reason: args.join(' ') || 'operator' };
    case 'release':
      return { kind: 'release' };
    case 'stop':
      return { kind: 'stop' };
    case 'start':
      return { kind: 'start' };
    case 'help':
      return { kind: 'help' };
    default:
      throw new RangeError(`unknown command '${verb}' (${CONSOLE_HELP})`);
  }
}
