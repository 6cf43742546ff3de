// `swarmguard run <launch.yaml>` (npm start runs launch/demo.yaml): a deployed swarm for the launch file's
// duration. Live mode paces ticks to the wall clock with the control scheduler and redraws a status table
// in the terminal; fast mode runs as fast as possible with a progress bar. At the end (or on Ctrl-C) it
// prints a summary comparing the monitor's flags with the ground truth of the injections and writes the run
// folder: events.jsonl, summary.json, trajectory.svg and suspicion.svg.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import { attackName } from '../../sim/team-eval.js';
import { CONSOLE_HELP, parseConsoleCommand } from '../runtime/console.js';
import { RunController } from '../runtime/control.js';
import { RunServices, type RunService } from '../runtime/services.js';
import { trajectorySvg } from '../../sim/picture.js';
import { OnnxTeam } from '../policy/team.js';
import { loadLaunch, releaseLaunch, type Launch } from '../runtime/launch.js';
import { ControlScheduler, type SchedulerStats } from '../runtime/scheduler.js';
import { SimLink } from '../runtime/sim-link.js';
import { createLink } from '../runtime/link-factory.js';
import type { LinkHealth, RobotLink } from '../runtime/link.js';
import { Ros2Service } from '../links/ros2/service.js';
import { MqttTelemetry } from '../links/mqtt/service.js';
import { DashboardService } from '../dashboard/service.js';
import { suspicionSvg } from '../runtime/suspicion-picture.js';
import { outcomes, swarmTrial, type RobotOutcome, type RunEvent, type TickRecord, type TrialRun } from '../runtime/trial.js';
import { RecorderService } from '../recording/service.js';
import { describeEvent, robotRows, TerminalStatus } from '../runtime/status-text.js';

export interface RunOptions {
  /** No status table or progress bar; events as lines. */
  quiet?: boolean;
  /** false: no operator console; otherwise commands (inject, estop, release) are read from stdin when it is a terminal. */
  console?: boolean;
  /** Ends the run early (as Ctrl-C does), e.g. from a test or an embedding program. */
  signal?: AbortSignal;
  /** Serve the live dashboard (true: at the launch file's or the default port; a number: at that port; 0: any free one). */
  dashboard?: boolean | number;
}

export interface RunSummary {
  runDir: string;
  ticks: number;
  outcomes: RobotOutcome[];
  stops: Record<string, number>;
  scheduler: SchedulerStats | null;
  /** Per-robot link statistics, where the link keeps them. */
  links: LinkHealth[] | null;
  interrupted: boolean;
}

/** A run folder's time stamp, e.g. 20260105-141503. */
export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The live table: one row per robot with its suspicion bar, flag, compromise and safety state. */
function statusTable(run: TrialRun, launch: Launch): string[] {
  const rec = run.records.at(-1);
  const header = `swarmguard run ${launch.name}: ${(run.tick * launch.settings.controlPeriod).toFixed(1)} / ${(launch.ticks * launch.settings.controlPeriod).toFixed(0)} s`;
  const rows = robotRows(run.parts.ids, rec, (i) => {
    const inj = launch.injections.find((x) => x.robot === i);
    return inj ? attackName(inj.attack) : null;
  });
  return [header, ...rows];
}

