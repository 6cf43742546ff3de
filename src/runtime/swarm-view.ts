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
  private readonly previous: (TrackedPose | null)[];
  /** Per robot: the motion measured this tick, or null where there was no new measurement (or too short an interval). */
  readonly motion: (MeasuredMotion | null)[];
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
    this.previous = new Array<TrackedPose | null>(robots).fill(null);
    this.motion = new Array<MeasuredMotion | null>(robots).fill(null);
  }

  /**
   * Robot i's pose when the link has no usable one this tick: its last measured pose, or, for a robot never
   * measured yet, a point far outside every arena, so that no robot takes it for a neighbour (a robot the
   * runtime has not located yet must not appear in the others' observations; the safety layer stops it).
   */
  standIn(i: number): TrackedPose & { stampMs: number } {
    if (!this.previous[i]) return { x: UNLOCATED, y: UNLOCATED, theta: 0, stampMs: Number.NaN };
    return { x: this.frame.x[i]!, y: this.frame.y[i]!, theta: this.frame.heading[i]!, stampMs: Number.NaN };
  }

  /** The poses to observe from a link's (robot i's at i): a robot without a finite pose stands in (standIn). */
  usable(timed: readonly (TrackedPose & { stampMs: number } | null)[]): (TrackedPose & { stampMs: number })[] {
    return timed.map((p, i) => (p && [p.x, p.y, p.theta, p.stampMs].every(Number.isFinite) ? { x: p.x, y: p.y, theta: p.theta, stampMs: p.stampMs } : this.standIn(i)));
  }

  /** Whether the runtime has ever had a pose of robot i. */
  located(i: number): boolean {
    return this.previous[i] !== null;
  }

  /** From now on, every update leaves the robots `mask` marks (non-zero at i) out of the others' observations. */
  isolateWith(mask: Uint8Array | null): void {
    if (mask && mask.length !== this.robots) throw new RangeError(`isolation mask of ${mask.length} robots for a swarm of ${this.robots}`);
    this.isolated = mask;
  }

  /** Forgets motion history and commands (trial start). */
  reset(): void {
    this.previous.fill(null);
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
    poses.forEach((p, i) => {
      const prev = this.previous[i];
      fr.x[i] = p.x;
      fr.y[i] = p.y;
      fr.heading[i] = p.theta;
      this.motion[i] = null;
      if (!prev) {
        fr.speed[i] = 0;
        fr.turnRate[i] = 0;
      } else {
        const dt = p.stampMs !== undefined && prev.stampMs !== undefined ? (p.stampMs - prev.stampMs) / 1000 : this.dt;
        // No new measurement, none usable, or too soon after the reference pose: keep the last speeds (and the reference).
        if (!(dt >= MIN_BASELINE * this.dt)) return;
        const tw = estimateTwist(prev.x, prev.y, prev.theta, p.x, p.y, p.theta, dt);
        const mid = prev.theta + tw.angular * dt / 2;
        const lateral = (-(p.x - prev.x) * Math.sin(mid) + (p.y - prev.y) * Math.cos(mid)) / dt;
        fr.speed[i] = tw.linear;
        fr.turnRate[i] = tw.angular;
        this.motion[i] = { ...tw, lateral, seconds: dt };
      }
      // Only a real measurement is remembered: a stand-in (no usable pose) must not become the reference.
      if (p.stampMs === undefined || Number.isFinite(p.stampMs)) this.previous[i] = { ...p };
    });
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
