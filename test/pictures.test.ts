// Every SVG picture the project writes, rendered from realistic inputs and edge cases: no NaN or Infinity
// anywhere (a browser drops a polyline with one NaN in it), every path drawn, no two labels overlapping.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluationHeatmap, readEvaluation } from '../src/cli/evaluate.js';
import { rocSvg, type RocSeries } from '../src/cli/roc-picture.js';
import { runTrial } from '../src/cli/trial.js';
import { OnnxTeam } from '../src/policy/team.js';
import { comparisonSvg, type Comparison } from '../sim/sim2real-compare.js';
import { loadLaunch, type Launch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { newRunDir, writeRunFolder, type RunSummary } from '../src/runtime/run-folder.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial, type RunEvent, type TickRecord } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';
import { heatmapSvg, type Heatmap } from '../sim/heatmap-picture.js';
import { curveSvg, parseCurveCsv, type CurveRow } from '../sim/train/curves.js';
import { labelBox, overlaps, placeLabels, type Anchor, type Box, type Label } from '../src/pictures/svg-text.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmguard-pictures-'));

/** No NaN or Infinity anywhere, and every polyline has at least one point. */
function expectFinite(svg: string): void {
  expect(svg).not.toMatch(/NaN|Infinity/);
  for (const [, points] of svg.matchAll(/<polyline points="([^"]*)"/g)) expect(points!.trim()).not.toBe('');
}

/** A polyline's points as numbers. */
function polylines(svg: string): number[][] {
  return [...svg.matchAll(/<polyline points="([^"]*)"/g)].map(([, p]) => p!.split(/[ ,]+/).filter(Boolean).map(Number));
}

/** Every text element's estimated box, from its position, anchor, font size (its own or the picture's) and rotation. */
function textBoxes(svg: string): { text: string; box: Box }[] {
  const rootSize = Number(/<svg[^>]*font-size="([\d.]+)"/.exec(svg)![1]);
  const attr = (attrs: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(attrs)?.[1];
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map(([, attrs, raw]) => {
    const text = raw!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))).replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    let box = labelBox({
      text,
      x: Number(attr(attrs!, 'x')),
      y: Number(attr(attrs!, 'y')),
      size: Number(attr(attrs!, 'font-size') ?? rootSize),
      anchor: (attr(attrs!, 'text-anchor') ?? 'start') as Anchor,
      bold: attr(attrs!, 'font-weight') === 'bold',
    });
    const rotation = /rotate\((-?90) ([\d.]+) ([\d.]+)\)/.exec(attr(attrs!, 'transform') ?? '');
    if (rotation) {
      // A quarter turn about (cx, cy): the box turns with it.
      const [cx, cy] = [Number(rotation[2]), Number(rotation[3])];
      const turn = (x: number, y: number) => (rotation[1] === '-90' ? [cx + (y - cy), cy - (x - cx)] : [cx - (y - cy), cy + (x - cx)]);
      const [ax, ay] = turn(box.x0, box.y0);
      const [bx, by] = turn(box.x1, box.y1);
      box = { x0: Math.min(ax!, bx!), x1: Math.max(ax!, bx!), y0: Math.min(ay!, by!), y1: Math.max(ay!, by!) };
    }
    return { text, box };
  });
}

/** No two labels overlap, and every label is inside the picture. */
function expectLabelsClear(svg: string): void {
  const boxes = textBoxes(svg).filter((t) => t.text.length > 0);
  expect(boxes.length).toBeGreaterThan(0);
  const clashes: string[] = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => overlaps(a.box, b.box) && clashes.push(`'${a.text}' / '${b.text}'`)));
  expect(clashes).toEqual([]);
  const width = Number(/<svg[^>]*width="([\d.]+)"/.exec(svg)![1]);
  const height = Number(/<svg[^>]*height="([\d.]+)"/.exec(svg)![1]);
  const outside = boxes.filter(({ box }) => box.x0 < 0 || box.y0 < 0 || box.x1 > width || box.y1 > height).map((t) => t.text);
  expect(outside).toEqual([]);
}

