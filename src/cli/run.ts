// `swarmguard run <launch.yaml>` (npm start runs launch/demo.yaml): a deployed swarm for the launch file's
// duration. Live mode paces ticks to the wall clock with the control scheduler and redraws a status table
// in the terminal; fast mode runs as fast as possible with a progress bar. At the end (or on Ctrl-C) it
// prints a summary comparing the monitor's flags with the ground truth of the injections and writes the run
// folder: events.jsonl (appended as events happen), summary.json, trajectory.svg and suspicion.svg.
// However the run ends - its duration, Ctrl-C, SIGTERM, SIGHUP, a failed tick, an uncaught exception or
// unhandled rejection, an error - it ends through one shutdown: every robot is sent a stop (halt.ts), then
// the services (recorder, dashboard) and the link are stopped and the run folder written. The summary's
// `ended` says how it ended and what the command exits with.
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import { CONSOLE_HELP, parseConsoleCommand } from '../runtime/console.js';
import { RunController } from '../runtime/control.js';
import { RunServices, type RunService } from '../runtime/services.js';
import { OnnxTeam } from '../policy/team.js';
import { loadLaunch, type Launch } from '../launch/launch.js';
import { releaseRun } from '../runtime/run-spec.js';
import { ControlScheduler, type SchedulerStats } from '../runtime/scheduler.js';
import { SimLink } from '../../sim/sim-link.js';
import { createLink, silentRobotsHint } from './link-factory.js';
import { describeRobots, READY_TIMEOUT_MS, type RobotLink } from '../runtime/link.js';
import { Ros2Service } from '../links/ros2/service.js';
import { MqttTelemetry } from '../links/mqtt/service.js';
import { DashboardService } from '../dashboard/service.js';
import { swarmTrial, type TrialRun } from '../runtime/trial.js';
import { RunTally } from '../runtime/run-tally.js';
import { EVENTS_FILE, EventsFile, formatSummary, newRunDir, summaryLines, writeRunFolder, type RunEnding, type RunSummary } from '../runtime/run-folder.js';
import { summariseIsolations } from '../runtime/isolation.js';
import { FoxgloveLiveService } from '../recording/foxglove-live.js';
import { RecorderService } from '../recording/service.js';
import { TerminalStatus } from '../runtime/status-text.js';
import { Interruption } from '../runtime/interruption.js';
import { haltRobots, type HaltReport } from '../runtime/halt.js';
import { join } from 'node:path';

export interface RunOptions {
  /** No status table or progress bar; events as lines. */
  quiet?: boolean;
  /** false: no operator console; otherwise commands (inject, estop, release) are read from stdin when it is a terminal. */
  console?: boolean;
  /** Ends the run early (as Ctrl-C does, exit code 0), e.g. from a test or an embedding program. */
  signal?: AbortSignal;
  /** Serve the live dashboard (true: at the launch file's or the default port; a number: at that port; 0: any free one). */
  dashboard?: boolean | number;
  /** Serve the robots from the link's protocol twin in this process, as `twin: true` in the launch file would. */
  twin?: boolean;
  /** How long a link that connects to robots waits for their first poses, ms. */
  readyTimeoutMs?: number;
  /** Told the link once it is made, before the run starts (the fault campaign, sim/chaos, watches it there). */
  onLink?: (link: RobotLink) => void;
}

export type { RunSummary };

