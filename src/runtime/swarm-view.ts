// What the runtime knows of the swarm at one tick, built from the poses a link reports: the same SwarmFrame
// and the same observation code (src/core/observation.ts) as the twin, so every robot's policy sees what it
// saw in training. Speeds come from consecutive measured poses over the time between their stamps, as the
// twin's tracker computes them; the command columns hold what was last sent to each robot.
import { estimateTwist, type TrackedPose } from '../core/kinematics.js';
import type { MeasuredMotion } from '../monitor/consistency.js';
import { PAIR_DIM, RendezvousObserver, type ObservationSpec, type ObservedPairs, type SwarmFrame } from '../core/observation.js';
import type { OnnxTeam, TeamView } from '../policy/team.js';

/** Where a robot never located stands in the observations: beyond any robot's sensing range. */
const UNLOCATED = 1e6;

/**
 * Shortest time between the two poses speeds are measured over, as a share of the control period. A tick that
 * comes early (after a late one, say 9 ms later) would see a few ms of motion drowned in tracker noise: speeds
 * ten times too fast. Such a pose updates the position but the speeds wait for a longer interval.
 */
const MIN_BASELINE = 0.5;

export class SwarmView implements TeamView {
  readonly envs = 1;
  readonly robots: number;
  readonly frame: SwarmFrame;
  readonly obs: Float32Array;
  readonly rowIds: Int32Array;
  readonly observer: RendezvousObserver;
  /**
   * Per robot, the last measured pose speeds are measured from (held in columns: no object per robot and
   * tick); `hasPrevious` says whether there is one, `previousStamped` whether it carried a stamp. Not an
   * object shaped like a pose ({x, y, theta, stampMs} of arrays): V8 would then store every pose object's
   * numbers boxed, one heap number per field written (100 KB a tick at 2,000 robots).
   */
  private readonly previousColumns: { px: Float64Array; py: Float64Array; ptheta: Float64Array; pstampMs: Float64Array };
  private readonly hasPrevious: Uint8Array;
  private readonly previousStamped: Uint8Array;
  /**
   * Per robot: the motion measured this tick, or null where there was no new measurement (or too short an
   * interval). Each robot's motion object is rewritten by the next update: read it within the tick.
   */
  readonly motion: (MeasuredMotion | null)[];
  private readonly motionOf: Required<MeasuredMotion>[];
  /** What usable() returns, rewritten by its next call (one object per robot for the whole run). */
  private usablePoses: (TrackedPose & { stampMs: number })[] = [];
  /** The observed pairs' belief features of this tick (pair p at p * PAIR_DIM), built on first use. */
  private observedFeatures = new Float32Array(0);
  private observedFresh = false;
  /** Robots left out of the others' observations (non-zero at i), read at every update; null: none. */
  private isolated: Uint8Array | null = null;

  /** The view a deployed policy observes through: its manifest's observation spec, `robots` robots, tick `dt` s. */
  static forPolicy(team: OnnxTeam, robots: number, dt: number): SwarmView {
    const spec = team.policy.manifest.observation;
    return new SwarmView({ ...spec, id: spec.spec }, robots, dt);
  }

  constructor(spec: ObservationSpec, robots: number, private readonly dt: number) {
    this.robots = robots;
    this.observer = new RendezvousObserver(spec);
    const f = () => new Float64Array(robots);
    this.frame = { x: f(), y: f(), heading: f(), speed: f(), turnRate: f(), command: new Float64Array(2 * robots) };
    this.obs = new Float32Array(robots * this.observer.size);
    this.rowIds = new Int32Array(robots * spec.maxNeighbours);
    this.previousColumns = { px: f(), py: f(), ptheta: f(), pstampMs: f() };
    this.hasPrevious = new Uint8Array(robots);
    this.previousStamped = new Uint8Array(robots);
    this.motion = new Array<MeasuredMotion | null>(robots).fill(null);
    this.motionOf = Array.from({ length: robots }, () => ({ linear: 0, angular: 0, lateral: 0, seconds: 0 }));
  }

  /**
   * Robot i's pose when the link has no usable one this tick: its last measured pose, or, for a robot never
   * measured yet, a point far outside every arena, so that no robot takes it for a neighbour (a robot the
   * runtime has not located yet must not appear in the others' observations; the safety layer stops it).
   */
  standIn(i: number): TrackedPose & { stampMs: number } {
    return this.standInto(i, { x: 0, y: 0, theta: 0, stampMs: 0 });
  }

  private standInto(i: number, out: TrackedPose & { stampMs: number }): TrackedPose & { stampMs: number } {
    const located = this.hasPrevious[i] === 1;
    out.x = located ? this.frame.x[i]! : UNLOCATED;
    out.y = located ? this.frame.y[i]! : UNLOCATED;
    out.theta = located ? this.frame.heading[i]! : 0;
    out.stampMs = Number.NaN;
    return out;
  }

  /**
   * The poses to observe from a link's (robot i's at i): a robot without a finite pose stands in (standIn).
   * The array and its poses are the view's own, rewritten by the next call: read them within the tick.
   */
  usable(timed: readonly (TrackedPose & { stampMs: number } | null)[]): (TrackedPose & { stampMs: number })[] {
    const out = this.usablePoses;
    while (out.length < timed.length) out.push({ x: 0, y: 0, theta: 0, stampMs: 0 });
    out.length = timed.length;
    for (let i = 0; i < timed.length; i++) {
      const p = timed[i];
      const q = out[i]!;
      if (p && Number.isFinite(p.x) && Number.isFinite(p.y) && Number.isFinite(p.theta) && Number.isFinite(p.stampMs)) {
        q.x = p.x;
        q.y = p.y;
        q.theta = p.theta;
        q.stampMs = p.stampMs;
      } else this.standInto(i, q);
    }
    return out;
  }

