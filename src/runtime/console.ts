// The operator's console during a live run (stdin of the terminal that started it; nothing listens on the
// network): inject an attack into a robot, engage or release the swarm-wide e-stop, hold the robots still.
//   inject <robot-id>[,<robot-id>...] <attack> [seconds] [on=<s> off=<s>]
//     attack: fault:<name>, obs-noise:<eps>, an adversary or policy folder (<dir>@<name>), or an attack module
//     (module:<file> or a .ts/.mts/.js/.mjs path); several robots at once; on/off: intermittent
//   end <robot-id>[,<robot-id>...]   ends the injections running or planned on those robots now
//   onflag [report|isolate|isolate-and-stop]   what a flag does (monitor.onFlag, src/runtime/isolation.ts);
//     without a value it shows the current one
//   estop [reason]   |   release   |   stop   |   start   |   help
import type { ControlAction } from './control.js';
import { UserError } from '../core/user-error.js';
import { ON_FLAG_ACTIONS, parseOnFlag } from './isolation.js';

export type ConsoleCommand = ControlAction | { kind: 'help' } | { kind: 'show-on-flag' };

export const CONSOLE_HELP = `commands: inject <robot-id>[,<robot-id>...] <attack> [seconds=10] [on=<s> off=<s>] | end <robot-id>[,<robot-id>...] | onflag [${ON_FLAG_ACTIONS.join('|')}] | estop [reason] | release | stop | start | help`;

/** Parses one console line; throws a RangeError that says what is wrong. */
export function parseConsoleCommand(line: string): ConsoleCommand | null {
  const words = line.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return null;
  const [verb, ...args] = words as [string, ...string[]];
  switch (verb) {
    case 'inject': {
      const usage = 'usage: inject <robot-id>[,<robot-id>...] <attack> [seconds] [on=<s> off=<s>]';
      const timing: Record<string, number> = {};
      const plain: string[] = [];
      for (const a of args) {
        const m = /^(on|off)=(.*)$/.exec(a);
        if (!m) {
          plain.push(a);
          continue;
        }
        const s = Number(m[2]);
        if (!(Number.isFinite(s) && s > 0)) throw new UserError(`inject: ${m[1]} must be a number of seconds > 0, got '${m[2]}'`);
        timing[m[1]!] = s;
      }
      if (plain.length < 2 || plain.length > 3) throw new UserError(usage);
      if ((timing.on === undefined) !== (timing.off === undefined)) throw new UserError(`inject: on=<s> and off=<s> go together (${usage})`);
      const seconds = plain[2] === undefined ? 10 : Number(plain[2]);
      if (!(Number.isFinite(seconds) && seconds > 0)) throw new UserError(`inject: seconds must be a number > 0, got '${plain[2]}'`);
      return { kind: 'inject', robot: plain[0]!, attack: plain[1]!, seconds, ...timing };
    }
    case 'end':
      if (args.length !== 1) throw new UserError('usage: end <robot-id>[,<robot-id>...]');
      return { kind: 'end-injection', robot: args[0]! };
    case 'onflag':
      if (args.length > 1) throw new RangeError(`usage: onflag [${ON_FLAG_ACTIONS.join('|')}]`);
      return args[0] === undefined ? { kind: 'show-on-flag' } : { kind: 'on-flag', onFlag: parseOnFlag(args[0], 'onflag') };
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
      throw new UserError(`unknown command '${verb}' (${CONSOLE_HELP})`);
  }
}
