// Learning curves: one row per iteration, written as CSV and drawn as an SVG chart (legends beside the plots).
import { plotFrame, polyline, svgDocument } from '../../src/pictures/chart.js';
import { labelBox, placeLabels, round, textSvg, textWidth, type Label } from '../../src/pictures/svg-text.js';
import { renameKeys } from '../../src/core/renamed-keys.js';

export const CURVE_COLUMNS = [
  'iteration', 'envSteps', 'wallSeconds', 'episodes', 'meanReturn', 'everGatheredRate',
  'policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'beliefLoss', 'adversaryLoss', 'teacherForcing', 'club',
  'adversaryType', 'referenceSeverity', 'insideBand',
  'evalReturn', 'evalEverGatheredRate',
] as const;

/** One iteration: the columns above, plus any a trainer measures at evaluations (BATPAL: severity1..K). */
export type CurveRow = Partial<Record<string, number | null>>;

/** Columns renamed since curves were written with them (curve.csv headers, checkpoints' rows): old -> new. */
export const RENAMED_CURVE_COLUMNS: Readonly<Record<string, string>> = {
  gatherRate: 'everGatheredRate',
  evalGatherRate: 'evalEverGatheredRate',
  // An adversary's curve.csv (train-adversary).
  teamGatherRate: 'teamEverGatheredRate',
};

/** A row with every renamed column under its new name. */
export function currentCurveRow(row: CurveRow): CurveRow {
  return renameKeys(row, RENAMED_CURVE_COLUMNS) as CurveRow;
}

/** A curve.csv's rows (empty cells left out), old column names read as the new ones. */
export function parseCurveCsv(text: string): CurveRow[] {
  const [head, ...lines] = text.trim().split('\n');
  const columns = head!.split(',').map((c) => RENAMED_CURVE_COLUMNS[c] ?? c);
  return lines.map((line) => Object.fromEntries(line.split(',').flatMap((v, i) => (v === '' ? [] : [[columns[i]!, Number(v)]]))));
}

/** The standard columns, then any further ones in the order they first appear. */
function columnsOf(rows: readonly CurveRow[]): string[] {
  const columns: string[] = [...CURVE_COLUMNS];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  return columns;
}

export function curveCsv(rows: readonly CurveRow[]): string {
  const columns = columnsOf(rows);
  const lines = [columns.join(',')];
  for (const r of rows) lines.push(columns.map((c) => (r[c] === null || r[c] === undefined ? '' : String(r[c]))).join(','));
  return `${lines.join('\n')}\n`;
}

interface Series {
  label: string;
  colour: string;
  points: [number, number][];
}

const PLOT_W = 560;
const H = 220;
const PAD = { left: 60, top: 28, bottom: 36 };
const FONT = 12;
const TICK_FONT = 11;
const LEGEND_LINE = 15;
const SWATCH = 16;
/** The legends sit right of the plots, outside them: from here, px. */
const LEGEND_X = PAD.left + PLOT_W + 14;

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/** Environment steps, short: 4.8k, 12M. */
function stepsLabel(t: number): string {
  return t >= 1e6 ? `${+(t / 1e6).toPrecision(6)}M` : t >= 1e3 ? `${+(t / 1e3).toPrecision(6)}k` : String(t);
}

