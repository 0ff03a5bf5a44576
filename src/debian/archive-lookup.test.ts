/**
 * The distfile lookup by sha256 across the archive, on the real mirror: a tarball that only an older release's pool
 * holds (the example tree's tree 2.1.0) is found when the jail's release (the mirror's stable) comes first; the
 * Sources indexes are cached per suite and reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testCacheDir } from '../jail/index.js';
import { findArchiveFile, findInSources, lookupSuites } from './archive-lookup.js';
import { hostMirror, hostSecurityMirror } from './mirror.js';
import { releaseHead } from './suites.js';

const TREE_SHA = '0160c535bff2b0dc6a830b9944e981e3427380f63e748da96ced7071faebabf6';

test('findInSources parses only the stanza that lists the checksum', () => {
  const text = [
    'Package: a\nVersion: 1\nDirectory: pool/main/a/a\nChecksums-Sha256:\n ' + 'a'.repeat(64) + ' 10 a_1.tar.gz\n',
    'Package: b\nVersion: 2\nDirectory: pool/updates/main/b/b\nChecksums-Sha256:\n ' +
      'b'.repeat(64) +
      ' 20 b_2.tar.gz\n',
  ].join('\n');
  assert.deepEqual(findInSources(text, 'B'.repeat(64), 'http://m.invalid/debian'), {
    url: 'http://m.invalid/debian/pool/updates/main/b/b/b_2.tar.gz',
    size: 20,
    filename: 'b_2.tar.gz',
    sha256: 'b'.repeat(64),
    package: 'b',
    version: '2',
  });
  assert.equal(findInSources(text, 'c'.repeat(64), 'http://m.invalid/debian'), undefined);
  assert.equal(findInSources(text, 'not a checksum', 'http://m.invalid/debian'), undefined);
});

test('a tarball only an older release holds is found from the stable release, through cached indexes', {
  timeout: 15 * 60_000,
}, async (t) => {
  const mirror = hostMirror();
  const stable = (await releaseHead(mirror, 'stable'))!.codename;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-lookup-'));
  // The shared index cache of the test machine (each suite downloads once).
  const shared = path.join(testCacheDir(), 'debian-indexes');
  fs.mkdirSync(shared, { recursive: true });
  fs.mkdirSync(path.join(home, 'cache'));
  fs.symlinkSync(shared, path.join(home, 'cache', 'debian'));
  try {
    const o = { home, mirror, security: hostSecurityMirror(), prefer: stable };
    const suites = (await lookupSuites(o)).map((s) => s.suite);
    t.diagnostic(`suites searched: ${suites.join(', ')}`);
    assert.equal(suites[0], stable, "the jail's release first");
    for (const alias of ['oldstable', 'testing', 'unstable']) {
      const c = (await releaseHead(mirror, alias))?.codename;
      if (c) assert.ok(suites.includes(c), `${alias} (${c}) is searched`);
    }
    if (o.security) assert.ok(suites.includes(`${stable}-security`));
    const log: string[] = [];
    const hit = await findArchiveFile({ ...o, log: (l) => log.push(l) }, TREE_SHA);
    assert.ok(hit, `tree 2.1.0 is found somewhere in the archive\n${log.join('\n')}`);
    assert.equal(hit.package, 'tree');
    assert.match(hit.url, /\/pool\/main\/t\/tree\/tree_2\.1\.0\.orig\.tar\.gz$/);
    const stableSources = fs.readFileSync(path.join(shared, stable, 'main.Sources'), 'utf8');
    assert.equal(
      findInSources(stableSources, TREE_SHA, mirror),
      undefined,
      `${stable} does not hold it: the search went further`,
    );
    assert.ok(
      log.some((l) => /tree_2\.1\.0\.orig\.tar\.gz is tree .*, in /.test(l)),
      log.join('\n'),
    );
    // Cached: a second search downloads nothing.
    const before = fs.statSync(path.join(shared, stable, 'main.Sources')).mtimeMs;
    const again: string[] = [];
    assert.deepEqual(await findArchiveFile({ ...o, log: (l) => again.push(l) }, TREE_SHA), hit);
    assert.ok(!again.some((l) => /downloading/.test(l)), again.join('\n'));
    assert.equal(fs.statSync(path.join(shared, stable, 'main.Sources')).mtimeMs, before);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
