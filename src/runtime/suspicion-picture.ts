// SVG of a run's suspicion: one line per robot over time, injections shaded in their robot's colour,
// flags marked, the flag and clear thresholds drawn. Labels sit in their own places (thresholds and robots
// in two columns right of the plot, injections along its top) and are kept off each other.
import { robotColour } from '../pictures/trajectory-picture.js';
import { pictureSize, plotFrame, polyline, svgDocument, timeTicks } from '../pictures/chart.js';
import { placeLabels, round, textSvg, textWidth, type Label } from '../pictures/svg-text.js';
import type { RunEvent } from './trial.js';
import type { RunPictures } from './run-pictures.js';

const PLOT_W = 560;
const PLOT_H = 228;
const PAD = { left: 50, top: 36, bottom: 36 };
const FONT = 11;
const TITLE_FONT = 13;
const LEGEND_LINE = 13;

export function suspicionSvg(o: {
  title: string;
  ids: readonly string[];
  /** The run's ticks and the samples drawn (every tick's, or a long run's thinned history: run-pictures.ts). */
  history: RunPictures;
  events: readonly RunEvent[];
  controlPeriod: number;
  flagAt: number;
  clearAt: number;
}): string {
  const n = o.ids.length;
  const colour = (k: number) => robotColour(Math.max(0, k), n);
  const T = Math.max(1, o.history.ticks);
  const plotRight = PAD.left + PLOT_W;
  const plotBottom = PAD.top + PLOT_H;
  // Events may name ticks past the records kept (an interrupted run): held to the plot.
  const px = (tick: number) => PAD.left + Math.min(1, Math.max(0, tick / T)) * PLOT_W;
  const py = (s: number) => PAD.top + (1 - Math.min(1, Math.max(0, s))) * PLOT_H;
  const out: string[] = [];
  const labels: string[] = [];
  // Injections (ground truth) as shaded spans, each labelled at the top; two at once stack.
  const injectionLabels: (Label & { colour: string })[] = [];
  for (const e of o.events) {
    if (e.kind !== 'injection-start') continue;
    const end = o.events.find((x) => x.kind === 'injection-end' && x.robot === e.robot && x.tick > e.tick);
    const k = o.ids.indexOf(e.robot);
    const x0 = px(e.tick);
    const x1 = px(end ? end.tick : T);
    out.push(`<rect x="${round(x0)}" y="${PAD.top}" width="${round(x1 - x0)}" height="${PLOT_H}" fill="${colour(k)}" fill-opacity="0.12"/>`);
    const text = `${e.robot}: ${e.attack}`;
    const fits = x0 + 3 + textWidth(text, FONT) <= plotRight;
    injectionLabels.push({ text, x: fits ? x0 + 3 : plotRight - 3, y: PAD.top + 12, size: FONT, anchor: fits ? 'start' : 'end', colour: colour(k) });
  }
  for (const l of placeLabels(injectionLabels, { top: PAD.top, bottom: plotBottom })) labels.push(textSvg(l, `fill="${l.colour}"`));
  // Thresholds: dashed lines, labelled in the first column right of the plot.
  const thresholds = [
    { name: 'flag', v: o.flagAt, dash: '4,3' },
    { name: 'clear', v: o.clearAt, dash: '2,3' },
  ];
  const thresholdLabels = thresholds.map((t): Label => ({ text: `${t.name} ${t.v}`, x: plotRight + 4, y: py(t.v) + 4, size: FONT }));
  for (const t of thresholds) out.push(`<line x1="${PAD.left}" x2="${plotRight}" y1="${round(py(t.v))}" y2="${round(py(t.v))}" stroke="#999" stroke-dasharray="${t.dash}"/>`);
  for (const l of placeLabels(thresholdLabels)) labels.push(textSvg(l, 'fill="#777"'));
  const box = { left: PAD.left, top: PAD.top, width: PLOT_W, height: PLOT_H };
  const yTicks = [0, 0.5, 1].map((s) => ({ at: py(s), text: String(s) }));
  out.push(...plotFrame(box, { xTicks: timeTicks(T * o.controlPeriod, (s) => px(s / o.controlPeriod), PLOT_W, FONT), yTicks, font: FONT }));
  // One line per robot (ticks with a suspicion value), and the robots' legend in the second column.
  o.ids.forEach((_, k) => {
    const points = o.history.samples
      .map((r) => ({ tick: r.tick, s: r.suspicion[k] }))
      .filter((p): p is { tick: number; s: number } => p.s !== undefined && Number.isFinite(p.s))
      .map((p): [number, number] => [px(p.tick), py(p.s)]);
    out.push(...polyline(points, colour(k), 1.4));
  });
  const legendX = plotRight + 4 + Math.max(...thresholdLabels.map((l) => textWidth(l.text, FONT))) + 14;
  const legend = placeLabels(o.ids.map((id, k): Label => ({ text: id, x: legendX, y: PAD.top + 10 + LEGEND_LINE * k, size: FONT })));
  legend.forEach((l, k) => labels.push(textSvg(l, `fill="${colour(k)}"`)));
  for (const e of o.events) {
    if (e.kind !== 'flag' || !Number.isFinite(e.suspicion)) continue;
    out.push(`<circle cx="${round(px(e.tick))}" cy="${round(py(e.suspicion))}" r="4" fill="${colour(o.ids.indexOf(e.robot))}"/>`);
  }
  const title: Label = { text: o.title, x: PAD.left, y: 20, size: TITLE_FONT, bold: true };
  return svgDocument(pictureSize(box, PAD.bottom, [title, ...legend]), FONT, [textSvg(title), ...out, ...labels]);
}
