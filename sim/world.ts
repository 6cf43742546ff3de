// The vectorised e-puck2 twin: E environments x N robots stepped together in flat typed arrays. SwarmWorld is
// the generic swarm world, a task (sim/task.ts) defines spawning, reward, done and metrics on it;
// RendezvousWorld (at the end) is the swarm world running the rendezvous task (sim/tasks/rendezvous.ts).
//
// One control step (world.step):
//   commands checked (non-finite -> error, nothing applied) -> clamp -> victims' overrides
//   -> latency delay line -> dropped commands -> actuator noise -> wheel speeds (per-episode wheel offsets)
//   -> sub-steps of Euler motion with disc/wall contact resolution
//   -> tracker poses with noise -> tracked speed/turn rate -> the task's reward and done -> observations.
import { bodyAngular, bodyLinear, clampCommand, estimateTwists, wrapAngle } from '../src/core/kinematics.js';
import { LEFT_OUT, RendezvousObserver, globalStateSize, PAIR_DIM, perturbObservation, type SwarmFrame } from '../src/core/observation.js';
import { makeStreams, type RandomStream } from '../src/core/random.js';
import type { RendezvousMetrics } from '../src/core/rendezvous.js';
import { MAX_LATENCY_TICKS, maxWheelSpeed } from '../src/core/robot-params.js';
import type { SwarmSettings } from '../src/core/swarm-config.js';
import type { ActionOverride, OverrideContext } from '../src/attacks/override.js';
import { ContactSolver, detectContacts, type DiscBodies } from './physics.js';
import type { SwarmTask, TaskDefinition, TaskWorld } from './task.js';
import { RENDEZVOUS_TASK } from './tasks/rendezvous.js';
import { UserError } from '../src/core/user-error.js';

/** Gap (m) under which two robots, or a robot and a wall, count as touching. */
export const CONTACT_MARGIN = 0.001;
const DELAY_SLOTS = MAX_LATENCY_TICKS + 1;

/** A command that must not enter the state; names the robot. */
export class InvalidCommandError extends UserError {
  override readonly name: string = 'InvalidCommandError';
}

export interface Pose {
  x: number;
  y: number;
  heading: number;
}

/** An attack on one robot of one environment (an environment may have several victims, see setVictims). */
export interface VictimSetup {
  /** Robot index or id. */
  robot: number | string;
  /** Replaces the victim's command every tick (a fault, a function, an adversary). */
  override?: ActionOverride;
  /** Bounded uniform noise U(-eps, eps) added to every feature of the victim's observation (features are ~unit scale). */
  observationNoise?: number;
}

/** A victim as the world keeps it: robot index, override, observation noise bound. */
interface VictimAttack {
  robot: number;
  override: ActionOverride | null;
  observationNoise: number;
}

export interface WorldOptions<Metrics> {
  envs: number;
  seed: number;
  /** Reset an environment as soon as its episode ends (training); otherwise it holds until reset. */
  autoReset?: boolean;
  /** Called with an environment's metrics (the task's) when its episode ends. */
  onEpisodeEnd?: (env: number, metrics: Metrics) => void;
  /** Called after an environment is reset, before its first observation is built (e.g. to draw a victim). */
  onEpisodeStart?: (env: number) => void;
  /**
   * Only stand in for the robots (commands, noise model, motion, contacts, tracker): no observations, rewards
   * or episode ends, which a runtime driving the world computes from the tracker itself (the live twin). At
   * 2,000 robots the reward alone is 2 million square roots a step. Off by default.
   */
  physicsOnly?: boolean;
}

/**
 * The generic swarm world: commands, the victims' overrides, the noise model, motion and contacts, the
 * tracker, observations and stepping, for any task (`task` is attached once, before the first reset).
 */
export class SwarmWorld<Metrics> implements TaskWorld {
  readonly envs: number;
  readonly robots: number;
  readonly settings: SwarmSettings;
  readonly observer: RendezvousObserver;
  readonly obsSize: number;
  readonly stateSize: number;

