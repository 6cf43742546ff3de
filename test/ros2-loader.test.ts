// The lazy rclnodejs loader: it must say exactly what is missing, and never let rclnodejs try to compile itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/config-file.js';
import { findBinding, loadRclnodejs, ros2Availability, ros2Available, Ros2UnavailableError, systemProbe, type Ros2Probe } from '../src/links/ros2/loader.js';
import { loadLaunch } from '../src/launch/launch.js';
import { createLink } from '../src/cli/link-factory.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const PKG = '/opt/app/node_modules/rclnodejs';

function probe(o: { env?: NodeJS.ProcessEnv; files?: string[]; packageDir?: string | null; osCodename?: string | null; arch?: string }): Ros2Probe {
  const files = new Set(o.files ?? []);
  return {
    env: o.env ?? {},
    platform: 'linux',
    arch: o.arch ?? 'x64',
    packageDir: o.packageDir === undefined ? PKG : o.packageDir,
    exists: (p) => files.has(p),
    osCodename: o.osCodename === undefined ? 'noble' : o.osCodename,
  };
}

const JAZZY = { ROS_DISTRO: 'jazzy', AMENT_PREFIX_PATH: '/opt/ros/jazzy' };

describe('rclnodejs availability', () => {
  it('without ROS 2 sourced and without a binding: both named, with the commands that fix them', () => {
    const a = ros2Availability(probe({}));
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.missing).toHaveLength(2);
    expect(a.missing[0]).toMatch(/ROS 2 is not sourced \(ROS_DISTRO and AMENT_PREFIX_PATH unset\)/);
    expect(a.missing[0]).toContain('source /opt/ros/<distro>/setup.bash');
    expect(a.missing[1]).toMatch(/native binding is not built/);
    expect(a.missing[1]).toContain('npm rebuild rclnodejs --ignore-scripts=false');
  });

  it('names the one variable that is unset', () => {
    const a = ros2Availability(probe({ env: { ROS_DISTRO: 'jazzy' }, files: [join(PKG, 'build/Release/rclnodejs.node')] }));
    expect(a).toEqual({ ok: false, missing: [expect.stringMatching(/\(AMENT_PREFIX_PATH unset\)/)] });
  });

  it('sourced with a local build: ready, and that build is what loads', () => {
    const built = join(PKG, 'build/Release/rclnodejs.node');
    expect(ros2Availability(probe({ env: JAZZY, files: [built] }))).toEqual({ ok: true, distro: 'jazzy', binding: built });
  });

  it("sourced Jazzy on Ubuntu noble: rclnodejs's prebuilt binary for that pair is found", () => {
    const prebuilt = join(PKG, 'prebuilds/linux-x64/jazzy-noble-x64-node-rclnodejs.node');
    expect(findBinding(probe({ env: JAZZY, files: [prebuilt] }))).toBe(prebuilt);
    expect(ros2Availability(probe({ env: JAZZY, files: [prebuilt] })).ok).toBe(true);
  });

  it('a prebuilt binary for another distro or OS does not count; the message says which pair is missing', () => {
    const prebuilt = join(PKG, 'prebuilds/linux-x64/jazzy-noble-x64-node-rclnodejs.node');
    const humble = { ROS_DISTRO: 'humble', AMENT_PREFIX_PATH: '/opt/ros/humble' };
    const a = ros2Availability(probe({ env: humble, files: [prebuilt] }));
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.missing).toEqual([expect.stringContaining('not built for ROS 2 humble on noble')]);
    expect(ros2Availability(probe({ env: JAZZY, files: [prebuilt], osCodename: 'bookworm' })).ok).toBe(false);
    expect(ros2Availability(probe({ env: JAZZY, files: [prebuilt], arch: 'arm64' })).ok).toBe(false);
  });

  it('rclnodejs not installed at all', () => {
    const a = ros2Availability(probe({ env: JAZZY, packageDir: null }));
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.missing).toEqual([expect.stringContaining('rclnodejs is not installed')]);
  });

  it('refuses RCLNODEJS_FORCE_BUILD=1, which would compile on import', () => {
    const built = join(PKG, 'build/Release/rclnodejs.node');
    const a = ros2Availability(probe({ env: { ...JAZZY, RCLNODEJS_FORCE_BUILD: '1' }, files: [built] }));
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.missing).toEqual([expect.stringContaining('RCLNODEJS_FORCE_BUILD=1')]);
  });
});

describe('loading rclnodejs where ROS 2 is missing', () => {
  it('rejects with the reasons and does not import (no build folder appears, no compiler runs)', async () => {
    const real = systemProbe();
    const p = { ...real, env: {} };
    const buildDir = real.packageDir ? join(real.packageDir, 'build') : null;
    const before = buildDir ? existsSync(buildDir) : false;
    const err = await loadRclnodejs(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Ros2UnavailableError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/the ros2 link cannot start here:\n {2}- ROS 2 is not sourced/);
    if (buildDir) expect(existsSync(buildDir)).toBe(before);
  });

  it.skipIf(ros2Available())(`swarmguard run of a ros2 launch file fails before any robot moves, naming what is missing${ros2Available() ? ' (skipped: ROS 2 is available here)' : ''}`, async () => {
    const launch = await loadLaunch(join(PROJECT_ROOT, 'launch/ros2-swarm.yaml'));
    const err = await createLink(launch, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Ros2UnavailableError);
    expect((err as Error).message).toContain('ROS 2');
  });
});
