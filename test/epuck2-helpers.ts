// Shared by the e-puck2 link tests: a protocol twin and the real client link against it, and a live run of
// the shipped policy over that link paced by the control scheduler.
import { execFileSync } from 'node:child_process';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import { ProtocolTwin, type TwinProtocol } from '../sim/protocol-twin/twin.js';
import { DEFAULT_CHANNEL, type ChannelSettings } from '../src/links/epuck2/channel.js';
import { Epuck2Link, type Epuck2LinkOptions } from '../src/links/epuck2/link.js';
import { DEFAULT_ODOMETRY } from '../src/links/epuck2/odometry.js';
import { sercomProtocol } from '../src/links/epuck2/sercom-codec.js';
import { serialConnector, tcpConnector } from '../src/links/epuck2/transports.js';
import { wifiProtocol } from '../src/links/epuck2/wifi-codec.js';
import type { OnnxTeam } from '../src/policy/team.js';
import { ControlScheduler } from '../src/runtime/scheduler.js';
import { swarmTrial, type TrialRun } from '../src/runtime/trial.js';

/** n robots on a circle around the arena's centre, facing along it (well apart, inside the walls). */
export function circleStarts(s: SwarmSettings): { x: number; y: number; heading: number }[] {
  const n = s.robotIds.length;
  const r = 0.35 * Math.min(s.arenaWidth, s.arenaHeight);
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return { x: s.arenaWidth / 2 + r * Math.cos(a), y: s.arenaHeight / 2 + r * Math.sin(a), heading: a + Math.PI / 2 };
  });
}

export interface TwinAndLink {
  twin: ProtocolTwin;
  link: Epuck2Link;
  logs: string[];
  stop(): Promise<void>;
}

/** A protocol twin serving the swarm and the client link connected to it (started); `options`: the link's clock and fault log. */
export async function twinAndLink(
  s: SwarmSettings,
  protocol: TwinProtocol,
  channel: Partial<ChannelSettings> = {},
  tag = 'test',
  options: Pick<Epuck2LinkOptions, 'now' | 'faultLog'> = {},
): Promise<TwinAndLink> {
  const starts = circleStarts(s);
  const endpoints = protocol === 'wifi' ? starts.map(() => 0) : s.robotIds.map((id) => `/tmp/swarmguard-${tag}-${process.pid}-${id}`);
  const twin = await ProtocolTwin.start(s, { protocol, seed: 3, startPoses: starts, endpoints });
  const logs: string[] = [];
  const link = new Epuck2Link({
    kind: protocol === 'wifi' ? 'epuck2-wifi' : 'epuck2-bt',
    protocol: protocol === 'wifi' ? wifiProtocol : sercomProtocol,
    channel: { ...DEFAULT_CHANNEL, ...channel },
    odometry: DEFAULT_ODOMETRY,
    log: (l) => logs.push(l),
    ...options,
    robots: s.robotIds.map((id, k) => ({
      id,
      params: s.robots[k]!,
      start: { x: starts[k]!.x, y: starts[k]!.y, theta: starts[k]!.heading },
      connector: protocol === 'wifi' ? tcpConnector('127.0.0.1', twin.endpoints[k] as number, 2000) : serialConnector(twin.endpoints[k] as string, 115200),
    })),
  });
  link.start();
  return {
    twin,
    link,
    logs,
    async stop() {
      await link.stop();
      await twin.stop();
    },
  };
}

/** Resolves once every robot has a pose (its first exchange is done). */
export async function firstPoses(link: Epuck2Link, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (link.poses().some((p) => p === null)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no first pose within ${timeoutMs} ms: ${JSON.stringify(link.health())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The shipped policy driving the swarm over the link for `ticks` control ticks at the control rate; onTick runs before each tick. */
export async function liveRun(s: SwarmSettings, team: OnnxTeam, link: Epuck2Link, ticks: number, onTick: (tick: number) => Promise<void> | void = () => {}): Promise<TrialRun> {
  const run = swarmTrial(s, team, link, { trialMode: false, injections: [], seed: 1 });
  let failure: unknown = null;
  const scheduler = new ControlScheduler(
    s.controlPeriod * 1000,
    async () => {
      if (run.tick >= ticks) return;
      await onTick(run.tick);
      await run.step();
    },
    undefined,
    (err) => (failure = err),
  );
  scheduler.start();
  while (run.tick < ticks && failure === null) await new Promise((r) => setTimeout(r, 50));
  await scheduler.stop();
  if (failure) throw failure;
  return run;
}

/** Per robot: the stop events of a run, by reason. */
export function stopsByRobot(run: TrialRun): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(run.parts.ids.map((id) => [id, []]));
  for (const e of run.events) if (e.kind === 'stop') out[e.robot]!.push(e.reason);
  return out;
}

/** Whether socat (PTY pairs for the Bluetooth serial twin) is installed. */
export function hasSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
