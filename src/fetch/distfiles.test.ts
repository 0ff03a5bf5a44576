import { after as afterAll, before as beforeAll, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fetchDistfiles, DistfileCache, downloadToFile, AllowList } from './index.js';
import { hostMirror } from '../debian/index.js';
import { KilnError } from '../util/errors.js';

const good = Buffer.from('the good distfile\n'.repeat(1000));
const bad = Buffer.from('a tampered distfile\n'.repeat(1000));
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
const GOOD = sha(good);
const LOCAL = ['127.0.0.1'];

let server: http.Server;
let base = '';
const hits: string[] = [];
let tmp = '';

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-fetch-'));
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/good/foo-1.0.tar.gz' || req.url === '/mirror/foo-1.0.tar.gz') {
      res.end(good);
      return;
    }
    if (req.url === '/bad/foo-1.0.tar.gz') {
      res.end(bad);
      return;
    }
    if (req.url === '/flaky/foo-1.0.tar.gz') {
      res.statusCode = 503;
      res.end('try later');
      return;
    }
    res.statusCode = 404;
    res.end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function home(name: string): string {
  const h = path.join(tmp, name);
  fs.mkdirSync(h, { recursive: true });
  return h;
}

test('fetches from the recipe URL into the content-addressed cache, then hits the cache without network', async () => {
  const h = home('cache-hit');
  const req = { origin: 'devel/foo', sources: [{ url: `${base}/good/foo-1.0.tar.gz`, sha256: GOOD }] };
  const [first] = await fetchDistfiles(req, { home: h, allowHosts: LOCAL });
  assert.equal(first!.from, 'url');
  assert.equal(first!.path, new DistfileCache(path.join(h, 'distfiles')).pathOf(GOOD));
  assert.deepEqual(fs.readFileSync(first!.path), good);
  assert.equal(fs.realpathSync(path.join(h, 'distfiles/by-name/foo-1.0.tar.gz')), first!.path);
  const before = hits.length;
  const [second] = await fetchDistfiles(req, { home: h, allowHosts: LOCAL });
  assert.equal(second!.from, 'cache');
  assert.equal(hits.length, before, 'the second fetch must not touch the network');
});

test('a checksum mismatch is KILN_E_CHECKSUM naming origin, URL and the expected hash; the bad file is kept apart', async () => {
  const h = home('mismatch');
  const url = `${base}/bad/foo-1.0.tar.gz`;
  await assert.rejects(
    fetchDistfiles({ origin: 'devel/foo', sources: [{ url, sha256: GOOD }] }, { home: h, allowHosts: LOCAL }),
    (e: unknown) => {
      assert.ok(e instanceof KilnError);
      assert.equal(e.code, 'KILN_E_CHECKSUM');
      for (const s of ['devel/foo', url, GOOD]) assert.ok(e.message.includes(s), `message names ${s}: ${e.message}`);
      assert.ok(!e.message.includes(sha(bad)), 'the actual hash is never printed');
      return true;
    },
  );
  const badDir = path.join(h, 'distfiles/.bad');
  const kept = fs.readdirSync(badDir);
  assert.equal(kept.length, 1);
  assert.deepEqual(fs.readFileSync(path.join(badDir, kept[0]!)), bad);
  assert.equal(fs.statSync(path.join(badDir, kept[0]!)).mode & 0o777, 0o600);
  assert.equal(new DistfileCache(path.join(h, 'distfiles')).lookup(GOOD), undefined);
  assert.equal(new DistfileCache(path.join(h, 'distfiles')).lookup(sha(bad)), undefined, 'a bad file is never cached');
});

test('falls back to a mirror (BASE/FILENAME) after a dead recipe URL and a bad one', async () => {
  const h = home('mirror');
  const logs: string[] = [];
  const got = await fetchDistfiles(
    { origin: 'devel/foo', sources: [{ url: `${base}/gone/foo-1.0.tar.gz`, sha256: GOOD }] },
    { home: h, mirrors: [`${base}/bad/`, `${base}/mirror`], allowHosts: LOCAL, log: (l) => logs.push(l) },
  );
  assert.equal(got[0]!.from, 'mirror');
  assert.equal(got[0]!.url, `${base}/mirror/foo-1.0.tar.gz`);
  assert.ok(
    logs.some((l) => l.includes('CHECKSUM MISMATCH')),
    'the bad mirror was noticed',
  );
});

test('nothing anywhere is KILN_E_FETCH listing every place tried; unreachable hosts fail fast and are skipped', async () => {
  const h = home('nowhere');
  const dead = new Set<string>();
  const spec = { url: 'https://nonexistent.invalid/foo-1.0.tar.gz', sha256: GOOD };
  await assert.rejects(
    fetchDistfiles(
      { origin: 'devel/foo', sources: [spec, { ...spec, filename: 'other.tar.gz' }] },
      {
        home: h,
        mirrors: [`${base}/nothing-here`],
        deadHosts: dead,
        connectTimeoutMs: 5_000,
        allowHosts: LOCAL,
        debianLookup: async () => undefined,
      },
    ),
    (e: unknown) => {
      assert.ok(e instanceof KilnError);
      assert.equal(e.code, 'KILN_E_FETCH');
      assert.match(e.message, /devel\/foo/);
      assert.match(e.message, /url: https:\/\/nonexistent\.invalid\/foo-1\.0\.tar\.gz/);
      assert.match(e.message, /mirror: http:\/\/127\.0\.0\.1:\d+\/nothing-here\/foo-1\.0\.tar\.gz: HTTP 404/);
      assert.match(e.message, /debian: .*no file with that sha256/);
      return true;
    },
  );
  assert.ok(dead.has('nonexistent.invalid'), 'the unreachable host is remembered');
});

test('transient server errors are retried a bounded number of times', async () => {
  const before = hits.filter((u) => u.startsWith('/flaky/')).length;
  const r = await downloadToFile(`${base}/flaky/foo-1.0.tar.gz`, path.join(tmp, 'flaky.out'), {
    attempts: 3,
    allow: new AllowList(LOCAL),
  });
  assert.equal(r.ok, false);
  assert.equal(hits.filter((u) => u.startsWith('/flaky/')).length - before, 3);
  const once = await downloadToFile(`gopher://example.invalid/x`, path.join(tmp, 'gopher.out'));
  assert.deepEqual(once.ok ? 'ok' : once.kind, 'refused');
});

test("a real fetch from Debian's source archive by sha256 (GNU hello 2.10)", async () => {
  const h = home('debian');
  const hello = '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b';
  const got = await fetchDistfiles(
    { origin: 'misc/hello', sources: [{ url: 'https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz', sha256: hello }] },
    {
      home: h,
      debianMirror: hostMirror(),
      release: 'bookworm',
      mirrors: [`${base}/nothing-here`],
    },
  );
  assert.equal(got[0]!.from, 'debian');
  assert.equal(got[0]!.size, 725946);
  assert.match(got[0]!.url!, /\/pool\/main\/h\/hello.*_2\.10\.orig\.tar\.gz$/);
  assert.equal(sha(fs.readFileSync(got[0]!.path)), hello);
  assert.equal(fs.realpathSync(path.join(h, 'distfiles/by-name/hello-2.10.tar.gz')), got[0]!.path);
  assert.ok(fs.existsSync(path.join(h, 'cache/debian/bookworm/main.Sources')), 'the Sources index is cached');
});
