// Text in the SVG pictures: how much room a label takes (estimated: an SVG file has no font metrics), label
// placement that keeps labels off each other, wrapping, and axis steps whose labels do not crowd. Every
// picture places its labels through here, and test/pictures.test.ts checks the result with the same estimate.

/**
 * Estimated advance of one character, in em. Generous for sans-serif (digits and lower case are about 0.55 em,
 * most capitals under 0.7 em), so estimated boxes err on the large side and labels kept apart by them are apart.
 */
export const CHAR_WIDTH_EM = 0.6;
/** The same for bold text. */
export const BOLD_CHAR_WIDTH_EM = 0.66;
/** Extent above and below the baseline, em. */
export const ASCENT_EM = 0.8;
export const DESCENT_EM = 0.25;
/** Room kept between two placed labels, px. */
export const LABEL_GAP = 2;

export type Anchor = 'start' | 'middle' | 'end';

/** An axis-aligned box, px: x0 < x1, y0 < y1 (y down). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A label: its text, its anchor point (baseline) and its font. */
export interface Label {
  text: string;
  x: number;
  y: number;
  size: number;
  anchor?: Anchor;
  bold?: boolean;
}

export function textWidth(text: string, size: number, bold = false): number {
  return [...text].length * size * (bold ? BOLD_CHAR_WIDTH_EM : CHAR_WIDTH_EM);
}

/** The room a label takes. */
export function labelBox(l: Label): Box {
  const w = textWidth(l.text, l.size, l.bold);
  const x0 = l.anchor === 'end' ? l.x - w : l.anchor === 'middle' ? l.x - w / 2 : l.x;
  return { x0, y0: l.y - ASCENT_EM * l.size, x1: x0 + w, y1: l.y + DESCENT_EM * l.size };
}

/** Whether two boxes share any area (touching edges do not count). */
export function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

export interface Placement {
  /** Boxes the labels must keep off besides each other (other text already drawn). */
  obstacles?: readonly Box[];
  /** The band a label's box should stay within vertically, px (kept unless there is no room in it). */
  top?: number;
  bottom?: number;
}

/**
 * Places labels in the order given. Each goes where it asks if that is clear of the labels placed before it and
 * the obstacles; otherwise it moves vertically to the nearest clear spot (just above or just below something it
 * would overlap) inside the band, or, with no room in the band, just below everything in its way. So no two
 * placed labels overlap, and each stays as near its anchor as the others allow.
 */
export function placeLabels<L extends Label>(labels: readonly L[], o: Placement = {}): L[] {
  const taken: Box[] = [...(o.obstacles ?? [])];
  const top = o.top ?? -Infinity;
  const bottom = o.bottom ?? Infinity;
  const placed: L[] = [];
  for (const l of labels) {
    const box = labelBox(l);
    const clearAt = (y: number) => {
      const b = shift(box, y - l.y);
      return !taken.some((t) => overlaps(b, t));
    };
    const inBand = (y: number) => box.y0 + (y - l.y) >= top && box.y1 + (y - l.y) <= bottom;
    // Candidate baselines: as asked, or just clear of one of the boxes in this label's columns.
    const inColumns = taken.filter((t) => t.x0 < box.x1 && box.x0 < t.x1);
    const candidates = [l.y, ...inColumns.flatMap((t) => [t.y1 + LABEL_GAP + (l.y - box.y0), t.y0 - LABEL_GAP - (box.y1 - l.y)])];
    candidates.sort((a, b) => Math.abs(a - l.y) - Math.abs(b - l.y));
    const y =
      candidates.find((c) => inBand(c) && clearAt(c)) ??
      Math.max(l.y, ...inColumns.map((t) => t.y1 + LABEL_GAP + (l.y - box.y0)));
    placed.push({ ...l, y });
    taken.push(shift(box, y - l.y));
  }
  return placed;
}

function shift(b: Box, dy: number): Box {
  return { x0: b.x0, x1: b.x1, y0: b.y0 + dy, y1: b.y1 + dy };
}

/** The labels that can be shown without overlapping: each kept unless it would overlap one kept before it. */
export function keepClear<L extends Label>(labels: readonly L[]): L[] {
  const kept: L[] = [];
  const boxes: Box[] = [];
  for (const l of labels) {
    const b = labelBox(l);
    if (boxes.some((t) => overlaps(b, t))) continue;
    kept.push(l);
    boxes.push({ ...b, x0: b.x0 - LABEL_GAP, x1: b.x1 + LABEL_GAP });
  }
  return kept;
}

/**
 * Text broken into lines no wider than maxWidth, breaking after a space, '-', '_', '/', ':' or ','. A piece
 * with no such break that is wider on its own stays whole (the caller sizes its room by the widest line).
 */
export function wrapText(text: string, maxWidth: number, size: number, bold = false): string[] {
  const pieces = text.match(/[^\s\-_/:,]*[\s\-_/:,]*/g)!.filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const p of pieces) {
    if (line && textWidth((line + p).trimEnd(), size, bold) > maxWidth) {
      lines.push(line.trimEnd());
      line = '';
    }
    line += p;
  }
  if (line.trimEnd() || lines.length === 0) lines.push(line.trimEnd());
  return lines;
}

/**
 * The first step (from `steps`, ascending) at which labels `labelWidth` px wide, `pxPerUnit` px per unit apart,
 * leave at least a gap of one character between them; the last step if none does.
 */
export function spacedStep(steps: readonly number[], pxPerUnit: number, labelWidth: number, gap = 8): number {
  return steps.find((s) => s * pxPerUnit >= labelWidth + gap) ?? steps[steps.length - 1]!;
}

/** Steps for a time axis in seconds. */
export const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A label as an SVG text element; `attrs` adds attributes (fill, ...). */
export function textSvg(l: Label, attrs = ''): string {
  const anchor = l.anchor && l.anchor !== 'start' ? ` text-anchor="${l.anchor}"` : '';
  return (
    `<text x="${round(l.x)}" y="${round(l.y)}" font-size="${l.size}"${anchor}${l.bold ? ' font-weight="bold"' : ''}${attrs ? ` ${attrs}` : ''}>` +
    `${escapeXml(l.text)}</text>`
  );
}

/** A coordinate as written: one decimal. */
export function round(v: number): string {
  return v.toFixed(1);
}
