// The live run's dashboard: a DashboardServer fed by the run's ticks, its controls going through the run's
// RunController. The injection control offers the faults, observation noise, the attacks the launch file
// schedules and the policy folder's own trained adversaries (trial mode only).
import { readdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FAULT_NAMES } from '../attacks/faults.js';
import { isBuiltinAttack, resolveAttackRef } from '../attacks/attack.js';
import { ConfigError } from '../core/config-file.js';
import type { RunSpec } from '../runtime/run-spec.js';
import type { RunContext, RunEnd, RunService } from '../runtime/services.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { dashboardFor, type DashboardConfig } from './config.js';
import { DashboardServer } from './server.js';

/** Attack name shown on the page -> the reference RunController.apply loads. */
export function offeredAttacks(launch: Pick<RunSpec, 'source' | 'policyDir' | 'injections' | 'trial'>): Record<string, string> {
  if (!launch.trial) return {};
  const offered: Record<string, string> = {};
  const base = dirname(resolve(launch.source));
  // A policy folder that ships its training adversaries: one entry per adversary file.
  for (const f of readdirSync(launch.policyDir).filter((f) => /^adversary-.+\.onnx$/.test(f))) {
    const name = f.slice('adversary-'.length, -'.onnx'.length);
    offered[`${basename(launch.policyDir)}@${name}`] = `${launch.policyDir}@${name}`;
  }
  for (const inj of launch.injections) {
    if (isBuiltinAttack(inj.ref)) offered[inj.ref] = inj.ref;
    else offered[basename(inj.ref.replace(/\/+$/, ''))] = resolveAttackRef(inj.ref, base);
  }
  for (const f of FAULT_NAMES) offered[`fault:${f}`] = `fault:${f}`;
  offered['obs-noise:0.5'] ??= 'obs-noise:0.5';
  return offered;
}

export class DashboardService implements RunService {
  readonly name = 'dashboard';
  private current: DashboardServer | null = null;

  constructor(private readonly config: DashboardConfig) {}

  /** The dashboard a run asks for (launch file block, `--dashboard [port]`): none or one. */
  static wanted(file: DashboardConfig | undefined, flag: boolean | number | undefined): DashboardService[] {
    const config = dashboardFor(file, flag);
    return config ? [new DashboardService(config)] : [];
  }

  /** The running server (tests and embedding programs: its url, token and stats). */
  get server(): DashboardServer | null {
    return this.current;
  }

  async start(ctx: RunContext): Promise<void> {
    const { launch } = ctx;
    const s = launch.settings;
    const server = new DashboardServer({
      title: launch.name,
      arena: { width: s.arenaWidth, height: s.arenaHeight },
      ids: s.robotIds,
      bodyRadius: s.robots.map((r) => r.bodyRadius),
      controlPeriod: s.controlPeriod,
      trialMode: launch.trial,
      flagAt: launch.monitor.flagAt,
      clearAt: launch.monitor.clearAt,
      cusumThreshold: launch.monitor.consistency.threshold,
      onFlag: launch.onFlag,
      controller: ctx.control,
      attacks: offeredAttacks(launch),
      host: this.config.host,
      viewing: this.config.viewing,
      port: this.config.port,
      token: this.config.token,
      log: ctx.log,
    });
    try {
      await server.listen();
    } catch (err) {
      // The port or address the launch file (or --dashboard) names cannot be had: bad input, named.
      throw new ConfigError(`${launch.source}: dashboard: ${(err as Error).message}`);
    }
    this.current = server;
    const view = server.openView ? 'viewing open on this machine' : 'viewing needs the token';
    ctx.log(`dashboard: ${server.url(true)}  (${view}; controls need the token in that URL)`);
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.current?.tick(record, events);
  }

  /** The run is over (`end`): the viewers are told how it ended before they are let go. Without it, only this service goes. */
  async stop(end?: RunEnd): Promise<void> {
    const s = this.current;
    this.current = null;
    if (end) s?.end(end);
    await s?.close();
  }
}
