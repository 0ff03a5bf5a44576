/**
 * QA results on the report and the page's API: a port's `LOG.qa.json` (written by the qa phase) shows as counts per
 * port in report.json / report.html and `/api/bulks/ID/qa`, and whole (the tags) in the port's API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureHome } from '../report/testing.js';
import { writeReports } from '../report/index.js';
import type { QaReport } from '../qa/index.js';
import { buildServer } from './index.js';

test('QA per port in report.json, report.html and the API', async () => {
  const f = fixtureHome();
  const app = await buildServer({ home: f.home });
  try {
    const qa: QaReport = {
      origin: 'misc/a',
      ok: false,
      reason: 'lintian: E: a binary-without-manpage',
      lintian: {
        tags: [
          { severity: 'E', package: 'a', tag: 'binary-without-manpage', info: 'usr/bin/a' },
          { severity: 'W', package: 'a', tag: '<script>x', info: '' },
        ],
        counts: { E: 1, W: 1 },
        newErrors: ['a binary-without-manpage'],
        baseline: 'kiln-packaging',
      },
      install: { ok: true, packages: ['a=1.0-k1'], missing: [], leftovers: ['/etc/a.conf'] },
      autopkgtest: {
        ok: true,
        present: true,
        tests: [
          { name: 'smoke', result: 'pass', wallMs: 5 },
          { name: 'online', result: 'skip', reason: 'needs-internet: QA has no network' },
        ],
        counts: { pass: 1, skip: 1 },
      },
      wallMs: 10,
    };
    fs.writeFileSync(path.join(f.home, 'logs', String(f.done), 'misc_a.qa.json'), JSON.stringify(qa));
    const r = writeReports(f.home, f.done);
    assert.deepEqual(r.report.qa, [
      {
        origin: 'misc/a',
        ok: false,
        reason: 'lintian: E: a binary-without-manpage',
        lintian: { E: 1, W: 1 },
        newErrors: ['a binary-without-manpage'],
        install: { ok: true, leftovers: 1, missing: 0 },
        autopkgtest: { pass: 1, skip: 1 },
      },
    ]);
    const html = fs.readFileSync(r.html, 'utf8');
    assert.match(html, /<h2>QA \(1\)<\/h2>/);
    assert.match(html, /E 1 · W 1/);
    assert.match(html, /passed, 1 left after purge; autopkgtest pass 1 · skip 1/);
    const list = await app.inject({ url: `/api/bulks/${f.done}/qa` });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      (list.json() as { origin: string; lintian: object }[]).map((q) => [q.origin, q.lintian]),
      [['misc/a', { E: 1, W: 1 }]],
    );
    const port = await app.inject({ url: `/api/bulks/${f.done}/ports/misc/a` });
    const body = port.json() as { qa: QaReport | null };
    assert.deepEqual(
      body.qa?.lintian.tags.map((t) => t.tag),
      ['binary-without-manpage', '<script>x'],
    );
    assert.deepEqual(
      body.qa?.autopkgtest?.tests.map((t) => [t.name, t.result]),
      [
        ['smoke', 'pass'],
        ['online', 'skip'],
      ],
    );
    const none = await app.inject({ url: `/api/bulks/${f.done}/ports/misc/fail` });
    assert.equal((none.json() as { qa: unknown }).qa, null);
  } finally {
    await app.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});
