// The calibration drive (`swarmguard calibrate --drive <launch.yaml>`): every robot of the launch file's
// swarm, over its link, drives a fixed script that excites what calibrate fits — straight runs forward and
// back (wheel radius), turns on the spot both ways (wheel distance), arcs, and pauses between them (the
// starts and stops show the latency) — through the safety layer, and the run is recorded like any other
// (kind 'calibration-drive'). Each move is undone by the next, so robots end near where they started.
// On a link that connects to robots, a robot that has not answered within READY_TIMEOUT_MS stops the drive
// before it starts, named with its address: calibrate needs every robot's motion.
import { join } from 'node:path';
import { loadLaunch } from '../launch/launch.js';
import { releaseRun } from '../runtime/run-spec.js';
import { Interruption } from '../runtime/interruption.js';
import { haltLine, haltRobots } from '../runtime/halt.js';
import { newRunDir } from '../runtime/run-folder.js';
import { createLink, silentRobotsHint } from './link-factory.js';
import { describeRobots, READY_TIMEOUT_MS, SilentRobotsError } from '../runtime/link.js';
import type { StopReason } from '../runtime/safety.js';
import { ControlScheduler } from '../runtime/scheduler.js';
import { SimLink } from '../../sim/sim-link.js';
import { describeEvent } from '../runtime/status-text.js';
import { swarmSafety, type RunEvent, type TickRecord } from '../runtime/trial.js';
import { RECORDING_FILE, runHeader } from '../recording/service.js';
import { McapRunWriter } from '../recording/writer.js';
import { UserError } from '../core/user-error.js';

/** One step of the script: both wheels' normalised commands for `seconds`. */
export interface DriveSegment {
  seconds: number;
  left: number;
  right: number;
  what: string;
}

function moves(speed: number): DriveSegment[] {
  const pause: DriveSegment = { seconds: 0.5, left: 0, right: 0, what: 'pause' };
  return [
    { seconds: 1.5, left: speed, right: speed, what: 'forward' }, pause,
    { seconds: 1.5, left: -speed, right: -speed, what: 'back' }, pause,
    { seconds: 2, left: -speed, right: speed, what: 'turn left on the spot' }, pause,
    { seconds: 2, left: speed, right: -speed, what: 'turn right on the spot' }, pause,
    { seconds: 1.5, left: 0.3 * speed, right: speed, what: 'arc left' }, pause,
    { seconds: 1.5, left: -0.3 * speed, right: -speed, what: 'arc left, backwards' }, pause,
  ];
}

/**
 * Still for 1 s, then `repeats` times the moves at half and at 90% speed (26 s each time; more runs average
 * the tracker's noise down). Never full speed: a wheel at its clamp cannot go faster, so its noise only
 * ever slows it and the radius would come out low.
 */
function calibrationDrive(repeats = 4): DriveSegment[] {
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new UserError(`calibration drive: repeats must be an integer >= 1, got ${repeats}`);
  return [{ seconds: 1, left: 0, right: 0, what: 'still' }, ...Array.from({ length: repeats }, () => [...moves(0.5), ...moves(0.9)]).flat()];
}

/** The script as one command per control tick. */
function driveTicks(script: readonly DriveSegment[], controlPeriod: number): DriveSegment[] {
  return script.flatMap((seg) => new Array<DriveSegment>(Math.round(seg.seconds / controlPeriod)).fill(seg));
}

export interface DriveOptions {
  quiet?: boolean;
  signal?: AbortSignal;
  /** The script (default: calibrationDrive(repeats)). */
  script?: readonly DriveSegment[];
  repeats?: number;
  /** Serve the robots from the link's protocol twin in this process (`--twin`). */
  twin?: boolean;
  /** How long to wait for every robot's first pose before refusing to drive, ms. */
  readyTimeoutMs?: number;
}

export interface DriveResult {
  recording: string;
  ticks: number;
  interrupted: boolean;
}

