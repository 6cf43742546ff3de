// The dashboard page in headless Chromium (Debian's, driven by playwright-core) against a live trial run:
// 10 simulated e-puck2s on the sim link paced to the wall clock, the shipped EIR-MAPPO policy. The page
// shows the 10 robots moving; an injection made through the page (with the token from the printed URL)
// makes the attacked robot's flag appear; controls from a page without the token are refused. Then the page
// against a server fed made-up ticks (no run: every state can be set up at once): a gathered swarm with
// its scale bar, an e-stop as one log line, a flag's CUSUM with its threshold, the end of the run (shown,
// and no reconnecting), and a replay's controls off with the reason.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runLaunch, type RunSummary } from '../src/cli/run.js';
import { DashboardServer } from '../src/dashboard/server.js';
import type { RunController } from '../src/runtime/control.js';
import type { RunEvent, TickRecord } from '../src/runtime/trial.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const required = process.env.SWARMGUARD_REQUIRE_SYSTEM_DEPS === '1';

const skip = !CHROMIUM && !required;

describe.skipIf(skip)(`dashboard page in headless Chromium${skip ? ' (skipped: /usr/bin/chromium is not installed; scripts/system-deps.mjs installs it)' : ''}`, () => {
  let work: string;
  let browser: Browser;
  const abort = new AbortController();
  const lines: string[] = [];
  let done: Promise<RunSummary>;
  let url = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sg-dash-browser-'));
    const file = join(work, 'browser.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'browser',
        swarm: { robots: 10, noise: 'default' },
        link: { kind: 'sim', mode: 'live', seed: 11 },
        policy: join(PROJECT_ROOT, 'policies/eir-mappo-rendezvous'),
        duration: 600,
        trial: true,
        out: work,
        dashboard: { port: 0 },
      }),
    );
    done = runLaunch(file, { quiet: true, console: false, signal: abort.signal }, (l) => lines.push(l));
    const end = Date.now() + 90_000;
    let m: RegExpMatchArray | null = null;
    while (!(m = lines.join('\n').match(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    if (!m) throw new Error(`the run printed no dashboard URL:\n${lines.join('\n')}`);
    url = m[1]!;
    browser = await chromium.launch({ executablePath: CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    abort.abort();
    await done?.catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  // Browser-side code as strings (this project's TypeScript has no DOM library), evaluated through the
  // DevTools protocol: the page's Content-Security-Policy forbids eval, so no waitForFunction.
  const POSES = "[...document.querySelectorAll('#robots tbody tr .pose')].map((c) => c.textContent)";
  const ROWS_READY = "document.querySelectorAll('#robots tbody tr').length === 10";
  const poses = (page: Page) => page.evaluate<string[]>(POSES);

  it('shows the 10 robots, drawn on the arena and moving', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await expect.poll(() => page.evaluate<boolean>(`${ROWS_READY} && /tick \\d+/.test(document.getElementById('clock').textContent)`), { timeout: 60_000 }).toBe(true);
    expect(await page.evaluate<string[]>("[...document.querySelectorAll('#robots tbody tr')].map((r) => r.dataset.robot)")).toEqual(Array.from({ length: 10 }, (_, i) => `epuck-${i}`));
    const first = await poses(page);
    expect(first.every((p) => /^\d+\.\d{3}, \d+\.\d{3}$/.test(p))).toBe(true);
    await expect.poll(async () => (await poses(page)).filter((p, i) => p !== first[i]).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(5);
    // The canvas has robots on it: pixels in the suspicion colours, not only the white arena and black lines.
    const coloured = await page.evaluate<number>(`(() => {
      const c = document.getElementById('arena');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let k = 0; k < d.length; k += 4) if (d[k + 3] > 0 && Math.max(d[k], d[k + 1], d[k + 2]) - Math.min(d[k], d[k + 1], d[k + 2]) > 60) n++;
      return n;
    })()`);
    expect(coloured).toBeGreaterThan(100);
    // The style sheet applies under the page's Content-Security-Policy, and nothing on the page was refused.
    expect(await page.evaluate<string>("getComputedStyle(document.querySelector('header')).backgroundColor")).toBe('rgb(31, 41, 55)');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('controls from a page without the token are refused, and the robots keep going', async () => {
    const page = await browser.newPage();
    await page.goto(url.replace(/#.*$/, ''));
    await expect.poll(() => page.evaluate<boolean>(ROWS_READY), { timeout: 60_000 }).toBe(true);
    for (const button of ['#estop', '#stop']) {
      await page.evaluate("document.getElementById('message').textContent = ''");
      await page.click(button);
      await expect.poll(() => page.textContent('#message'), { timeout: 30_000 }).toMatch(/refused: this needs the token/);
    }
    await page.fill('#token', 'a-wrong-token-of-some-length');
    await page.click('#estop');
    await expect.poll(() => page.textContent('#message'), { timeout: 30_000 }).toMatch(/refused: wrong token/);
    const tick = async () => Number(((await page.textContent('#clock')) ?? '').match(/tick (\d+)/)?.[1] ?? -1);
    const t0 = await tick();
    await expect.poll(tick, { timeout: 30_000 }).toBeGreaterThan(t0 + 5);
    expect(await page.textContent('#state')).toBe('running');
    expect(lines.some((l) => /E-STOP|STOP\s+every robot held/.test(l))).toBe(false);
    await page.close();
  }, 120_000);

  it("an injection through the page (trial mode) makes the attacked robot's flag appear, with its evidence and ground truth", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await expect.poll(() => page.evaluate<boolean>(ROWS_READY), { timeout: 60_000 }).toBe(true);
    // The token has left the address bar; the page (and a reload of it) still has it.
    expect(page.url()).not.toMatch(/token/);
    await page.reload();
    await expect.poll(() => page.evaluate<boolean>(ROWS_READY), { timeout: 60_000 }).toBe(true);
    expect(await page.inputValue('#token')).toBe(decodeURIComponent(url.replace(/^.*#token=/, '')));
    await expect.poll(() => page.isVisible('#inject-form')).toBe(true);
    await page.selectOption('#inject-robot', 'epuck-3');
    await page.selectOption('#inject-attack', 'eir-mappo-rendezvous@eir');
    await page.fill('#inject-seconds', '60');
    await page.click('#inject');
    await expect.poll(() => page.textContent('#message'), { timeout: 30_000 }).toMatch(/injection scheduled/);
    const row = 'tr[data-robot="epuck-3"]';
    await expect.poll(() => page.textContent(`${row} .truth`), { timeout: 30_000 }).toMatch(/compromised/);
    await expect.poll(() => page.textContent(`${row} .flag`), { timeout: 60_000 }).toBe('FLAGGED');
    expect(await page.textContent(`${row} .evidence`)).toMatch(/consistency \d\.\d\d/);
    expect(await page.textContent('#events')).toMatch(/FLAG\s+epuck-3/);
    // The run's own log has it too (its lines are flushed after the tick that made them).
    await expect.poll(() => lines.some((l) => /INJECT\s+epuck-3/.test(l)), { timeout: 10_000, message: lines.join('\n') }).toBe(true);
    await page.close();
  }, 120_000);

  // Last: it leaves this machine's address locked out for the rest of the run.
  it("someone locking the address out with wrong tokens cannot take the e-stop from the operator's open page", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await expect.poll(() => page.evaluate<boolean>(ROWS_READY), { timeout: 60_000 }).toBe(true);
    // Another program on this machine sends wrong tokens until the address is locked out.
    const port = Number(url.match(/:(\d+)\//)![1]);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const replies: string[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; reason?: string };
      if (m.type === 'error') replies.push(m.reason ?? '');
    });
    await new Promise((r) => ws.once('open', r));
    for (let k = 0; k < 6; k++) ws.send(JSON.stringify({ type: 'control', id: k, token: `wrong-token-number-${k}`, action: { kind: 'stop' } }));
    await expect.poll(() => replies.length, { timeout: 30_000 }).toBe(6);
    expect(replies.at(-1)).toMatch(/locked out/);
    ws.close();
    // The page had shown its token on connecting: its e-stop and release still work.
    await page.click('#estop');
    await expect.poll(() => page.textContent('#message'), { timeout: 30_000 }).toMatch(/e-stop engaged/);
    await expect.poll(() => page.textContent('#state'), { timeout: 30_000 }).toMatch(/E-STOPPED/);
    await page.click('#release');
    await expect.poll(() => page.textContent('#message'), { timeout: 30_000 }).toMatch(/e-stop released/);
    // A page opened during the lock-out has shown nothing before it: refused.
    const late = await browser.newPage();
    await late.goto(url);
    await expect.poll(() => late.textContent('#message'), { timeout: 30_000 }).toMatch(/refused: locked out/);
    await late.close();
    await page.close();
  }, 120_000);
});

describe.skipIf(skip)(`dashboard page in headless Chromium against made-up ticks${skip ? ' (skipped: /usr/bin/chromium is not installed)' : ''}`, () => {
  const ids = Array.from({ length: 10 }, (_, i) => `epuck-${i}`);
  const TOKEN = 'browser-test-token-0123456789';
  let browser: Browser;
  const servers: DashboardServer[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
  }, 60_000);

  /** A 2 m arena, 10 e-puck2s; live (a controller that accepts everything) or a replay (none). */
  async function serve(live: boolean): Promise<{ server: DashboardServer; url: string }> {
    const controller = { apply: async () => null } as unknown as RunController;
    const server = new DashboardServer({ title: 'made-up', arena: { width: 2, height: 2 }, ids, bodyRadius: ids.map(() => 0.037), controlPeriod: 0.1, trialMode: true, flagAt: 0.8, clearAt: 0.3, cusumThreshold: 40, controller: live ? controller : null, port: 0, token: TOKEN, log: () => undefined });
    servers.push(server);
    await server.listen();
    return { server, url: server.url(true) };
  }

  /** Tick `tick` of a swarm gathered round the arena's middle (bodies touching), robot 3 flagged from tick 5. */
  function record(tick: number, o: { stopped?: 'e-stop' } = {}): TickRecord {
    const poses = ids.map((_, i) => {
      const ring = i === 0 ? 0 : i < 7 ? 1 : 2;
      const a = (2 * Math.PI * i) / (ring === 1 ? 6 : 3);
      return { x: 1 + 0.075 * ring * Math.cos(a), y: 1 + 0.075 * ring * Math.sin(a), theta: a };
    });
    const flagged = ids.map((_, i) => i === 3 && tick >= 5);
    return {
      tick,
      timeMs: tick * 100,
      poses,
      truePoses: null,
      intended: ids.flatMap(() => [0, 0]),
      commands: ids.flatMap(() => [0, 0]),
      stopped: ids.map(() => o.stopped ?? null),
      belief: ids.map(() => null),
      consistency: ids.map((_, i) => (flagged[i] ? 1 : 0.1)),
      suspicion: ids.map((_, i) => (flagged[i] ? 0.95 : 0.1)),
      flagged,
      compromised: [3],
    };
  }

  const flag: RunEvent = { tick: 5, kind: 'flag', robot: 'epuck-3', suspicion: 0.95, evidence: { belief: null, consistency: 1, cusum: 52, observers: 0 } };
  const estop: RunEvent = { tick: 6, kind: 'e-stop', reason: 'dashboard e-stop (dashboard)' };
  const stops: RunEvent[] = ids.map((robot) => ({ tick: 6, kind: 'stop', robot, reason: 'e-stop' }));

  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await expect.poll(() => page.evaluate<string | undefined>('document.body.dataset.connection'), { timeout: 30_000 }).toBe('open');
    await expect.poll(() => page.evaluate<boolean>("document.querySelectorAll('#robots tbody tr').length === 10"), { timeout: 30_000 }).toBe(true);
    return { page, errors };
  }

  it("a live page: the gathered swarm with a scale bar, a flag's CUSUM against its threshold, an e-stop as one log line; at the end it says so and does not reconnect", async () => {
    const { server, url } = await serve(true);
    const { page, errors } = await open(url);
    const row = 'tr[data-robot="epuck-3"]';
    for (let t = 0; t <= 5; t++) server.tick(record(t), t === 5 ? [flag] : []);
    await expect.poll(() => page.textContent(`${row} .flag`), { timeout: 30_000 }).toBe('FLAGGED');
    // The scale bar (drawn on the canvas, and said in its label): a 2 m arena at 380 px/m gets half a metre.
    expect(await page.getAttribute('#arena', 'aria-label')).toBe('the arena, 2 m by 2 m; scale bar 0.5 m');
    // The CUSUM, with its threshold in words and as the mark half way along its bar (the CUSUM is capped at twice it).
    expect(await page.textContent(`${row} .evidence`)).toBe('consistency 1.00 (CUSUM 52.0, threshold 40)');
    expect(await page.isVisible(`${row} .cusum`)).toBe(true);
    expect(await page.evaluate<string[]>(`(() => { const b = document.querySelector('${row} .cusum'); return [b.querySelector('b').style.left, b.querySelector('i').style.width]; })()`)).toEqual(['50%', '65%']);
    // Controls on, under the console's names.
    expect(await page.evaluate<string[]>("[...document.querySelectorAll('#controls button')].filter((b) => !b.disabled).map((b) => b.textContent)")).toEqual(['start', 'stop', 'estop', 'release', 'inject', 'end', 'onflag']);
    // An e-stop: the run reports it and then each of the 10 robots it stops; the log gets one line.
    server.tick(record(6, { stopped: 'e-stop' }), [estop, ...stops]);
    await expect.poll(() => page.textContent('#state'), { timeout: 30_000 }).toMatch(/^E-STOPPED/);
    const log = await page.evaluate<string[]>("[...document.querySelectorAll('#events div')].map((d) => d.textContent)");
    expect(log.filter((l) => /STOP/.test(l))).toEqual(['   0.6 s  E-STOP   dashboard e-stop (dashboard): 10 robots stopped']);
    expect(log.filter((l) => /FLAG\s+epuck-3/.test(l))).toHaveLength(1);
    // The run ends: the page says how, shows the summary and turns its controls off with the reason...
    server.end({ reason: 'completed', summary: ['\nsummary (0.7 s):', '  detected 1 of 1 compromised robot(s); 0 false flag(s)'] });
    await expect.poll(() => page.textContent('#state'), { timeout: 30_000 }).toBe('run ended at 0.6 s');
    expect(await page.textContent('#summary')).toBe('summary (0.7 s):\n  detected 1 of 1 compromised robot(s); 0 false flag(s)');
    expect(await page.textContent('#controls-off')).toBe('controls off: the run has ended');
    expect(await page.evaluate<boolean>("[...document.querySelectorAll('#controls button')].every((b) => b.disabled)")).toBe(true);
    // ...and when the server goes, it stays that way instead of reconnecting.
    await server.close();
    await expect.poll(() => page.evaluate<string | undefined>('document.body.dataset.connection'), { timeout: 30_000 }).toBe('closed');
    expect(await page.textContent('#state')).toBe('run ended at 0.6 s');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('a live page shows what a flag does and marks the robots isolated now, until they rejoin', async () => {
    const { server, url } = await serve(true);
    const { page, errors } = await open(url);
    const row = 'tr[data-robot="epuck-3"]';
    expect(await page.textContent('#onflag-now')).toBe('now: report');
    const acting: RunEvent[] = [flag, { tick: 5, kind: 'on-flag', onFlag: 'isolate', reason: 'console' }, { tick: 5, kind: 'isolate', robot: 'epuck-3', stopped: false }];
    for (let t = 0; t <= 5; t++) server.tick(record(t), t === 5 ? acting : []);
    await expect.poll(() => page.textContent(`${row} .flag`), { timeout: 30_000 }).toBe('FLAGGED ISOLATED');
    expect(await page.textContent('#onflag-now')).toBe('now: isolate');
    expect(await page.inputValue('#onflag-mode')).toBe('isolate');
    const log = await page.evaluate<string[]>("[...document.querySelectorAll('#events div')].map((d) => d.textContent)");
    expect(log.filter((l) => /ISOLATE|ON-FLAG/.test(l))).toEqual([
      "   0.5 s  ISOLATE  epuck-3 left out of the others' observations until cleared",
      '   0.5 s  ON-FLAG  flags now isolate the robot (console)',
    ]);
    server.tick(record(6), [{ tick: 6, kind: 'isolation-end', robot: 'epuck-3', reason: 'cleared', ticks: 1 }]);
    await expect.poll(() => page.textContent(`${row} .flag`), { timeout: 30_000 }).toBe('FLAGGED');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('a replay page has its live controls off, saying why, and no injection form', async () => {
    const { server, url } = await serve(false);
    const { page, errors } = await open(url);
    server.tick(record(0), []);
    await expect.poll(() => page.textContent('#clock'), { timeout: 30_000 }).toMatch(/tick 0/);
    const why = 'a replay of a recording: the controls act on a live run only';
    expect(await page.textContent('#controls-off')).toBe(`controls off: ${why}`);
    const buttons = await page.evaluate<[string, boolean, string][]>("[...document.querySelectorAll('#controls button')].map((b) => [b.id, b.disabled, b.title])");
    expect(buttons.map(([id]) => id)).toEqual(['start', 'stop', 'estop', 'release', 'inject', 'end-injection', 'onflag']);
    expect(await page.isDisabled('#onflag-mode')).toBe(true);
    expect(buttons.every(([, disabled, title]) => disabled && title === why)).toBe(true);
    expect(await page.isVisible('#inject-form')).toBe(false);
    expect(await page.isDisabled('#token')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
