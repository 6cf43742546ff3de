// The run's ROS 2 side besides the robots, on the link's node: telemetry (diagnostics, RViz markers, alerts),
// the operator's services and the live parameters.
//
// Operator services (std_srvs/srv/Trigger): ~/estop, ~/release, ~/stop, ~/start, ~/inject and ~/end_injection. Each goes through
// the run's RunController, which decides what the run allows. ROS 2 has no per-call authentication: whoever
// can reach the DDS domain can call a service, so a deployment restricts these services (and the parameter
// services, which set inject.*) to the operator's enclave with SROS2 (README.md). ~/inject carries out the
// request held in the inject.robot, inject.attack and inject.seconds parameters and is refused outside trial
// mode (its parameters are not even declared then). ~/end_injection ends the injections on inject.robot now.
import type { Parameter, Publisher, ROSService } from 'rclnodejs';
import { ConfigError } from '../../core/config-file.js';
import type { RunContext, RunService } from '../../runtime/services.js';
import type { ControlAction } from '../../runtime/control.js';
import type { RunEvent, TickRecord } from '../../runtime/trial.js';
import { isAttackModuleRef } from '../../attacks/attack-module.js';
import { resolveAttackRef } from '../../attacks/attack.js';
import { dirname, resolve } from 'node:path';
import { Ros2Link } from './link.js';
import { alertMessage, diagnosticsMessage, markersMessage, type TriggerResponseMsg } from './messages.js';
import type { SwarmNode } from './node.js';
import { parameterDeclarations } from './declarations.js';
import { applyTunables, parameterSpecs, telemetryEvery, tunablesFrom, validateParameterUpdate, type Tunables } from './params.js';

const ALERT_DEPTH = 100;

export class Ros2Service implements RunService {
  readonly name = 'ros2';
  private ctx: RunContext | null = null;
  private swarm: SwarmNode | null = null;
  private diagnostics: Publisher<'diagnostic_msgs/msg/DiagnosticArray'> | null = null;
  private markers: Publisher<'visualization_msgs/msg/MarkerArray'> | null = null;
  private alerts: Publisher<'std_msgs/msg/String'> | null = null;
  private readonly services: ROSService[] = [];
  private tunables: Tunables | null = null;
  private declaring = false;
  private open = false;

  async start(ctx: RunContext): Promise<void> {
    const link = ctx.run.parts.link;
    if (!(link instanceof Ros2Link)) throw new Error(`the ROS 2 service runs on the ros2 link's node (this run's link is ${link.kind})`);
    const swarm = link.swarm;
    const { node, rcl } = swarm;
    this.ctx = ctx;
    this.swarm = swarm;
    const Q = rcl.QoS.HistoryPolicy;
    this.diagnostics = node.createPublisher('diagnostic_msgs/msg/DiagnosticArray', swarm.options.diagnosticsTopic, { qos: swarm.qos(Q.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 10, 'reliable', 'volatile') });
    this.markers = node.createPublisher('visualization_msgs/msg/MarkerArray', '~/markers', { qos: swarm.qos(Q.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 1, 'reliable', 'volatile') });
    // Alerts are kept for late joiners (a dashboard started mid-run gets the last ones).
    this.alerts = node.createPublisher('std_msgs/msg/String', '~/alerts', { qos: swarm.qos(Q.RMW_QOS_POLICY_HISTORY_KEEP_LAST, ALERT_DEPTH, 'reliable', 'transient-local') });
    this.declareParameters();
    const simple: [string, ControlAction, string][] = [
      ['estop', { kind: 'estop', reason: 'ROS 2 ~/estop' }, 'e-stop engaged: every robot stopped until ~/release'],
      ['release', { kind: 'release' }, 'e-stop released'],
      ['stop', { kind: 'stop' }, 'every robot held still until ~/start'],
      ['start', { kind: 'start' }, 'robots under their policies again'],
    ];
    for (const [name, action, done] of simple) this.trigger(name, () => this.act(action, done));
    this.trigger('inject', () => this.inject());
    this.trigger('end_injection', () => this.endInjection());
    this.open = true;
    ctx.log(`ros2: node ${node.getFullyQualifiedName()}: ${link.ids.length} robots; services ~/estop ~/release ~/stop ~/start ~/inject ~/end_injection; diagnostics on ${swarm.options.diagnosticsTopic}, ~/markers, ~/alerts`);
  }

  /** One std_srvs/Trigger service; its answer is sent when the action is done. */
  private trigger(name: string, run: () => Promise<TriggerResponseMsg>): void {
    const service = this.swarm!.node.createService('std_srvs/srv/Trigger', `~/${name}`, (_request, response) => {
      void run()
        .then((answer) => response.send(answer))
        .catch((err: unknown) => this.ctx?.log(`ros2: ~/${name}: the answer could not be sent: ${(err as Error).message}`));
    });
    this.services.push(service);
  }

  private async act(action: ControlAction, done: string): Promise<TriggerResponseMsg> {
    if (!this.open || !this.ctx) return { success: false, message: 'the run has ended' };
    try {
      await this.ctx.control.apply(action, 'ros2');
      return { success: true, message: done };
    } catch (err) {
      return { success: false, message: (err as Error).message };
    }
  }