export async function runLaunch(path: string, o: RunOptions = {}, log: (line: string) => void = (l) => console.log(l)): Promise<RunSummary> {
  const launch = await loadLaunch(path);
  let team: OnnxTeam | null = null;
  try {
    team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    team.setForgetAfter(launch.forgetAfterTicks);
    const s = launch.settings;
    const link = await createLink(launch, log);
    const run = swarmTrial(s, team, link, { safety: launch.safety, monitor: launch.monitor, trialMode: launch.trial, injections: launch.injections, seed: launch.seed });
    // A link that reads the robots' IR sensors lets the safety layer refuse driving into obstacles.
    log(
      `swarmguard run ${launch.name}: ${s.robotIds.length} robots on ${link.kind === 'sim' ? `the twin (${launch.mode})` : `link ${link.kind}`}, policy ${team.name}` +
        `${team.usesBeliefs ? ' with its belief network' : ''}, ${launch.ticks * s.controlPeriod} s at ${1 / s.controlPeriod} Hz` +
        `${launch.trial ? `, trial with ${launch.injections.length} injection(s)` : ''}`,
    );
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
    };
    process.on('SIGINT', onSigint);
    if (o.signal?.aborted) interrupted = true;
    o.signal?.addEventListener('abort', onSigint, { once: true });
    const tty = !o.quiet && process.stderr.isTTY;
    const terminal = new TerminalStatus(log, tty);
    let printedEvents = 0;
    const flushEvents = () => {
      for (; printedEvents < run.events.length; printedEvents++) terminal.line(describeEvent(run.events[printedEvents]!, s.controlPeriod));
    };
    const redraw = () => {
      flushEvents();
      terminal.table(statusTable(run, launch));
    };
    let schedulerStats: SchedulerStats | null = null;
    const runDir = newRunDir(launch);
    // Operator actions (console, dashboard, ROS 2, MQTT) go through one controller; its attacks are
    // released, stdin let go and every service stopped, however the run ends.
    const control = new RunController(run, s);
    const services = new RunServices(log);
    let rl: ReturnType<typeof createInterface> | null = null;
    let reported = 0;
    const afterTick = () => {
      const rec = run.records.at(-1);
      if (rec) services.tick(rec, run.events.slice(reported));
      reported = run.events.length;
    };
    try {
      await services.start(servicesFor(launch, link, o), { launch, run, control, policy: { name: team.name, dir: launch.policyDir, files: team.fileHashes }, runDir, log });
      if (launch.mode === 'fast') {
        const bar = o.quiet ? null : new SingleBar({ format: ' {bar} {value}/{total} ticks | ETA {eta_formatted}', stream: process.stderr, hideCursor: true });
        bar?.start(launch.ticks, 0);
        while (run.tick < launch.ticks && !interrupted) {
          await run.step();
          afterTick();
          // Fast mode is the sim link's only (the launch file allows it for no other kind).
          if (link instanceof SimLink) link.advance();
          if (o.quiet) flushEvents();
          if (run.tick % 10 === 0) {
            bar?.update(run.tick);
            await new Promise((r) => setImmediate(r)); // let Ctrl-C be heard
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
              else await control.apply(cmd, 'console');
            } catch (err) {
              log(`console: ${(err as Error).message}`);
            }
          })();
        });
        if (rl) log(`console: ${CONSOLE_HELP}`);
        link.start();
        // A link that connects to robots: the first tick waits (a little) for their first poses.
        const silent = (await link.ready?.(5000)) ?? [];
        if (silent.length) log(`swarmguard run: no pose yet from ${silent.join(', ')}: they stay stopped until they report`);
        const scheduler = new ControlScheduler(
          s.controlPeriod * 1000,
          async () => {
            if (run.tick >= launch.ticks || interrupted) return;
            await run.step();
            afterTick();
            if (run.tick % 5 === 0) redraw();
            else if (o.quiet) flushEvents();
          },
          undefined,
          (err) => {
            interrupted = true;
            log(`swarmguard run: a control tick failed, stopping: ${(err as Error).message}`);
          },
        );
        scheduler.start();
        while (run.tick < launch.ticks && !interrupted) await new Promise((r) => setTimeout(r, 50));
        await scheduler.stop();
        schedulerStats = scheduler.stats;
        redraw();
      }
    } finally {
      rl?.close();
      await control.close();
      await services.stop();
      process.off('SIGINT', onSigint);
      o.signal?.removeEventListener('abort', onSigint);
      await link.stop();
    }
    const summary: RunSummary = { runDir, ticks: run.tick, outcomes: outcomes(run), stops: { ...run.parts.safety.stops }, scheduler: schedulerStats, links: link.health?.() ?? null, interrupted };
    writeRunFolder(summary, launch, team.name, run.records, run.events);
    for (const line of formatSummary(summary, launch)) log(line);
    return summary;
  } finally {
    await team?.release();
    await releaseLaunch(launch);
  }
}