describe('label placement (sim/svg-text.ts)', () => {
  it('moves a label off the ones placed before it, as little as it can, and leaves a clear one where it asked', () => {
    const crowd: Label[] = Array.from({ length: 12 }, (_, i) => ({ text: `epuck-${i} (attacked)`, x: 300 + i, y: 200, size: 13, anchor: 'middle' }));
    const placed = placeLabels(crowd, { top: 0, bottom: 400 });
    const boxes = placed.map(labelBox);
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => expect(overlaps(a, b)).toBe(false)));
    for (const b of boxes) expect(b.y0 >= 0 && b.y1 <= 400).toBe(true);
    // Alternating above and below the first, nearest first: within a few lines of the anchor.
    expect(Math.max(...placed.map((l) => Math.abs(l.y - 200)))).toBeLessThan(7 * 16);
    const alone = placeLabels([{ text: 'far away', x: 10, y: 20, size: 11 }], { obstacles: boxes });
    expect(alone[0]!.y).toBe(20);
  });
});

// A trial launch on the twin: two injections at the same moment on two robots, a third later, each its own attack.
const LAUNCH = `
name: pictures
swarm: { robots: 10, noise: default }
link: { kind: sim, mode: fast, seed: 3 }
policy: ${join(PROJECT_ROOT, 'policies/mappo-rendezvous')}
duration: 8
trial: true
monitor: { flagAt: 0.8, clearAt: 0.3 }
injections:
  - { robot: epuck-3, at: 1, duration: 4, attack: 'fault:spin' }
  - { robot: epuck-5, at: 1, duration: 4, attack: 'fault:stuck' }
  - { robot: epuck-7, at: 3, duration: 2, attack: 'obs-noise:0.5' }
out: ${join(dir, 'runs')}
record: false
`;

describe('a run folder\'s pictures (trajectory.svg, suspicion.svg)', () => {
  let launch: Launch;
  let team: OnnxTeam;
  let records: TickRecord[];
  let events: RunEvent[];

  beforeAll(async () => {
    const path = join(dir, 'pictures.yaml');
    writeFileSync(path, LAUNCH);
    launch = await loadLaunch(path);
    team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    const link = new SimLink(launch.settings, 'fast', launch.seed);
    const trial = swarmTrial(launch.settings, team, link, { trialMode: true, injections: launch.injections, monitor: launch.monitor, seed: launch.seed });
    for (let k = 0; k < 60; k++) {
      await trial.step();
      link.advance();
    }
    records = trial.records;
    events = trial.events;
  });
  afterAll(async () => {
    await team?.release();
    if (launch) await releaseRun(launch);
  });

  function writeRun(what: string, recs: readonly TickRecord[], evs: readonly RunEvent[] = events): { trajectory: string; suspicion: string } {
    const runDir = newRunDir(launch, what);
    const summary: RunSummary = { runDir, ticks: recs.length, outcomes: [], uncompromised: null, stops: {}, scheduler: null, links: null, interrupted: false };
    writeRunFolder(summary, launch, 'mappo-rendezvous', recs, evs);
    return { trajectory: readFileSync(join(runDir, 'trajectory.svg'), 'utf8'), suspicion: readFileSync(join(runDir, 'suspicion.svg'), 'utf8') };
  }

  it('draws every robot\'s path, with no NaN or Infinity, from a run\'s records', () => {
    expect(events.filter((e) => e.kind === 'injection-start').map((e) => e.tick)).toEqual([10, 10, 30]);
    const { trajectory, suspicion } = writeRun('full', records);
    expectFinite(trajectory);
    expectFinite(suspicion);
    // One path per robot, through every recorded tick.
    const paths = polylines(trajectory);
    expect(paths).toHaveLength(10);
    for (const p of paths) expect(p).toHaveLength(2 * records.length);
    expect(polylines(suspicion)).toHaveLength(10);
    expectLabelsClear(trajectory);
    expectLabelsClear(suspicion);
  });

  it('keeps labels apart: thresholds, the robots\' legend, injections at the same moment, attacked robots side by side', () => {
    // Thresholds close together, and every robot sitting in one spot at the end (attacked labels on top of each other).
    const close = { ...launch, monitor: { ...launch.monitor, flagAt: 0.5, clearAt: 0.48 } };
    const huddled = records.map((r, t) => (t === records.length - 1 ? { ...r, truePoses: r.truePoses!.map((p) => ({ ...p, x: 1, y: 1 })) } : r));
    const runDir = newRunDir(close, 'huddled');
    writeRunFolder({ runDir, ticks: records.length, outcomes: [], uncompromised: null, stops: {}, scheduler: null, links: null, interrupted: false }, close, 'mappo-rendezvous', huddled, events);
    const trajectory = readFileSync(join(runDir, 'trajectory.svg'), 'utf8');
    const suspicion = readFileSync(join(runDir, 'suspicion.svg'), 'utf8');
    expectFinite(trajectory);
    expectFinite(suspicion);
    for (const id of ['epuck-3', 'epuck-5', 'epuck-7']) expect(trajectory).toContain(`${id} (attacked)`);
    expect(suspicion).toContain('epuck-3: fault:spin');
    expect(suspicion).toContain('epuck-5: fault:stuck');
    expectLabelsClear(trajectory);
    expectLabelsClear(suspicion);
  });

  it('stays finite for a single tick, no tick at all, and a robot not located for a while', () => {
    for (const picture of Object.values(writeRun('one', records.slice(0, 1), []))) expectFinite(picture);
    for (const picture of Object.values(writeRun('none', [], []))) expect(picture).not.toMatch(/NaN|Infinity/);
    const unlocated = records.map((r) => (r.tick < 5 ? { ...r, truePoses: null, poses: r.poses.map((p, i) => (i === 2 ? { x: NaN, y: NaN, theta: NaN } : p)) } : r));
    const { trajectory } = writeRun('unlocated', unlocated);
    expectFinite(trajectory);
    expect(polylines(trajectory)[2]).toHaveLength(2 * (records.length - 5));
  });
});

