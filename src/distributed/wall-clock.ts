// The clock of live distributed processes: wall time (Date.now), the clock the bus client stamps arrivals
// with, so a pose's age is measured on one clock.
import type { LiveClock } from '../../sim/live.js';

export const wallClock: LiveClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
