// Every robot stopped at the end of a run, however it ends (completed, Ctrl-C, SIGTERM, SIGHUP, a fatal error):
// a real e-puck2 keeps executing its last wheel command until it gets another, so the runtime sends each robot
// a zero command before it lets go of the link, and waits (a bounded time) for the link to confirm it where
// the link can:
// - lock-step links (e-puck2 Wi-Fi and Bluetooth: every exchange carries the robot's command and its reply
//   comes back): once the control loop has ended, every exchange after the halt starts carries a stop, so two
//   exchanges completed after it confirm one (the first may have been in flight already). The stop is sent
//   again after each completed exchange and while none completes, so a refused reply or a reconnect cannot
//   swallow it;
// - the sim link: its twin runs in this process, the command it will execute is read back;
// - other links (MQTT, ROS 2) publish the stop; their stop() then closes the connection gracefully, which
//   hands it to the broker or middleware (MQTT: the client's close waits for what it has queued).
import type { RobotLink } from './link.js';

/** confirmed: the link shows the robot got it; sent: handed to the link, which cannot tell; failed: the link refused it. */
export type StopDelivery = 'confirmed' | 'sent' | 'failed';

export interface HaltReport {
  robots: { id: string; stop: StopDelivery; detail?: string }[];
  /** How long the confirmation took, ms. */
  waitedMs: number;
}

/** Links whose every exchange is a command and its reply (src/links/epuck2). */
const LOCK_STEP_KINDS: ReadonlySet<string> = new Set(['epuck2-wifi', 'epuck2-bt']);

/** Lock-step robots whose stop is not confirmed after this long are reported, not waited for. */
export const HALT_TIMEOUT_MS = 3000;
const POLL_MS = 10;
/** With no exchange completing, the stop is sent again this often (a reply refused, a connection reopened). */
const RESEND_MS = 250;

interface CommandReadback {
  commandOf(i: number): readonly [number, number];
}

function readsBack(link: RobotLink): link is RobotLink & CommandReadback {
  return typeof (link as Partial<CommandReadback>).commandOf === 'function';
}

/** Sends every robot a stop and waits (at most timeoutMs) for the link to confirm it where it can. Never throws. */
export async function haltRobots(link: RobotLink, o: { timeoutMs?: number } = {}): Promise<HaltReport> {
  const t0 = performance.now();
  const n = link.ids.length;
  const report: HaltReport['robots'] = link.ids.map((id) => ({ id, stop: 'sent' }));
  const send = (i: number): boolean => {
    try {
      link.send(i, 0, 0);
      return true;
    } catch (err) {
      report[i] = { id: link.ids[i]!, stop: 'failed', detail: (err as Error).message };
      return false;
    }
  };
  const lockStep = LOCK_STEP_KINDS.has(link.kind) && link.health !== undefined;
  const exchanges = () => link.health!().map((h) => h.exchanges);
  const start = lockStep ? exchanges() : [];
  const waiting = new Set<number>();
  for (let i = 0; i < n; i++) if (send(i) && lockStep) waiting.add(i);
  if (readsBack(link)) {
    for (let i = 0; i < n; i++) {
      if (report[i]!.stop === 'failed') continue;
      const [l, r] = link.commandOf(i);
      report[i] = l === 0 && r === 0 ? { id: link.ids[i]!, stop: 'confirmed' } : { id: link.ids[i]!, stop: 'sent', detail: `the twin still has (${l}, ${r})` };
    }
  }
  if (lockStep) {
    const seen = [...start];
    const lastSend = new Array<number>(n).fill(performance.now());
    const deadline = t0 + (o.timeoutMs ?? HALT_TIMEOUT_MS);
    while (waiting.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const now = exchanges();
      for (const i of [...waiting]) {
        if (now[i]! >= start[i]! + 2) {
          waiting.delete(i);
          report[i] = { id: link.ids[i]!, stop: 'confirmed' };
        } else if (now[i]! > seen[i]! || performance.now() - lastSend[i]! >= RESEND_MS) {
          seen[i] = now[i]!;
          lastSend[i] = performance.now();
          if (!send(i)) waiting.delete(i);
        }
      }
    }
    for (const i of waiting) report[i] = { id: link.ids[i]!, stop: 'sent', detail: `no exchange confirmed it within ${(o.timeoutMs ?? HALT_TIMEOUT_MS) / 1000} s` };
  }
  return { robots: report, waitedMs: performance.now() - t0 };
}

/** One line for the terminal: how many robots were stopped, and which were not confirmed. */
export function haltLine(h: HaltReport): string {
  const confirmed = h.robots.filter((r) => r.stop === 'confirmed').length;
  // A robot sent a stop with a detail is one the link could have confirmed and did not.
  const unconfirmed = h.robots.filter((r) => r.stop === 'sent' && r.detail);
  const failed = h.robots.filter((r) => r.stop === 'failed');
  const parts = [`robots stopped: ${h.robots.length - failed.length} of ${h.robots.length} sent a stop`];
  if (confirmed) parts.push(`${confirmed} confirmed by the link`);
  for (const [detail, ids] of byDetail(unconfirmed)) parts.push(`NOT CONFIRMED (${detail}): ${ids.join(', ')}`);
  for (const [detail, ids] of byDetail(failed)) parts.push(`NOT SENT (${detail}): ${ids.join(', ')}`);
  return parts.join('; ');
}

/** Robots grouped by what went wrong, so ten robots out of reach make one clause. */
function byDetail(robots: HaltReport['robots']): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of robots) groups.set(r.detail ?? '', [...(groups.get(r.detail ?? '') ?? []), r.id]);
  return groups;
}
