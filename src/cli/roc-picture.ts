// SVG of the monitor's ROC: detection rate (`yLabel` says which) against false alarms per robot-hour (log
// scale), one line per detector as its flag threshold is swept; the legend right of the plot.
import { plotFrame, polyline, svgDocument } from '../pictures/chart.js';
import { labelBox, placeLabels, round, textSvg, type Label } from '../pictures/svg-text.js';

export interface RocSeries {
  name: string;
  colour: string;
  /** One point per threshold; a point with no detection rate (no attacked episode) or no finite false-alarm rate is left out. */
  points: readonly { falseAlarmsPerRobotHour: number; detectionRate: number | null }[];
}

const W_PLOT = 330;
const H = 360;
const P = { l: 60, t: 40, b: 46 };
const FONT = 11;

export function rocSvg(series: readonly RocSeries[], policy: string, yLabel = 'detection rate'): string {
  const drawn = series.map((s) => ({
    ...s,
    points: s.points.filter((p): p is { falseAlarmsPerRobotHour: number; detectionRate: number } => p.detectionRate !== null && Number.isFinite(p.detectionRate) && Number.isFinite(p.falseAlarmsPerRobotHour)),
  }));
  let maxFa = 1;
  for (const s of drawn) for (const p of s.points) maxFa = Math.max(maxFa, p.falseAlarmsPerRobotHour);
  const plotRight = P.l + W_PLOT;
  const plotBottom = H - P.b;
  const px = (fa: number) => P.l + (Math.log10(1 + Math.max(0, fa)) / Math.log10(1 + maxFa)) * W_PLOT;
  const py = (dr: number) => P.t + (1 - dr) * (plotBottom - P.t);
  const title: Label = { text: `Monitor ROC (${policy}), flag threshold swept`, x: P.l, y: 22, size: 13, bold: true };
  const box = { left: P.l, top: P.t, width: W_PLOT, height: plotBottom - P.t };
  const yMid = round((P.t + plotBottom) / 2);
  // Powers of ten up to the largest false-alarm rate.
  const xTicks = [0, ...Array.from({ length: Math.floor(Math.log10(maxFa)) + 1 }, (_, k) => 10 ** k)].map((fa) => ({ at: px(fa), text: String(fa) }));
  const out = [
    textSvg(title),
    ...plotFrame(box, { xTicks, yTicks: [0, 0.5, 1].map((v) => ({ at: py(v), text: String(v) })), font: FONT }),
    textSvg({ text: 'false alarms per robot-hour (log scale)', x: (P.l + plotRight) / 2, y: H - 10, size: FONT, anchor: 'middle' }),
    textSvg({ text: yLabel, x: 14, y: Number(yMid), size: FONT, anchor: 'middle' }, `transform="rotate(-90 14 ${yMid})"`),
  ];
  for (const s of drawn) {
    out.push(...polyline(s.points.map((p): [number, number] => [px(p.falseAlarmsPerRobotHour), py(p.detectionRate)]), s.colour, 1.8));
    for (const p of s.points) out.push(`<circle cx="${round(px(p.falseAlarmsPerRobotHour))}" cy="${round(py(p.detectionRate))}" r="2.5" fill="${s.colour}"/>`);
  }
  const legend = placeLabels(drawn.map((s, i) => ({ text: s.name, x: plotRight + 8, y: P.t + 14 + 14 * i, size: FONT, colour: s.colour })));
  for (const l of legend) out.push(textSvg(l, `fill="${l.colour}"`));
  const width = Math.max(labelBox(title).x1, plotRight + 130, ...legend.map((l) => labelBox(l).x1)) + 10;
  return svgDocument({ width, height: H }, FONT, out);
}