  /** True poses and body velocities (physics state). */
  readonly truth: SwarmFrame;
  /** What the tracker reports (noisy) and what observations are built from. */
  readonly tracked: SwarmFrame;
  /** Observations of every robot after the last step or reset: robot g at g * obsSize (zeros with physicsOnly). */
  readonly obs: Float32Array;
  /**
   * Motor steps each wheel has turned since the world was built ([left, right] of robot g at 2g): what the
   * robot's step counters count (the commands it executed, whether or not it moved; protocol twins serve them).
   */
  readonly wheelSteps: Float64Array;
  /** Steps per control period at a command of 1, per robot of an environment. */
  private readonly stepsPerTick: Float64Array;
  /** Robot index (within its environment) behind each neighbour row of `obs`, -1 for empty rows: robot g at g * K. */
  readonly rowIds: Int32Array;
  /** Reward of the last step per environment, the task's (rendezvous: the team's, over the uncompromised robots; 0 with physicsOnly). */
  readonly rewards: Float64Array;
  /** 1 where the last step ended the environment's episode. */
  readonly dones: Uint8Array;
  /** Control steps taken in the current episode, per environment. */
  readonly stepCount: Int32Array;
  /** The (first) victim robot index per environment, -1 for none; victimsOf(e) lists them all. */
  readonly victim: Int32Array;
  /** 1 for every victim robot: robot g at g. */
  readonly compromised: Uint8Array;
  /** Body radius per robot of an environment (index k), m. */
  readonly bodyRadius: Float64Array;
  /** 1 where robot g touches another robot, or a wall, after the last step or reset (gap under CONTACT_MARGIN). */
  readonly robotContact: Uint8Array;
  readonly wallContact: Uint8Array;
  /** Robot-robot and robot-wall contact onsets (a robot starting to touch) in each environment's episode so far. */
  readonly collisionOnsets: Float64Array;
  readonly wallOnsets: Float64Array;

  private readonly task: SwarmTask<Metrics>;
  private readonly autoReset: boolean;
  private readonly physicsOnly: boolean;
  private readonly onEpisodeEnd: WorldOptions<Metrics>['onEpisodeEnd'];
  private readonly onEpisodeStart: WorldOptions<Metrics>['onEpisodeStart'];
  private readonly rng: RandomStream[];
  /** Per environment: its victims in slot order (empty: none). */
  private readonly attacks: VictimAttack[][];
  /**
   * Per environment: robots left out of the metrics without being attacked (see setScoredOut). Victims are
   * always left out; these count only in an environment without a victim.
   */
  private readonly scoredOutRobots: number[][];
  /** Per environment: the robot isolation leaves out of the others' observations (-1: none), and from which step. */
  private readonly isolatedRobot: Int32Array;
  private readonly isolatedFrom: Int32Array;
  /** The isolation mask the observer reads (src/core/observation.ts values), robot g at g. */
  private readonly isolationMask: Uint8Array;

  private readonly bodies: DiscBodies;
  /** Per robot: ground speed (m/s) per unit command of each wheel, and wheel distance, with this episode's offsets. */
  private readonly wheelGainL: Float64Array;
  private readonly wheelGainR: Float64Array;
  private readonly axle: Float64Array;
  private readonly latency: Uint8Array;
  /** Commands in flight: [robot][slot][left, right]. */
  private readonly delayLine: Float64Array;
  /** The command each robot is executing (after latency and drops), before actuator noise. */
  private readonly received: Float64Array;
  private readonly prevTrackedX: Float64Array;
  private readonly prevTrackedY: Float64Array;
  private readonly prevTrackedHeading: Float64Array;

  // Scratch.
  private readonly contacts: ContactSolver;
  private readonly stepStartX: Float64Array;
  private readonly stepStartY: Float64Array;
  /** Robots sub-stepped this step (indices within the environment). */
  private readonly moving: Int32Array;
  private readonly subX: Float64Array;
  private readonly subY: Float64Array;
  private readonly cosH: Float64Array;
  private readonly sinH: Float64Array;
  private readonly rotC: Float64Array;
  private readonly rotS: Float64Array;
  private readonly prevRobotContact: Uint8Array;
  private readonly prevWallContact: Uint8Array;
  private readonly overrideOut = new Float64Array(2);
  private readonly commandBackup: Float64Array;
  /** A step's random draws of one environment (actuation, then tracking), at most 3 per robot. */
  private readonly draws: Float64Array;
  private pairScratch = new Float32Array(0);
  private readonly ctx: OverrideContext;

