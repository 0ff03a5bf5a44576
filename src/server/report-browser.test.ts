/**
 * The reports and the page's papercuts in a real browser (Debian's chromium through playwright-core), over a fixture
 * home (no build needed): report.html served at /bulks/ID/report.html and at /logs/ID/report.html as HTML, its log
 * links followed to the logs; QA counts on the bulk page and the tags on the port's page; times with their zone,
 * "1 builder", no "0.0 ports/hour"; the ETA of a running bulk rises while its builds overrun their expected time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { fixtureHome } from '../report/testing.js';
import { writeReports } from '../report/index.js';
import type { QaReport } from '../qa/index.js';
import { buildServer } from './index.js';

const CHROMIUM = '/usr/bin/chromium';

test('report links work through kiln serve; QA, times, builders and the ETA on the page', {
  timeout: 5 * 60_000,
  skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (scripts/setup-web-deps.sh installs it)`,
}, async () => {
  const f = fixtureHome();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chromium-'));
  const qa: QaReport = {
    origin: 'misc/a',
    ok: true,
    lintian: {
      tags: [
        { severity: 'E', package: 'a', tag: 'no-copyright-file', info: '' },
        { severity: 'W', package: 'a', tag: 'unknown-field', info: 'X-Kiln-Identity' },
      ],
      counts: { E: 1, W: 1 },
      newErrors: [],
      baseline: 'kiln-packaging',
    },
    install: { ok: true, packages: ['a=1.0-k1'], missing: [], leftovers: [] },
    wallMs: 5,
  };
  fs.writeFileSync(path.join(f.home, 'logs', String(f.done), 'misc_a.qa.json'), JSON.stringify(qa));
  writeReports(f.home, f.done);
  const app = await buildServer({ home: f.home, live: { pollMs: 250 } });
  let ctx: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    // Both addresses of the report render as HTML, and their log links reach the logs.
    for (const url of [`${base}/bulks/${f.done}/report.html`, `${base}/logs/${f.done}/report.html`]) {
      await page.goto(url);
      assert.match((await page.textContent('h1')) ?? '', new RegExp(`kiln bulk ${f.done}`), url);
      assert.match((await page.textContent('body')) ?? '', /QA \(1\).*E 1 · W 1/s, url);
      await Promise.all([page.waitForNavigation(), page.click('table >> nth=0 >> a')]);
      assert.match(page.url(), new RegExp(`/logs/${f.done}/misc_fail\\.log$`));
      assert.match((await page.textContent('body')) ?? '', /compiling <b>bold<\/b>/, 'the log is text, not HTML');
    }

    // The finished bulk's page: QA per port, a time with its zone, "2 builders".
    await page.goto(`${base}/bulks/${f.done}`);
    await page.waitForSelector('#built-list');
    assert.match((await page.textContent('#built-list')) ?? '', /misc\/a.*E 1 · W 1; install ok/s);
    assert.match((await page.textContent('.meta time')) ?? '', /\b(UTC|GMT|[A-Z]{3,4}|[+-]\d)/);
    assert.equal(await page.textContent('#builders-n'), '2 builders');
    await page.click('#built-list a');
    await page.waitForSelector('#qa-tags');
    assert.match((await page.textContent('#qa-tags')) ?? '', /no-copyright-file.*unknown-field/s);
    assert.match((await page.textContent('#qa-install')) ?? '', /passed/);

    // A running bulk with one builder, nothing built, two builds past their expected time: the ETA rises.
    const t = Date.now();
    f.append(f.running, [
      { type: 'port-start', t: t - 120_000, origin: 'misc/q1', builder: 2, jobs: 1, expectedS: 10 },
      { type: 'port-start', t: t - 120_000, origin: 'misc/q2', builder: 3, jobs: 1, expectedS: 10 },
      {
        type: 'progress',
        t,
        counts: { built: 0, failed: 0, skipped: 0, kept: 0, deleted: 0, remaining: 3 },
        etaS: 30,
        elapsedS: 1,
      },
    ]);
    await page.goto(`${base}/bulks/${f.running}`);
    await page.waitForSelector('#eta b');
    assert.equal(await page.textContent('#builders-n'), '1 builder');
    assert.equal(await page.textContent('#throughput'), 'no port built yet');
    const secs = (s: string): number => {
      const m = /(?:(\d+)m )?([\d.]+)s/.exec(s);
      return m ? Number(m[1] ?? 0) * 60 + Number(m[2]) : NaN;
    };
    const eta1 = secs((await page.textContent('#eta b')) ?? '');
    await page.waitForTimeout(3500);
    const eta2 = secs((await page.textContent('#eta b')) ?? '');
    assert.ok(eta2 > eta1, `the ETA rises while two builds overrun: ${eta1} then ${eta2}`);
    assert.deepEqual(errors, []);
  } finally {
    await ctx?.close();
    await app.close();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});