export async function runCalibrationDrive(launchPath: string, o: DriveOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<DriveResult> {
  const launch = await loadLaunch(launchPath);
  try {
    const s = launch.settings;
    if (launch.injections.length) log(`calibration drive: the launch file's ${launch.injections.length} injection(s) are not used`);
    const steps = driveTicks(o.script ?? calibrationDrive(o.repeats), s.controlPeriod);
    const N = s.robotIds.length;
    const link = await createLink(launch, log, { twin: o.twin });
    const paced = !(launch.mode === 'fast' && link instanceof SimLink);
    if (paced) {
      link.start();
      // Calibrate fits every robot, so one that never answers would only fail it after the whole drive: refuse now.
      const waitMs = o.readyTimeoutMs ?? READY_TIMEOUT_MS;
      const silent = (await link.ready?.(waitMs)) ?? [];
      if (silent.length) {
        await link.stop();
        const which = describeRobots(link, silent);
        const message =
          silent.length === N
            ? `no robot answered within ${waitMs / 1000} s: ${which}; nothing was driven. ${silentRobotsHint(launch, { twin: o.twin })}`
            : `no reply within ${waitMs / 1000} s from ${which} (${N - silent.length} of ${N} robots answered); nothing was driven: calibrate fits every robot of the swarm, so switch the silent ones on or leave them out of the launch file's swarm`;
        throw new SilentRobotsError(`calibration drive (${launchPath}): ${message}`);
      }
    }
    const safety = swarmSafety(s, launch.safety, link);
    const header = runHeader(launch, { name: 'calibration-drive', dir: '', files: {} });
    let writer: McapRunWriter;
    try {
      writer = await McapRunWriter.open(join(newRunDir(launch, 'drive'), RECORDING_FILE), {
        ...header,
        kind: 'calibration-drive',
        name: `${launch.name}-drive`,
        trial: false,
        settings: { ...header.settings, injections: [], ticks: steps.length },
      });
    } catch (err) {
      await link.stop(); // nothing half-started: the link's sockets, ports or twin go with the refusal
      throw err;
    }
    log(`calibration drive: ${N} robots on ${link.kind === 'sim' ? `the twin (${launch.mode})` : `link ${link.kind}`}, ${(steps.length * s.controlPeriod).toFixed(0)} s of straight runs, turns on the spot and arcs; recording ${writer.path}`);
    const stop = new Interruption(o.signal, { fatalErrors: true, log: (l) => log(`calibration drive: ${l}`) });
    const lastStop = new Array<StopReason | null>(N).fill(null);
    let tick = 0;
    let current = '';
    const step = () => {
      const now = link.now();
      const timed = link.poses();
      const seg = steps[tick]!;
      if (seg.what !== current && !o.quiet) log(`  ${(tick * s.controlPeriod).toFixed(1).padStart(5)} s  ${(current = seg.what)}`);
      const commands: number[] = [];
      const stopped: (StopReason | null)[] = [];
      const events: RunEvent[] = [];
      for (let i = 0; i < N; i++) {
        const c = safety.filter(i, seg.left, seg.right, timed[i] ?? null, now);
        // Float32, as the runtime's commands are (and the recording keeps them): what is sent is what is recorded.
        const [left, right] = [Math.fround(c.left), Math.fround(c.right)];
        link.send(i, left, right);
        commands.push(left, right);
        stopped.push(c.stopped);
        if (c.stopped !== lastStop[i] && c.stopped !== null) events.push({ tick, kind: 'stop', robot: s.robotIds[i]!, reason: c.stopped });
        lastStop[i] = c.stopped;
      }
      const record: TickRecord = {
        tick,
        timeMs: now,
        poses: timed.map((p) => (p && [p.x, p.y, p.theta].every(Number.isFinite) ? { x: p.x, y: p.y, theta: p.theta } : { x: Number.NaN, y: Number.NaN, theta: Number.NaN })),
        truePoses: link.truePoses?.() ?? null,
        intended: Array.from({ length: 2 * N }, (_, k) => Math.fround(k % 2 ? seg.right : seg.left)),
        commands,
        stopped,
        belief: new Array<null>(N).fill(null),
        consistency: new Array<number>(N).fill(0),
        suspicion: new Array<number>(N).fill(0),
        flagged: new Array<boolean>(N).fill(false),
        compromised: [],
      };
      writer.tick(record, events);
      for (const e of events) log(describeEvent(e, s.controlPeriod));
      tick++;
    };
    try {
      if (!paced && link instanceof SimLink) {
        while (tick < steps.length && !stop.interrupted) {
          step();
          link.advance();
          if (tick % 50 === 0) await new Promise((r) => setImmediate(r));
        }
      } else {
        const scheduler = new ControlScheduler(
          s.controlPeriod * 1000,
          () => {
            if (tick < steps.length && !stop.interrupted) step();
          },
          undefined,
          (err) => {
            stop.interrupt();
            log(`calibration drive: a tick failed, stopping: ${(err as Error).message}`);
          },
        );
        await scheduler.runUntil(() => tick >= steps.length || stop.interrupted);
      }
    } finally {
      // Robots stand still however the drive ends (signals and fatal errors included).
      const halt = await haltRobots(link);
      if (halt.robots.some((r) => r.detail)) log(`calibration drive: ${haltLine(halt)}`);
      stop.dispose();
      await writer.close();
      await link.stop();
    }
    return { recording: writer.path, ticks: tick, interrupted: stop.interrupted };
  } finally {
    await releaseRun(launch);
  }
}
