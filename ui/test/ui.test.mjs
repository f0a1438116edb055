// The web UI in a real browser (Debian's chromium, driven by playwright-core), against a
// running agent that tests/integration/ui.sh started. Prints PASS/FAIL/SKIP lines.
// Env: AOD_URL, AOD_TOKEN, AOD_LOOP, AOD_DEV, AOD_ODIRECT (tests/helpers/odirect_io),
// AOD_ANOMALIES (anomalies.jsonl), AOD_RULE, AOD_ART (screenshots, DOM dumps),
// UI_NODE_MODULES (where npm put playwright-core), CHROMIUM.
import { createRequire } from 'node:module';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const env = process.env;
const require = createRequire(env.UI_NODE_MODULES + '/');
const { chromium } = require('playwright-core');
const URL = env.AOD_URL, ART = env.AOD_ART;

const results = [];
const pass = (n) => { results.push(n); console.log(`PASS: ${n}`); };
const fail = (n, why) => { results.push(n); console.log(`FAIL: ${n}: ${String(why).replace(/\s+/g, ' ').slice(0, 400)}`); };
async function step(name, f) {
  try {
    const r = await f();
    pass(r ? `${name} (${r})` : name);
  } catch (e) {
    fail(name, e && e.message ? e.message : e);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(ms, f, what) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await f(); if (last) return last; } catch (e) { last = e.message; }
    await sleep(100);
  }
  throw new Error(`${what} not within ${ms} ms (last: ${JSON.stringify(last)})`);
}
const stat = () => readFileSync(`/sys/block/${env.AOD_DEV}/stat`, 'utf8').trim().split(/\s+/).map(Number);
const ios = () => readFileSync(`/sys/block/${env.AOD_DEV}/stat`, 'utf8').trim().split(/\s+/)
  .map(Number).filter((_, i) => [0, 4, 11, 14].includes(i)).reduce((a, b) => a + b, 0);
const doIO = (n) => execFileSync(env.AOD_ODIRECT, [env.AOD_LOOP, String(n), '4096'], { stdio: 'ignore' });
// ids are 64-bit: taken as text, since JSON.parse would round them to doubles
const ruleIds = () => (existsSync(env.AOD_ANOMALIES) ? readFileSync(env.AOD_ANOMALIES, 'utf8') : '')
  .split('\n').filter((l) => new RegExp(`"rule": ?"${env.AOD_RULE}"`).test(l))
  .map((l) => (l.match(/^\{"id": ?(\d+)/) || [])[1]).filter(Boolean);

const browser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', headless: true,
                                        args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const consoleErrors = [];
let expected401 = 0, allow401 = true;
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  // the browser logs each refused request; those of the no-token phase are the point of it
  if (allow401 && /status of 401/.test(m.text())) { expected401++; return; }
  consoleErrors.push(m.text());
});
page.on('pageerror', (e) => consoleErrors.push('page error: ' + e.message));
// what a view shows outside <pre> must not be a JavaScript value printed by mistake
async function cleanText(view) {
  const t = await page.evaluate(() => {
    const m = document.querySelector('main').cloneNode(true);
    m.querySelectorAll('pre').forEach((p) => p.remove());
    return m.textContent;
  });
  const bad = t.match(/\[object [A-Za-z]+\]|\bundefined\b|\bNaN\b|\bnull\b/);
  if (bad) throw new Error(`${view} shows "${bad[0]}": ${t.slice(Math.max(0, bad.index - 60), bad.index + 60)}`);
}
const shot = (name) => page.screenshot({ path: `${ART}/${name}.png`, fullPage: true });

