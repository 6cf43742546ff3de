// Learning curves: one row per iteration, written as CSV and drawn as an SVG chart.

export const CURVE_COLUMNS = [
  'iteration', 'envSteps', 'wallSeconds', 'episodes', 'meanReturn', 'gatherRate',
  'policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'beliefLoss', 'adversaryLoss', 'teacherForcing', 'club',
  'adversaryType', 'referenceSeverity', 'insideBand',
  'evalReturn', 'evalGatherRate',
] as const;

/** One iteration: the columns above, plus any a trainer measures at evaluations (BATPAL: severity1..K). */
export type CurveRow = Partial<Record<string, number | null>>;

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

const W = 640;
const H = 220;
const PAD = { left: 60, right: 20, top: 28, bottom: 36 };

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function panel(title: string, series: Series[], y0: number, yRange?: [number, number]): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<text x="${PAD.left}" y="${y0 + 20}">${title}: no data yet</text>`;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [xLo, xHi] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [yLo, yHi] = yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (yHi - yLo < 1e-9) [yLo, yHi] = [yLo - 1, yHi + 1];
  const px = (x: number) => PAD.left + ((x - xLo) / (xHi - xLo)) * (W - PAD.left - PAD.right);
  const py = (y: number) => y0 + PAD.top + (1 - (y - yLo) / (yHi - yLo)) * (H - PAD.top - PAD.bottom);
  const out: string[] = [`<text x="${PAD.left}" y="${y0 + 18}" font-weight="bold">${title}</text>`];
  for (const t of niceTicks(yLo, yHi)) {
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${t}</text>`);
  }
  for (const t of niceTicks(xLo, xHi)) {
    out.push(`<text x="${px(t)}" y="${y0 + H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${t >= 1e6 ? `${t / 1e6}M` : t >= 1e3 ? `${t / 1e3}k` : t}</text>`);
  }
  out.push(`<rect x="${PAD.left}" y="${y0 + PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${d}" fill="none" stroke="${s.colour}" stroke-width="1.8"/>`);
    out.push(`<text x="${W - PAD.right - 150}" y="${y0 + 18 + i * 14}" fill="${s.colour}" font-size="12">${s.label}</text>`);
  });
  return out.join('\n');
}

export function curveSvg(rows: readonly CurveRow[], title: string): string {
  const pts = (key: string): [number, number][] =>
    rows.filter((r) => r[key] !== null && r[key] !== undefined && r.envSteps !== undefined).map((r) => [r.envSteps!, r[key]!]);
  const body = [
    panel('Episode return vs environment steps', [
      { label: 'training episodes', colour: '#8aa', points: pts('meanReturn') },
      { label: 'held-out evaluation', colour: '#d40', points: pts('evalReturn') },
    ], 30),
    panel('Gathered inside 0.3 m (fraction of episodes)', [
      { label: 'training episodes', colour: '#8aa', points: pts('gatherRate') },
      { label: 'held-out evaluation', colour: '#d40', points: pts('evalGatherRate') },
    ], 30 + H, [0, 1]),
  ];
  // BATPAL: each severity adversary's measured severity against pi_0 (the paper's Figure 4).
  const severities = columnsOf(rows).filter((c) => /^severity\d+$/.test(c));
  if (severities.length > 0) {
    const colours = ['#2a7', '#27c', '#c72', '#c27', '#777', '#7a2', '#a2c', '#2cc'];
    body.push(panel('Severity against pi_0 (band k: (k-1)/K to k/K)', severities.map((c, i) => ({ label: c.replace('severity', 'severity '), colour: colours[i % colours.length]!, points: pts(c) })), 30 + 2 * H, [-0.25, 1.25]));
  }
  const panels = body.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${panels * H + 40}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${title.replace(/[&<>]/g, '')}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}