  /** Whether the runtime has ever had a pose of robot i. */
  located(i: number): boolean {
    return this.hasPrevious[i] === 1;
  }

  /** From now on, every update leaves the robots `mask` marks (non-zero at i) out of the others' observations. */
  isolateWith(mask: Uint8Array | null): void {
    if (mask && mask.length !== this.robots) throw new RangeError(`isolation mask of ${mask.length} robots for a swarm of ${this.robots}`);
    this.isolated = mask;
  }

  /** Forgets motion history and commands (trial start). */
  reset(): void {
    this.hasPrevious.fill(0);
    this.motion.fill(null);
    this.frame.command.fill(0);
    this.frame.speed.fill(0);
    this.frame.turnRate.fill(0);
  }

  /**
   * Takes this tick's poses (robot i's at i; every pose must be finite) and rebuilds the observations. A pose
   * with the same stamp as the last one (the tracker has not updated since), or less than MIN_BASELINE periods
   * after the pose speeds were last measured from, leaves the speeds as they were.
   */
  update(poses: readonly TrackedPose[]): void {
    const fr = this.frame;
    const { px: prevX, py: prevY, ptheta: prevTheta, pstampMs: prevStampMs } = this.previousColumns;
    for (let i = 0; i < poses.length; i++) {
      const p = poses[i]!;
      fr.x[i] = p.x;
      fr.y[i] = p.y;
      fr.heading[i] = p.theta;
      this.motion[i] = null;
      if (this.hasPrevious[i] !== 1) {
        fr.speed[i] = 0;
        fr.turnRate[i] = 0;
      } else {
        const px = prevX[i]!;
        const py = prevY[i]!;
        const pth = prevTheta[i]!;
        const dt = p.stampMs !== undefined && this.previousStamped[i] === 1 ? (p.stampMs - prevStampMs[i]!) / 1000 : this.dt;
        // No new measurement, none usable, or too soon after the reference pose: keep the last speeds (and the reference).
        if (!(dt >= MIN_BASELINE * this.dt)) continue;
        const tw = estimateTwist(px, py, pth, p.x, p.y, p.theta, dt);
        const mid = pth + tw.angular * dt / 2;
        const lateral = (-(p.x - px) * Math.sin(mid) + (p.y - py) * Math.cos(mid)) / dt;
        fr.speed[i] = tw.linear;
        fr.turnRate[i] = tw.angular;
        const m = this.motionOf[i]!;
        m.linear = tw.linear;
        m.angular = tw.angular;
        m.lateral = lateral;
        m.seconds = dt;
        this.motion[i] = m;
      }
      // Only a real measurement is remembered: a stand-in (no usable pose) must not become the reference.
      if (p.stampMs === undefined || Number.isFinite(p.stampMs)) {
        prevX[i] = p.x;
        prevY[i] = p.y;
        prevTheta[i] = p.theta;
        this.hasPrevious[i] = 1;
        this.previousStamped[i] = p.stampMs === undefined ? 0 : 1;
        if (p.stampMs !== undefined) prevStampMs[i] = p.stampMs;
      }
    }
    this.observer.observeAll(fr, 0, this.robots, this.obs, 0, this.rowIds, 0, this.isolated ?? undefined);
    this.observedFresh = false;
  }

  /**
   * The pairs observed this tick and their belief features (pair p at p * PAIR_DIM): computed once per
   * tick and shared by the team's belief network and the monitor; N x neighbours, not N^2.
   */
  observed(): { pairs: ObservedPairs; features: Float32Array } {
    const pairs = this.observer.observedPairs;
    if (!this.observedFresh) {
      if (this.observedFeatures.length < pairs.count * PAIR_DIM) this.observedFeatures = new Float32Array(2 * pairs.count * PAIR_DIM);
      this.observer.observedPairFeatures(this.frame, 0, this.robots, this.observedFeatures, 0);
      this.observedFresh = true;
    }
    return { pairs, features: this.observedFeatures };
  }

  /** Whether robot i observes robot j now (is in range of it; in the local variant, holds it in a row). */
  observes(i: number, j: number): boolean {
    const { start, neighbour } = this.observer.observedPairs;
    for (let p = start[i]!; p < start[i + 1]!; p++) if (neighbour[p] === j) return true;
    return false;
  }

  /** Records the commands sent this tick (robot i's at 2i): next tick's observations carry them. */
  sent(commands: ArrayLike<number>): void {
    for (let k = 0; k < 2 * this.robots; k++) this.frame.command[k] = commands[k]!;
  }

  pairFeatures(_e: number, out: Float32Array): void {
    this.observer.pairFeaturesAll(this.frame, 0, this.robots, out, 0);
  }

  /** Whether robot i has robot j in range now (the first pair feature). */
  inRange(pairs: Float32Array, i: number, j: number): boolean {
    return pairs[(i * this.robots + j) * PAIR_DIM] === 1;
  }
}