describe('the trial command\'s trajectory picture', () => {
  it('draws every path and keeps its labels apart, over a whole episode and a single step', async () => {
    const whole = await runTrial({ controller: 'consensus', seed: 3, fault: 'spin', victim: 'epuck-4', out: join(dir, 'trial.svg'), json: false });
    const svg = readFileSync(whole.picture, 'utf8');
    expectFinite(svg);
    expect(polylines(svg)).toHaveLength(10);
    for (const p of polylines(svg)) expect(p).toHaveLength(2 * 301);
    expectLabelsClear(svg);
    const config = join(dir, 'one-step.yaml');
    writeFileSync(config, 'robots: 4\nepisodeSteps: 1\n');
    const one = await runTrial({ controller: 'wmsr', seed: 5, config, observationNoise: 0.5, victim: 'epuck-1', out: join(dir, 'one-step.svg'), json: false });
    const short = readFileSync(one.picture, 'utf8');
    expectFinite(short);
    for (const p of polylines(short)) expect(p).toHaveLength(2 * 2);
    expectLabelsClear(short);
  });
});

/** A curve.csv as rows (empty cells left out; the shipped ones have the old column names). */
const readCurve = (path: string): CurveRow[] => parseCurveCsv(readFileSync(path, 'utf8'));

/** The plot areas of a picture: its unfilled rectangles with a grey frame. */
function plotAreas(svg: string): Box[] {
  return [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none" stroke="#999"\/>/g)].map(([, x, y, w, h]) => ({
    x0: Number(x),
    y0: Number(y),
    x1: Number(x) + Number(w),
    y1: Number(y) + Number(h),
  }));
}

