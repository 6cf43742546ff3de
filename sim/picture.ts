// SVG picture of an episode: arena to scale, each robot's path, start and end poses, the attacked robot marked.
import type { RendezvousMetrics } from '../src/core/rendezvous.js';

export interface TrajectoryPicture {
  arenaWidth: number;
  arenaHeight: number;
  robotIds: readonly string[];
  bodyRadius: readonly number[];
  /** [step][robot][x, y, heading] */
  trajectory: Float64Array;
  steps: number;
  /** Index of the attacked robot, or -1. */
  victim: number;
  /** Shown under the title, e.g. "fault: spin". */
  victimLabel?: string;
  title: string;
  metrics?: RendezvousMetrics;
  gatherDiameter?: number;
}

const PX_PER_M = 300;
const MARGIN = 20;
const FOOTER = 90;

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A distinct colour per robot index. */
export function robotColour(k: number, n: number): string {
  return `hsl(${Math.round((360 * k) / n)}, 55%, 45%)`;
}

export function trajectorySvg(p: TrajectoryPicture): string {
  const n = p.robotIds.length;
  const w = p.arenaWidth * PX_PER_M;
  const h = p.arenaHeight * PX_PER_M;
  // Arena frame: origin at the bottom-left corner, y up (as seen from the overhead camera).
  const sx = (x: number) => (MARGIN + x * PX_PER_M).toFixed(1);
  const sy = (y: number) => (MARGIN + h - y * PX_PER_M).toFixed(1);
  const at = (t: number, k: number) => (t * n + k) * 3;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w + 2 * MARGIN}" height="${h + 2 * MARGIN + FOOTER}" ` +
      `viewBox="0 0 ${w + 2 * MARGIN} ${h + 2 * MARGIN + FOOTER}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<rect x="${MARGIN}" y="${MARGIN}" width="${w}" height="${h}" fill="#f7f7f2" stroke="#333" stroke-width="2"/>`,
  );
  // 0.5 m grid.
  for (let g = 0.5; g < p.arenaWidth; g += 0.5) {
    parts.push(`<line x1="${sx(g)}" y1="${sy(0)}" x2="${sx(g)}" y2="${sy(p.arenaHeight)}" stroke="#ddd"/>`);
  }
  for (let g = 0.5; g < p.arenaHeight; g += 0.5) {
    parts.push(`<line x1="${sx(0)}" y1="${sy(g)}" x2="${sx(p.arenaWidth)}" y2="${sy(g)}" stroke="#ddd"/>`);
  }
  const T = p.steps;
  if (p.gatherDiameter) {
    let cx = 0;
    let cy = 0;
    for (let k = 0; k < n; k++) {
      cx += p.trajectory[at(T, k)];
      cy += p.trajectory[at(T, k) + 1];
    }
    parts.push(
      `<circle cx="${sx(cx / n)}" cy="${sy(cy / n)}" r="${((p.gatherDiameter / 2) * PX_PER_M).toFixed(1)}" ` +
        `fill="none" stroke="#2a7" stroke-dasharray="6 4"/>`,
    );
  }
  for (let k = 0; k < n; k++) {
    const attacked = k === p.victim;
    const colour = attacked ? '#d00' : robotColour(k, n);
    const pts: string[] = [];
    for (let t = 0; t <= T; t++) pts.push(`${sx(p.trajectory[at(t, k)])},${sy(p.trajectory[at(t, k) + 1])}`);
    parts.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${colour}" stroke-width="${attacked ? 2.5 : 1.5}" ` +
        `stroke-opacity="0.8"${attacked ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    const r = (p.bodyRadius[k] ?? 0.037) * PX_PER_M;
    const [x0, y0] = [p.trajectory[at(0, k)], p.trajectory[at(0, k) + 1]];
    parts.push(`<circle cx="${sx(x0)}" cy="${sy(y0)}" r="${r.toFixed(1)}" fill="none" stroke="${colour}" stroke-opacity="0.6"/>`);
    const [x1, y1, th1] = [p.trajectory[at(T, k)], p.trajectory[at(T, k) + 1], p.trajectory[at(T, k) + 2]];
    parts.push(
      `<circle cx="${sx(x1)}" cy="${sy(y1)}" r="${r.toFixed(1)}" fill="${colour}" fill-opacity="0.85" ` +
        `stroke="${attacked ? '#000' : 'none'}" stroke-width="2"/>`,
      `<line x1="${sx(x1)}" y1="${sy(y1)}" x2="${sx(x1 + 1.2 * (p.bodyRadius[k] ?? 0.037) * Math.cos(th1))}" ` +
        `y2="${sy(y1 + 1.2 * (p.bodyRadius[k] ?? 0.037) * Math.sin(th1))}" stroke="#000" stroke-width="1.5"/>`,
    );
    if (attacked) {
      // Keep the label inside the picture near the side walls.
      const anchor = x1 < 0.25 * p.arenaWidth ? 'start' : x1 > 0.75 * p.arenaWidth ? 'end' : 'middle';
      parts.push(
        `<text x="${sx(x1)}" y="${(Number(sy(y1)) - r - 6).toFixed(1)}" text-anchor="${anchor}" fill="#d00" font-weight="bold">` +
          `${escapeXml(p.robotIds[k] ?? String(k))} (attacked)</text>`,
      );
    }
  }
  const footerY = MARGIN + h + 22;
  parts.push(`<text x="${MARGIN}" y="${footerY}" font-weight="bold">${escapeXml(p.title)}</text>`);
  const lines: string[] = [];
  if (p.victim >= 0) lines.push(`attacked: ${p.robotIds[p.victim]}${p.victimLabel ? ` (${p.victimLabel})` : ''}`);
  if (p.metrics) {
    const m = p.metrics;
    lines.push(
      `return ${m.episodeReturn.toFixed(2)} · final spread ${m.finalMeanPairwiseDistance.toFixed(3)} m · largest cluster ${(100 * m.largestClusterFraction).toFixed(0)}%`,
      `gathered at end: ${m.gatheredAtEnd ? 'yes' : 'no'} · first gathered: ${m.timeToGather === null ? 'never' : `after ${m.timeToGather.toFixed(1)} s`} · ` +
        `collisions ${m.collisionsPerRobotMinute.toFixed(2)} per robot-minute`,
    );
  }
  lines.forEach((line, i) => parts.push(`<text x="${MARGIN}" y="${footerY + 18 * (i + 1)}">${escapeXml(line)}</text>`));
  parts.push('</svg>');
  return parts.join('\n');
}
