// What every chart of the project shares (suspicion over time, sim2real error, learning curves, the
// monitor's ROC, the evaluation heatmap): the SVG document, a plot's outline with its tick labels, lines
// through points, and time ticks that do not crowd. Text goes through svg-text.ts (one escape, one measure).
import { keepClear, labelBox, round, spacedStep, textSvg, textWidth, TIME_STEPS_S, type Label } from './svg-text.js';

/** Where a plot sits on the page, px. */
export interface PlotBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A tick: where it sits along its axis (px) and its label. */
export interface Tick {
  at: number;
  text: string;
}

/** Gap between a plot's edge and its tick labels, px. */
const TICK_GAP = 6;

/** The SVG document of a picture, sized in whole px (its viewBox too, so it scales): white background, sans-serif at `font` px. */
export function svgDocument(size: { width: number; height: number }, font: number, body: readonly string[]): string {
  const [w, h] = [Math.ceil(size.width), Math.ceil(size.height)];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="${font}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/**
 * A plot's frame: its outline, faint grid lines at the y ticks if asked, the y ticks' labels left of it and
 * the x ticks' labels under it (a label that would crowd the one before is left out).
 */
export function plotFrame(box: PlotBox, o: { xTicks: readonly Tick[]; yTicks: readonly Tick[]; font: number; grid?: boolean }): string[] {
  const right = box.left + box.width;
  const bottom = box.top + box.height;
  const out: string[] = [];
  if (o.grid) for (const t of o.yTicks) out.push(`<line x1="${box.left}" x2="${right}" y1="${round(t.at)}" y2="${round(t.at)}" stroke="#eee"/>`);
  out.push(`<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#999"/>`);
  const labels: Label[] = [
    ...o.yTicks.map((t): Label => ({ text: t.text, x: box.left - TICK_GAP, y: t.at + 4, size: o.font, anchor: 'end' })),
    ...o.xTicks.map((t): Label => ({ text: t.text, x: t.at, y: bottom + 16, size: o.font, anchor: 'middle' })),
  ];
  for (const l of keepClear(labels)) out.push(textSvg(l));
  return out;
}

/** Left margin that holds the widest y tick label, at least `min` px. */
export function leftMarginFor(yTicks: readonly { text: string }[], font: number, min: number): number {
  return Math.max(min, Math.ceil(Math.max(0, ...yTicks.map((t) => textWidth(t.text, font))) + 16));
}

/** A line through the points (px); nothing for no points. */
export function polyline(points: readonly (readonly [number, number])[], stroke: string, width: number): string[] {
  if (points.length === 0) return [];
  return [`<polyline points="${points.map(([x, y]) => `${round(x)},${round(y)}`).join(' ')}" fill="none" stroke="${stroke}" stroke-width="${width}"/>`];
}

/** Ticks along a time axis of `seconds`, at a step whose labels ("30 s") do not crowd. */
export function timeTicks(seconds: number, xOfSeconds: (s: number) => number, plotWidth: number, font: number): Tick[] {
  const step = spacedStep(TIME_STEPS_S, plotWidth / Math.max(seconds, 1e-9), textWidth(`${Math.ceil(seconds)} s`, font));
  const ticks: Tick[] = [];
  for (let s = 0; s <= seconds + 1e-9; s += step) ticks.push({ at: xOfSeconds(s), text: `${s} s` });
  return ticks;
}

/** The size that holds the plot (with `below` px under it for its axis) and every label, plus a margin. */
export function pictureSize(box: PlotBox, below: number, labels: readonly Label[], margin = 10): { width: number; height: number } {
  return {
    width: Math.max(box.left + box.width, ...labels.map((l) => labelBox(l).x1)) + margin,
    height: Math.max(box.top + box.height + below, ...labels.map((l) => labelBox(l).y1 + margin)),
  };
}
