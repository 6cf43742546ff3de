import { afterEach, describe, expect, it } from 'vitest';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { firstPoses, hasSocat, liveRun, stopsByRobot, twinAndLink, type TwinAndLink } from './epuck2-helpers.js';
import { shippedMappo } from './helpers.js';

const socat = hasSocat();

const { settings, team } = shippedMappo();
let open: TwinAndLink | null = null;
afterEach(async () => {
  await open?.stop();
  open = null;
});

describe.skipIf(!socat)(`e-puck2 Bluetooth sercom link against the protocol twin over PTY pairs${socat ? '' : ' (skipped: socat is not installed)'}`, () => {
  it('serves every tick of the shipped policy at 10 Hz for 10 robots; a silent robot is stopped alone and resumes', async () => {
    open = await twinAndLink(settings, 'sercom', { timeoutMs: 150, backoff: { initialMs: 50, maxMs: 400 } }, 'serial-run');
    const { link, twin } = open;
    await firstPoses(link);
    const victim = 6;
    const ticks = 120;
    let ageAtEnd = Number.NaN;
    const run = await liveRun(settings, team(), link, ticks, (t) => {
      if (t === 60) twin.robots.setSilent(victim, true);
      if (t === 85) twin.robots.setSilent(victim, false);
      if (t === ticks - 1) ageAtEnd = link.now() - link.poses()[victim]!.stampMs;
    });
    await new Promise((r) => setTimeout(r, 300));
    const health = link.health();
    for (const [k, h] of health.entries()) {
      if (k === victim) continue;
      expect(h, h.id).toMatchObject({ connected: true, exchanges: ticks + 1, coalesced: 0, timeouts: 0, reconnects: 0 });
    }
    const stops = stopsByRobot(run);
    expect(stops['epuck-6']).toContain('stale-pose');
    for (const [id, reasons] of Object.entries(stops)) if (id !== 'epuck-6') expect(reasons.filter((r) => r === 'stale-pose' || r === 'no-pose'), id).toEqual([]);
    expect(health[victim]!.timeouts).toBeGreaterThanOrEqual(3);
    expect(health[victim]!.reconnects).toBeGreaterThanOrEqual(1);
    expect(health[victim]!.connected).toBe(true);
    // Back in the loop: its pose at the last tick was as fresh as the others' (one period old).
    expect(ageAtEnd).toBeLessThan(run.parts.safety.settings.maxPoseAgeMs);
    expect(run.events.filter((e) => e.kind === 'stop' && e.robot === 'epuck-6' && e.tick >= 100 && (e.reason === 'stale-pose' || e.reason === 'no-pose'))).toEqual([]);
  });

  it('refuses short, long and corrupted replies by reason, and reopens a device that disappears and comes back', async () => {
    const s = resolveSwarmConfig({ robots: 3, noise: 'off' });
    open = await twinAndLink(s, 'sercom', { backoff: { initialMs: 50, maxMs: 300 } }, 'serial-faults');
    const { link, twin } = open;
    await firstPoses(link);
    const faults = ['short', 'long', 'corrupt'] as const;
    for (let t = 0; t < 30; t++) {
      if (t % 8 === 4) twin.robots.injectFault(2, faults[(t - 4) / 8]!);
      for (let i = 0; i < 3; i++) link.send(i, 0.4, 0.3);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(link.health()[2]!.rejected).toEqual({ short: 1, long: 1, 'bad-header': 0, 'implausible-steps': 1, 'stray-bytes': 0 });
    expect(Object.values(link.health()[0]!.rejected).every((n) => n === 0)).toBe(true);
    for (let i = 0; i < 3; i++) link.send(i, 0, 0);
    await new Promise((r) => setTimeout(r, 300));
    const truth = twin.live.getTruePoses()[2]!;
    expect(Math.hypot(truth.x - link.poses()[2]!.x, truth.y - link.poses()[2]!.y)).toBeLessThan(0.01);
    // The robot is switched off (its PTY pair disappears), then on again.
    await twin.disconnect(1);
    for (let t = 0; t < 8; t++) {
      for (let i = 0; i < 3; i++) link.send(i, 0, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(link.health()[1]!.connected).toBe(false);
    await twin.restore(1);
    for (let t = 0; t < 15; t++) {
      for (let i = 0; i < 3; i++) link.send(i, 0, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(link.health()[1]).toMatchObject({ connected: true, reconnects: 1 });
    expect(link.health()[0]).toMatchObject({ connected: true, reconnects: 0, timeouts: 0 });
  });
});