export async function runLaunch(path: string, o: RunOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<RunSummary> {
  // Signals and fatal errors are heard from the start: one that comes while the run is set up ends it before its first tick.
  const stop = new Interruption(o.signal, { fatalErrors: true, log: (l) => log(`swarmguard run: ${l}`) });
  try {
    return await runWith(path, o, log, stop);
  } finally {
    stop.dispose();
  }
}

async function runWith(path: string, o: RunOptions, log: (line: string) => void, stop: Interruption): Promise<RunSummary> {
  const launch = await loadLaunch(path);
  let team: OnnxTeam | null = null;
  try {
    team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    team.setForgetAfter(launch.forgetAfterTicks);
    const s = launch.settings;
    const link = await createLink(launch, log, { twin: o.twin });
    o.onLink?.(link);
    let run: TrialRun;
    const tally = new RunTally(s.robotIds, s);
    let runDir: string;
    let events: EventsFile;
    try {
      // No tick records kept: each tick goes to the services and the tally as it ends (memory flat however long the run).
      run = swarmTrial(s, team, link, { safety: launch.safety, monitor: launch.monitor, onFlag: launch.onFlag, trialMode: launch.trial, injections: launch.injections, seed: launch.seed, keepRecords: false });
      runDir = newRunDir(launch);
      events = new EventsFile(join(runDir, EVENTS_FILE), log);
    } catch (err) {
      await link.stop(); // nothing half-started: the link's connections go with the refusal
      throw err;
    }
    // A link that reads the robots' IR sensors lets the safety layer refuse driving into obstacles.
    log(
      `swarmguard run ${launch.name}: ${s.robotIds.length} robots on ${link.kind === 'sim' ? `the twin (${launch.mode})` : `link ${link.kind}`}, policy ${team.name}` +
        `${team.usesBeliefs ? ' with its belief network' : ''}, ${launch.ticks * s.controlPeriod} s at ${1 / s.controlPeriod} Hz` +
        `${launch.trial ? `, trial with ${launch.injections.length} injection(s)` : ''}`,
    );
    const tty = !o.quiet && process.stderr.isTTY;
    const terminal = new TerminalStatus(log, tty, s.robotIds, s.controlPeriod);
    let printedEvents = 0;
    const flushEvents = () => {
      for (; printedEvents < run.events.length; printedEvents++) terminal.event(run.events[printedEvents]!);
    };
    // The live table: one row per robot with its suspicion bar, flag and the attack compromising it.
    const redraw = () => {
      flushEvents();
      terminal.table(`swarmguard run ${launch.name}: ${(run.tick * s.controlPeriod).toFixed(1)} / ${(launch.ticks * s.controlPeriod).toFixed(0)} s`, run.lastRecord);
    };
    let schedulerStats: SchedulerStats | null = null;
    // Operator actions (console, dashboard, ROS 2, MQTT) go through one controller; its attacks are
    // released, stdin let go and every service stopped, however the run ends.
    const control = new RunController(run, s);
    const services = new RunServices(log);
    let rl: ReturnType<typeof createInterface> | null = null;
    let reported = 0;
    let failure: { error: unknown } | null = null;
    let tickError: Error | null = null;
    let halt: HaltReport | undefined;
    const ending = (): RunEnding => {
      if (failure) return { by: 'error', exitCode: 1, error: (failure.error as Error)?.message ?? String(failure.error) };
      if (!stop.cause) return { by: 'completed', exitCode: 0 };
      const error = stop.fatalError ?? (stop.cause === 'tick-failed' ? tickError : null);
      return { by: stop.cause, exitCode: stop.exitCode, ...(error ? { error: error.message } : {}) };
    };
    const summarise = (): RunSummary => ({
      runDir,
      ticks: run.tick,
      outcomes: tally.outcomes(run.events),
      uncompromised: tally.uncompromised(),
      stops: { ...run.parts.safety.stops },
      scheduler: schedulerStats,
      links: link.health?.() ?? null,
      interrupted: stop.interrupted || failure !== null,
      ended: ending(),
      ...(halt ? { halt } : {}),
      isolations: summariseIsolations(run.events, s.robotIds, (t) => tally.compromisedAt(t), run.tick, s.controlPeriod, run.response.onFlag),
    });
    // Every tick to the tally; its record to the services (built only if there are any), its events to them
    // and to events.jsonl.
    const afterTick = () => {
      tally.add(run.snapshot, run.injections.map((inj) => inj.robot));
      const fresh = run.events.slice(reported);
      events.append(fresh);
      if (services.running > 0 && run.lastRecord) services.tick(run.lastRecord, fresh);
      reported = run.events.length;
    };
    try {
      await services.start(servicesFor(launch, o), { launch, run, control, policy: { name: team.name, dir: launch.policyDir, files: team.fileHashes }, runDir, log });
      if (launch.mode === 'fast') {
        const bar = o.quiet ? null : new SingleBar({ format: ' {bar} {value}/{total} ticks | ETA {eta_formatted}', stream: process.stderr, hideCursor: true });
        bar?.start(launch.ticks, 0);
        while (run.tick < launch.ticks && !stop.interrupted) {
          await run.step();
          afterTick();
          // Fast mode is the sim link's only (the launch file allows it for no other kind).
          if (link instanceof SimLink) link.advance();
          if (o.quiet) flushEvents();
          if (run.tick % 10 === 0) {
            bar?.update(run.tick);
            await new Promise((r) => setImmediate(r)); // let signals be heard
          }
        }
        bar?.stop();
        flushEvents();
      } else {
        // The operator's console: commands from this terminal only.
        rl = o.console !== false && process.stdin.isTTY ? createInterface({ input: process.stdin }) : null;
        rl?.on('line', (line) => {
          void (async () => {
            try {
              const cmd = parseConsoleCommand(line);
              if (!cmd) return;
              if (cmd.kind === 'help') log(CONSOLE_HELP);
              else if (cmd.kind === 'show-on-flag') log(`console: onflag ${control.state.onFlag}`);
              else await control.apply(cmd, 'console');
            } catch (err) {
              log(`console: ${(err as Error).message}`);
            }
          })();
        });
        if (rl) log(`console: ${CONSOLE_HELP}`);
        link.start();
        // A link that connects to robots: the first tick waits (a little, and not past a signal) for their first
        // poses. Robots that report later stay stopped until they do (a twin-serve started after the run's embedded broker, say).
        const waitMs = o.readyTimeoutMs ?? READY_TIMEOUT_MS;
        const silent = (await Promise.race([link.ready?.(waitMs) ?? Promise.resolve([]), aborted(stop.signal)])) ?? [];
        if (silent.length) {
          const hint = silent.length === s.robotIds.length ? ` ${silentRobotsHint(launch, { twin: o.twin })}` : '';
          log(`swarmguard run: no pose within ${waitMs / 1000} s from ${describeRobots(link, silent)}: they stay stopped until they report.${hint}`);
        }
        const scheduler = new ControlScheduler(
          s.controlPeriod * 1000,
          async () => {
            if (run.tick >= launch.ticks || stop.interrupted) return;
            await run.step();
            afterTick();
            if (run.tick % 5 === 0) redraw();
            else if (o.quiet) flushEvents();
          },
          undefined,
          (err) => {
            tickError ??= err as Error;
            stop.interrupt('tick-failed');
            log(`swarmguard run: a control tick failed, stopping: ${(err as Error).message}`);
          },
        );
        await scheduler.runUntil(() => run.tick >= launch.ticks || stop.interrupted);
        schedulerStats = scheduler.stats;
        redraw();
      }
    } catch (err) {
      failure = { error: err };
    }
    // The shutdown, however the run ended: the robots first, then what the run fed, then its folder.
    rl?.close();
    halt = await haltRobots(link);
    await settle(control.close(), 'releasing the operator controls', log);
    // The services (a dashboard's viewers) are told the run is over, with the summary the terminal prints.
    const ended = ending();
    let lines: string[] | null = null;
    try {
      lines = summaryLines(summarise(), launch);
    } catch (err) {
      log(`swarmguard run: the summary failed: ${(err as Error).message}`);
    }
    await services.stop({ reason: ended.by === 'completed' ? 'completed' : ended.exitCode === 1 ? 'failed' : 'interrupted', summary: lines });
    await settle(link.stop(), 'stopping the link', log);
    events.append(run.events.slice(reported));
    events.close();
    let summary: RunSummary | null = null;
    try {
      summary = summarise();
      if (!events.complete) events.rewrite(run.events);
      writeRunFolder(summary, launch, team.name, tally.history, run.events, { eventsWritten: true });
      for (const line of formatSummary(summary, launch)) log(line);
    } catch (err) {
      if (!failure) throw err;
      log(`swarmguard run: writing the run folder failed: ${(err as Error).message}`);
    }
    if (failure) throw failure.error;
    return summary!;
  } finally {
    await team?.release();
    await releaseRun(launch);
  }
}

/** Resolves (to null) once `signal` fires: a wait that an interruption cuts short. */
function aborted(signal: AbortSignal): Promise<null> {
  return new Promise((resolve) => (signal.aborted ? resolve(null) : signal.addEventListener('abort', () => resolve(null), { once: true })));
}

/** A shutdown step that must not keep the next ones from running: its failure is logged. */
async function settle(step: Promise<void>, what: string, log: (line: string) => void): Promise<void> {
  try {
    await step;
  } catch (err) {
    log(`swarmguard run: ${what} failed: ${(err as Error).message}`);
  }
}

/**
 * The services a launch file asks for (dashboard, recording, ROS 2 and MQTT telemetry), one line each, in
 * the order they start (and the reverse of the order their ticks matter in: none depends on another).
 */
function servicesFor(launch: Launch, o: RunOptions): RunService[] {
  const services: RunService[] = [];
  if (launch.link.kind === 'ros2') services.push(new Ros2Service());
  if (launch.link.kind === 'mqtt' || launch.mqtt) services.push(new MqttTelemetry(launch.mqtt));
  if (launch.record) services.push(new RecorderService(launch.record));
  services.push(...DashboardService.wanted(launch.dashboard, o.dashboard));
  if (launch.foxglove) services.push(new FoxgloveLiveService(launch.foxglove));
  return services;
}
