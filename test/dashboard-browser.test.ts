// The dashboard page in headless Chromium (Debian's, driven by playwright-core) against a live trial run:
// 10 simulated e-puck2s on the sim link paced to the wall clock, the shipped EIR-MAPPO policy. The page
// shows the 10 robots moving; an injection made through the page (with the token from the printed URL)
// makes the attacked robot's flag appear; controls from a page without the token are refused.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runLaunch, type RunSummary } from '../src/cli/run.js';
import { PROJECT_ROOT } from '../sim/config.js';

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
    expect(await page.textContent('#events')).toMatch(/FLAG epuck-3/);
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