try {
  await step('ui-overview', async () => {
    await page.goto(URL + '/#/overview');
    await page.waitForSelector('table.probes tbody tr', { timeout: 10000 });
    const probes = await page.$$eval('table.probes tbody tr td:first-child', (t) => t.map((x) => x.textContent));
    const budget = await page.textContent('.budget');
    await shot('overview-1280');
    await cleanText('overview');
    if (!probes.includes('block')) throw new Error('no block probe row: ' + probes);
    if (!/of .*\(/.test(budget)) throw new Error('no output budget: ' + budget);
    return probes.join(',');
  });

  for (const v of ['bundles', 'anomalies', 'processes', 'health', 'config']) {
    await step(`ui-no-token-refused-${v}`, async () => {
      await page.goto(`${URL}/#/${v}`);
      await page.waitForSelector('.refused[data-status="401"]', { timeout: 5000 });
      const rows = await page.$$('table tbody tr');
      if (v === 'bundles') await shot('bundles-no-token');
      if (rows.length) throw new Error(`${rows.length} rows shown without the token`);
    });
  }
  allow401 = false;

  await step('ui-token-by-keyboard', async () => {
    await page.focus('#token');
    await page.keyboard.type(env.AOD_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#view-config #config-text', { timeout: 5000 });
    const state = await page.textContent('#token-state');
    if (state !== 'token set') throw new Error('token state: ' + state);
  });

  await step('ui-keyboard-views', async () => {
    await page.focus('#view-title');
    await page.keyboard.press('2');
    await until(2000, async () => (await page.evaluate(() => location.hash)) === '#/latency', 'key 2 -> #/latency');
    await page.keyboard.press('1');
    await until(2000, async () => (await page.evaluate(() => location.hash)) === '#/overview', 'key 1 -> #/overview');
  });

  await step('ui-live-latency-updates', async () => {
    await page.goto(URL + '/#/latency');
    const panel = 'section.panel[data-source="block"]';
    await page.waitForSelector(panel);
    await until(5000, async () => Number(await page.getAttribute(panel + ' canvas', 'data-samples')) >= 2, 'two readings');
    // the device's series appears with its first I/O; then pick it and watch it
    doIO(20);
    const opt = `#series-block option[value="${env.AOD_DEV} read"]`;
    await page.waitForSelector(opt, { state: 'attached', timeout: 5000 });
    const value = await page.$eval(opt, (o) => o.value);
    await page.selectOption('#series-block', value);
    await sleep(1200);
    const field = value.endsWith(' read') ? 0 : value.endsWith(' write') ? 4 : -1; // stat.rst
    if (field < 0) throw new Error('first series of the device is ' + value);
    const before = ios(), opBefore = stat()[field];
    const s0 = Number(await page.getAttribute(panel + ' canvas', 'data-samples'));
    const tot0 = Number(await page.getAttribute(panel, 'data-total'));
    doIO(200);
    const n = ios() - before, nOp = stat()[field] - opBefore;
    let shown = 0;
    const seen = await until(5000, async () => {
      shown = Number(await page.getAttribute(panel, 'data-total')) - tot0;
      return shown === nOp && nOp;
    }, `the chart showing the ${nOp} ${value} ops`).catch((e) => {
      throw new Error(`${e.message}: it shows ${shown}; /sys/block/${env.AOD_DEV}/stat ${stat().join(' ')}`);
    });
    await sleep(1500);
    const s1 = Number(await page.getAttribute(panel + ' canvas', 'data-samples'));
    await shot('latency-1280');
    await cleanText('latency');
    if (s1 <= s0) throw new Error(`heatmap did not advance: ${s0} -> ${s1} samples`);
    return `series ${value}: +${seen} shown for ${n} I/Os of ${env.AOD_DEV}, heatmap ${s0} -> ${s1} s`;
  });

  await step('ui-anomaly-within-3s', async () => {
    await page.goto(URL + '/#/anomalies');
    await page.waitForSelector('#view-anomalies .meta', { timeout: 5000 });
    await sleep(2500); // past the rule's holdoff
    const known = new Set(ruleIds());
    // in the background, so that the page is watched while the I/O runs
    const io = spawn(env.AOD_ODIRECT, [env.AOD_LOOP, '2000', '4096'], { stdio: 'ignore' });
    const done = new Promise((r) => io.on('exit', r));
    const id = await until(15000, async () => ruleIds().find((x) => !known.has(x)), 'a new anomaly in anomalies.jsonl');
    const row = `table.anomalies tr[data-id="${id}"]`;
    await page.waitForSelector(row, { timeout: 10000 });
    const lagMs = Date.now() - Number(BigInt(id) / 1000000n);
    await done;
    await page.click(`${row} button`);
    await page.waitForSelector(`#anomaly-details[data-id="${id}"]`, { timeout: 2000 });
    await shot('anomaly-details');
    await cleanText('anomalies');
    if (lagMs > 3000) throw new Error(`anomaly ${id} appeared ${lagMs} ms after it fired`);
    writeFileSync(`${ART}/anomaly-id`, id);
    return `${lagMs} ms after it fired`;
  });

  await step('ui-bundle-summary', async () => {
    const id = readFileSync(`${ART}/anomaly-id`, 'utf8');
    await page.goto(URL + '/#/bundles');
    const link = `table.bundles tr[data-id="${id}"] a.summary-link`;
    await until(20000, async () => page.$(link), `bundle ${id} listed (the view refreshes every 5 s)`);
    await shot('bundles-1280');
    await page.focus(link);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#bundle-summary', { timeout: 5000 });
    const text = await page.textContent('#bundle-summary');
    writeFileSync(`${ART}/summary.dom.txt`, text);
    writeFileSync(`${ART}/bundle-id`, id);
    await shot('bundle-summary');
    await cleanText('bundle');
    // the download goes through fetch with the token (there is no cookie) to a blob
    const [dl] = await Promise.all([
      page.waitForEvent('download', { timeout: 10000 }),
      page.click('#view-bundles .meta button.link'),
    ]);
    await dl.saveAs(`${ART}/download.tar.zst`);
    writeFileSync(`${ART}/download-name`, dl.suggestedFilename());
    if (!text.length) throw new Error('empty summary');
    return `${text.length} characters`;
  });

  const ready = { processes: 'table.runs tbody tr', health: '.health-summary', config: '#config-text' };
  for (const v of Object.keys(ready)) {
    await step(`ui-view-${v}`, async () => {
      await page.goto(`${URL}/#/${v}`);
      await page.waitForSelector(ready[v], { timeout: 8000 });
      await sleep(500);
      await shot(v);
      await cleanText(v);
    });
  }

  await step('ui-phone-width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const wide = [];
    for (const v of ['overview', 'latency', 'anomalies', 'bundles']) {
      await page.goto(`${URL}/#/${v}`);
      await sleep(1500);
      await shot(`${v}-390`);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      if (w > 392) wide.push(`${v}: ${w}px`);
    }
    if (wide.length) throw new Error('wider than the phone: ' + wide.join(', '));
  });

  await step('ui-no-console-errors', async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.join(' | '));
    return `${expected401} refused requests logged in the no-token phase`;
  });
} finally {
  await browser.close();
}
