// What Foxglove's 3D panel shows of a run: a foxglove.FrameTransforms message per tick placing every robot's
// frame (named by its id) in the `arena` frame, and a foxglove.SceneUpdate with the arena (floor, walls)
// and every robot as a disc in its own frame (frame-locked, so it follows the transforms), coloured by the
// monitor's suspicion, with a heading arrow, its id as a label and a red halo once flagged. Messages are
// JSON laid out as @foxglove/schemas' JSON Schemas, which go into the recording as the channels' schemas.
import type { Color, FrameTransform, FrameTransforms, Pose, SceneEntity, SceneUpdate, Time } from '@foxglove/schemas';
import { FrameTransforms as FrameTransformsSchema, SceneUpdate as SceneUpdateSchema } from '@foxglove/schemas/jsonschema.js';
import type { TickRecord } from '../runtime/trial.js';

/** The root frame: origin at the arena's bottom-left corner, x right, y up, metres (the runtime's poses). */
export const ARENA_FRAME = 'arena';

export const FOXGLOVE_CHANNELS = {
  sceneUpdate: { topic: '/foxglove/scene', schemaName: 'foxglove.SceneUpdate', jsonSchema: SceneUpdateSchema },
  transforms: { topic: '/foxglove/transforms', schemaName: 'foxglove.FrameTransforms', jsonSchema: FrameTransformsSchema },
} as const;
export type FoxgloveRole = keyof typeof FOXGLOVE_CHANNELS;

/** What the scene needs of the swarm. */
export interface SceneSpec {
  robotIds: readonly string[];
  arenaWidth: number;
  arenaHeight: number;
  /** Per robot, m. */
  bodyRadius: readonly number[];
}

/**
 * Suspicion is shown in tenths, rounded down: finer shades cannot be told apart at a glance, and rounding
 * down keeps the monitor's small blips near 0 (0.06 and back) from changing a robot's colour.
 */
const SUSPICION_STEPS = 10;
const ROBOT_HEIGHT = 0.05;
const WALL = { thickness: 0.01, height: 0.05 };

const IDENTITY: Pose = { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } };
const at = (x: number, y: number, z: number): Pose => ({ position: { x, y, z }, orientation: IDENTITY.orientation });
const rgba = (r: number, g: number, b: number, a = 1): Color => ({ r, g, b, a });
const GREEN = rgba(0.2, 0.7, 0.3);
const AMBER = rgba(0.95, 0.75, 0.1);
const RED = rgba(0.85, 0.1, 0.1);
const GREY = rgba(0.5, 0.5, 0.5);
const WHITE = rgba(1, 1, 1);
/** 0.01 mm and 1e-5 of a quaternion are plenty for the eye, and shorter JSON. */
const visual = (v: number) => Math.round(v * 1e5) / 1e5;
const located = (p: { x: number; y: number; theta: number }) => Number.isFinite(p.x) && Number.isFinite(p.y) && Number.isFinite(p.theta);

/** Suspicion's tenth, 0..10 (+1e-9: a suspicion of 0.3 may come out as 0.29999999999999998); null if not a number. */
function suspicionStep(suspicion: number): number | null {
  if (!Number.isFinite(suspicion)) return null;
  return Math.min(SUSPICION_STEPS, Math.max(0, Math.floor(suspicion * SUSPICION_STEPS + 1e-9)));
}

/** Suspicion in [0, 1] as a colour: green (0) through amber (0.5) to red (1), in tenths rounded down; grey if not a number. */
export function suspicionColour(suspicion: number): Color {
  const step = suspicionStep(suspicion);
  if (step === null) return GREY;
  const s = step / SUSPICION_STEPS;
  const [from, to, f] = s <= 0.5 ? [GREEN, AMBER, s / 0.5] : [AMBER, RED, (s - 0.5) / 0.5];
  const mix = (a: number, b: number) => Math.round((a + (b - a) * f) * 1000) / 1000;
  return rgba(mix(from.r, to.r), mix(from.g, to.g), mix(from.b, to.b));
}

/** The tenth the colour shows, as text (`0.3-0.4`; the exact value is on /monitor). */
function suspicionLabel(suspicion: number): string {
  const step = suspicionStep(suspicion);
  if (step === null) return 'none';
  return step === SUSPICION_STEPS ? '1.0' : `${(step / SUSPICION_STEPS).toFixed(1)}-${((step + 1) / SUSPICION_STEPS).toFixed(1)}`;
}

/** The poses shown: true where the link knows them (the twin), tracked otherwise. */
const shownPoses = (record: TickRecord) => record.truePoses ?? record.poses;

/** Every located robot's frame in the arena frame (a robot not located keeps its last transform). */
export function frameTransforms(spec: SceneSpec, record: TickRecord, timestamp: Time): FrameTransforms {
  const transforms: FrameTransform[] = [];
  shownPoses(record).forEach((p, i) => {
    if (!located(p)) return;
    transforms.push({
      timestamp,
      parent_frame_id: ARENA_FRAME,
      child_frame_id: spec.robotIds[i]!,
      translation: { x: visual(p.x), y: visual(p.y), z: 0 },
      rotation: { x: 0, y: 0, z: visual(Math.sin(p.theta / 2)), w: visual(Math.cos(p.theta / 2)) },
    });
  });
  return { transforms };
}

