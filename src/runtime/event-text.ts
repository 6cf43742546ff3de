// One line of text per run event: what the terminal prints, the recording's log channel and replay show.
import type { RunEvent } from './trial.js';

/** The event as a line: time since the start, what happened, to whom. */
export function describeEvent(e: RunEvent, period: number): string {
  const t = `${(e.tick * period).toFixed(1).padStart(6)} s`;
  switch (e.kind) {
    case 'injection-start':
      return `${t}  INJECT   ${e.robot} compromised by ${e.attack}`;
    case 'injection-end':
      return `${t}  RESTORE  ${e.robot} back under its policy`;
    case 'flag':
      return `${t}  FLAG     ${e.robot} suspicion ${e.suspicion.toFixed(2)} (consistency ${e.evidence.consistency.toFixed(2)}${e.evidence.belief === null ? '' : `, belief ${e.evidence.belief.toFixed(2)} from ${e.evidence.observers} observers`})`;
    case 'clear':
      return `${t}  CLEAR    ${e.robot} suspicion ${e.suspicion.toFixed(2)}`;
    case 'stop':
      return `${t}  STOP     ${e.robot}: ${e.reason}`;
    case 'e-stop':
      return `${t}  E-STOP   ${e.reason}`;
    case 'release':
      return `${t}  RELEASE  e-stop released (${e.reason})`;
    case 'pause':
      return `${t}  STOP     every robot held (${e.reason})`;
    case 'resume':
      return `${t}  START    robots under their policies again (${e.reason})`;
  }
}
