// When an injection acts, in seconds as an operator writes it (launch file, console, dashboard), turned
// into control ticks once for every way in: start after a delay, last a while, optionally intermittent (on
// for `on` s, off for `off` s, repeated), and on one robot or several at once (one injection each).
import type { Injection } from './trial.js';
import { UserError } from '../core/user-error.js';

export interface TimingSpec {
  /** Start, s from now (the run's start for a launch file; the next tick for the console). */
  at: number;
  /** How long it spans, s. */
  duration: number;
  /** Intermittent: on for `on` s, then off for `off` s, again and again (both or neither). */
  on?: number;
  off?: number;
}

export type InjectionTicks = Pick<Injection, 'fromTick' | 'toTick' | 'onTicks' | 'offTicks'>;

/**
 * The ticks of an injection starting at tick `now`; `runTicks` (if known) cuts it at the run's end.
 * Throws a RangeError naming the field at fault.
 */
export function injectionTicks(spec: TimingSpec, controlPeriod: number, now = 0, runTicks = Infinity): InjectionTicks {
  const ticks = (s: number) => Math.round(s / controlPeriod);
  if (!(Number.isFinite(spec.at) && spec.at >= 0)) throw new UserError(`at: a start of ${spec.at} s; it must be a number >= 0`);
  if (!(Number.isFinite(spec.duration) && spec.duration > 0)) throw new UserError(`duration: ${spec.duration} s; it must be a number > 0`);
  const fromTick = now + ticks(spec.at);
  if (fromTick >= runTicks) throw new UserError(`at: ${spec.at} s is not within the run's ${Number((runTicks * controlPeriod).toFixed(6))} s`);
  const toTick = Math.min(runTicks, fromTick + ticks(spec.duration));
  if (toTick <= fromTick) throw new UserError(`duration: ${spec.duration} s is shorter than one control tick (${controlPeriod} s)`);
  if ((spec.on === undefined) !== (spec.off === undefined)) throw new UserError('on/off: an intermittent injection needs both on and off (s)');
  if (spec.on === undefined || spec.off === undefined) return { fromTick, toTick };
  const onTicks = ticks(spec.on);
  const offTicks = ticks(spec.off);
  if (!(onTicks >= 1)) throw new UserError(`on: ${spec.on} s is shorter than one control tick (${controlPeriod} s)`);
  if (!(offTicks >= 1)) throw new UserError(`off: ${spec.off} s is shorter than one control tick (${controlPeriod} s)`);
  return { fromTick, toTick, onTicks, offTicks };
}

/** The robot indices of a list of ids, each once; throws naming an unknown or repeated id. */
export function robotIndices(robots: readonly string[], ids: readonly string[]): number[] {
  if (robots.length === 0) throw new UserError('no robot named');
  const seen = new Set<number>();
  for (const id of robots) {
    const i = ids.indexOf(id);
    if (i < 0) throw new UserError(`unknown robot id '${id}' (swarm ids: ${ids.join(', ')})`);
    if (seen.has(i)) throw new UserError(`robot '${id}' is named twice`);
    seen.add(i);
  }
  return [...seen];
}
