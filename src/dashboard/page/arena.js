// The arena on the page's canvas, to scale: walls, a scale bar in metres under them, and every robot (a disc
// of its body radius coloured by suspicion, a heading line, its trail, a red ring when flagged, a dashed
// violet ring when compromised in a trial) with its label laid out clear of the others (labels.js).
import { layoutLabels } from './labels.js';
import { scaleBar } from './scale-bar.js';

const PAD = 10;
/** Room under the arena for the scale bar. */
const SCALE_ROOM = 30;
const LABEL_FONT = '12px sans-serif';
const LABEL_HEIGHT = 15;
/** How far the rings drawn round a robot reach beyond its disc, px: labels keep clear of them. */
const FLAG_RING = 5;
const TRUTH_RING = 10;

/** Suspicion in [0, 1] as a colour from green to red. */
export function colour(s, alpha = 1) {
  return `hsla(${Math.round(120 * (1 - Math.min(1, Math.max(0, s))))}, 75%, 45%, ${alpha})`;
}

export class ArenaView {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{ arena: { width: number, height: number }, ids: string[], bodyRadius: number[] }} swarm  the welcome
   */
  constructor(canvas, swarm) {
    this.canvas = canvas;
    this.swarm = swarm;
    /** Each label's offset from its robot last frame (labels stay put while their spot is free). */
    this.labelOffsets = [];
  }

  /**
   * @param {{ poses: (number | null)[], susp: number[] }} f  the frame
   * @param {[number, number][][]} trails  per robot, its last positions, m
   * @param {Set<number>} flagged
   * @param {Set<number>} compromised
   */
  draw(f, trails, flagged, compromised) {
    const { canvas, swarm } = this;
    const ctx = canvas.getContext('2d');
    const { width, height } = swarm.arena;
    const scale = Math.min((canvas.width - 2 * PAD) / width, (canvas.height - PAD - SCALE_ROOM) / height);
    const px = (x) => PAD + x * scale;
    const py = (y) => PAD + (height - y) * scale; // y up
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#333';
    ctx.lineWidth = 2;
    ctx.strokeRect(px(0), py(height), width * scale, height * scale);
    this.drawScaleBar(ctx, scale, px(0), py(0) + SCALE_ROOM / 2, (width * scale) / 4);
    ctx.font = LABEL_FONT;
    const items = swarm.ids.map((id, i) => {
      const s = (f.susp[i] ?? 0) / 1000;
      const t = trails[i];
      if (t.length > 1) {
        ctx.strokeStyle = colour(s, 0.35);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        t.forEach(([x, y], k) => (k ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
        ctx.stroke();
      }
      if (f.poses[3 * i] === null) return null;
      const x = px(f.poses[3 * i] / 1000);
      const y = py(f.poses[3 * i + 1] / 1000);
      const th = f.poses[3 * i + 2] / 1000;
      const r = Math.max(4, swarm.bodyRadius[i] * scale);
      this.drawRobot(ctx, x, y, r, th, s, flagged.has(i), compromised.has(i));
      // The label keeps clear of the disc, its heading line and its rings.
      const clear = Math.max(1.6 * r, r + (compromised.has(i) ? TRUTH_RING : flagged.has(i) ? FLAG_RING : 0));
      return { x, y, r: clear, w: ctx.measureText(id).width + 6, h: LABEL_HEIGHT };
    });
    const boxes = layoutLabels(items, { width: canvas.width, height: canvas.height }, this.labelOffsets);
    this.labelOffsets = boxes.map((b, i) => (b ? { dx: b.x - items[i].x, dy: b.y - items[i].y } : null));
    boxes.forEach((b, i) => b && this.drawLabel(ctx, swarm.ids[i], b, items[i]));
  }

  drawRobot(ctx, x, y, r, th, s, flagged, compromised) {
    ctx.fillStyle = colour(s);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 1.6 * r * Math.cos(th), y - 1.6 * r * Math.sin(th));
    ctx.stroke();
    if (flagged) {
      ctx.strokeStyle = '#b91c1c';
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(x, y, r + FLAG_RING, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (compromised) {
      ctx.strokeStyle = '#7c3aed';
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, r + TRUTH_RING, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  /** The label on a pale box (readable over trails), with a leader line when it sits away from its robot. */
  drawLabel(ctx, id, b, item) {
    if (b.leader) {
      const d = Math.hypot(b.ax - item.x, b.ay - item.y) || 1;
      ctx.strokeStyle = '#555';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(item.x + ((b.ax - item.x) * item.r) / d, item.y + ((b.ay - item.y) * item.r) / d);
      ctx.lineTo(b.ax, b.ay);
      ctx.stroke();
    }
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    ctx.fillRect(b.x, b.y, b.w, b.h);
    ctx.fillStyle = '#111';
    ctx.textBaseline = 'middle';
    ctx.fillText(id, b.x + 3, b.y + b.h / 2);
  }

  /** A bar of a round number of metres under the arena's bottom-left corner, with end ticks and its length. */
  drawScaleBar(ctx, scale, x0, y, maxPx) {
    const bar = scaleBar(scale, maxPx);
    // Said in words too, for screen readers (a canvas is otherwise a blank to them).
    const words = `the arena, ${this.swarm.arena.width} m by ${this.swarm.arena.height} m; scale bar ${bar.label}`;
    if (this.canvas.getAttribute('aria-label') !== words) this.canvas.setAttribute('aria-label', words);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x0, y - 5);
    ctx.lineTo(x0, y);
    ctx.lineTo(x0 + bar.px, y);
    ctx.lineTo(x0 + bar.px, y - 5);
    ctx.stroke();
    ctx.fillStyle = '#111';
    ctx.font = LABEL_FONT;
    ctx.textBaseline = 'middle';
    ctx.fillText(bar.label, x0 + bar.px + 6, y);
  }
}
