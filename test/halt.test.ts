// haltRobots: the stop every robot is sent at the end of a run, and when a link's confirmation can be
// trusted. A fake lock-step link (one exchange at a time per robot, a newer command replacing a waiting
// one, as src/links/epuck2/channel.ts does) checks the rule: confirmed only once an exchange that carried
// a stop has completed, even with an old command in flight when the halt begins.
import { afterEach, describe, expect, it } from 'vitest';
import { haltLine, haltRobots } from '../src/runtime/halt.js';
import type { LinkHealth, RobotLink } from '../src/runtime/link.js';
import { SimLink } from '../sim/sim-link.js';
import { settings } from './helpers.js';

type Command = readonly [number, number];

/** Lock-step robots: one command in flight each, completed every `everyMs` unless the robot is silent. */
class FakeLockStepLink implements RobotLink {
  readonly kind = 'epuck2-wifi';
  readonly inFlight: (Command | null)[];
  readonly waiting: (Command | null)[];
  /** Per robot, the commands of the exchanges completed, in order. */
  readonly executed: Command[][];
  private readonly exchanges: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly ids: readonly string[],
    inFlight: (Command | null)[],
    private readonly silent: ReadonlySet<number> = new Set(),
    everyMs = 5,
  ) {
    this.inFlight = [...inFlight];
    this.waiting = ids.map(() => null);
    this.executed = ids.map(() => []);
    this.exchanges = ids.map(() => 0);
    this.timer = setInterval(() => this.completeExchanges(), everyMs);
  }

  private completeExchanges(): void {
    this.ids.forEach((_, i) => {
      const c = this.inFlight[i];
      if (!c || this.silent.has(i)) return;
      this.executed[i]!.push(c);
      this.exchanges[i]!++;
      this.inFlight[i] = this.waiting[i]!;
      this.waiting[i] = null;
    });
  }

  send(i: number, left: number, right: number): void {
    if (this.inFlight[i]) this.waiting[i] = [left, right];
    else this.inFlight[i] = [left, right];
  }

  health(): LinkHealth[] {
    return this.ids.map((id, i) => ({ id, connected: true, exchanges: this.exchanges[i]!, latencyMs: { p50: 0, p99: 0, max: 0 }, rejected: {}, timeouts: 0, reconnects: 0, coalesced: 0 }));
  }

  poses() {
    return this.ids.map(() => null);
  }
  now() {
    return performance.now();
  }
  start() {}
  async stop() {
    clearInterval(this.timer);
  }
}

const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.stop();
});

describe('haltRobots', () => {
  it('on a lock-step link, confirms a robot only once an exchange carrying its stop has completed, an old command in flight or not', async () => {
    // Exchanges slower than the halt's polling: a confirmation taken from the old command's exchange would show.
    const link = new FakeLockStepLink(['a', 'b', 'c'], [[0.5, 0.5], null, [-0.3, 0.2]], new Set(), 40);
    open.push(link);
    const report = await haltRobots(link);
    expect(report.robots).toEqual([
      { id: 'a', stop: 'confirmed' },
      { id: 'b', stop: 'confirmed' },
      { id: 'c', stop: 'confirmed' },
    ]);
    for (const [i, done] of link.executed.entries()) {
      // By the time it was confirmed, the robot had executed a stop, and nothing but stops after it.
      const firstStop = done.findIndex(([l, r]) => l === 0 && r === 0);
      expect(firstStop, link.ids[i]).toBeGreaterThanOrEqual(0);
      expect(done.slice(firstStop).every(([l, r]) => l === 0 && r === 0), link.ids[i]).toBe(true);
    }
    // The old commands were completed first; the stop came after them.
    expect(link.executed[0]![0]).toEqual([0.5, 0.5]);
    expect(haltLine(report)).toBe('robots stopped: 3 of 3 sent a stop; 3 confirmed by the link');
  });

  it('names the robots whose link never confirms it (out of reach) after its bounded wait, grouped', async () => {
    const link = new FakeLockStepLink(['a', 'b', 'c'], [null, [0.4, 0.4], [0.4, 0.4]], new Set([1, 2]));
    open.push(link);
    const report = await haltRobots(link, { timeoutMs: 200 });
    expect(report.robots.map((r) => r.stop)).toEqual(['confirmed', 'sent', 'sent']);
    expect(haltLine(report)).toBe('robots stopped: 3 of 3 sent a stop; 1 confirmed by the link; NOT CONFIRMED (no exchange confirmed it within 0.2 s): b, c');
  });

  it('reports a robot the link refuses a command for, and sends the others theirs', async () => {
    const link = new FakeLockStepLink(['a', 'b'], [null, null]);
    open.push(link);
    const send = link.send.bind(link);
    link.send = (i, l, r) => {
      if (i === 0) throw new RangeError('epuck2-wifi: the channel is closed');
      send(i, l, r);
    };
    const report = await haltRobots(link);
    expect(report.robots).toEqual([
      { id: 'a', stop: 'failed', detail: 'epuck2-wifi: the channel is closed' },
      { id: 'b', stop: 'confirmed' },
    ]);
    expect(haltLine(report)).toMatch(/1 of 2 sent a stop.*NOT SENT \(epuck2-wifi: the channel is closed\): a/);
  });

  it('on a link that cannot confirm (MQTT, ROS 2), sends every robot a stop and does not wait', async () => {
    const sent: [number, number, number][] = [];
    const link: RobotLink = { kind: 'mqtt', ids: ['a', 'b'], poses: () => [null, null], send: (i, l, r) => void sent.push([i, l, r]), now: () => 0, start() {}, stop: async () => {} };
    const report = await haltRobots(link);
    expect(sent).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(report.robots).toEqual([
      { id: 'a', stop: 'sent' },
      { id: 'b', stop: 'sent' },
    ]);
    expect(haltLine(report)).toBe('robots stopped: 2 of 2 sent a stop');
  });

  it("on the sim link, reads the stop back from the twin's command", async () => {
    const link = new SimLink(settings({ robots: 3 }), 'fast', 1);
    for (let i = 0; i < 3; i++) link.send(i, 0.7, -0.2);
    expect(link.commandOf(1)[0]).toBeCloseTo(0.7, 6);
    const report = await haltRobots(link);
    expect(report.robots.every((r) => r.stop === 'confirmed')).toBe(true);
    for (let i = 0; i < 3; i++) expect(link.commandOf(i)).toEqual([0, 0]);
  });
});
