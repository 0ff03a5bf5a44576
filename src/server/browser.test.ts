/**
 * The live page in a real browser (Debian's chromium through playwright-core) over a real bulk: script ports that
 * sleep, so the one builder visibly changes port, and one port that fails. The page must follow the bulk without
 * a reload and open the failed port's log at its first error. Screenshots go to artifacts/ (gitignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { openStore } from '../store/index.js';
import { REPO_ROOT, kiln, scriptPort, testHome } from '../bulk/testing.js';
import { buildServer } from './index.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'artifacts');

function sleepPort(name: string, seconds: number): string {
  return `echo "building ${name}"\nsleep ${seconds}\nmkdir -p "$DESTDIR/usr/share/${name}"\necho ${name} > "$DESTDIR/usr/share/${name}/${name}.txt"`;
}

async function until<T>(what: string, fn: () => T | undefined, tries = 600): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("the bulk page follows a real bulk live and opens the failed port's log at its error", {
  timeout: 10 * 60_000,
  skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (scripts/setup-web-deps.sh installs it)`,
}, async () => {
  const home = await testHome('kiln-web-test-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-web-tree-'));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chromium-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  scriptPort(tree, 'misc/alpha', { script: sleepPort('alpha', 6) });
  scriptPort(tree, 'misc/beta', { script: sleepPort('beta', 6) });
  scriptPort(tree, 'misc/gamma', { script: sleepPort('gamma', 4), build: ['misc/alpha'] });
  scriptPort(tree, 'misc/broken', {
    script:
      'echo "compiling broken.c"\nsleep 3\necho "broken.c:7: error: expected \';\' before \'}\' token" >&2\nexit 1',
  });
  scriptPort(tree, 'misc/after', { build: ['misc/broken'] });
  const app = await buildServer({ home, live: { pollMs: 250 } });
  let ctx: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    assert.equal((await kiln(home, ['tree', 'add', 'web', '--path', tree])).status, 0);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const bulk = kiln(home, [
      'bulk',
      '-j',
      'bookworm',
      '-p',
      'web',
      '-J',
      '1',
      'misc/alpha',
      'misc/beta',
      'misc/gamma',
      'misc/after',
    ]);
    const id = await until('the bulk to start', () => {
      const s = openStore(home);
      try {
        return s.bulks.listBulks({ limit: 1 })[0]?.id;
      } finally {
        s.close();
      }
    });

    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/bulks/${id}`);
    await page.waitForSelector('#count-built', { timeout: 60_000 });
    await page.evaluate(() => {
      (window as unknown as { noReload: number }).noReload = 1;
    });
    // A builder is busy with some port; later the same builder shows another one, with no reload in between.
    const first = await page
      .waitForFunction(
        () => document.querySelector('.builder[data-builder="1"]')?.getAttribute('data-origin'),
        undefined,
        { timeout: 120_000 },
      )
      .then((h) => h.jsonValue() as Promise<string>);
    const builtBefore = Number(await page.textContent('#count-built'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-bulk-running.png'), fullPage: true });
    const second = await page
      .waitForFunction(
        (o) => {
          const now = document.querySelector('.builder[data-builder="1"]')?.getAttribute('data-origin');
          return now && now !== o ? now : null;
        },
        first,
        { timeout: 180_000 },
      )
      .then((h) => h.jsonValue() as Promise<string>);
    assert.notEqual(second, first);
    await page.waitForFunction((n) => Number(document.getElementById('count-built')?.textContent) > n, builtBefore, {
      timeout: 180_000,
    });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-bulk-changed.png'), fullPage: true });

    const res = await bulk;
    assert.equal(res.status, 1, 'the bulk fails because of misc/broken');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'failed', undefined, {
      timeout: 60_000,
    });
    assert.equal(
      await page.evaluate(() => (window as unknown as { noReload?: number }).noReload),
      1,
      'the page was never reloaded',
    );
    assert.equal(await page.textContent('#count-built'), '3');
    assert.equal(await page.textContent('#count-failed'), '1');
    assert.match((await page.textContent('#skipped-list')) ?? '', /misc\/after.*misc\/broken/s);
    assert.match((await page.textContent('#failed-list')) ?? '', /misc\/broken\s*build/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-bulk-done.png'), fullPage: true });

    // The failed port's log opens at its first error line, as text.
    await page.click('#failed-list a');
    await page.waitForSelector('#log .l.err');
    const firstError = await page.getAttribute('#log', 'data-first-error');
    assert.ok(firstError, 'the log page knows the first error line');
    assert.match((await page.textContent(`#L${firstError}`)) ?? '', /broken\.c:7: error: expected/);
    assert.equal(await page.evaluate(() => document.querySelectorAll('#log b, #log script').length), 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-failed-log.png') });

    // The port's history, the bulks list and the repository page with its sources line.
    await page.click('text=history');
    await page.waitForSelector('#history tbody tr');
    assert.match((await page.textContent('#history')) ?? '', /failed/);
    await page.goto(`${base}/`);
    await page.waitForSelector(`#bulks tr[data-bulk="${id}"]`);
    assert.match((await page.textContent(`#bulks tr[data-bulk="${id}"]`)) ?? '', /failed.*bookworm.*web/s);
    await page.goto(`${base}/repos`);
    await page.waitForSelector('.sources-line');
    assert.match(
      (await page.textContent('.sources-line')) ?? '',
      /^deb \[signed-by=\/etc\/apt\/keyrings\/kiln-bookworm-web\.gpg\] http:\/\/127\.0\.0\.1:\d+\/repo\/bookworm-web bookworm main$/,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-repos.png') });
    assert.deepEqual(errors, [], 'no script errors on the page');
  } finally {
    await ctx?.close();
    await app.close();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