  private async inject(): Promise<TriggerResponseMsg> {
    const ctx = this.ctx;
    if (!this.open || !ctx) return { success: false, message: 'the run has ended' };
    if (!ctx.control.state.trialMode) return { success: false, message: 'injections are refused outside trial mode (set trial: true in the launch file)' };
    const t = this.tunables!;
    if (!t.injectRobot || !t.injectAttack) return { success: false, message: 'set the parameters inject.robot and inject.attack (and inject.seconds) first' };
    // An attack module is code run in this process: over the network only the launch file's own modules.
    if (isAttackModuleRef(t.injectAttack)) {
      const base = dirname(resolve(ctx.launch.source));
      const named = ctx.launch.injections.filter((i) => isAttackModuleRef(i.ref)).map((i) => resolveAttackRef(i.ref, base));
      if (!named.includes(resolveAttackRef(t.injectAttack, process.cwd()))) {
        return { success: false, message: `attack module ${t.injectAttack}: over ROS 2 only the launch file's attack modules may be injected (${named.join(', ') || 'it names none'})` };
      }
    }
    try {
      const inj = await ctx.control.apply({ kind: 'inject', robot: t.injectRobot, attack: t.injectAttack, seconds: t.injectSeconds }, 'ros2');
      const p = ctx.launch.settings.controlPeriod;
      return { success: true, message: `${t.injectRobot} compromised by ${t.injectAttack} for ${((inj!.toTick - inj!.fromTick) * p).toFixed(1)} s from t = ${(inj!.fromTick * p).toFixed(1)} s` };
    } catch (err) {
      return { success: false, message: (err as Error).message };
    }
  }

  private async endInjection(): Promise<TriggerResponseMsg> {
    const ctx = this.ctx;
    if (!this.open || !ctx) return { success: false, message: 'the run has ended' };
    if (!ctx.control.state.trialMode) return { success: false, message: 'injections are refused outside trial mode (set trial: true in the launch file)' };
    const robot = this.tunables!.injectRobot;
    if (!robot) return { success: false, message: 'set the parameter inject.robot first' };
    return this.act({ kind: 'end-injection', robot }, `${robot}'s injections ended: back under its policy`);
  }

  /** Declares every parameter with its descriptor; set requests are validated and applied by one callback. */
  private declareParameters(): void {
    const { rcl, node } = this.swarm!;
    const { run, launch } = this.ctx!;
    const trialMode = run.parts.trialMode;
    this.tunables = tunablesFrom(run.parts.controlPeriod, this.swarm!.options.telemetryRateHz, run.parts.safety.settings, run.parts.monitor.settings, run.response.onFlag);
    const ours = new Set(parameterSpecs(true).map((s) => s.name));
    node.addOnSetParametersCallback((params: Parameter[]) => {
      // Parameters of rclnodejs itself (use_sim_time...) are not ours to judge.
      const updates = params.filter((p) => ours.has(p.name)).map((p) => ({ name: p.name, value: p.value as unknown }));
      if (updates.length === 0) return { successful: true, reason: '' };
      const result = validateParameterUpdate(this.tunables!, updates, trialMode, this.declaring);
      if (!result.ok) return { successful: false, reason: result.reason };
      const onFlagBefore = this.tunables!.onFlag;
      this.tunables = result.next;
      applyTunables(result.next, run.parts.safety.settings, run.parts.monitor.settings);
      // What a flag does is the run's (an event, like the console's and the dashboard's onflag).
      if (result.next.onFlag !== onFlagBefore) run.setOnFlag(result.next.onFlag, 'ros2');
      return { successful: true, reason: '' };
    });
    const { parameters, descriptors } = parameterDeclarations(rcl, parameterSpecs(trialMode), this.tunables);
    this.declaring = true;
    try {
      node.declareParameters(parameters, descriptors);
    } catch (err) {
      // The values come from the launch file and the ROS arguments: bad input, reported as such (exit status 2).
      throw new ConfigError(`${launch.source}: ROS 2 parameters: ${(err as Error).message}`);
    } finally {
      this.declaring = false;
    }
  }

  tick(record: TickRecord, events: readonly RunEvent[]): void {
    if (!this.open || !this.ctx || !this.swarm) return;
    const { run } = this.ctx;
    const period = run.parts.controlPeriod;
    for (const e of events) this.alerts!.publish(alertMessage(e, period));
    if (record.tick % telemetryEvery(this.tunables!.telemetryRateHz, period) !== 0) return;
    const link = run.parts.link;
    const now = link.now();
    const poseAgeMs = link.poses().map((p) => (p ? now - p.stampMs : null));
    const state = this.ctx.control.state;
    const ids = run.parts.ids;
    this.diagnostics!.publish(
      diagnosticsMessage(record, {
        ids,
        stampMs: now,
        poseAgeMs,
        maxPoseAgeMs: run.parts.safety.settings.maxPoseAgeMs,
        posesRefused: this.swarm.inbox.refused,
        flagAt: run.parts.monitor.settings.flagAt,
        eStopped: state.eStopped,
        paused: state.paused,
        trialMode: state.trialMode,
        prefix: this.swarm.options.node,
      }),
    );
    this.markers!.publish(markersMessage(record, { ids, stampMs: now, frameId: this.swarm.options.frameId, bodyRadius: run.parts.robots.map((r) => r.bodyRadius) }));
  }

  async stop(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const node = this.swarm!.node;
    // Nobody may act on a run that is over: the services go first; the node itself closes with the link.
    for (const s of this.services.splice(0)) node.destroyService(s);
    for (const p of [this.diagnostics, this.markers, this.alerts]) if (p) node.destroyPublisher(p);
    this.diagnostics = this.markers = this.alerts = null;
  }
}
