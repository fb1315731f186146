// Browser checks of the embedded UI, run by tests/ui_browser.rs against a
// real Hearth (HEARTH_URL, HEARTH_OTLP_HTTP). Seeds data, then drives
// Chromium through each page's main job. Prints "ok <check>" per check and
// "all browser checks passed" at the end; exits non-zero on any failure.
// Screenshots (desktop and phone width) go to HEARTH_UI_ARTIFACTS.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { SHARED_TRACE_ID, pushLine, seedAll } from './seed.mjs';

const base = process.env.HEARTH_URL;
const otlp = process.env.HEARTH_OTLP_HTTP;
const artifacts = process.env.HEARTH_UI_ARTIFACTS || '/tmp/hearth-ui-screenshots';
const executablePath = process.env.HEARTH_CHROMIUM || '/usr/bin/chromium';
if (!base || !otlp) {
  console.error('HEARTH_URL and HEARTH_OTLP_HTTP must be set');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const PAGES = ['metrics', 'logs', 'traces', 'alerts', 'status'];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const failures = [];

async function until(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function getJSON(path) {
  const res = await fetch(`${base}${path}`);
  return res.json();
}

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** A fresh page whose console errors, uncaught exceptions and failed
 *  same-origin requests are collected into `problems`. */
async function openPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A page navigating away aborts its own fetches; that is not an error.
    if (r.url().startsWith(base) && r.failure()?.errorText !== 'net::ERR_ABORTED') {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  return { page, problems, close: () => context.close() };
}

async function check(name, fn, viewport = DESKTOP) {
  const session = await openPage(viewport);
  try {
    await fn(session.page);
    if (session.problems.length) throw new Error(session.problems.join('\n'));
    await session.page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    console.log(`ok ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e.message}`);
    await session.page.screenshot({ path: join(artifacts, `${name}-FAILED.png`), fullPage: true }).catch(() => {});
  } finally {
    await session.close();
  }
}

const testid = (id) => `[data-testid="${id}"]`;

// --- seed ---------------------------------------------------------------
await seedAll(base, otlp);
await until('the seeded alert to fire', async () => {
  const alerts = await getJSON('/api/v1/alerts');
  return alerts.data.alerts.some((a) => a.labels.alertname === 'DemoAlwaysFiring' && a.state === 'firing');
});
console.log('seeded');

// --- every page loads, desktop and phone ---------------------------------
for (const name of PAGES) {
  for (const [label, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await check(`page-${name}-${label}`, async (page) => {
      await page.goto(`${base}/#/${name}`);
      await page.waitForFunction(() => {
        const main = document.getElementById('main');
        return main && main.children.length > 0 && !main.textContent.includes('Loading…');
      });
      // Give the page's first API answers time to arrive before judging.
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (label === 'phone' && overflow > 8) throw new Error(`page is ${overflow}px wider than a phone screen`);
    }, viewport);
  }
}

// --- metrics: a PromQL query draws a graph --------------------------------
await check('promql-graph', async (page) => {
  await page.goto(`${base}/#/metrics`);
  await page.fill(testid('promql-input'), 'sum by (job) (rate(demo_requests_total[5m]))');
  await page.click(testid('run-query'));
  await page.waitForSelector(`${testid('metrics-chart')} canvas`);
  const legend = await page.textContent(testid('metrics-chart'));
  for (const job of ['frontend', 'checkout', 'payments']) {
    if (!legend.includes(job)) throw new Error(`legend lacks ${job}: ${legend}`);
  }
  if (!page.url().includes('expr=')) throw new Error(`the query is not in the URL: ${page.url()}`);
  // Dragging across the chart zooms: the range and end move into the URL.
  const over = await page.locator(`${testid('metrics-chart')} .u-over`).boundingBox();
  await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
  await page.mouse.down();
  await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /[?&]end=\d+/.test(window.location.hash) && !/[?&]range=1h(&|$)/.test(window.location.hash));
  await page.waitForSelector(`${testid('metrics-chart')} canvas`);
  await page.click(testid('tab-table'));
  await page.waitForSelector(`${testid('metrics-table')} td`);
});

// --- logs: a LogQL query lists lines; details; trace link ----------------
await check('logql-lines', async (page) => {
  await page.goto(`${base}/#/logs`);
  await page.fill(testid('logql-input'), '{job="demo"} |= "declined"');
  await page.click(testid('run-logs'));
  const line = await page.waitForSelector(testid('log-line'));
  const text = await line.textContent();
  if (!text.includes('card declined')) throw new Error(`unexpected line: ${text}`);
  await line.click();
  const details = await page.waitForSelector(testid('log-details'));
  const detailText = await details.textContent();
  if (!detailText.includes('demo-user')) throw new Error(`structured metadata missing: ${detailText}`);
  const link = await page.waitForSelector(testid('trace-link'));
  const hrefValue = await link.getAttribute('href');
  if (!hrefValue.includes(SHARED_TRACE_ID)) throw new Error(`trace link ${hrefValue}`);
  await page.waitForSelector(`${testid('logs-volume')} canvas`);
});

// --- logs: paging past the limit adds older lines, none twice --------------
await check('logs-load-more', async (page) => {
  await page.goto(`${base}/#/logs?limit=100&q=${encodeURIComponent('{job="demo"}')}`);
  await until('the first page', async () => (await page.$$(testid('log-line'))).length === 100);
  await page.click(testid('logs-more'));
  await until('the second page', async () => (await page.$$(testid('log-line'))).length > 150);
  // The pages together must be exactly the newest lines, in order, with
  // nothing repeated or skipped at the page boundary.
  const shown = await page.$$eval(testid('log-line'), (els) => els.map((e) => e.dataset.ts));
  const end = `${Date.now()}000000`;
  const start = `${Date.now() - 3600 * 1000}000000`;
  const q = new URLSearchParams({ query: '{job="demo"}', limit: String(shown.length), start, end });
  const direct = await getJSON(`/loki/api/v1/query_range?${q}`);
  const expected = direct.data.result.flatMap((s) => s.values.map((v) => v[0]))
    .sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : BigInt(b) < BigInt(a) ? -1 : 0));
  if (shown.join() !== expected.join()) {
    throw new Error(`paged lines differ from one query of ${shown.length}: ${shown.slice(95, 105)} vs ${expected.slice(95, 105)}`);
  }
});