  constructor(settings: SwarmSettings, task: Pick<TaskDefinition<Metrics>, 'attach'>, options: WorldOptions<Metrics>) {
    const E = options.envs;
    const N = settings.robots.length;
    if (!Number.isInteger(E) || E < 1) throw new RangeError(`envs must be a positive integer, got ${E}`);
    if (N < 2) throw new RangeError(`a swarm needs at least 2 robots, got ${N}`);
    this.envs = E;
    this.robots = N;
    this.settings = settings;
    this.autoReset = options.autoReset ?? true;
    this.physicsOnly = options.physicsOnly ?? false;
    this.onEpisodeEnd = options.onEpisodeEnd;
    this.onEpisodeStart = options.onEpisodeStart;
    this.observer = new RendezvousObserver(settings.observation);
    this.obsSize = this.observer.size;
    this.stateSize = globalStateSize(N);
    this.rng = makeStreams(options.seed, E);

    const G = E * N;
    // Truth and tracker share the command array: both describe what was sent to the robots.
    const command = new Float64Array(2 * G);
    this.truth = emptyFrame(G, command);
    this.tracked = emptyFrame(G, command);
    this.commandBackup = new Float64Array(2 * G);
    this.draws = new Float64Array(3 * N);
    this.obs = new Float32Array(G * this.obsSize);
    this.rowIds = new Int32Array(G * settings.observation.maxNeighbours);
    this.rewards = new Float64Array(E);
    this.dones = new Uint8Array(E);
    this.stepCount = new Int32Array(E);
    this.victim = new Int32Array(E).fill(-1);
    this.compromised = new Uint8Array(G);
    this.attacks = Array.from({ length: E }, () => []);
    this.scoredOutRobots = Array.from({ length: E }, () => []);
    this.isolatedRobot = new Int32Array(E).fill(-1);
    this.isolatedFrom = new Int32Array(E);
    this.isolationMask = new Uint8Array(G);

    this.bodyRadius = Float64Array.from(settings.robots, (r) => r.bodyRadius);
    this.bodies = {
      x: this.truth.x,
      y: this.truth.y,
      radius: this.bodyRadius,
      width: settings.arenaWidth,
      height: settings.arenaHeight,
    };
    this.wheelGainL = new Float64Array(G);
    this.wheelGainR = new Float64Array(G);
    this.axle = new Float64Array(G);
    this.latency = new Uint8Array(G);
    this.delayLine = new Float64Array(G * DELAY_SLOTS * 2);
    this.received = new Float64Array(2 * G);
    this.wheelSteps = new Float64Array(2 * G);
    this.stepsPerTick = Float64Array.from(settings.robots, (r) => r.maxStepsPerSecond * settings.controlPeriod);
    this.robotContact = new Uint8Array(G);
    this.wallContact = new Uint8Array(G);
    this.prevTrackedX = new Float64Array(G);
    this.prevTrackedY = new Float64Array(G);
    this.prevTrackedHeading = new Float64Array(G);
    this.collisionOnsets = new Float64Array(E);
    this.wallOnsets = new Float64Array(E);
    this.contacts = new ContactSolver(N, CONTACT_MARGIN);
    this.stepStartX = new Float64Array(N);
    this.stepStartY = new Float64Array(N);
    this.moving = new Int32Array(N);
    this.subX = new Float64Array(N);
    this.subY = new Float64Array(N);
    this.cosH = new Float64Array(N);
    this.sinH = new Float64Array(N);
    this.rotC = new Float64Array(N);
    this.rotS = new Float64Array(N);
    this.prevRobotContact = new Uint8Array(N);
    this.prevWallContact = new Uint8Array(N);
    this.ctx = {
      env: 0,
      robot: 0,
      victimSlot: 0,
      step: 0,
      observation: this.obs,
      obsOffset: 0,
      proposedLeft: 0,
      proposedRight: 0,
      rng: this.rng[0]!,
    };
    this.task = task.attach(this);
    for (let e = 0; e < E; e++) this.resetEnv(e);
  }

  get robotIds(): readonly string[] {
    return this.settings.robotIds;
  }

  /** Robot index for an index or id; throws naming the id if it is not in the swarm. */
  robotIndex(robot: number | string): number {
    if (typeof robot === 'number') {
      if (!Number.isInteger(robot) || robot < 0 || robot >= this.robots) {
        throw new UserError(`unknown robot index ${robot} (swarm has ${this.robots} robots)`);
      }
      return robot;
    }
    const k = this.settings.robotIds.indexOf(robot);
    if (k < 0) throw new UserError(`unknown robot id '${robot}' (swarm ids: ${this.settings.robotIds.join(', ')})`);
    return k;
  }

  /** Attacks one robot of environment e (replacing any earlier attack there), or clears every attack with null. */
  setVictim(e: number, setup: VictimSetup | null): void {
    this.setVictims(e, setup === null ? [] : [setup]);
  }

