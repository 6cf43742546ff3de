import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runLaunch } from '../src/cli/run.js';
import { serveTwin } from '../src/cli/twin-serve.js';
import { loadLaunch } from '../src/launch/launch.js';
import { createLink } from '../src/cli/link-factory.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');

function launchFile(body: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'swarmguard-epuck2-launch-')), 'launch.yaml');
  writeFileSync(path, body);
  return path;
}

/** A launch file body with an e-puck2 link for 10 robots; `entry(k)` gives robot k's address keys. */
function body(kind: string, entry: (k: number) => string, extra = '', robots = 10): string {
  const lines = Array.from({ length: robots }, (_, k) => `    epuck-${k}: { ${entry(k)}, start: { x: ${0.2 + 0.16 * k}, y: 1, theta: 1.57 } }`);
  return `swarm: { robots: 10, noise: default }\npolicy: ${MAPPO}\nduration: 3\nlink:\n  kind: ${kind}\n${extra}  robots:\n${lines.join('\n')}\n`;
}

describe('launch files with e-puck2 links', () => {
  it('refuses a missing robot, an unknown one, a start outside the arena, port 0 without a twin, and an unknown link kind, by name', async () => {
    await expect(loadLaunch(launchFile(body('epuck2-wifi', (k) => `port: ${31100 + k}`, '', 9)))).rejects.toThrow(/link\.robots: no entry for epuck-9/);
    await expect(loadLaunch(launchFile(body('epuck2-wifi', (k) => `port: ${31100 + k}`).replace('epuck-3:', 'epuck-33:')))).rejects.toThrow(/unknown robot id\(s\) epuck-33/);
    await expect(loadLaunch(launchFile(body('epuck2-bt', (k) => `device: /dev/rfcomm${k}`).replace('x: 0.2,', 'x: -1,')))).rejects.toThrow(/epuck-0\.start: .* outside/);
    await expect(loadLaunch(launchFile(body('epuck2-wifi', () => 'port: 0')))).rejects.toThrow(/port: 0 is only for an in-process twin/);
    await expect(loadLaunch(launchFile(body('epuck2-zigbee', () => 'port: 1')))).rejects.toThrow(/link\.kind/);
    await expect(loadLaunch(launchFile(body('epuck2-bt', (k) => `port: ${k}`)))).rejects.toThrow(/link\.robots\.epuck-0/);
    const ok = await loadLaunch(launchFile(body('epuck2-bt', (k) => `device: /dev/rfcomm${k}`, '  timeoutMs: 400\n')));
    expect(ok.link).toMatchObject({ kind: 'epuck2-bt', timeoutMs: 400, failuresBeforeReconnect: 3, twin: false });
    expect(ok.mode).toBe('live');
  });

  it('the shipped demo launch files load: 10 robots each with an address and a start pose', async () => {
    for (const [file, kind] of [['demo-wifi.yaml', 'epuck2-wifi'], ['demo-bt.yaml', 'epuck2-bt']] as const) {
      const l = await loadLaunch(join(PROJECT_ROOT, 'launch', file));
      expect(l.link.kind).toBe(kind);
      expect(Object.keys((l.link as { robots: object }).robots)).toEqual(l.settings.robotIds);
      expect(l.safety.obstacleProximity).toBe(300);
    }
  });

  it('swarmguard run drives an in-process protocol twin (twin: true) through the Wi-Fi link: every robot exchanging, no pose missing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'swarmguard-epuck2-runs-'));
    const path = launchFile(`${body('epuck2-wifi', () => 'port: 0', '  twin: true\n')}out: ${out}\nname: wifi-twin\n`);
    const lines: string[] = [];
    const sum = await runLaunch(path, { quiet: true, console: false }, (l) => lines.push(l));
    expect(sum.ticks).toBe(30);
    expect(sum.links).toHaveLength(10);
    for (const h of sum.links!) expect(h.exchanges, h.id).toBeGreaterThanOrEqual(30);
    expect(sum.stops['no-pose']).toBe(0);
    expect(sum.stops['stale-pose']).toBe(0);
    expect(lines.join('\n')).toMatch(/10 robots on link epuck2-wifi/);
    expect(lines.join('\n')).toMatch(/link: \d+ exchanges/);
  });

  it('a run whose folder cannot be created refuses to start and stops the link it opened (the in-process twin closes its ports)', async () => {
    const base = 40000 + Math.floor(Math.random() * 20000);
    const path = launchFile('');
    writeFileSync(join(path, '..', 'blocked'), ''); // a file where the run folders would go
    writeFileSync(path, `${body('epuck2-wifi', (k) => `port: ${base + k}`, '  twin: true\n')}name: no-folder\nout: ${join(path, '..', 'blocked', 'runs')}\n`);
    await expect(runLaunch(path, { quiet: true, console: false }, () => {})).rejects.toThrow(/blocked/);
    const refused = await new Promise<boolean>((resolve) => {
      const sock = connect(base, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(false)));
      sock.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('twin-serve serves a launch file\'s sercom robots on PTYs that the link the same file builds connects to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmguard-pty-'));
    const path = launchFile(body('epuck2-bt', (k) => `device: ${dir}/epuck-${k}`));
    const lines: string[] = [];
    const twin = await serveTwin(path, {}, (l) => lines.push(l));
    try {
      expect(lines.join('\n')).toContain(`${dir}/epuck-9`);
      const launch = await loadLaunch(path);
      const link = await createLink(launch);
      link.start();
      try {
        expect(await link.ready!(10_000)).toEqual([]);
        expect(link.poses()[4]).toMatchObject({ x: expect.closeTo(0.84, 6), y: 1 });
      } finally {
        await link.stop();
      }
    } finally {
      await twin.stop();
    }
  });
});
