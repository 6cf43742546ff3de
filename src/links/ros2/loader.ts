// Loads rclnodejs only where it can work. rclnodejs is an optional dependency installed without its install
// scripts; importing it loads its native binding at module load and, when it finds none, runs a source build
// (node-gyp against a sourced ROS 2) right there. So nothing imports it until this module has checked that
// ROS 2 is sourced and a binding for it exists; otherwise the error names what is missing and how to fix it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as RclnodejsModule from 'rclnodejs';
import { ConfigError } from '../../core/config-file.js';

export type Rclnodejs = typeof RclnodejsModule;

/** What the check looks at; tests pass their own. */
export interface Ros2Probe {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  arch: string;
  /** The folder of the installed rclnodejs package, or null if it is not installed. */
  packageDir: string | null;
  exists(path: string): boolean;
  /** Ubuntu's codename (VERSION_CODENAME in /etc/os-release), which rclnodejs's prebuilt bindings are keyed by. */
  osCodename: string | null;
}

export type Ros2Availability = { ok: true; distro: string; binding: string } | { ok: false; missing: string[] };

/** The compiled addon rclnodejs would load, or null: a local build first, then a prebuilt one for this distro and OS. */
export function findBinding(p: Ros2Probe): string | null {
  if (!p.packageDir) return null;
  for (const dir of ['build/Release', 'build/Debug']) {
    const file = join(p.packageDir, dir, 'rclnodejs.node');
    if (p.exists(file)) return file;
  }
  const distro = p.env.ROS_DISTRO;
  if (p.platform === 'linux' && distro && p.osCodename) {
    // rclnodejs's own naming: prebuilds/linux-<arch>/<distro>-<codename>-<arch>-node-rclnodejs.node
    const file = join(p.packageDir, 'prebuilds', `linux-${p.arch}`, `${distro}-${p.osCodename}-${p.arch}-node-rclnodejs.node`);
    if (p.exists(file)) return file;
  }
  return null;
}

/** Whether rclnodejs can be imported without compiling anything, and if not, everything that is missing. */
export function ros2Availability(p: Ros2Probe): Ros2Availability {
  const missing: string[] = [];
  const distro = p.env.ROS_DISTRO?.trim();
  const sourced = Boolean(distro) && Boolean(p.env.AMENT_PREFIX_PATH?.trim());
  if (!sourced) {
    const unset = ['ROS_DISTRO', 'AMENT_PREFIX_PATH'].filter((k) => !p.env[k]?.trim());
    missing.push(`ROS 2 is not sourced (${unset.join(' and ')} unset): run 'source /opt/ros/<distro>/setup.bash' (humble, jazzy, kilted, lyrical or rolling) in this shell first`);
  }
  if (!p.packageDir) {
    missing.push("rclnodejs is not installed (an optional dependency): run 'npm install' with ROS 2 sourced");
  } else if (!findBinding(p)) {
    missing.push(
      `rclnodejs's native binding is not built${distro ? ` for ROS 2 ${distro}${p.osCodename ? ` on ${p.osCodename}` : ''}` : ''} ` +
        `(no build/Release/rclnodejs.node and no matching prebuilt binary): with ROS 2 sourced, run 'npm rebuild rclnodejs --ignore-scripts=false'`,
    );
  }
  if (p.env.RCLNODEJS_FORCE_BUILD === '1') missing.push('RCLNODEJS_FORCE_BUILD=1 makes rclnodejs compile itself when imported: unset it and build once with npm rebuild');
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, distro: distro!, binding: findBinding(p)! };
}

function readOsCodename(): string | null {
  try {
    return /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.trim().replace(/^"|"$/g, '') || null;
  } catch {
    return null;
  }
}

function installedPackageDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('rclnodejs/package.json'));
  } catch {
    return null;
  }
}

/** This process and machine. */
export function systemProbe(): Ros2Probe {
  return { env: process.env, platform: process.platform, arch: process.arch, packageDir: installedPackageDir(), exists: existsSync, osCodename: readOsCodename() };
}

/** A launch file asks for ROS 2 where it cannot run: reported like any other unusable configuration. */
export class Ros2UnavailableError extends ConfigError {
  constructor(readonly missing: readonly string[]) {
    super(`the ros2 link cannot start here:\n  - ${missing.join('\n  - ')}`);
  }
}

/** True where the ROS 2 link can run (what the ROS 2 tests and benchmark are gated on). */
export function ros2Available(p: Ros2Probe = systemProbe()): boolean {
  return ros2Availability(p).ok;
}

let loading: Promise<Rclnodejs> | null = null;

/** Imports rclnodejs once, after the check; throws Ros2UnavailableError naming what is missing instead. */
export function loadRclnodejs(p: Ros2Probe = systemProbe()): Promise<Rclnodejs> {
  const a = ros2Availability(p);
  if (!a.ok) return Promise.reject(new Ros2UnavailableError(a.missing));
  // Its ESM build has one default export; the declarations describe that object as the module.
  loading ??= import('rclnodejs').then((m) => {
    const rcl = (m as unknown as { default?: Rclnodejs }).default ?? m;
    // rclnodejs shuts every context down on SIGINT; swarmguard handles Ctrl-C itself (it stops the robots with
    // zero commands and writes its run folder, which needs the node alive until then).
    rcl.removeSignalHandlers();
    return rcl;
  });
  return loading;
}

let users = 0;
let ready: Promise<Rclnodejs> | null = null;
let rosArguments: readonly string[] = [];

/**
 * The ROS arguments rclnodejs is initialised with (`--ros-args -r __ns:=/lab1 -r __node:=sg -p use_sim_time:=true
 * --params-file f.yaml -r cmd_vel:=...`, as launch_ros passes them): rcl applies them to the node as to any
 * ROS 2 node. Set before the link opens (src/cli/ros2-node.ts does); none by default.
 */
export function useRosArguments(args: readonly string[]): void {
  rosArguments = [...args];
}

/** rclnodejs initialised (its default context, with the ROS arguments), shared by every node in the process; pair with releaseRos(). */
export async function acquireRos(): Promise<Rclnodejs> {
  users++;
  try {
    ready ??= loadRclnodejs().then(async (rcl) => {
      const args = rosArguments;
      try {
        // rcl reads argv[0] as the program, as in any C argv.
        await rcl.init(undefined, ['swarmguard', ...args]);
      } catch (err) {
        if (args.length === 0) throw err;
        throw new ConfigError(`ROS arguments '${args.join(' ')}' refused by rcl: ${(err as Error).message}`);
      }
      return rcl;
    });
    return await ready;
  } catch (err) {
    users--;
    ready = null;
    throw err;
  }
}

/** The last user shuts the context down (a later acquireRos() initialises a new one). */
export async function releaseRos(): Promise<void> {
  if (users === 0) return;
  users--;
  if (users > 0 || !ready) return;
  const rcl = await ready;
  ready = null;
  if (!rcl.isShutdown()) rcl.shutdown();
}

/** Where a node gets its initialised rclnodejs from: this process's (below), or a test's stand-in. */
export interface RosRuntime {
  acquire(): Promise<Rclnodejs>;
  release(): Promise<void>;
}

export const PROCESS_ROS: RosRuntime = { acquire: acquireRos, release: releaseRos };