  /**
   * Attacks several robots of environment e at once (replacing any earlier attack there; an empty list
   * clears them). Each victim has its own override and observation noise; the first is `victim[e]` and
   * victim slot 0 of an override, the next slot 1, and so on. The reward and the metrics leave every
   * victim out; at least one robot must stay uncompromised.
   */
  setVictims(e: number, setups: readonly VictimSetup[]): void {
    this.checkEnv(e);
    const attacks = setups.map((setup): VictimAttack => {
      const robot = this.robotIndex(setup.robot);
      const eps = setup.observationNoise ?? 0;
      if (!(eps >= 0 && Number.isFinite(eps))) throw new UserError(`observationNoise must be a finite number >= 0, got ${eps}`);
      return { robot, override: setup.override ?? null, observationNoise: eps };
    });
    const robots = attacks.map((a) => a.robot);
    this.checkDistinct(e, robots, 'victim');
    if (robots.length >= this.robots) throw new UserError(`env ${e}: ${robots.length} victims leave no uncompromised robot in a swarm of ${this.robots}`);
    const base = e * this.robots;
    this.compromised.fill(0, base, base + this.robots);
    for (const k of robots) this.compromised[base + k] = 1;
    this.attacks[e] = attacks;
    this.victim[e] = robots[0] ?? -1;
    this.task.teamChanged(e);
  }

  /** The victims of environment e in slot order (empty: none). */
  victimsOf(e: number): readonly number[] {
    this.checkEnv(e);
    return this.attacks[e]!.map((a) => a.robot);
  }

  /**
   * Leaves robots of environment e out of the metrics (gathering, spread, clusters) without attacking them
   * (one robot or a list), or scores every robot again with null: benign episodes are then scored over the
   * same robots as attacked ones. The reward, observations and commands are untouched.
   */
  setScoredOut(e: number, robots: number | string | readonly (number | string)[] | null): void {
    this.checkEnv(e);
    const list = robots === null ? [] : (Array.isArray(robots) ? robots : [robots]).map((r: number | string) => this.robotIndex(r));
    this.checkDistinct(e, list, 'scored-out robot');
    if (list.length >= this.robots) throw new UserError(`env ${e}: leaving ${list.length} robots out scores none of a swarm of ${this.robots}`);
    this.scoredOutRobots[e] = list;
    this.task.teamChanged(e);
  }

  /** The robots environment e's metrics leave out while it has no victim (empty: none). */
  scoredOutOf(e: number): readonly number[] {
    this.checkEnv(e);
    return this.scoredOutRobots[e]!;
  }

  /** The robots environment e's metrics leave out: its victims, or without one its scored-out robots (empty: none). */
  unscoredOf(e: number): readonly number[] {
    return this.attacks[e]!.length > 0 ? this.victimsOf(e) : this.scoredOutOf(e);
  }

  /**
   * Leaves `robot` of environment e out of every other robot's observation, centroid and belief pairs from
   * step `fromStep` of the current episode on, as the runtime's `monitor.onFlag: isolate` does once the
   * monitor flags it (training meets the deployed reaction this way); null isolates nobody. A reset ends it.
   */
  isolate(e: number, robot: number | string | null, fromStep = 0): void {
    this.checkEnv(e);
    if (!Number.isInteger(fromStep) || fromStep < 0) throw new RangeError(`isolation step must be an integer >= 0, got ${fromStep}`);
    const base = e * this.robots;
    this.isolationMask.fill(0, base, base + this.robots);
    this.isolatedRobot[e] = robot === null ? -1 : this.robotIndex(robot);
    this.isolatedFrom[e] = fromStep;
  }

  /** The robot environment e isolates now (-1: none). */
  isolatedNow(e: number): number {
    const k = this.isolatedRobot[e]!;
    return k >= 0 && this.stepCount[e]! >= this.isolatedFrom[e]! ? k : -1;
  }

  /** The isolation mask for environment e's observations now, or undefined when it isolates nobody. */
  private isolationFor(e: number): Uint8Array | undefined {
    const k = this.isolatedNow(e);
    if (k < 0) return undefined;
    this.isolationMask[e * this.robots + k] = LEFT_OUT;
    return this.isolationMask;
  }

  private checkDistinct(e: number, robots: readonly number[], what: string): void {
    const twice = robots.find((k, i) => robots.indexOf(k) !== i);
    if (twice !== undefined) throw new UserError(`env ${e}: robot '${this.robotIds[twice]}' is named twice as a ${what}`);
  }

  /** Resets every environment to a fresh episode. */
  reset(): void {
    for (let e = 0; e < this.envs; e++) this.resetEnv(e);
  }

