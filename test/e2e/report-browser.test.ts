/**
 * The HTML report in a real browser: a simulator-backed run through the real CLI, the report opened from
 * file:// in headless Chromium (Debian's `chromium`, found on PATH) through playwright-core. Locally the
 * test is skipped when there is no browser; in CI (CI=true) it fails instead, so it cannot go quietly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startSimulator, type Simulator } from '../../simulator/server.ts';
import { runCli } from '../cli.ts';
import { tempDir, writeTemp } from '../helpers.ts';

const CI = process.env['CI'] === 'true';

function onPath(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Run in the page (as source text: the test is compiled without DOM types). For each chart container,
 * the pixels its canvas drew: ECharts leaves the background transparent, so a drawn pixel is one with
 * any opacity that is not white; or, for the SVG renderer, its shapes.
 */
const CHART_PROBE = `[...document.querySelectorAll('[data-chart]')].map((el) => {
  const canvas = el.querySelector('canvas');
  let painted = 0;
  if (canvas !== null && canvas.width > 0 && canvas.height > 0) {
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && !(px[i] > 250 && px[i + 1] > 250 && px[i + 2] > 250)) painted++;
  }
  const svg = el.querySelector('svg');
  return { id: el.id, painted, svgShapes: svg === null ? 0 : svg.querySelectorAll('path, rect, text').length };
})`;
const VISIBLE_REASONS = `[...document.querySelectorAll('#sample-rows tr')].filter((tr) => tr.style.display !== 'none').map((tr) => tr.dataset.reason)`;

const executable = onPath('chromium') ?? onPath('chromium-browser');
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

let sim: Simulator;
let dir: string;
let reportFile: string;
let context: BrowserContext | undefined;

describe.skipIf(executable === null && !CI)('the report in headless Chromium', () => {
  beforeAll(async () => {
    dir = tempDir('zhsi-report-browser-');
    sim = await startSimulator({ port: 0, seed: 23, nearDuplicateRate: 0.15, junkRate: 0.15 });
    const db = path.join(dir, 'run.db');
    const gen = await runCli(['generate', '--n', '150', '--db', db, '--concurrency', '4'], {
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: 'test-key-browser',
    });
    expect(gen.code, gen.stderr).toBe(0);
    // Hostile text from "the model": must stay text in the page.
    const hostile = writeTemp(
      dir,
      'hostile.jsonl',
      JSON.stringify({
        instruction: '请解释这段代码的作用：</script><img src=x onerror="window.__xss=1"><!--',
        input: '<script>window.__xss=2</script>',
        output: '这段代码试图注入脚本，报告应当把它当作普通文本显示。',
      }) + '\n',
    );
    const imp = await runCli(['import', '--in', hostile, '--db', db, '--source', 'hostile']);
    expect(imp.code, imp.stderr).toBe(0);
    // Embeddings (the hostile row too): the data map and the nearest-neighbour histogram, inline SVG.
    const emb = await runCli(['embed', '--db', db, '--model', 'sim-embed'], {
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: 'test-key-browser',
    });
    expect(emb.code, emb.stderr).toBe(0);
    reportFile = path.join(dir, 'report.html');
    const rep = await runCli(['report', '--db', db, '--out', reportFile]);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stdout.trim()).toBe(reportFile);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await sim?.close();
  });

  it('renders every chart, makes no request, logs no error, and the sample browser filters by reason', async () => {
    if (executable === null) throw new Error('CI=true but no chromium on PATH: .ci/run installs it with apt-get');
    try {
      context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
        executablePath: executable,
        headless: true,
        args: ARGS,
      });
    } catch (err) {
      // A browser that is there but cannot start is a failure everywhere, not a reason to skip.
      throw new Error(`chromium at ${executable} did not start: ${(err as Error).message}`);
    }
    const page = await context.newPage();
    await page.setViewportSize({ width: 1400, height: 1000 });
    const errors: string[] = [];
    const requests: string[] = [];
    const failed: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));

    await page.goto(pathToFileURL(reportFile).href);
    await page.waitForSelector('body[data-report-ready="true"]', { timeout: 15_000 });

    const charts = z
      .array(z.object({ id: z.string(), painted: z.number(), svgShapes: z.number() }))
      .parse(await page.evaluate(CHART_PROBE));
    expect(charts.length).toBeGreaterThanOrEqual(13);
    for (const c of charts) expect(c.painted + c.svgShapes, `chart ${c.id} drew nothing`).toBeGreaterThan(200);

    // The sample browser: a reason's button shows exactly that reason's rows.
    const total = await page.locator('#sample-rows tr').count();
    expect(total).toBeGreaterThan(50);
    const reasonButtons = page.locator(
      '#sample-filters button:not([data-filter="all"]):not([data-filter="accepted"]):not([data-filter="rejected"])',
    );
    expect(await reasonButtons.count()).toBeGreaterThanOrEqual(3);
    const button = reasonButtons.first();
    const reason = (await button.getAttribute('data-filter'))!;
    await button.click();
    const visible = z.array(z.string()).parse(await page.evaluate(VISIBLE_REASONS));
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.length).toBeLessThan(total);
    expect(new Set(visible)).toEqual(new Set([reason]));
    expect(await page.locator('#sample-count').textContent()).toContain(String(visible.length));
    await page.locator('#sample-filters button[data-filter="accepted"]').click();
    expect(await page.locator('#sample-rows tr:visible').count()).toBe(50);

    // The embedding figures: every point of the map drawn inside the picture, one bar per bin.
    const map = z.object({ circles: z.number(), inside: z.number(), bars: z.number() }).parse(
      await page.evaluate(`(() => {
          const svg = document.getElementById('embedding-map-svg');
          const box = svg.getBoundingClientRect();
          const circles = [...svg.querySelectorAll('circle')];
          const inside = circles.filter((c) => {
            const r = c.getBoundingClientRect();
            return r.width > 0 && r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
          }).length;
          return { circles: circles.length, inside, bars: document.querySelectorAll('#embedding-neighbours-svg rect').length };
        })()`),
    );
    expect(map.circles).toBeGreaterThan(100);
    expect(map.inside).toBe(map.circles);
    expect(map.bars).toBe(20);

    // Model text stayed text.
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expect(await page.locator('img').count()).toBe(0);

    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(50_000);
    // Regenerates the README's picture: REPORT_SCREENSHOT=test/fixtures/report-screenshot.png npx vitest run test/e2e/report-browser.test.ts
    const readme = process.env['REPORT_SCREENSHOT'];
    if (readme) {
      await page.locator('#sample-filters button[data-filter="all"]').click();
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: readme, fullPage: false });
    }

    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(failed).toEqual([]);
  }, 90_000);
});
