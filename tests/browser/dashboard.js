// dashboard.js: open the dashboard in Debian's headless chromium (driven by playwright-core),
// check every probe row and the failure reasons, click "run now" with the token, and save a
// screenshot. Prints one JSON line with what it saw; exits non-zero on a failed check.
//   node dashboard.js URL TOKEN SCREENSHOT
const { chromium } = require('playwright-core');

const [url, token, shot] = process.argv.slice(2);
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args, timeout: 30000 });
  const out = { rows: {}, noscript: {}, noscript_cert: {} };
  try {
    // without JavaScript the server-rendered table is there
    const plain = await browser.newContext({ javaScriptEnabled: false });
    const p0 = await plain.newPage();
    await p0.goto(url, { timeout: 15000 });
    for (const r of await p0.$$('tr[data-probe]')) {
      const name = await r.getAttribute('data-probe');
      out.noscript[name] = await r.$eval('.badge', e => e.textContent);
      out.noscript_cert[name] = await r.$eval('.cert', e => e.textContent).catch(() => null);
    }
    await plain.close();

    const ctx = await browser.newContext({ viewport: { width: 1200, height: 700 } });
    const page = await ctx.newPage();
    await page.goto(url, { timeout: 15000 });
    // app.js replaces the rows with ones that have a run-now button and a sparkline
    await page.waitForSelector('tr[data-probe] button.run', { timeout: 15000 });
    await page.waitForFunction(() => document.querySelectorAll('svg.spark polyline').length >= 2,
      null, { timeout: 15000 });
    for (const r of await page.$$('#probes tbody tr')) {
      const name = await r.getAttribute('data-probe');
      out.rows[name] = {
        state: await r.$eval('.badge', e => e.textContent),
        latency: await r.$eval('.latency', e => e.textContent),
        spark: !!(await r.$('svg.spark')),
        reason: await r.$eval('.reason', e => e.textContent),
        events: await r.$eval('.events', e => e.textContent).catch(() => null),
        cert: await r.$eval('.cert', e => e.textContent).catch(() => null),
      };
    }
    await page.waitForSelector('#alarm-list li', { timeout: 10000 }).catch(() => {});
    out.alarms = await page.$$eval('#alarm-list li', ls => ls.map(l => l.textContent));
    await page.waitForFunction(() => document.querySelectorAll('#delivery-list li').length >= 2,
      null, { timeout: 10000 }).catch(() => {});
    out.deliveries = await page.$$eval('#delivery-list li', ls => ls.map(l => l.textContent));
    await page.waitForSelector('#config-list li', { timeout: 10000 }).catch(() => {});
    out.config = await page.$$eval('#config-list li', ls => ls.map(l => l.textContent));
    await page.evaluate(t => localStorage.setItem('outpost.token', t), token);
    const btn = await page.$('button.run[data-probe="api"]');
    await btn.click();
    await page.waitForFunction(() => /^ok /.test(document.querySelector('button.run[data-probe="api"]')?.textContent || '') ||
      /^ok /.test(window.__lastRun || ''), null, { timeout: 10000 }).catch(() => {});
    out.run = await page.evaluate(() => {
      const b = document.querySelector('button.run[data-probe="api"]');
      return b ? b.textContent : '';
    });
    // the detail view of one probe
    await page.goto(url + '#probe=api');
    await page.waitForSelector('#d-rows tr', { timeout: 10000 });
    out.detail_rows = (await page.$$('#d-rows tr')).length;
    await page.goto(url);
    await page.waitForSelector('tr[data-probe] button.run', { timeout: 15000 });
    await page.waitForFunction(() => document.querySelectorAll('svg.spark polyline').length >= 2,
      null, { timeout: 15000 });
    await page.screenshot({ path: shot, fullPage: true });
    // a phone-sized screen
    await page.setViewportSize({ width: 390, height: 800 });
    out.phone_overflow = await page.evaluate(() => document.documentElement.scrollWidth > 400);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