  /** Starts a new episode in environment e: the task's spawn (or the start poses), fresh noise draws, cleared accumulators. */
  resetEnv(e: number, startPoses?: readonly Pose[]): void {
    this.checkEnv(e);
    const N = this.robots;
    const base = e * N;
    const s = this.settings;
    const rng = this.rng[e]!;
    if (startPoses) this.placeRobots(e, startPoses);
    else this.task.spawn(e, rng);

    const nz = s.noise;
    for (let k = 0; k < N; k++) {
      const g = base + k;
      const p = s.robots[k]!;
      const gain = maxWheelSpeed(p);
      this.wheelGainL[g] = gain * (1 + rng.range(-nz.wheelRadiusSpread, nz.wheelRadiusSpread));
      this.wheelGainR[g] = gain * (1 + rng.range(-nz.wheelRadiusSpread, nz.wheelRadiusSpread));
      this.axle[g] = p.wheelDistance * (1 + rng.range(-nz.wheelDistanceSpread, nz.wheelDistanceSpread));
      // A robot's calibrated latency replaces the noise model's draw.
      this.latency[g] = p.latencyTicks ?? rng.int(nz.latencyTicks.min, nz.latencyTicks.max);
      this.truth.speed[g] = 0;
      this.truth.turnRate[g] = 0;
      this.truth.command[2 * g] = 0;
      this.truth.command[2 * g + 1] = 0;
      this.received[2 * g] = 0;
      this.received[2 * g + 1] = 0;
    }
    this.delayLine.fill(0, base * DELAY_SLOTS * 2, (base + N) * DELAY_SLOTS * 2);
    this.trackPoses(e, rng);
    for (let k = base; k < base + N; k++) {
      this.tracked.speed[k] = 0;
      this.tracked.turnRate[k] = 0;
    }
    detectContacts(this.bodies, base, N, CONTACT_MARGIN, this.robotContact, this.wallContact);
    this.stepCount[e] = 0;
    this.collisionOnsets[e] = 0;
    this.wallOnsets[e] = 0;
    this.task.startEpisode(e);
    this.isolate(e, null);
    this.onEpisodeStart?.(e);
    if (!this.physicsOnly) this.observeEnv(e);
  }

  /**
   * Advances every environment by one control period. `actions` holds normalised wheel commands
   * [left, right] for robot g at 2g. A non-finite command throws before anything changes.
   */
  step(actions: ArrayLike<number>): void {
    const E = this.envs;
    const N = this.robots;
    if (actions.length !== 2 * E * N) {
      throw new RangeError(`expected ${2 * E * N} wheel commands (${E} envs x ${N} robots x 2), got ${actions.length}`);
    }
    for (let i = 0; i < actions.length; i++) {
      if (!Number.isFinite(actions[i])) {
        const g = i >> 1;
        throw new InvalidCommandError(
          `non-finite ${i & 1 ? 'right' : 'left'} wheel command (${actions[i]}) for robot '${this.robotIds[g % N]}' ` +
            `in env ${Math.floor(g / N)}; step not applied`,
        );
      }
    }
    // Commands of every environment first (clamp, then the victims' overrides, which may reject their own
    // output): an error leaves every environment as it was.
    const before = this.commandBackup;
    before.set(this.truth.command);
    try {
      for (let e = 0; e < E; e++) this.setCommands(e, actions);
    } catch (err) {
      this.truth.command.set(before);
      throw err;
    }
    for (let e = 0; e < E; e++) this.stepEnv(e);
  }

  /** The commands robots of environment e are sent this step: clamped, each victim's replaced by its override. */
  private setCommands(e: number, actions: ArrayLike<number>): void {
    const N = this.robots;
    const base = e * N;
    const cmd = this.truth.command;
    for (let k = 0; k < N; k++) {
      const g = base + k;
      cmd[2 * g] = clampCommand(actions[2 * g]!);
      cmd[2 * g + 1] = clampCommand(actions[2 * g + 1]!);
    }
    const attacks = this.attacks[e]!;
    for (let slot = 0; slot < attacks.length; slot++) {
      const a = attacks[slot]!;
      if (a.override) this.applyOverride(e, a.robot, slot, a.override, this.rng[e]!);
    }
  }

  private stepEnv(e: number): void {
    const N = this.robots;
    const base = e * N;
    const rng = this.rng[e]!;

    this.actuate(e, rng);
    this.move(e);

    // Contacts and their onsets.
    const rc = this.robotContact;
    const wc = this.wallContact;
    for (let k = 0; k < N; k++) {
      this.prevRobotContact[k] = rc[base + k]!;
      this.prevWallContact[k] = wc[base + k]!;
    }
    // The step's near pairs (collected before the motion) serve the contact marks, as long as they still can.
    this.contacts.detectContactsAfterMotion(this.bodies, base, N, this.stepStartX, this.stepStartY, rc, wc);
    for (let k = 0; k < N; k++) {
      const g = base + k;
      if (rc[g] && !this.prevRobotContact[k]) this.collisionOnsets[e]!++;
      if (wc[g] && !this.prevWallContact[k]) this.wallOnsets[e]!++;
    }

    this.trackPoses(e, rng);
    const dt = this.settings.controlPeriod;
    estimateTwists(
      this.prevTrackedX, this.prevTrackedY, this.prevTrackedHeading, this.tracked.x, this.tracked.y, this.tracked.heading,
      dt, base, base + N, this.tracked.speed, this.tracked.turnRate,
    );

    this.stepCount[e]!++;
    if (this.physicsOnly) return;
    this.rewards[e] = this.task.reward(e);
    const done = this.task.done(e);
    this.dones[e] = done ? 1 : 0;
    if (done) {
      this.onEpisodeEnd?.(e, this.metrics(e));
      if (this.autoReset) {
        this.resetEnv(e);
        return;
      }
    }
    this.observeEnv(e);
  }

