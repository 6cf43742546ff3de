// The recorder as a run service: every run writes <run folder>/run.mcap unless its launch file says
// `record: false` (`record: { compression: none }`: chunks not compressed). One line in servicesFor (src/cli/run.ts) plugs it in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSpec } from '../runtime/run-spec.js';
import type { RunContext, RunService } from '../runtime/services.js';
import type { RunEvent, TickRecord } from '../runtime/trial.js';
import { McapRunWriter, type RecordedSettings, type RecordingHeader, type RecordingOptions } from './writer.js';

export const RECORDING_FILE = 'run.mcap';

/** The launch file resolved, as the recording's settings attachment holds it. */
export function recordedSettings(launch: RunSpec): RecordedSettings {
  const ids = launch.settings.robotIds;
  return {
    swarm: launch.settings,
    safety: launch.safety,
    monitor: launch.monitor,
    injections: launch.injections.map((i) => ({ robot: ids[i.robot]!, fromTick: i.fromTick, toTick: i.toTick, attack: i.ref })),
    ticks: launch.ticks,
    seed: launch.seed,
    link: launch.link,
  };
}

/** The recording's header of a run of a launch file. */
export function runHeader(launch: RunSpec, policy: RunContext['policy']): RecordingHeader {
  return {
    kind: 'run',
    name: launch.name,
    robotIds: launch.settings.robotIds,
    controlPeriod: launch.settings.controlPeriod,
    linkKind: launch.link.kind,
    mode: launch.mode,
    trial: launch.trial,
    source: launch.source,
    launchText: readFileSync(launch.source, 'utf8'),
    settings: recordedSettings(launch),
    policy,
  };
}

/**
 * Records a run that was assembled after the fact (the distributed monitor gathers its ticks from the bus):
 * every event reported with the record of its own tick, those after the last record (tick `lastTick`, -1:
 * none) with the last one. The records are read one at a time (the monitor's come from its spool file).
 */
export async function recordFinishedRun(
  runDir: string,
  launch: RunSpec,
  options: RecordingOptions,
  policy: RunContext['policy'],
  records: Iterable<TickRecord>,
  lastTick: number,
  events: readonly RunEvent[],
): Promise<string> {
  const writer = await McapRunWriter.open(join(runDir, RECORDING_FILE), runHeader(launch, policy), options);
  const reportedAt = new Map<number, RunEvent[]>();
  for (const e of events) {
    const t = Math.min(e.tick, lastTick);
    if (reportedAt.has(t)) reportedAt.get(t)!.push(e);
    else reportedAt.set(t, [e]);
  }
  for (const r of records) writer.tick(r, reportedAt.get(r.tick) ?? []);
  await writer.close();
  return writer.path;
}

export class RecorderService implements RunService {
  readonly name = 'recorder';
  private writer: McapRunWriter | null = null;

  /** `options`: the launch file's `record:` block (compression); the writer's defaults without it. */
  constructor(private readonly options?: RecordingOptions) {}

  /** The file being written (null before start). */
  get path(): string | null {
    return this.writer?.path ?? null;
  }

  async start(ctx: RunContext): Promise<void> {
    this.writer = await McapRunWriter.open(join(ctx.runDir, RECORDING_FILE), runHeader(ctx.launch, ctx.policy), this.options);
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    this.writer?.tick(record, events);
  }

  async stop(): Promise<void> {
    await this.writer?.close();
  }
}
