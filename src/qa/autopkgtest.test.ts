/**
 * autopkgtest: `debian/tests/control` read and its Depends turned into a package's (pure), then for real: a tiny
 * Debian source package made here (`dpkg-source -b`) and its `.deb` (dpkg-deb), linted as a source package, and its
 * tests run in a sandbox of the test jail: passing, failing, noisy on stderr, skipped for the network, run as root,
 * skippable, and one needing `@builddeps@`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { testJail } from '../jail/index.js';
import { mountsUnder, settleRemovals } from '../sandbox/index.js';
import { binaryRelation, parseTestsControl, skipReason, testDepends } from './autopkgtest-control.js';
import { classify } from './autopkgtest.js';
import { DistfileCache } from '../fetch/index.js';
import type { Port } from '../recipe/index.js';
import { debianSource, runQa } from './index.js';

test('debian/tests/control is read, restrictions sorted out, Depends expanded', () => {
  const c = parseTestsControl(
    [
      '# a comment',
      'Tests: a b',
      'Depends: @, foo (>= 1) [amd64],',
      ' bar | baz [!amd64]',
      'Restrictions: needs-root allow-stderr',
      '',
      'Test-Command: echo hi',
      'Depends: @builddeps@',
      'Features: test-name=hi',
      '',
      'Tests: c',
      'Test-Command: true',
      '',
      'Tests: d',
      'Restrictions: needs-internet',
      '',
      'Tests: e',
      'Restrictions: isolation-machine',
      '',
      'Test-Command: x',
      'Restrictions: needs-quantum-computer',
    ].join('\n'),
  );
  assert.deepEqual(
    c.tests.map((t) => [t.name, t.path ?? t.command, t.depends.join(';'), t.restrictions.join(' '), skipReason(t)]),
    [
      ['a', 'debian/tests/a', '@;foo (>= 1) [amd64];bar | baz [!amd64]', 'needs-root allow-stderr', undefined],
      ['b', 'debian/tests/b', '@;foo (>= 1) [amd64];bar | baz [!amd64]', 'needs-root allow-stderr', undefined],
      ['command1', 'echo hi', '@builddeps@', '', undefined],
      ['d', 'debian/tests/d', '@', 'needs-internet', 'needs-internet: QA has no network'],
      ['e', 'debian/tests/e', '@', 'isolation-machine', 'isolation-machine: a sandbox is no machine of its own'],
      ['command2', 'x', '@', 'needs-quantum-computer', 'unknown restriction needs-quantum-computer'],
    ],
  );
  assert.deepEqual(c.errors, ['stanza 3 has both Tests and Test-Command']);
  assert.equal(c.tests[2]!.features[0], 'test-name=hi');
  const ctx = {
    binaries: ['p1', 'p2'],
    buildDepends: ['debhelper-compat (= 13)', 'q:native <!nocheck>'],
    arch: 'amd64',
  };
  assert.equal(testDepends(c.tests[0]!, ctx), 'p1, p2, foo (>= 1), bar');
  assert.equal(testDepends(c.tests[2]!, ctx), 'build-essential, debhelper-compat (= 13), q');
  assert.equal(binaryRelation('x <stage1> | y [linux-any]', 'arm64'), 'y');
  assert.equal(binaryRelation('x [i386]', 'amd64'), '');
  assert.deepEqual(classify({ restrictions: ['skippable'] }, 77, ''), {
    result: 'skip',
    reason: 'exit status 77 (skippable)',
  });
  assert.deepEqual(classify({ restrictions: [] }, 77, ''), { result: 'fail', reason: 'exit status 77' });
  assert.equal(classify({ restrictions: ['allow-stderr'] }, 0, 'warn').result, 'pass');
  assert.equal(classify({ restrictions: ['flaky'] }, 0, 'warn').result, 'flaky');
});

/** Writes `files` (path -> text; executable when the path is under debian/tests/ and not control) under `dir`. */
function tree(dir: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    const exec = p.startsWith('debian/tests/') && !p.endsWith('/control');
    fs.writeFileSync(path.join(dir, p), text, { mode: exec ? 0o755 : 0o644 });
  }
}

const CONTROL = `Tests: pass-test
Depends: @

Tests: fail-test

Tests: noisy

Tests: online
Restrictions: needs-internet

Tests: as-root
Restrictions: needs-root, allow-stderr

Test-Command: exit 77
Restrictions: skippable

Test-Command: test -f /usr/share/kilnat/data.txt && command -v dpkg-source
Depends: @, @builddeps@
`;