describe('training curves (curve.svg)', () => {
  it('draws shipped policies\' curves with every label, legends included, outside the plots and apart', () => {
    for (const policy of ['mappo-rendezvous', 'batpal-rendezvous']) {
      const svg = curveSvg(readCurve(join(PROJECT_ROOT, 'policies', policy, 'curve.csv')), `${policy} (test)`);
      expectFinite(svg);
      expectLabelsClear(svg);
      const plots = plotAreas(svg);
      expect(plots).toHaveLength(policy === 'batpal-rendezvous' ? 3 : 2);
      const inside = textBoxes(svg).filter((t) => plots.some((p) => overlaps(t.box, p)));
      expect(inside.map((t) => t.text)).toEqual([]);
      expect(svg).toContain('held-out evaluation');
    }
  });

  it('stays finite for one iteration, equal values, missing and non-finite values, and no rows', () => {
    const one: CurveRow[] = [{ iteration: 1, envSteps: 4800, meanReturn: -102.4, everGatheredRate: 0, evalReturn: null }];
    const flat: CurveRow[] = [1, 2, 3].map((i) => ({ iteration: i, envSteps: 4800 * i, meanReturn: -50, everGatheredRate: 0.5, evalReturn: -50, evalEverGatheredRate: 0.5, severity1: 0.2 }));
    const odd: CurveRow[] = [1, 2, 3].map((i) => ({ iteration: i, envSteps: 4800 * i, meanReturn: i === 2 ? NaN : -50 - i, everGatheredRate: i === 3 ? Infinity : 0.1 * i }));
    for (const rows of [one, flat, odd, []]) {
      const svg = curveSvg(rows, 'edge case');
      expectFinite(svg);
      expectLabelsClear(svg);
    }
  });
});

/** The fills of the heatmap's colour scale, low end first, as [r, g, b]. */
function scaleColours(svg: string): number[][] {
  const scale = /<g class="colour-scale">([\s\S]*?)<\/g>/.exec(svg);
  expect(scale).not.toBeNull();
  return [...scale![1]!.matchAll(/<rect[^>]*fill="#([0-9a-f]{6})"/g)].map(([, hex]) => [0, 2, 4].map((i) => parseInt(hex!.slice(i, i + 2), 16)));
}

/** The fill of the cell showing `text`. */
function cellColour(svg: string, text: string): number[] {
  const m = new RegExp(`fill="#([0-9a-f]{6})"/>\\n<text[^>]*>${text}</text>`).exec(svg);
  expect(m, `a cell showing ${text}`).not.toBeNull();
  return [0, 2, 4].map((i) => parseInt(m![1]!.slice(i, i + 2), 16));
}

const distance = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));

describe('the evaluation heatmap (EVALUATION.svg)', () => {
  const evaluation = readEvaluation(join(PROJECT_ROOT, 'policies/EVALUATION-local.json'));

  it('draws the shipped evaluation with column headers apart and a colour scale across its values', () => {
    const svg = evaluationHeatmap(evaluation);
    expectFinite(svg);
    expectLabelsClear(svg);
    // Long policy names wrap onto more lines instead of running into each other.
    expect(svg).not.toContain('>eir-mappo-local-sparse-oracle<');
    const colours = scaleColours(svg);
    expect(colours.length).toBeGreaterThanOrEqual(8);
    for (let k = 1; k < colours.length; k++) expect(distance(colours[k]!, colours[k - 1]!)).toBeGreaterThan(10);
    expect(distance(colours[0]!, colours.at(-1)!)).toBeGreaterThan(150);
  });

  it('tells close values apart: 0.61 to 1.11 span the whole scale', () => {
    const values = [0.61, 0.7, 0.82, 0.92, 1.03, 1.11];
    const h: Heatmap = { title: 'Normalised team return', rows: ['none', 'fault:spin'], columns: ['mappo-rendezvous', 'eir-mappo-rendezvous', 'mir2-rendezvous'], values: [values.slice(0, 3), values.slice(3)], format: (v) => v.toFixed(2), scaleLabel: 'normalised return' };
    const svg = heatmapSvg(h);
    expectFinite(svg);
    expectLabelsClear(svg);
    expect(distance(cellColour(svg, '0.61'), cellColour(svg, '1.11'))).toBeGreaterThan(150);
    expect(distance(cellColour(svg, '0.92'), cellColour(svg, '1.03'))).toBeGreaterThan(30);
  });

  it('stays finite for all-equal values, a single cell and a missing cell', () => {
    const cases: Heatmap[] = [
      { title: 't', rows: ['a', 'b'], columns: ['x', 'y'], values: [[0.5, 0.5], [0.5, 0.5]], format: (v) => v.toFixed(2), scaleLabel: 's' },
      { title: 'all zero', rows: ['a'], columns: ['x'], values: [[0]], format: (v) => `${(100 * v).toFixed(0)}%`, scaleLabel: 'gathered at end' },
      { title: 'missing', rows: ['a', 'b'], columns: ['x', 'y'], values: [[0.1, null], [0.9, 0.4]], format: (v) => v.toFixed(2), scaleLabel: 's' },
    ];
    for (const h of cases) {
      const svg = heatmapSvg(h);
      expectFinite(svg);
      expectLabelsClear(svg);
      const colours = scaleColours(svg);
      expect(new Set(colours.map(String)).size).toBe(colours.length);
    }
    expect(heatmapSvg(cases[1]!)).not.toContain('-50%');
    const one = evaluationHeatmap({ ...evaluation, cells: evaluation.cells.slice(0, 1) });
    expectFinite(one);
    expectLabelsClear(one);
  });
});

