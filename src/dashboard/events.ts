// The events the page's log shows, made from the run's: each with its line as the terminal prints it
// (describeEvent, so page and terminal name every action alike), and a swarm-wide stop as one line. The
// safety layer reports every robot an e-stop (or an operator's stop) halts as an event of its own: those
// are folded into the e-stop (or stop) event of the same batch as a count, so one e-stop is one line.
import type { StopReason } from '../runtime/safety.js';
import { describeEvent } from '../runtime/status-text.js';
import type { RunEvent } from '../runtime/trial.js';

/** The swarm-wide action each swarm-wide stop reason comes from. */
const SWARM_STOPS: Partial<Record<StopReason, 'e-stop' | 'pause'>> = { 'e-stop': 'e-stop', paused: 'pause' };

/** Robots stopped by a swarm-wide stop with no e-stop or stop event in their batch (a release while stopped). */
export interface GroupedStops {
  tick: number;
  kind: 'stops';
  reason: StopReason;
  robots: string[];
}

/**
 * An event as the page gets it, with its line: the run's own (an e-stop or stop with the number of robots
 * it halted in `robots`), or stops grouped.
 */
export type ShownEvent = ((RunEvent & { robots?: number }) | GroupedStops) & { text: string };

/** One batch of the run's events (one tick's) as the page shows them; injections only in trial mode. */
export function eventsToShow(events: readonly RunEvent[], o: { trialMode: boolean; controlPeriod: number }): ShownEvent[] {
  const visible = events.filter((e) => visibleEvent(e, o.trialMode));
  // The robots a swarm-wide stop halts are counted on the batch's (last) e-stop or stop event.
  const owners = new Map<'e-stop' | 'pause', RunEvent>();
  for (const e of visible) if (e.kind === 'e-stop' || e.kind === 'pause') owners.set(e.kind, e);
  const halted = new Map<RunEvent, number>();
  const groups = new Map<StopReason, GroupedStops>();
  const out: (RunEvent | GroupedStops)[] = [];
  for (const e of visible) {
    const from = e.kind === 'stop' ? SWARM_STOPS[e.reason] : undefined;
    if (e.kind !== 'stop' || from === undefined) {
      out.push(e);
      continue;
    }
    const owner = owners.get(from);
    if (owner) {
      halted.set(owner, (halted.get(owner) ?? 0) + 1);
      continue;
    }
    let group = groups.get(e.reason);
    if (!group) {
      group = { tick: e.tick, kind: 'stops', reason: e.reason, robots: [] };
      groups.set(e.reason, group);
      out.push(group);
    }
    group.robots.push(e.robot);
  }
  return out.map((e) => (e.kind === 'stops' ? describeGroup(e, o.controlPeriod) : describeOne(e, halted.get(e) ?? 0, o.controlPeriod)));
}

function describeOne(e: RunEvent, halted: number, period: number): ShownEvent {
  const text = describeEvent(e, period);
  return halted > 0 ? { ...e, robots: halted, text: `${text}: ${robotCount(halted)} stopped` } : { ...e, text };
}

/** The terminal's STOP line, with the robots counted instead of named one by one. */
function describeGroup(g: GroupedStops, period: number): ShownEvent {
  return { ...g, text: describeEvent({ tick: g.tick, kind: 'stop', robot: robotCount(g.robots.length), reason: g.reason }, period) };
}

function robotCount(n: number): string {
  return `${n} robot${n === 1 ? '' : 's'}`;
}

/** The events a client is shown: injections (the ground truth) and attack errors only in trial mode. */
export function visibleEvent(e: RunEvent, trialMode: boolean): boolean {
  return trialMode || (e.kind !== 'injection-start' && e.kind !== 'injection-end' && e.kind !== 'attack-error');
}