/** Everything a run produced, in its folder: events.jsonl, trajectory.svg, suspicion.svg, summary.json. */
export function writeRunFolder(summary: RunSummary, launch: Launch, policyName: string, records: readonly TickRecord[], events: readonly RunEvent[]): void {
  const s = launch.settings;
  const runDir = summary.runDir;
  writeFileSync(join(runDir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''));
  const N = s.robotIds.length;
  const traj = new Float64Array(records.length * N * 3);
  records.forEach((r, t) => (r.truePoses ?? r.poses).forEach((p, i) => traj.set([p.x, p.y, p.theta], (t * N + i) * 3)));
  const victims = [...new Set(launch.injections.map((i) => i.robot))];
  writeFileSync(
    join(runDir, 'trajectory.svg'),
    trajectorySvg({
      arenaWidth: s.arenaWidth,
      arenaHeight: s.arenaHeight,
      robotIds: s.robotIds,
      bodyRadius: s.robots.map((r) => r.bodyRadius),
      trajectory: traj,
      steps: records.length,
      victim: victims.length === 1 ? victims[0]! : -1,
      victimLabel: launch.injections.map((i) => `${s.robotIds[i.robot]}: ${attackName(i.attack)}`).join(', ') || undefined,
      title: `${launch.name}: ${policyName}`,
      gatherDiameter: s.gatherDiameter,
    }),
  );
  writeFileSync(
    join(runDir, 'suspicion.svg'),
    suspicionSvg({ title: `${launch.name}: monitor suspicion per robot`, ids: s.robotIds, records, events, controlPeriod: s.controlPeriod, flagAt: launch.monitor.flagAt, clearAt: launch.monitor.clearAt }),
  );
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ launch: launch.source, policy: policyName, ...summary }, null, 2)}\n`);
}

/** A run folder's path: `<out>/<name>-<time>` (created). */
export function newRunDir(launch: Launch): string {
  const runDir = join(launch.outDir, `${launch.name}-${stamp()}`);
  mkdirSync(runDir, { recursive: true });
  return runDir;
}

/**
 * The services a launch file asks for (dashboard, recording, ROS 2 and MQTT telemetry), one line each, in
 * the order they start (and the reverse of the order their ticks matter in: none depends on another).
 */
function servicesFor(launch: Launch, link: RobotLink, o: RunOptions): RunService[] {
  void link;
  const services: RunService[] = [];
  if (launch.link.kind === 'ros2') services.push(new Ros2Service());
  if (launch.link.kind === 'mqtt' || launch.mqtt) services.push(new MqttTelemetry());
  if (launch.record) services.push(new RecorderService());
  services.push(...DashboardService.wanted(launch.dashboard, o.dashboard));
  return services;
}

/** The final summary: flags against the ground truth, safety stops, scheduler health, where the files are. */
export function formatSummary(sum: RunSummary, launch: Launch): string[] {
  const p = launch.settings.controlPeriod;
  const lines = [`\nsummary (${(sum.ticks * p).toFixed(1)} s${sum.interrupted ? ', interrupted' : ''}):`];
  for (const o of sum.outcomes) {
    if (o.compromisedTicks === 0 && o.falseFlags === 0) continue;
    const what = o.compromisedTicks > 0 ? `compromised for ${(o.compromisedTicks * p).toFixed(1)} s` : 'never compromised';
    const caught = o.compromisedTicks === 0 ? '' : o.detectionDelayTicks === null ? ', NOT flagged' : `, flagged after ${(o.detectionDelayTicks * p).toFixed(1)} s`;
    lines.push(`  ${o.robot.padEnd(10)} ${what}${caught}${o.falseFlags ? `, ${o.falseFlags} false flag(s)` : ''}`);
  }
  const compromised = sum.outcomes.filter((o) => o.compromisedTicks > 0);
  const detected = compromised.filter((o) => o.detectionDelayTicks !== null).length;
  const falseFlags = sum.outcomes.reduce((s, o) => s + o.falseFlags, 0);
  lines.push(`  detected ${detected} of ${compromised.length} compromised robot(s); ${falseFlags} false flag(s)`);
  const stops = Object.entries(sum.stops).filter(([, n]) => n > 0);
  lines.push(`  safety stops (robot-ticks): ${stops.length ? stops.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`);
  if (sum.scheduler) {
    const sc = sum.scheduler;
    lines.push(`  control ticks: ${sc.ticks}, latency mean ${sc.latencyMs.mean.toFixed(1)} ms / max ${sc.latencyMs.max.toFixed(1)} ms, jitter max ${sc.jitterMs.max.toFixed(1)} ms, overruns ${sc.overruns}, skipped ${sc.skippedTicks}`);
  }
  if (sum.links) {
    const total = (f: (h: LinkHealth) => number) => sum.links!.reduce((a, h) => a + f(h), 0);
    const refused = total((h) => Object.values(h.rejected).reduce((a, n) => a + n, 0));
    const p99 = Math.max(...sum.links.map((h) => (Number.isFinite(h.latencyMs.p99) ? h.latencyMs.p99 : 0)));
    lines.push(`  link: ${total((h) => h.exchanges)} exchanges, worst robot p99 ${p99.toFixed(1)} ms, ${total((h) => h.timeouts)} timeouts, ${refused} refused replies, ${total((h) => h.reconnects)} reconnects`);
  }
  lines.push(`  run folder: ${sum.runDir} (${existsSync(sum.runDir) ? readdirSync(sum.runDir).sort().join(', ') : 'not written'})`);
  return lines;
}
