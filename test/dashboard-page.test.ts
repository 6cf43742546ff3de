// The dashboard page's own logic, run in node: robot labels laid out clear of each other and of the robots
// when the swarm gathers; the arena's scale bar; a flag's CUSUM with its threshold; and the page's controls
// named as the terminal console's commands.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cusumBar, evidenceText } from '../src/dashboard/page/evidence.js';
import { layoutLabels, type LabelBox, type LabelItem } from '../src/dashboard/page/labels.js';
import { scaleBar } from '../src/dashboard/page/scale-bar.js';
import { parseConsoleCommand } from '../src/runtime/console.js';

const CANVAS = { width: 800, height: 800 };
/** An e-puck2 (body radius 0.037 m) at the page's scale for a 2 m arena (380 px/m): what a label keeps clear of. */
const R = 0.037 * 380;
const CLEAR = 1.6 * R;
const label = (x: number, y: number): LabelItem => ({ x, y, r: CLEAR, w: 51, h: 15 });

/** `n` robots packed as tightly as their bodies allow (touching), round (cx, cy): a gathered swarm. */
function gathered(n: number, cx = 400, cy = 400): LabelItem[] {
  const out: LabelItem[] = [];
  for (let ring = 0; out.length < n; ring++) {
    const count = ring === 0 ? 1 : 6 * ring;
    for (let k = 0; k < count && out.length < n; k++) {
      const a = (2 * Math.PI * k) / count;
      out.push(label(cx + 2 * R * ring * Math.cos(a), cy + 2 * R * ring * Math.sin(a)));
    }
  }
  return out;
}

const overlap = (a: LabelBox, b: LabelBox) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
function coversDisc(b: LabelBox, d: LabelItem): boolean {
  const nx = Math.min(Math.max(d.x, b.x), b.x + b.w);
  const ny = Math.min(Math.max(d.y, b.y), b.y + b.h);
  return Math.hypot(nx - d.x, ny - d.y) < d.r;
}

/** Every way a layout can fail a reader: labels on labels, labels on robots, labels off the canvas. */
function problems(items: LabelItem[], boxes: (LabelBox | null)[]): string[] {
  const out: string[] = [];
  boxes.forEach((b, i) => {
    if (!b) return void out.push(`robot ${i}: no label`);
    if (b.x < 0 || b.y < 0 || b.x + b.w > CANVAS.width || b.y + b.h > CANVAS.height) out.push(`robot ${i}: off the canvas`);
    items.forEach((d, j) => coversDisc(b, d) && out.push(`robot ${i}'s label covers robot ${j}`));
    boxes.forEach((o, j) => j > i && o && overlap(b, o) && out.push(`labels ${i} and ${j} overlap`));
  });
  return out;
}

describe('robot labels', () => {
  it('a gathered swarm (10 robots touching) gets labels that overlap neither each other nor any robot, joined by leader lines when moved out', () => {
    const items = gathered(10);
    const boxes = layoutLabels(items, CANVAS);
    expect(problems(items, boxes)).toEqual([]);
    // Labels that could not sit next to their robot are joined to it, from the point of the box nearest it.
    const moved = boxes.filter((b) => b!.leader);
    expect(moved.length).toBeGreaterThan(0);
    boxes.forEach((b, i) => {
      const gap = Math.hypot(b!.ax - items[i]!.x, b!.ay - items[i]!.y) - items[i]!.r;
      if (!b!.leader) expect(gap).toBeLessThan(6);
      // Still near enough to read as its robot's: within a few label heights of it.
      expect(gap).toBeLessThan(8 * 18);
    });
  });

  it('a hundred robots gathered still get labels clear of each other and of every robot', () => {
    const items = gathered(100);
    expect(problems(items, layoutLabels(items, CANVAS))).toEqual([]);
  });

  it('robots apart keep their labels next to them, up and to the right, with no leader line', () => {
    const items = [label(100, 100), label(400, 300), label(600, 650)];
    const boxes = layoutLabels(items, CANVAS);
    boxes.forEach((b, i) => {
      expect(b!.leader).toBe(false);
      expect(b!.x).toBeGreaterThan(items[i]!.x);
      expect(b!.y + b!.h).toBeLessThan(items[i]!.y);
    });
  });

  it('a robot in a corner has its label inside the canvas; a robot without a pose has none', () => {
    const items = [label(790, 8), label(5, 795), null];
    const boxes = layoutLabels(items, CANVAS);
    expect(boxes[2]).toBeNull();
    expect(problems([items[0]!, items[1]!], boxes.slice(0, 2))).toEqual([]);
  });

  it("a label keeps last frame's spot while it is free (labels do not jump between frames), and returns next to its robot when room appears", () => {
    const a = label(400, 400);
    const b = label(400 + 2 * R, 400);
    const first = layoutLabels([a, b], CANVAS);
    // Robot a's label sat next to it on its lower left last frame: it stays there rather than move to the preferred spot.
    const kept = layoutLabels([a, b], CANVAS, [{ dx: -69, dy: 18.1 }, null]);
    expect(kept[0]).toMatchObject({ x: 331, y: 418.1, leader: false });
    expect(kept[0]!.x).not.toBe(first[0]!.x);
    // A spot away from the robot (with a leader line) is left as soon as one next to it is free.
    const back = layoutLabels([a], CANVAS, [{ dx: 120, dy: -120 }]);
    expect(back[0]!.leader).toBe(false);
  });
});