test('autopkgtest for real: a source package linted and its tests run against its .deb in a sandbox', async () => {
  const jail = await testJail();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-at-'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-at-src-'));
  fs.chmodSync(dir, 0o755);
  const log: string[] = [];
  try {
    tree(path.join(dir, 'kilnat-1.0'), {
      'debian/source/format': '3.0 (native)\n',
      'debian/control':
        'Source: kilnat\nMaintainer: kiln <kiln@localhost>\nBuild-Depends: dpkg-dev, no-such-package [armel] <!nocheck>\n\nPackage: kilnat\nArchitecture: all\nDescription: kiln autopkgtest test\n A test.\n',
      'debian/changelog':
        'kilnat (1.0) unstable; urgency=medium\n\n  * Test.\n\n -- kiln <kiln@localhost>  Thu, 01 Jan 1970 00:00:01 +0000\n',
      'debian/rules': '#!/usr/bin/make -f\n%:\n\tdh $@\n',
      'debian/tests/control': CONTROL,
      'debian/tests/pass-test':
        '#!/bin/sh\nset -e\ntest -f /usr/share/kilnat/data.txt\ntest -f debian/patched\ntest "$(id -u)" != 0\ntouch "$AUTOPKGTEST_TMP/x" "$AUTOPKGTEST_ARTIFACTS/y" debian/written\necho "net: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \' \' | tr \'\\n\' \' \')"\n',
      'debian/tests/fail-test': '#!/bin/sh\necho about to fail\nexit 3\n',
      'debian/tests/noisy': '#!/bin/sh\necho a warning >&2\n',
      'debian/tests/online': '#!/bin/sh\nexit 1\n',
      'debian/tests/as-root': '#!/bin/sh\nset -e\ntest "$(id -u)" = 0\necho "root here" >&2\n',
    });
    await run('dpkg-source', ['-b', 'kilnat-1.0'], { cwd: dir });
    const pkg = path.join(dir, 'pkg');
    tree(pkg, { 'usr/share/kilnat/data.txt': 'data\n' });
    fs.mkdirSync(path.join(pkg, 'DEBIAN'));
    fs.writeFileSync(
      path.join(pkg, 'DEBIAN/control'),
      'Package: kilnat\nVersion: 1.0\nArchitecture: all\nMaintainer: kiln <kiln@localhost>\nDescription: the package of an autopkgtest test\n It holds one file.\n',
    );
    const deb = path.join(dir, 'kilnat_1.0_all.deb');
    await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', pkg, deb]);
    // The source package where a Debian port's fetch phase leaves it (the distfiles cache), and a port patch.
    const cache = new DistfileCache(path.join(home, 'distfiles'));
    const files = [];
    for (const name of ['kilnat_1.0.dsc', 'kilnat_1.0.tar.xz']) {
      const sha256 = crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(dir, name)))
        .digest('hex');
      fs.mkdirSync(path.dirname(cache.pathOf(sha256)), { recursive: true });
      fs.copyFileSync(path.join(dir, name), cache.pathOf(sha256));
      files.push({ name, sha256 });
    }
    const portDir = path.join(dir, 'port');
    tree(portDir, { 'marker.patch': '--- /dev/null\n+++ b/debian/patched\n@@ -0,0 +1 @@\n+yes\n' });
    const port = {
      dir: portDir,
      recipe: { build: { system: 'debian' }, patches: ['marker.patch'] },
      debian: { files },
    } as unknown as Port;
    const source = debianSource(home, port);
    assert.ok(source, 'the source package is found in the distfiles cache');

    // debian: false: kilnat is no package of Debian's, so no baseline is downloaded (kiln packaging's tags apply).
    const q = await runQa({
      home,
      jail: { name: 'test', path: jail.path },
      origin: 'test/kilnat',
      debs: [deb],
      repoDebs: [],
      debian: false,
      strict: true,
      source,
      arch: jail.arch,
      log: (l) => {
        log.push(l);
      },
    });
    const r = q.autopkgtest!;
    const text = log.join('\n');
    assert.ok(
      q.lintian.tags.some((t) => t.package === 'kilnat' && t.kind === 'source'),
      `lintian's tags of the source package: ${text}`,
    );
    assert.ok(
      q.lintian.tags.some((t) => t.package === 'kilnat' && t.kind === undefined),
      `lintian's tags of the .deb: ${text}`,
    );
    assert.ok(q.install.ok, text);
    assert.equal(r.error, undefined, text);
    assert.deepEqual(
      r.tests.map((t) => [t.name, t.result, t.reason]),
      [
        // Skipped for a restriction first (known before anything runs), then the others in the file's order.
        ['online', 'skip', 'needs-internet: QA has no network'],
        ['pass-test', 'pass', undefined],
        ['fail-test', 'fail', 'exit status 3'],
        ['noisy', 'fail', 'output on stderr: a warning'],
        ['as-root', 'pass', undefined],
        ['command1', 'skip', 'exit status 77 (skippable)'],
        ['command2', 'pass', undefined],
      ],
      text,
    );
    assert.equal(r.ok, false);
    assert.deepEqual([q.ok, q.reason], [false, 'autopkgtest: 2 failed: fail-test, noisy'], text);
    assert.deepEqual(r.counts, { skip: 2, pass: 3, fail: 2 });
    assert.ok(log.includes('pass-test: net: lo '), `tests have no network: ${text}`);
    assert.ok(log.includes('fail-test: about to fail'), text);
    await settleRemovals();
    assert.deepEqual(mountsUnder(home), []);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