  /** Metrics of environment e's episode so far, the task's (rendezvous: over the scored robots as they stand now). */
  metrics(e: number): Metrics {
    this.checkEnv(e);
    return this.task.metrics(e);
  }

  /** True poses of environment e. */
  poses(e: number): Pose[] {
    this.checkEnv(e);
    const base = e * this.robots;
    return Array.from({ length: this.robots }, (_, k) => ({
      x: this.truth.x[base + k]!,
      y: this.truth.y[base + k]!,
      heading: this.truth.heading[base + k]!,
    }));
  }

  /** Writes the centralised critic's state of every environment (env e at e * stateSize). */
  globalStates(out: Float32Array): void {
    const N = this.robots;
    for (let e = 0; e < this.envs; e++) {
      this.observer.globalState(this.truth, e * N, N, this.stepCount[e]! / this.settings.episodeSteps, out, e * this.stateSize);
    }
  }

  /** Writes environment e's belief features for every (observer, neighbour) pair: (i, j) at (i * N + j) * PAIR_DIM. */
  pairFeatures(e: number, out: Float32Array): void {
    this.checkEnv(e);
    const N = this.robots;
    if (out.length < N * N * PAIR_DIM) throw new RangeError(`pair feature buffer needs ${N * N * PAIR_DIM} floats`);
    // observeAll refreshes the observer's per-environment caches that pair features read.
    if (this.pairScratch.length < N * this.obsSize) this.pairScratch = new Float32Array(N * this.obsSize);
    this.observer.observeAll(this.tracked, e * N, N, this.pairScratch, 0, undefined, 0, this.isolationFor(e));
    this.observer.pairFeaturesAll(this.tracked, e * N, N, out, 0);
  }

  private checkEnv(e: number): void {
    if (!Number.isInteger(e) || e < 0 || e >= this.envs) throw new RangeError(`unknown env ${e} (world has ${this.envs})`);
  }

  private applyOverride(e: number, v: number, slot: number, override: ActionOverride, rng: RandomStream): void {
    const g = e * this.robots + v;
    const cmd = this.truth.command;
    const ctx = this.ctx;
    ctx.env = e;
    ctx.robot = v;
    ctx.victimSlot = slot;
    ctx.step = this.stepCount[e]!;
    ctx.obsOffset = g * this.obsSize;
    ctx.proposedLeft = cmd[2 * g]!;
    ctx.proposedRight = cmd[2 * g + 1]!;
    ctx.rng = rng;
    const out = this.overrideOut;
    override.act(ctx, out);
    if (!Number.isFinite(out[0]) || !Number.isFinite(out[1])) {
      throw new InvalidCommandError(
        `override '${override.name}' produced a non-finite command (${out[0]}, ${out[1]}) for robot ` +
          `'${this.robotIds[v]}' in env ${e}`,
      );
    }
    cmd[2 * g] = clampCommand(out[0]!);
    cmd[2 * g + 1] = clampCommand(out[1]!);
  }