function panel(title: string, series: Series[], y0: number, yRange?: [number, number]): string {
  const titleLabel = textSvg({ text: title, x: PAD.left, y: y0 + 18, size: FONT, bold: true });
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `${titleLabel}\n${textSvg({ text: 'no data yet', x: PAD.left, y: y0 + 40, size: FONT }, 'fill="#777"')}`;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [xLo, xHi] = [Math.min(...xs), Math.max(...xs)];
  let [yLo, yHi] = yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (yHi - yLo < 1e-9) [yLo, yHi] = [yLo - 1, yHi + 1];
  const plotTop = y0 + PAD.top;
  const plotH = H - PAD.top - PAD.bottom;
  // A single x (one iteration so far) sits in the middle.
  const px = (x: number) => PAD.left + (xHi > xLo ? (x - xLo) / (xHi - xLo) : 0.5) * PLOT_W;
  const py = (y: number) => plotTop + (1 - (y - yLo) / (yHi - yLo)) * plotH;
  const out: string[] = [titleLabel];
  out.push(
    ...plotFrame(
      { left: PAD.left, top: plotTop, width: PLOT_W, height: plotH },
      {
        yTicks: niceTicks(yLo, yHi).map((t) => ({ at: py(t), text: String(t) })),
        xTicks: (xHi > xLo ? niceTicks(xLo, xHi) : [xLo]).map((t) => ({ at: px(t), text: stepsLabel(t) })),
        font: TICK_FONT,
        grid: true,
      },
    ),
  );
  const drawn = series.filter((s) => s.points.length > 0);
  for (const s of drawn) out.push(...polyline(s.points.map(([x, y]): [number, number] => [px(x), py(y)]), s.colour, 1.8));
  // The legend, outside the plot: a swatch of each line and its name.
  const legend = placeLabels(drawn.map((s, i): Label => ({ text: s.label, x: LEGEND_X + SWATCH + 6, y: plotTop + 10 + LEGEND_LINE * i, size: FONT })));
  legend.forEach((l, i) => {
    const c = drawn[i]!.colour;
    out.push(`<line x1="${LEGEND_X}" x2="${LEGEND_X + SWATCH}" y1="${round(l.y - 4)}" y2="${round(l.y - 4)}" stroke="${c}" stroke-width="2.5"/>`, textSvg(l, `fill="${c}"`));
  });
  return out.join('\n');
}

export function curveSvg(rows: readonly CurveRow[], title: string): string {
  // Rows with a finite value only: an iteration may have no evaluation, or no finished episode.
  const pts = (key: string): [number, number][] =>
    rows.flatMap((r): [number, number][] => {
      const [x, y] = [r.envSteps, r[key]];
      return typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y) ? [[x, y]] : [];
    });
  const series: Series[][] = [
    [
      { label: 'training episodes', colour: '#8aa', points: pts('meanReturn') },
      { label: 'held-out evaluation', colour: '#d40', points: pts('evalReturn') },
    ],
    [
      { label: 'training episodes', colour: '#8aa', points: pts('everGatheredRate') },
      { label: 'held-out evaluation', colour: '#d40', points: pts('evalEverGatheredRate') },
    ],
  ];
  const body = [
    panel('Episode return vs environment steps', series[0]!, 30),
    panel('Gathered inside 0.3 m (fraction of episodes)', series[1]!, 30 + H, [0, 1]),
  ];
  // BATPAL: each severity adversary's measured severity against pi_0 (the paper's Figure 4).
  const severities = columnsOf(rows).filter((c) => /^severity\d+$/.test(c));
  if (severities.length > 0) {
    const colours = ['#2a7', '#27c', '#c72', '#c27', '#777', '#7a2', '#a2c', '#2cc'];
    series.push(severities.map((c, i) => ({ label: c.replace('severity', 'severity '), colour: colours[i % colours.length]!, points: pts(c) })));
    body.push(panel('Severity against pi_0 (band k: (k-1)/K to k/K)', series[2]!, 30 + 2 * H, [-0.25, 1.25]));
  }
  const panels = body.length;
  const legendWidth = Math.max(0, ...series.flat().map((s) => textWidth(s.label, FONT)));
  const titleLabel: Label = { text: title, x: PAD.left, y: 20, size: 14, bold: true };
  const width = Math.ceil(Math.max(LEGEND_X + SWATCH + 6 + legendWidth, labelBox(titleLabel).x1) + 12);
  return svgDocument({ width, height: panels * H + 40 }, FONT, [textSvg(titleLabel), ...body]);
}
