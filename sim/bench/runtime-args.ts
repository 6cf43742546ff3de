// The options of `npm run bench:runtime` (sim/bench/runtime.ts), how many ticks each size gets, and how the
// largest size served at 10 Hz is read off the measured ones.
import { UserError } from '../../src/core/user-error.js';

export const DEFAULT_SIZES = [10, 100, 1000, 2000];
/** The arena grows with N so that density stays that of 10 robots in 2 m x 2 m. */
export const arenaSide = (robots: number): number => 2 * Math.sqrt(robots / 10);
/** A size is served at 10 Hz when its tick p99 is under the control period. */
export const PERIOD_MS = 100;

export interface RuntimeBenchOptions {
  sizes: number[];
  /** Timed ticks for 10 robots; larger swarms get fewer (ticksFor). */
  ticks: number;
  /** Each size stops timing after this long, s (at least MIN_TICKS ticks are timed whatever it takes). */
  seconds: number;
  /** Bisection steps between the largest size served at 10 Hz and the smallest one not. */
  bisect: number;
  /** Pin each size's process to one core (taskset -c 0) where taskset exists. */
  pin: boolean;
  /**
   * Time the phases in the process's CPU time (user + system, every thread) instead of wall time: what a
   * tick costs, without the time a loaded machine's other processes take from it.
   */
  cpuTime: boolean;
}

export const MIN_TICKS = 3;
export const WARMUP_TICKS = 3;

const FULL: RuntimeBenchOptions = { sizes: DEFAULT_SIZES, ticks: 300, seconds: 20, bisect: 3, pin: true, cpuTime: false };
const QUICK: Omit<RuntimeBenchOptions, 'sizes' | 'pin' | 'cpuTime'> = { ticks: 100, seconds: 6, bisect: 0 };

export const USAGE =
  'usage: npm run bench:runtime -- [--quick] [--sizes 10,100,1000] [--ticks N] [--seconds S] [--bisect STEPS] [--no-pin]\n' +
  '  --quick      fewer ticks (100 for 10 robots), 6 s per size, no bisection\n' +
  '  --sizes      swarm sizes, comma-separated (default 10,100,1000,2000)\n' +
  '  --ticks      timed ticks for 10 robots; a swarm of N gets ticks * sqrt(10 / N), at least 3 (default 300)\n' +
  '  --seconds    stop timing a size after this long, s (default 20)\n' +
  '  --bisect     bisection steps for the largest N served at 10 Hz (default 3)\n' +
  '  --no-pin     do not pin each size to one core\n' +
  '  --cpu-time   time the phases in the process\'s CPU time, not wall time (a loaded machine\'s waits left out)';

function positiveInt(flag: string, v: string | undefined, min = 1): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new UserError(`${flag}: expected an integer >= ${min}, got ${v === undefined ? 'nothing' : `'${v}'`}`);
  return n;
}

/** Parses the command line (the arguments after the script); throws a RangeError naming a bad flag or value. */
export function parseRuntimeBenchArgs(argv: readonly string[]): RuntimeBenchOptions {
  const quick = argv.includes('--quick');
  const o: RuntimeBenchOptions = { ...FULL, ...(quick ? QUICK : {}) };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    const value = () => argv[++k];
    switch (a) {
      case '--quick':
        break;
      case '--no-pin':
        o.pin = false;
        break;
      case '--cpu-time':
        o.cpuTime = true;
        break;
      case '--sizes': {
        const v = value();
        if (!v) throw new UserError('--sizes: expected sizes like 10,100,1000');
        o.sizes = v.split(',').map((s) => positiveInt('--sizes', s.trim(), 2));
        break;
      }
      case '--ticks':
        o.ticks = positiveInt('--ticks', value());
        break;
      case '--seconds':
        o.seconds = positiveInt('--seconds', value());
        break;
      case '--bisect':
        o.bisect = positiveInt('--bisect', value(), 0);
        break;
      default:
        throw new UserError(`unknown option '${a}'\n${USAGE}`);
    }
  }
  o.sizes = [...new Set(o.sizes)].sort((x, y) => x - y);
  return o;
}

/** Timed ticks for a swarm of N: ticks * sqrt(10 / N), fewer for bigger swarms, at least MIN_TICKS. */
export function ticksFor(robots: number, o: Pick<RuntimeBenchOptions, 'ticks'>): number {
  return Math.max(MIN_TICKS, Math.round(o.ticks * Math.sqrt(10 / robots)));
}

/**
 * Where the largest N served at 10 Hz lies, from the sizes measured (refused ones skipped): lo, the largest
 * size below the smallest one not served (null: even the smallest is not), and hi, that smallest one (null:
 * every size is served). A size served above hi does not move the bound (the machine's load varies).
 */
export function servedBounds(sizes: readonly { robots: number; served: boolean; refused: boolean }[]): { lo: number | null; hi: number | null } {
  const measured = sizes.filter((s) => !s.refused).sort((a, b) => a.robots - b.robots);
  const first = measured.findIndex((s) => !s.served);
  if (first < 0) return { lo: measured.at(-1)?.robots ?? null, hi: null };
  return { lo: first > 0 ? measured[first - 1]!.robots : null, hi: measured[first]!.robots };
}
