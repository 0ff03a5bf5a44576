import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { parseSources, parseRelations, parseReleaseSha256, loadSourcesIndex, updateSourcesIndex } from './index.js';

const SOURCES = `Package: hello
Binary: hello
Version: 2.10-3
Maintainer: Santiago Vila <sanvila@debian.org>
Build-Depends: debhelper-compat (= 13), help2man,
 texinfo
Architecture: any
Format: 3.0 (quilt)
Files:
 6d4a1a9a4b5dbc3b6e4e0e6a6c1c6b5d 1183 hello_2.10-3.dsc
 6cd0ffea3884a4e79330338dcc2987d6 725946 hello_2.10.orig.tar.gz
Checksums-Sha256:
 a2d3a5ec1c1f7be8d9a1a1d87f1c4d0a8b4d3e7f7d4c4f2fbbcb1f6a2a8e5f01 1183 hello_2.10-3.dsc
 31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b 725946 hello_2.10.orig.tar.gz
Homepage: https://www.gnu.org/software/hello/
Directory: pool/main/h/hello
Priority: source
Section: devel

Package: jq
Binary: jq, libjq1,
 libjq-dev
Version: 1.6-2.1
Build-Depends: bison, libonig-dev (>= 6.9) | libonig-dev:native, valgrind [amd64 i386], python3:any <!nocheck>
Architecture: any all
Checksums-Sha256:
 88498e8c917c09ddee251544b0525051551e6a0552c862625696a3e83469ae66 28368 jq_1.6-2.1.debian.tar.xz
Directory: pool/main/j/jq
`;

test('parseSources reads the fields kiln uses, joins continuation lines, keeps index order', () => {
  const [hello, jq, ...rest] = parseSources(SOURCES);
  assert.equal(rest.length, 0);
  assert.equal(hello!.package, 'hello');
  assert.equal(hello!.version, '2.10-3');
  assert.equal(hello!.directory, 'pool/main/h/hello');
  assert.equal(hello!.section, 'devel');
  assert.equal(hello!.buildDepends, 'debhelper-compat (= 13), help2man, texinfo');
  assert.deepEqual(hello!.files[1], {
    name: 'hello_2.10.orig.tar.gz',
    sha256: '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b',
    size: 725946,
    md5: '6cd0ffea3884a4e79330338dcc2987d6',
  });
  assert.deepEqual(jq!.binary, ['jq', 'libjq1', 'libjq-dev']);
  assert.deepEqual(jq!.architecture, ['any', 'all']);
  assert.equal(jq!.section, 'misc', 'a stanza without Section is misc');
  assert.equal(jq!.files[0]!.md5, undefined);
});

test('parseRelations reads alternatives, versions, arch qualifiers, arch lists and build profiles', () => {
  const r = parseRelations(parseSources(SOURCES)[1]!.buildDepends);
  assert.equal(r.length, 4);
  assert.deepEqual(r[0], [{ name: 'bison' }]);
  assert.deepEqual(r[1], [
    { name: 'libonig-dev', version: { op: '>=', version: '6.9' } },
    { name: 'libonig-dev', archQualifier: 'native' },
  ]);
  assert.deepEqual(r[2], [{ name: 'valgrind', arches: ['amd64', 'i386'] }]);
  assert.deepEqual(r[3], [{ name: 'python3', archQualifier: 'any', profiles: [['!nocheck']] }]);
});

test('a local archive: the index is downloaded (gz), verified against Release, cached, and refreshed only when it changed', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-sources-'));
  let gz = zlib.gzipSync(Buffer.from(SOURCES));
  const release = (): string =>
    `Origin: Test\nSuite: testrel\nSHA256:\n ${crypto.createHash('sha256').update(gz).digest('hex')} ${gz.length} main/source/Sources.gz\n`;
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/dists/testrel/Release') {
      res.end(release());
      return;
    }
    if (req.url === '/dists/testrel/main/source/Sources.gz') {
      res.end(gz);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const opts = { home: tmp, mirror, release: 'testrel' };
    // Parallel builders ask at once on a cold cache: one download, every caller gets the index.
    const all = await Promise.all([1, 2, 3, 4].map(() => loadSourcesIndex(opts)));
    assert.equal(hits.filter((h) => h.endsWith('Sources.gz')).length, 1, 'one download for concurrent callers');
    const idx = all[3]!;
    const f = idx.bySha256('31E066137A962676E89F69D1B65382DE95A7EF7D914B8CB956F41EA72E0F516B');
    assert.deepEqual(f, {
      url: `${mirror}/pool/main/h/hello/hello_2.10.orig.tar.gz`,
      size: 725946,
      filename: 'hello_2.10.orig.tar.gz',
      sha256: '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b',
      package: 'hello',
      version: '2.10-3',
    });
    assert.equal(idx.bySha256('0'.repeat(64)), undefined);
    assert.equal(idx.byName('jq')!.version, '1.6-2.1');
    const n = hits.length;
    await loadSourcesIndex(opts);
    assert.equal(hits.length, n, 'a cached index is used without network by default');
    assert.equal(
      (await updateSourcesIndex({ ...opts, refresh: 'always' })).changed,
      false,
      'same hash in Release: kept',
    );
    gz = zlib.gzipSync(Buffer.from(SOURCES.replace('2.10-3', '2.10-4')));
    assert.equal((await updateSourcesIndex({ ...opts, refresh: 'always' })).changed, true);
    assert.equal((await loadSourcesIndex(opts)).byName('hello')!.version, '2.10-4');
    assert.equal(parseReleaseSha256(release()).get('main/source/Sources.gz')!.size, gz.length);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