describe('scale bar', () => {
  it('is the longest 1-2-5 length in metres that fits, labelled in metres', () => {
    // A 2 m arena on the page's canvas: 380 px/m, a quarter of its width to fill.
    expect(scaleBar(380, 190)).toEqual({ metres: 0.5, px: 190, label: '0.5 m' });
    expect(scaleBar(380, 189)).toMatchObject({ metres: 0.2, label: '0.2 m' });
    expect(scaleBar(78, 195)).toMatchObject({ metres: 2, px: 156, label: '2 m' });
    expect(scaleBar(1000, 60)).toMatchObject({ metres: 0.05, px: 50, label: '0.05 m' });
    expect(scaleBar(10, 1000)).toMatchObject({ metres: 100, label: '100 m' });
  });

  it('refuses a scale or room that is not a positive number, naming it', () => {
    expect(() => scaleBar(0, 100)).toThrow(/pixels per metre must be a positive number, got 0/);
    expect(() => scaleBar(100, Number.NaN)).toThrow(/room for it must be a positive number of pixels, got NaN/);
  });
});

describe("a flag's CUSUM and its threshold", () => {
  it('the text gives the CUSUM with its threshold; the bar spans twice the threshold (the CUSUM cap) with the threshold marked', () => {
    expect(evidenceText({ consistency: 0.97, cusum: 38.8, belief: null, observers: 0 }, 40)).toBe('consistency 0.97 (CUSUM 38.8, threshold 40)');
    expect(evidenceText({ consistency: 1, cusum: 52, belief: 0.81, observers: 4 }, 40)).toBe('consistency 1.00 (CUSUM 52.0, threshold 40), belief 0.81 from 4 observers');
    expect(cusumBar(20, 40)).toEqual({ fill: 0.25, mark: 0.5 });
    expect(cusumBar(80, 40)).toEqual({ fill: 1, mark: 0.5 });
    expect(cusumBar(500, 40).fill).toBe(1);
    expect(() => cusumBar(1, 0)).toThrow(/threshold must be a positive number, got 0/);
  });
});

describe("the page's controls", () => {
  it('are named as the terminal console names its commands, each sending the action of that command', () => {
    const html = readFileSync(new URL('../src/dashboard/page/index.html', import.meta.url), 'utf8');
    const buttons = [...html.matchAll(/<button id="(\w+)"[^>]*>([^<]*)<\/button>/g)].map(([, id, text]) => [id!, text!] as const);
    expect(buttons.map(([id]) => id).sort()).toEqual(['estop', 'inject', 'onflag', 'release', 'start', 'stop']);
    // The inject and onflag commands take their arguments from the form; the others are the bare command.
    const args: Record<string, string> = { inject: ' epuck-0 fault:spin 5', onflag: ' isolate' };
    // The action each command sends (onflag's is on-flag).
    const kind = (id: string) => (id === 'onflag' ? 'on-flag' : id);
    for (const [id, text] of buttons) {
      expect(parseConsoleCommand(`${text}${args[id] ?? ''}`), `button #${id} reads '${text}'`).toMatchObject({ kind: kind(id) });
    }
    // The script sends each button's action under the same name.
    const script = readFileSync(new URL('../src/dashboard/page/dashboard.js', import.meta.url), 'utf8');
    for (const [id] of buttons) expect(script).toMatch(new RegExp(`\\$\\('${id}'\\)\\.onclick = \\(\\) =>\\s*control\\(\\{ kind: '${kind(id)}'`));
  });
});