describe('the twin-vs-recording picture (compare)', () => {
  function comparison(ticks: number, robots: number): Comparison {
    const robotIds = Array.from({ length: robots }, (_, i) => `epuck-${i}`);
    // Error growing with time; robot 1 not located in the middle third.
    const positionError = Array.from({ length: ticks }, (_, t) => robotIds.map((_, i) => (i === 1 && t > ticks / 3 && t < (2 * ticks) / 3 ? NaN : 0.0005 * t * (1 + i / robots))));
    return { recording: 'run.mcap', robotIds, reference: 'tracked', robots: [], robotsSource: 'the recording', controlPeriod: 0.1, positionError, headingError: positionError, checkpoints: [], perRobot: [], meanPosition: 0.01 };
  }

  it('stays finite and keeps labels apart: a long run, a short one, a single tick, many robots', () => {
    for (const [ticks, robots] of [[6000, 10], [20, 4], [1, 3], [300, 30]] as const) {
      const svg = comparisonSvg(comparison(ticks, robots), 'demo: twin vs recording, position error (tracked poses)');
      expectFinite(svg);
      expectLabelsClear(svg);
    }
  });
});

describe('the monitor ROC picture (eval-monitor)', () => {
  const monitor = JSON.parse(readFileSync(join(PROJECT_ROOT, 'policies/MONITOR.json'), 'utf8')) as { roc: Record<string, RocSeries['points']> };
  const colours: Record<string, string> = { belief: '#27c', consistency: '#c72', fused: '#2a7' };

  it('draws the shipped ROC, and stays finite with no detection rate, a non-finite rate or a single point', () => {
    const shipped = Object.entries(monitor.roc).map(([name, points]) => ({ name, colour: colours[name]!, points }));
    const cases: RocSeries[][] = [
      shipped,
      shipped.map((s) => ({ ...s, points: s.points.map((p) => ({ ...p, detectionRate: null })) })),
      shipped.map((s) => ({ ...s, points: [{ falseAlarmsPerRobotHour: NaN, detectionRate: 0.5 }, { falseAlarmsPerRobotHour: Infinity, detectionRate: 1 }, { falseAlarmsPerRobotHour: 2, detectionRate: 0.8 }] })),
      [{ name: 'fused', colour: '#2a7', points: [{ falseAlarmsPerRobotHour: 0, detectionRate: 1 }] }],
      [{ name: 'fused', colour: '#2a7', points: [{ falseAlarmsPerRobotHour: 1e9, detectionRate: 1 }] }],
    ];
    for (const series of cases) {
      const svg = rocSvg(series, 'eir-mappo-rendezvous');
      expectFinite(svg);
      expectLabelsClear(svg);
    }
  });
});