// --- logs: live tail shows a line pushed during the test -------------------
await check('logs-tail', async (page) => {
  const marker = `tail-check-${Date.now()}`;
  await page.goto(`${base}/#/logs?q=${encodeURIComponent('{job="demo", service="tailtest"}')}`);
  await page.click(testid('tail-toggle'));
  await page.waitForFunction((sel) => /tailing/i.test(document.querySelector(sel)?.textContent || ''), testid('tail-status'));
  // The socket is open; the line pushed now must arrive over it.
  await pushLine(base, { job: 'demo', service: 'tailtest', env: 'home' }, `level=info msg="${marker}"`);
  await page.waitForFunction(([sel, m]) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(m)),
    [testid('log-line'), marker], { timeout: 20000 });
  await page.click(testid('tail-toggle'));
});

// --- traces: search, open the waterfall -----------------------------------
await check('trace-waterfall', async (page) => {
  await page.goto(`${base}/#/traces`);
  await page.fill(testid('traceql-input'), '{status=error}');
  await page.click(testid('run-traces'));
  // The page may first list every trace; only the error trace may remain.
  await page.waitForFunction(([sel, id]) => {
    const rows = document.querySelectorAll(sel);
    return rows.length === 1 && rows[0].dataset.traceId === id;
  }, [testid('trace-row'), SHARED_TRACE_ID]);
  await page.locator(testid('trace-row')).first().click();
  await page.waitForSelector(testid('waterfall'));
  await until('three span rows', async () => (await page.$$(testid('span-row'))).length === 3);
  // Rows are the tree in order: frontend, checkout, payments (the error).
  await page.locator(testid('span-row')).nth(2).click();
  await page.waitForFunction((sel) => (document.querySelector(sel)?.textContent || '').includes('card declined'),
    testid('span-details'));
  const logs = await page.getAttribute(testid('trace-logs-link'), 'href');
  if (!logs.includes(SHARED_TRACE_ID)) throw new Error(`logs link ${logs}`);
});

// --- alerts: the firing alert appears and can be silenced, then expired ---
await check('alert-silence', async (page) => {
  // The page redraws on a timer, so elements are looked up by selector each
  // time rather than kept.
  const alertRow = `${testid('alert-row')}[data-alertname="DemoAlwaysFiring"][data-state="firing"]`;
  await page.goto(`${base}/#/alerts`);
  await page.waitForSelector(alertRow);
  await page.locator(`${alertRow} ${testid('silence-button')}`).click();
  await page.waitForSelector(testid('silence-form'));
  await page.fill(testid('silence-comment'), 'silenced by the browser test');
  await page.click(testid('silence-submit'));
  const id = await page.locator(`${testid('silence-row')}[data-state="active"]`).first().getAttribute('data-silence-id');
  if (!id) throw new Error('the new silence has no id');
  await page.waitForSelector(`${alertRow}[data-silenced="true"]`);
  await until('the alert to be suppressed', async () => {
    const alerts = await getJSON('/api/v2/alerts');
    return alerts.some((a) => a.labels.alertname === 'DemoAlwaysFiring' && a.status.state === 'suppressed');
  });
  await page.locator(`${testid('silence-row')}[data-silence-id="${id}"] ${testid('expire-silence')}`).click();
  await page.waitForSelector(`${testid('silence-row')}[data-silence-id="${id}"][data-state="expired"]`, { state: 'attached' });
  await until('the alert to be active again', async () => {
    const alerts = await getJSON('/api/v2/alerts');
    return alerts.some((a) => a.labels.alertname === 'DemoAlwaysFiring' && a.status.state === 'active');
  });
});

// --- switching pages stops the old page's polling ---------------------------
await check('page-switch-stops-polling', async (page) => {
  const seen = [];
  page.on('request', (r) => seen.push(r.url()));
  await page.goto(`${base}/#/alerts`);
  await page.waitForSelector(testid('rules-list'));
  await page.goto(`${base}/#/metrics`);
  await page.waitForSelector(testid('promql-input'));
  const after = seen.length;
  // The Alerts page polls every 10 s; wait past one period on Metrics.
  await page.waitForTimeout(11000);
  const late = seen.slice(after).filter((u) => /\/api\/v[12]\/(alerts|silences|rules)/.test(u));
  if (late.length) throw new Error(`the Alerts page kept polling: ${late.join(', ')}`);
});

await browser.close();
if (failures.length) {
  console.log(`FAILED: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('all browser checks passed');