function entity(id: string, frame: string, timestamp: Time, parts: Partial<Pick<SceneEntity, 'cubes' | 'cylinders' | 'arrows' | 'texts' | 'metadata'>>): SceneEntity {
  return {
    timestamp,
    frame_id: frame,
    id,
    lifetime: { sec: 0, nsec: 0 },
    frame_locked: frame !== ARENA_FRAME,
    metadata: [],
    arrows: [],
    cubes: [],
    spheres: [],
    cylinders: [],
    lines: [],
    triangles: [],
    texts: [],
    models: [],
    ...parts,
  };
}

/** The floor and four walls around [0, W] x [0, H]. */
function arenaEntity(spec: SceneSpec, timestamp: Time): SceneEntity {
  const { arenaWidth: W, arenaHeight: H } = spec;
  const { thickness: t, height: h } = WALL;
  const wall = (x: number, y: number, sx: number, sy: number) => ({ pose: at(x, y, h / 2), size: { x: sx, y: sy, z: h }, color: rgba(0.6, 0.6, 0.65) });
  return entity(ARENA_FRAME, ARENA_FRAME, timestamp, {
    cubes: [
      { pose: at(W / 2, H / 2, -0.001), size: { x: W, y: H, z: 0.002 }, color: rgba(0.25, 0.25, 0.28) },
      wall(W / 2, -t / 2, W + 2 * t, t),
      wall(W / 2, H + t / 2, W + 2 * t, t),
      wall(-t / 2, H / 2, t, H),
      wall(W + t / 2, H / 2, t, H),
    ],
  });
}

/** How robot i looks this tick: the scene is sent again when any robot's look changes. */
function look(record: TickRecord, i: number): string {
  return `${suspicionStep(record.suspicion[i]!)}|${record.flagged[i]}|${record.compromised.includes(i)}|${located(shownPoses(record)[i]!)}`;
}

function robotEntity(spec: SceneSpec, record: TickRecord, i: number, timestamp: Time): SceneEntity {
  const id = spec.robotIds[i]!;
  const r = spec.bodyRadius[i]!;
  const flagged = record.flagged[i]!;
  const notes = [flagged && 'flagged', record.compromised.includes(i) && 'injected', !located(shownPoses(record)[i]!) && 'not located'].filter(Boolean);
  const cylinders: SceneEntity['cylinders'] = [{ pose: at(0, 0, ROBOT_HEIGHT / 2), size: { x: 2 * r, y: 2 * r, z: ROBOT_HEIGHT }, bottom_scale: 1, top_scale: 1, color: suspicionColour(record.suspicion[i]!) }];
  if (flagged) cylinders.push({ pose: at(0, 0, 0.002), size: { x: 3.2 * r, y: 3.2 * r, z: 0.004 }, bottom_scale: 1, top_scale: 1, color: RED });
  return entity(id, id, timestamp, {
    cylinders,
    arrows: [{ pose: at(0, 0, ROBOT_HEIGHT + 0.002), shaft_length: 0.9 * r, shaft_diameter: 0.25 * r, head_length: 0.6 * r, head_diameter: 0.6 * r, color: WHITE }],
    texts: [{ pose: at(0, 0, ROBOT_HEIGHT + 0.04), billboard: true, font_size: 14, scale_invariant: true, color: WHITE, text: notes.length ? `${id} (${notes.join(', ')})` : id }],
    metadata: [{ key: 'suspicion', value: suspicionLabel(record.suspicion[i]!) }],
  });
}

/** The whole scene: the arena and every robot (each message replaces every entity, so any one is enough to draw). */
export function sceneUpdate(spec: SceneSpec, record: TickRecord, timestamp: Time): SceneUpdate {
  return { deletions: [], entities: [arenaEntity(spec, timestamp), ...spec.robotIds.map((_, i) => robotEntity(spec, record, i, timestamp))] };
}

/**
 * When to send the scene: at the first tick, whenever a robot's look changes (suspicion step, flag,
 * injection, located), and, live, at least every `refreshTicks` ticks so a viewer that joins late gets one
 * soon. A recording needs no refresh: Foxglove seeking to a time first reads the last message of each topic
 * before it.
 */
export class SceneSchedule {
  private last: string[] | null = null;
  private sinceSent = 0;

  constructor(private readonly refreshTicks = Number.POSITIVE_INFINITY) {
    if (!(refreshTicks >= 1)) throw new RangeError(`scene refresh must be at least 1 tick, got ${refreshTicks}`);
  }

  due(record: TickRecord): boolean {
    const looks = record.suspicion.map((_, i) => look(record, i));
    const changed = this.last === null || looks.some((l, i) => l !== this.last![i]);
    if (changed || ++this.sinceSent >= this.refreshTicks) {
      this.last = looks;
      this.sinceSent = 0;
      return true;
    }
    return false;
  }
}