  /** Commands travel through the delay line, may be dropped, get actuator noise and become body twists. */
  private actuate(e: number, rng: RandomStream): void {
    const N = this.robots;
    const base = e * N;
    const nz = this.settings.noise;
    const cmd = this.truth.command;
    const slotNow = this.stepCount[e]! % DELAY_SLOTS;
    // The step's random draws first, in the order the loop below consumes them: per robot, the drop draw,
    // then the left and right actuator noise.
    const dropDraws = nz.dropProbability > 0 ? 1 : 0;
    const noiseDraws = nz.actuatorNoise > 0 ? 2 : 0;
    const perRobot = dropDraws + noiseDraws;
    const draws = this.draws;
    if (perRobot > 0) rng.fillDraws(draws, N, dropDraws, noiseDraws);
    for (let k = 0; k < N; k++) {
      const g = base + k;
      const line = g * DELAY_SLOTS * 2;
      this.delayLine[line + 2 * slotNow] = cmd[2 * g]!;
      this.delayLine[line + 2 * slotNow + 1] = cmd[2 * g + 1]!;
      const slot = (slotNow - this.latency[g]! + DELAY_SLOTS) % DELAY_SLOTS;
      let q = k * perRobot;
      const dropped = dropDraws > 0 && draws[q++]! < nz.dropProbability;
      // Before the first command arrives (latency at episode start) the robot holds still.
      if (!dropped && this.stepCount[e]! >= this.latency[g]!) {
        this.received[2 * g] = this.delayLine[line + 2 * slot]!;
        this.received[2 * g + 1] = this.delayLine[line + 2 * slot + 1]!;
      }
      let ul = this.received[2 * g]!;
      let ur = this.received[2 * g + 1]!;
      if (noiseDraws > 0) {
        ul = clampCommand(ul + nz.actuatorNoise * draws[q]!);
        ur = clampCommand(ur + nz.actuatorNoise * draws[q + 1]!);
      }
      this.wheelSteps[2 * g]! += ul * this.stepsPerTick[k]!;
      this.wheelSteps[2 * g + 1]! += ur * this.stepsPerTick[k]!;
      const vl = ul * this.wheelGainL[g]!;
      const vr = ur * this.wheelGainR[g]!;
      this.truth.speed[g] = bodyLinear(vl, vr);
      this.truth.turnRate[g] = bodyAngular(vl, vr, this.axle[g]!);
    }
  }

  /**
   * Integrates one control period. Robots that cannot touch a wall or another robot this step move in
   * closed form (the sum of their Euler sub-steps); the others are sub-stepped with contact resolution.
   */
  private move(e: number): void {
    const N = this.robots;
    const base = e * N;
    const s = this.settings;
    const S = s.subSteps;
    const dt = s.controlPeriod;
    const h = dt / S;
    const { x, y, heading, speed, turnRate } = this.truth;
    const { width, height } = this.bodies;
    const radius = this.bodies.radius;
    let fastest = 0;
    for (let k = 0; k < N; k++) {
      const v = Math.abs(speed[base + k]!);
      if (v > fastest) fastest = v;
      this.stepStartX[k] = x[base + k]!;
      this.stepStartY[k] = y[base + k]!;
    }
    // No robot travels farther than fastest * dt this step, pushes included: pairs farther apart cannot meet.
    const reach = 3 * fastest * dt + 1e-4;
    this.contacts.collectCandidates(this.bodies, base, N, reach);
    const involved = this.contacts.involved;
    const moving = this.moving;
    let count = 0;
    for (let k = 0; k < N; k++) {
      const g = base + k;
      const margin = radius[k]! + reach;
      const nearWall = x[g]! < margin || y[g]! < margin || x[g]! > width - margin || y[g]! > height - margin;
      if (involved[k] || nearWall) {
        moving[count++] = k;
        continue;
      }
      // Free robot: sum of S Euler steps with headings th0 + m * d, m = 0..S-1 (d = w h), in closed form.
      const v = speed[g]!;
      if (v !== 0) {
        const d = turnRate[g]! * h;
        const half = d / 2;
        const gain = Math.abs(half) > 1e-9 ? Math.sin(S * half) / Math.sin(half) : S;
        const mid = heading[g]! + (S - 1) * half;
        x[g]! += v * h * gain * Math.cos(mid);
        y[g]! += v * h * gain * Math.sin(mid);
      }
    }
    if (count > 0) this.subStep(base, count, h, S);
    if (this.contacts.overlapsAfterMotion(this.bodies, base, N, this.stepStartX, this.stepStartY)) {
      this.contacts.resolveAll(this.bodies, base, N, this.stepStartX, this.stepStartY);
    }
    for (let k = 0; k < N; k++) {
      const g = base + k;
      heading[g] = wrapAngle(heading[g]! + turnRate[g]! * dt);
    }
  }

