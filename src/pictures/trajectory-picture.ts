// SVG picture of an episode: arena to scale, each robot's path, start and end poses, the attacked robots marked.
import type { RendezvousMetrics } from '../core/rendezvous.js';
import { svgDocument } from './chart.js';
import { labelBox, placeLabels, round, textSvg, textWidth, wrapText, type Label } from './svg-text.js';

export interface TrajectoryPicture {
  arenaWidth: number;
  arenaHeight: number;
  robotIds: readonly string[];
  bodyRadius: readonly number[];
  /**
   * Poses [pose][robot][x, y, heading], the first the start: as many poses as the array holds (its length
   * over 3 x robots). A pose with a non-finite value (a robot not located then) is left out of the picture.
   */
  trajectory: Float64Array;
  /** Indices of the attacked robots (empty: none). */
  attacked: readonly number[];
  /** Shown in the footer after "attacked: ", e.g. "epuck-4 (fault: spin)"; default the attacked robots' ids. */
  attackLabel?: string;
  title: string;
  metrics?: RendezvousMetrics;
  gatherDiameter?: number;
}

const PX_PER_M = 300;
const MARGIN = 20;
const FONT = 13;
const LINE = 18;
const DEFAULT_BODY_RADIUS = 0.037;

/** A distinct colour per robot index. */
export function robotColour(k: number, n: number): string {
  return `hsl(${Math.round((360 * k) / n)}, 55%, 45%)`;
}

/** Each robot's located poses, in order. */
function posesByRobot(p: TrajectoryPicture): { x: number; y: number; heading: number }[][] {
  const n = p.robotIds.length;
  const values = p.trajectory.length;
  if (n === 0 || values % (3 * n) !== 0) {
    throw new RangeError(`trajectory picture '${p.title}': ${values} trajectory values are not whole poses of ${n} robots (3 values per robot per pose)`);
  }
  const count = values / (3 * n);
  return p.robotIds.map((_, k) => {
    const poses = [];
    for (let t = 0; t < count; t++) {
      const i = (t * n + k) * 3;
      const [x, y, heading] = [p.trajectory[i]!, p.trajectory[i + 1]!, p.trajectory[i + 2]!];
      if (Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(heading)) poses.push({ x, y, heading });
    }
    return poses;
  });
}

/** A footer line's ' · '-separated parts packed onto lines no wider than the picture (a part too long alone wraps). */
function packParts(line: string, width: number, bold: boolean): string[] {
  const out: string[] = [];
  for (const part of line.split(' · ')) {
    const joined = out.length ? `${out[out.length - 1]} · ${part}` : part;
    if (out.length && textWidth(joined, FONT, bold) <= width) out[out.length - 1] = joined;
    else out.push(...wrapText(part, width, FONT, bold));
  }
  return out;
}

