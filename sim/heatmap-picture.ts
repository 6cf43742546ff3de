// SVG heatmap of a matrix (rows by columns, one number per cell, written in the cell) with its colour scale
// below it. The colours span the values' own range (rounded outward), so close values still look different;
// the scale says which colour is which value. Column headers wrap onto lines no wider than their column.
import { rgb } from 'd3-color';
import { interpolateRdYlGn } from 'd3-scale-chromatic';
import { svgDocument } from '../src/pictures/chart.js';
import { keepClear, labelBox, textSvg, textWidth, wrapText, type Label } from '../src/pictures/svg-text.js';

export interface Heatmap {
  title: string;
  rows: readonly string[];
  columns: readonly string[];
  /** values[row][column]; null: no value for that cell. */
  values: readonly (readonly (number | null)[])[];
  /** A value as written in its cell and on the scale. */
  format: (v: number) => string;
  /** What the colours stand for, written beside the scale. */
  scaleLabel: string;
}

const FONT = 12;
const TITLE_FONT = 14;
const LINE = 15;
const CELL_H = 26;
/** Column headers wrap at about this width; a column widens for a longer unbreakable word. */
const HEADER_WRAP = 110;
const MIN_CELL_W = 64;
const SCALE_STEPS = 11;
const SCALE_SWATCH = 26;
const MARGIN = 10;

/** The colours' range: the finite values' min and max, rounded outward to a 1-2-5 step (widened if all are equal). */
export function colourDomain(values: readonly number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let [lo, hi] = [Math.min(...finite), Math.max(...finite)];
  if (hi - lo < 1e-12) {
    // All equal: a zero sits at the low end of [0, 1] (no made-up negative values); another value mid-scale.
    const half = Math.abs(lo) * 0.05;
    [lo, hi] = lo === 0 ? [0, 1] : [lo - half, hi + half];
  }
  const rough = (hi - lo) / 10;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough)!;
  return [+(Math.floor(lo / step) * step).toPrecision(12), +(Math.ceil(hi / step) * step).toPrecision(12)];
}

/** A value's colour on the domain: red at its low end, yellow midway, green at its high end. */
export function heatColour(v: number, [lo, hi]: readonly [number, number]): string {
  const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  return rgb(interpolateRdYlGn(t)).formatHex();
}

/** Dark text on light colours, white on dark ones. */
function textColourOn(fill: string): string {
  const c = rgb(fill);
  return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b > 150 ? '#222' : 'white';
}

export function heatmapSvg(h: Heatmap): string {
  const cellValues = h.values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const domain = colourDomain(cellValues);
  const headers = h.columns.map((c) => wrapText(c, HEADER_WRAP, FONT, true));
  const cellW = Math.ceil(
    Math.max(
      MIN_CELL_W,
      ...headers.flat().map((line) => textWidth(line, FONT, true) + 12),
      ...cellValues.map((v) => textWidth(h.format(v), FONT) + 12),
    ),
  );
  const left = Math.ceil(MARGIN + Math.max(0, ...[...h.rows, h.scaleLabel].map((r) => textWidth(r, FONT))) + 10);
  const headerLines = Math.max(1, ...headers.map((lines) => lines.length));
  const top = 40 + LINE * headerLines + 6;
  const out: string[] = [];
  const labels: Label[] = [];
  // Headers, bottom-aligned above their columns.
  headers.forEach((lines, j) =>
    lines.forEach((text, i) => labels.push({ text, x: left + j * cellW + cellW / 2, y: top - 8 - LINE * (lines.length - 1 - i), size: FONT, anchor: 'middle', bold: true })),
  );
  h.rows.forEach((row, i) => {
    const y = top + i * CELL_H;
    labels.push({ text: row, x: left - 8, y: y + CELL_H / 2 + 4, size: FONT, anchor: 'end' });
    h.columns.forEach((_, j) => {
      const v = h.values[i]?.[j] ?? null;
      const known = v !== null && Number.isFinite(v);
      const fill = known ? heatColour(v, domain) : '#eeeeee';
      out.push(`<rect x="${left + j * cellW}" y="${y}" width="${cellW - 2}" height="${CELL_H - 2}" fill="${fill}"/>`);
      out.push(textSvg({ text: known ? h.format(v) : '-', x: left + j * cellW + cellW / 2, y: y + CELL_H / 2 + 4, size: FONT, anchor: 'middle' }, `fill="${textColourOn(fill)}"`));
    });
  });
  // The colour scale: swatches from the low end to the high end, their values below.
  const scaleTop = top + h.rows.length * CELL_H + 16;
  const scale: string[] = [`<g class="colour-scale">`];
  for (let k = 0; k < SCALE_STEPS; k++) {
    const v = domain[0] + ((domain[1] - domain[0]) * k) / (SCALE_STEPS - 1);
    scale.push(`<rect x="${left + k * SCALE_SWATCH}" y="${scaleTop}" width="${SCALE_SWATCH}" height="14" fill="${heatColour(v, domain)}"/>`);
  }
  const scaleLabel: Label = { text: h.scaleLabel, x: left - 8, y: scaleTop + 11, size: FONT, anchor: 'end' };
  const ticks = keepClear(
    [0, (SCALE_STEPS - 1) / 2, SCALE_STEPS - 1].map((k): Label => ({
      text: h.format(domain[0] + ((domain[1] - domain[0]) * k) / (SCALE_STEPS - 1)),
      x: left + k * SCALE_SWATCH + SCALE_SWATCH / 2,
      y: scaleTop + 30,
      size: FONT - 1,
      anchor: 'middle',
    })),
  );
  scale.push(textSvg(scaleLabel), ...ticks.map((l) => textSvg(l)), '</g>');
  const title: Label = { text: h.title, x: MARGIN, y: 22, size: TITLE_FONT, bold: true };
  const width = Math.ceil(Math.max(left + cellW * h.columns.length, left + SCALE_STEPS * SCALE_SWATCH, labelBox(title).x1, ...labels.map((l) => labelBox(l).x1)) + MARGIN);
  const height = scaleTop + 30 + MARGIN;
  return svgDocument({ width, height }, FONT, [textSvg(title), ...out, ...labels.map((l) => textSvg(l)), ...scale]);
}
