import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { assertGolden } from '../util/golden.js';
import { openStore } from '../store/index.js';
import {
  JournalReader,
  firstErrorLine,
  loadBulkState,
  renderReportHtml,
  reportOf,
  runHooks,
  snapshot,
  writeReports,
  journalPath,
  type BulkReport,
} from './index.js';
import { fixtureHome } from './testing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = fixtureHome();
after(() => fs.rmSync(fx.dir, { recursive: true, force: true }));

test('state: rows then the journal give every port its place, the queue in plan order, counts and offenders', () => {
  const s = openStore(fx.home);
  try {
    const done = loadBulkState(s, fx.home, fx.done)!;
    const by = (r: string) => [...done.ports.values()].filter((p) => p.result === r).map((p) => p.origin);
    assert.deepEqual(by('built'), ['misc/a']);
    assert.deepEqual(by('failed'), ['misc/fail']);
    assert.deepEqual(by('skipped'), ['misc/after']);
    assert.deepEqual(by('kept'), ['misc/old']);
    assert.equal(done.ports.get('misc/fail')!.phase, 'build');
    assert.equal(done.status, 'failed');
    assert.equal(done.generation, 3);
    assert.deepEqual(done.offenders, [{ origin: 'misc/fail', blocked: 1 }]);
    const run = loadBulkState(s, fx.home, fx.running)!;
    assert.equal(run.status, 'running');
    assert.deepEqual([...run.queue], ['misc/q1', 'misc/q2']);
    assert.equal(run.ports.get('misc/slow')!.result, 'running');
    assert.equal(run.ports.get('misc/slow')!.expectedS, 30);
    assert.equal(loadBulkState(s, fx.home, 999), undefined);
    // The snapshot is plain JSON.
    const snap = JSON.parse(JSON.stringify(snapshot(run))) as { queue: string[]; ports: unknown[] };
    assert.deepEqual(snap.queue, ['misc/q1', 'misc/q2']);
    assert.equal(snap.ports.length, 3);
  } finally {
    s.close();
  }
});

test('journal reader: each event once, a torn last line waits for its end, garbage lines are skipped', () => {
  const file = path.join(fx.dir, 'j.jsonl');
  fs.writeFileSync(file, '{"type":"progress","t":1,"bulk":1}\nnot json\n{"type":"publish","t":2');
  const r = new JournalReader(file);
  assert.deepEqual(
    r.readNew().map((e) => e.t),
    [1],
  );
  assert.deepEqual(r.readNew(), []);
  fs.appendFileSync(file, ',"bulk":1,"generation":1,"packages":0}\n{"type":"bulk-done","t":3,"bulk":1}\n');
  assert.deepEqual(
    r.readNew().map((e) => e.type),
    ['publish', 'bulk-done'],
  );
  assert.deepEqual(new JournalReader(path.join(fx.dir, 'none.jsonl')).readNew(), []);
  assert.ok(fs.existsSync(journalPath(fx.home, fx.done)));
});

test("first error line: compiler errors before kiln's FAILED note; the note when nothing else matches; null for a clean log", () => {
  assert.equal(
    firstErrorLine(
      '[t] === phase build started\n[t] cc -Werror -c a.c\n[t] ! a.c:1: error: x\n[t] FAILED in phase build: y\n',
    ),
    3,
  );
  assert.equal(firstErrorLine('[t] === phase build started\n[t] doing\n[t] FAILED in phase build: exit status 1\n'), 3);
  assert.equal(firstErrorLine('[t] make[1]: *** [all] Error 2\n'), 1);
  assert.equal(firstErrorLine('[t] === phase build started\nall good\n'), null);
});

test('report.json and report.html are written beside the logs; the HTML stands alone and escapes everything', () => {
  const w = writeReports(fx.home, fx.done);
  assert.equal(w.json, path.join(fx.home, 'logs', String(fx.done), 'report.json'));
  const j = JSON.parse(fs.readFileSync(w.json, 'utf8')) as BulkReport;
  assert.equal(j.bulk.status, 'failed');
  assert.deepEqual(j.failed, [
    {
      origin: 'misc/fail',
      phase: 'build',
      failure: 'build',
      reason: 'exit status 2',
      wallS: 3,
      log: `${fx.done}/misc_fail.log`,
    },
  ]);
  assert.deepEqual(
    j.skipped.map((x) => x.origin),
    ['misc/after'],
  );
  assert.deepEqual(j.counts, { built: 1, failed: 1, skipped: 1, kept: 1, deleted: 0, remaining: 0 });
  const html = fs.readFileSync(w.html, 'utf8');
  assert.doesNotMatch(html, /<script|<link |src=/i, 'no script, no external resources');
  assert.match(html, /href="misc_fail\.log"/, 'the log link is relative to the report');
  assert.throws(() => writeReports(fx.home, 999), /no bulk 999/);
  // The renderer is pure and golden-tested on a fixed report (with hostile text).
  const fixed: BulkReport = {
    ...reportOf(loadAndClose(fx.done)),
    bulk: { ...j.bulk, started: '2025-01-02T03:04:05.000Z', finished: '2025-01-02T03:04:17.000Z' },
    failed: [
      {
        origin: 'misc/fail',
        phase: 'build',
        failure: 'build',
        reason: '<script>alert(1)</script> & "q"',
        wallS: 3,
        log: `${fx.done}/misc_fail.log`,
      },
    ],
  };
  const out = renderReportHtml(fixed);
  assert.doesNotMatch(out, /<script>alert/);
  assertGolden(path.join(here, '__fixtures__/report.golden.html'), out);
});

function loadAndClose(id: number) {
  const s = openStore(fx.home);
  try {
    return loadBulkState(s, fx.home, id)!;
  } finally {
    s.close();
  }
}

test('post-bulk hooks: commands get the report paths in their environment, URLs get report.json by POST, failures are reported', async () => {
  writeReports(fx.home, fx.done);
  const got: { body: string; type: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ body: Buffer.concat(chunks).toString('utf8'), type: req.headers['content-type'] });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const out = path.join(fx.dir, 'hook-out.txt');
  try {
    const res = await runHooks({
      home: fx.home,
      bulkId: fx.done,
      hooks: {
        commands: [`echo "$KILN_BULK $KILN_BULK_STATUS $KILN_REPORT_JSON" > ${out}`, 'exit 3'],
        urls: [`http://127.0.0.1:${port}/hook`, 'http://127.0.0.1:1/refused'],
      },
    });
    assert.equal(
      fs.readFileSync(out, 'utf8').trim(),
      `${fx.done} failed ${path.join(fx.home, 'logs', String(fx.done), 'report.json')}`,
    );
    assert.deepEqual(
      res.map((r) => [r.kind, r.ok]),
      [
        ['command', true],
        ['command', false],
        ['url', true],
        ['url', false],
      ],
    );
    assert.equal(got.length, 1);
    assert.equal(got[0]!.type, 'application/json');
    assert.equal((JSON.parse(got[0]!.body) as BulkReport).bulk.id, fx.done);
  } finally {
    server.close();
  }
});