  /** Euler sub-steps with contact resolution for the robots listed in this.moving[0..count). */
  private subStep(base: number, count: number, h: number, S: number): void {
    const { x, y, heading, speed, turnRate } = this.truth;
    const moving = this.moving;
    const cosH = this.cosH;
    const sinH = this.sinH;
    const rotC = this.rotC;
    const rotS = this.rotS;
    for (let m = 0; m < count; m++) {
      const g = base + moving[m]!;
      cosH[m] = Math.cos(heading[g]!);
      sinH[m] = Math.sin(heading[g]!);
      // Heading advances by a constant angle per sub-step: rotate (cos, sin) instead of calling trig each time.
      rotC[m] = Math.cos(turnRate[g]! * h);
      rotS[m] = Math.sin(turnRate[g]! * h);
    }
    for (let sub = 0; sub < S; sub++) {
      for (let m = 0; m < count; m++) {
        const k = moving[m]!;
        const g = base + k;
        this.subX[k] = x[g]!;
        this.subY[k] = y[g]!;
        const c = cosH[m]!;
        const sn = sinH[m]!;
        const stride = speed[g]! * h;
        x[g]! += stride * c;
        y[g]! += stride * sn;
        cosH[m] = c * rotC[m]! - sn * rotS[m]!;
        sinH[m] = sn * rotC[m]! + c * rotS[m]!;
      }
      this.contacts.resolveCandidates(this.bodies, base, moving, count, this.subX, this.subY);
    }
  }

  /** The tracker's view: true pose plus noise; remembers the previous tracked pose for velocity estimates. */
  private trackPoses(e: number, rng: RandomStream): void {
    const N = this.robots;
    const base = e * N;
    const nz = this.settings.noise;
    // The step's draws first, in the order the loop below consumes them: per robot, x and y, then heading.
    const positionDraws = nz.positionNoise > 0 ? 2 : 0;
    const headingDraws = nz.headingNoise > 0 ? 1 : 0;
    const perRobot = positionDraws + headingDraws;
    const draws = this.draws;
    if (perRobot > 0) rng.fillDraws(draws, N, 0, perRobot);
    for (let g = base; g < base + N; g++) {
      let q = (g - base) * perRobot;
      this.prevTrackedX[g] = this.tracked.x[g]!;
      this.prevTrackedY[g] = this.tracked.y[g]!;
      this.prevTrackedHeading[g] = this.tracked.heading[g]!;
      let tx = this.truth.x[g]!;
      let ty = this.truth.y[g]!;
      let th = this.truth.heading[g]!;
      if (positionDraws > 0) {
        tx += nz.positionNoise * draws[q++]!;
        ty += nz.positionNoise * draws[q++]!;
      }
      if (headingDraws > 0) th = wrapAngle(th + nz.headingNoise * draws[q]!);
      this.tracked.x[g] = tx;
      this.tracked.y[g] = ty;
      this.tracked.heading[g] = th;
    }
  }

  private observeEnv(e: number): void {
    const N = this.robots;
    const base = e * N;
    this.observer.observeAll(this.tracked, base, N, this.obs, base * this.obsSize, this.rowIds, base * this.settings.observation.maxNeighbours, this.isolationFor(e));
    for (const a of this.attacks[e]!) {
      if (a.observationNoise > 0) perturbObservation(this.obs, (base + a.robot) * this.obsSize, this.observer.layout, a.observationNoise, this.rng[e]!);
    }
  }

  private placeRobots(e: number, poses: readonly Pose[]): void {
    const N = this.robots;
    if (poses.length !== N) throw new UserError(`expected ${N} start poses, got ${poses.length}`);
    const base = e * N;
    const { arenaWidth: W, arenaHeight: H } = this.settings;
    const radius = this.bodies.radius;
    poses.forEach((p, k) => {
      const id = this.robotIds[k];
      if (![p.x, p.y, p.heading].every(Number.isFinite)) throw new UserError(`start pose of robot '${id}' is not finite`);
      const r = radius[k]!;
      if (p.x < r || p.x > W - r || p.y < r || p.y > H - r) {
        throw new UserError(`start pose of robot '${id}' (${p.x}, ${p.y}) puts its body outside the arena`);
      }
      for (let j = 0; j < k; j++) {
        const q = poses[j]!;
        if (Math.hypot(p.x - q.x, p.y - q.y) < r + radius[j]! - 1e-9) {
          throw new UserError(`start poses of robots '${this.robotIds[j]}' and '${id}' overlap`);
        }
      }
    });
    poses.forEach((p, k) => {
      this.truth.x[base + k] = p.x;
      this.truth.y[base + k] = p.y;
      this.truth.heading[base + k] = wrapAngle(p.heading);
    });
  }
}

/** The twin the code base trains and evaluates on: the swarm world running the rendezvous task. */
export class RendezvousWorld extends SwarmWorld<RendezvousMetrics> {
  constructor(settings: SwarmSettings, options: WorldOptions<RendezvousMetrics>) {
    super(settings, RENDEZVOUS_TASK, options);
  }
}

function emptyFrame(robots: number, command: Float64Array): SwarmFrame {
  return {
    x: new Float64Array(robots),
    y: new Float64Array(robots),
    heading: new Float64Array(robots),
    speed: new Float64Array(robots),
    turnRate: new Float64Array(robots),
    command,
  };
}