export function trajectorySvg(p: TrajectoryPicture): string {
  const n = p.robotIds.length;
  const paths = posesByRobot(p);
  const w = p.arenaWidth * PX_PER_M;
  const h = p.arenaHeight * PX_PER_M;
  const width = w + 2 * MARGIN;
  // Arena frame: origin at the bottom-left corner, y up (as seen from the overhead camera).
  const sx = (x: number) => MARGIN + x * PX_PER_M;
  const sy = (y: number) => MARGIN + h - y * PX_PER_M;
  const parts: string[] = [
    `<rect x="${MARGIN}" y="${MARGIN}" width="${w}" height="${h}" fill="#f7f7f2" stroke="#333" stroke-width="2"/>`,
  ];
  // 0.5 m grid.
  for (let g = 0.5; g < p.arenaWidth; g += 0.5) parts.push(`<line x1="${round(sx(g))}" y1="${round(sy(0))}" x2="${round(sx(g))}" y2="${round(sy(p.arenaHeight))}" stroke="#ddd"/>`);
  for (let g = 0.5; g < p.arenaHeight; g += 0.5) parts.push(`<line x1="${round(sx(0))}" y1="${round(sy(g))}" x2="${round(sx(p.arenaWidth))}" y2="${round(sy(g))}" stroke="#ddd"/>`);
  const ends = paths.map((poses) => poses.at(-1)).filter((e) => e !== undefined);
  if (p.gatherDiameter && ends.length > 0) {
    const cx = ends.reduce((s, e) => s + e.x, 0) / ends.length;
    const cy = ends.reduce((s, e) => s + e.y, 0) / ends.length;
    parts.push(`<circle cx="${round(sx(cx))}" cy="${round(sy(cy))}" r="${round((p.gatherDiameter / 2) * PX_PER_M)}" fill="none" stroke="#2a7" stroke-dasharray="6 4"/>`);
  }
  const attackedLabels: (Label & { colour: string })[] = [];
  paths.forEach((poses, k) => {
    if (poses.length === 0) return;
    const attacked = p.attacked.includes(k);
    const colour = attacked ? '#d00' : robotColour(k, n);
    const radius = p.bodyRadius[k] ?? DEFAULT_BODY_RADIUS;
    const r = radius * PX_PER_M;
    parts.push(
      `<polyline points="${poses.map((q) => `${round(sx(q.x))},${round(sy(q.y))}`).join(' ')}" fill="none" stroke="${colour}" ` +
        `stroke-width="${attacked ? 2.5 : 1.5}" stroke-opacity="0.8"${attacked ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    const start = poses[0]!;
    const end = poses.at(-1)!;
    parts.push(
      `<circle cx="${round(sx(start.x))}" cy="${round(sy(start.y))}" r="${round(r)}" fill="none" stroke="${colour}" stroke-opacity="0.6"/>`,
      `<circle cx="${round(sx(end.x))}" cy="${round(sy(end.y))}" r="${round(r)}" fill="${colour}" fill-opacity="0.85" stroke="${attacked ? '#000' : 'none'}" stroke-width="2"/>`,
      `<line x1="${round(sx(end.x))}" y1="${round(sy(end.y))}" x2="${round(sx(end.x + 1.2 * radius * Math.cos(end.heading)))}" ` +
        `y2="${round(sy(end.y + 1.2 * radius * Math.sin(end.heading)))}" stroke="#000" stroke-width="1.5"/>`,
    );
    if (attacked) {
      // Keep the label inside the picture near the side walls.
      const anchor = end.x < 0.25 * p.arenaWidth ? 'start' : end.x > 0.75 * p.arenaWidth ? 'end' : 'middle';
      attackedLabels.push({ text: `${p.robotIds[k] ?? String(k)} (attacked)`, x: sx(end.x), y: sy(end.y) - r - 6, size: FONT, anchor, bold: true, colour });
    }
  });
  // Attacked robots' labels in the arena, kept off each other; two robots side by side get one above the other.
  for (const l of placeLabels(attackedLabels, { top: 0, bottom: MARGIN + h })) parts.push(textSvg(l, `fill="${l.colour}"`));
  if (ends.length === 0) parts.push(textSvg({ text: 'no poses recorded', x: MARGIN + w / 2, y: MARGIN + h / 2, size: FONT, anchor: 'middle' }, 'fill="#777"'));
  // Footer: the title, the attack, the metrics, each wrapped to the picture's width.
  const lines: string[] = [];
  const attackedIds = p.attacked.map((k) => p.robotIds[k] ?? String(k));
  if (p.attackLabel || attackedIds.length > 0) lines.push(`attacked: ${p.attackLabel ?? attackedIds.join(', ')}`);
  if (p.metrics) {
    const m = p.metrics;
    lines.push(
      `return ${m.episodeReturn.toFixed(2)} · final spread ${m.finalMeanPairwiseDistance.toFixed(3)} m · largest cluster ${(100 * m.largestClusterFraction).toFixed(0)}%`,
      `gathered at end: ${m.gatheredAtEnd ? 'yes' : 'no'} · first gathered: ${m.timeToGather === null ? 'never' : `after ${m.timeToGather.toFixed(1)} s`} · ` +
        `collisions ${m.collisionsPerRobotMinute.toFixed(2)} per robot-minute`,
    );
  }
  const footer: Label[] = [
    ...packParts(p.title, w, true).map((text) => ({ text, bold: true })),
    ...lines.flatMap((line) => packParts(line, w, false).map((text) => ({ text, bold: false }))),
  ].map((l, i) => ({ ...l, x: MARGIN, y: MARGIN + h + 22 + LINE * i, size: FONT }));
  for (const l of footer) parts.push(textSvg(l));
  const height = Math.ceil(Math.max(MARGIN + h + MARGIN, ...footer.map((l) => labelBox(l).y1 + MARGIN / 2)));
  return svgDocument({ width, height }, FONT, parts);
}
