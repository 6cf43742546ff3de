// SVG of a run's suspicion: one line per robot over time, injections shaded in their robot's colour,
// flags marked, the flag and clear thresholds drawn.
import type { RunEvent, TickRecord } from './trial.js';

const W = 760;
const H = 300;
const PAD = { left: 50, right: 150, top: 36, bottom: 36 };

function colour(k: number, n: number): string {
  return `hsl(${Math.round((360 * k) / n)}, 55%, 45%)`;
}

export function suspicionSvg(o: {
  title: string;
  ids: readonly string[];
  records: readonly TickRecord[];
  events: readonly RunEvent[];
  controlPeriod: number;
  flagAt: number;
  clearAt: number;
}): string {
  const n = o.ids.length;
  const T = Math.max(1, o.records.length);
  const px = (tick: number) => PAD.left + (tick / T) * (W - PAD.left - PAD.right);
  const py = (s: number) => PAD.top + (1 - s) * (H - PAD.top - PAD.bottom);
  const esc = (s: string) => s.replace(/[&<>"]/g, '');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PAD.left}" y="20" font-size="13" font-weight="bold">${esc(o.title)}</text>`,
  ];
  // Injections (ground truth) as shaded spans.
  for (const e of o.events) {
    if (e.kind !== 'injection-start') continue;
    const end = o.events.find((x) => x.kind === 'injection-end' && x.robot === e.robot && x.tick > e.tick);
    const k = o.ids.indexOf(e.robot);
    const x0 = px(e.tick);
    const x1 = px(end ? end.tick : T);
    out.push(`<rect x="${x0.toFixed(1)}" y="${PAD.top}" width="${(x1 - x0).toFixed(1)}" height="${H - PAD.top - PAD.bottom}" fill="${colour(k, n)}" fill-opacity="0.12"/>`);
    out.push(`<text x="${(x0 + 3).toFixed(1)}" y="${PAD.top + 12}" fill="${colour(k, n)}">${esc(`${e.robot}: ${e.attack}`)}</text>`);
  }
  for (const [label, v, dash] of [['flag', o.flagAt, '4,3'], ['clear', o.clearAt, '2,3']] as const) {
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(v)}" y2="${py(v)}" stroke="#999" stroke-dasharray="${dash}"/>`);
    out.push(`<text x="${W - PAD.right + 4}" y="${py(v) + 4}" fill="#777">${label} ${v}</text>`);
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="none" stroke="#999"/>`);
  for (const s of [0, 0.5, 1]) out.push(`<text x="${PAD.left - 6}" y="${py(s) + 4}" text-anchor="end">${s}</text>`);
  const seconds = T * o.controlPeriod;
  const step = seconds > 60 ? 10 : 5;
  for (let s = 0; s <= seconds + 1e-9; s += step) out.push(`<text x="${px(s / o.controlPeriod).toFixed(1)}" y="${H - PAD.bottom + 14}" text-anchor="middle">${s} s</text>`);
  o.ids.forEach((id, k) => {
    const d = o.records.map((r) => `${px(r.tick).toFixed(1)},${py(r.suspicion[k] ?? 0).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${d}" fill="none" stroke="${colour(k, n)}" stroke-width="1.4"/>`);
    out.push(`<text x="${W - PAD.right + 4}" y="${PAD.top + 40 + 13 * k}" fill="${colour(k, n)}">${esc(id)}</text>`);
  });
  for (const e of o.events) {
    if (e.kind !== 'flag') continue;
    const k = o.ids.indexOf(e.robot);
    out.push(`<circle cx="${px(e.tick).toFixed(1)}" cy="${py(e.suspicion).toFixed(1)}" r="4" fill="${colour(k, n)}"/>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
