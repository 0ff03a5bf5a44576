/**
 * The pure parts of Debian-style packaging: globs, the default library split and the recipe's `packages:`,
 * package names from sonames, sections, the DEP-5 copyright file and the changelog (golden), and the host-side
 * staging helpers refusing to follow links out of the staged tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertGolden } from '../util/golden.js';
import { run } from '../util/exec.js';
import { parseRecipe } from '../recipe/index.js';
import { KilnError } from '../util/errors.js';
import {
  globRegExp,
  planSplit,
  sonamePackage,
  devPackage,
  portSection,
  dep5License,
  copyrightText,
  changelogText,
  gzipN,
  readLicenseFiles,
  writeOwnFile,
  listStaged,
  finishScript,
  parseLintian,
  lintianViolations,
  lintianCounts,
  portSourceDateEpoch,
  type StagedEntry,
} from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = (name: string): string => path.join(here, '__golden__', name);

test('globs: * stays in a component, ** spans them, {a,b} alternatives', () => {
  assert.ok(globRegExp('usr/lib/*/libmd.so.*').test('usr/lib/x86_64-linux-gnu/libmd.so.0.1.0'));
  assert.ok(!globRegExp('usr/lib/*/libmd.so.*').test('usr/lib/libmd.so.0'));
  assert.ok(globRegExp('usr/include/**').test('usr/include/bsd/sys/cdefs.h'));
  assert.ok(globRegExp('usr/lib/**/pkgconfig/*.pc').test('usr/lib/pkgconfig/libmd.pc'));
  assert.ok(globRegExp('/usr/bin/{serdi,foo}').test('usr/bin/serdi'));
  assert.ok(!globRegExp('usr/bin/a.b').test('usr/bin/aXb'), 'a dot is literal');
});

test('package names from sonames, as Debian names them', () => {
  assert.equal(sonamePackage('libmd.so.0'), 'libmd0');
  assert.equal(sonamePackage('libserd-0.so.0'), 'libserd-0-0');
  assert.equal(sonamePackage('libfoo2.so.1'), 'libfoo2-1');
  assert.equal(sonamePackage('libbar-1.2.so'), 'libbar1.2', 'as libdb-5.3.so is in libdb5.3');
  assert.equal(sonamePackage('libFoo_x.so.3'), 'libfoo-x3');
  assert.equal(devPackage('libserd-0.so.0'), 'libserd-dev');
  assert.equal(devPackage('libmd.so.0'), 'libmd-dev');
});

const lib = (p: string, soname: string): StagedEntry => ({ path: p, kind: 'file', soname });
const file = (p: string): StagedEntry => ({ path: p, kind: 'file' });
const link = (p: string, target: string): StagedEntry => ({ path: p, kind: 'symlink', target });

test("default split: runtime package per soname, -dev with headers, .so link, pkg-config and man3; the rest in the port's package", () => {
  const entries = [
    lib('usr/lib/x86_64-linux-gnu/libserd-0.so.0.30.16', 'libserd-0.so.0'),
    link('usr/lib/x86_64-linux-gnu/libserd-0.so.0', 'libserd-0.so.0.30.16'),
    link('usr/lib/x86_64-linux-gnu/libserd-0.so', 'libserd-0.so.0'),
    file('usr/lib/x86_64-linux-gnu/pkgconfig/serd-0.pc'),
    file('usr/include/serd-0/serd/serd.h'),
    file('usr/bin/serdi'),
    file('usr/share/man/man1/serdi.1.gz'),
    file('usr/share/man/man3/serd.3.gz'),
  ];
  const s = planSplit({ entries, main: 'serd' });
  assert.deepEqual(
    s.map((p) => [p.name, p.role]),
    [
      ['serd', 'main'],
      ['libserd-0-0', 'runtime'],
      ['libserd-dev', 'dev'],
    ],
  );
  assert.deepEqual(s[0]!.paths, ['usr/bin/serdi', 'usr/share/man/man1/serdi.1.gz']);
  assert.deepEqual(s[1]!.paths, [
    'usr/lib/x86_64-linux-gnu/libserd-0.so.0',
    'usr/lib/x86_64-linux-gnu/libserd-0.so.0.30.16',
  ]);
  assert.deepEqual(s[1]!.sonames, ['libserd-0.so.0']);
  assert.deepEqual(s[2]!.paths, [
    'usr/include/serd-0/serd/serd.h',
    'usr/lib/x86_64-linux-gnu/libserd-0.so',
    'usr/lib/x86_64-linux-gnu/pkgconfig/serd-0.pc',
    'usr/share/man/man3/serd.3.gz',
  ]);
});

test("default split: a pure library has no package of the port's own name; a program alone is one package", () => {
  const s = planSplit({
    entries: [
      lib('usr/lib/libmd.so.0.1.0', 'libmd.so.0'),
      link('usr/lib/libmd.so.0', 'libmd.so.0.1.0'),
      link('usr/lib/libmd.so', 'libmd.so.0.1.0'),
      file('usr/include/md5.h'),
      file('usr/share/doc/libmd/README'),
      file('usr/share/man/man7/libmd.7.gz'),
    ],
    main: 'libmd',
  });
  assert.deepEqual(
    s.map((p) => p.name),
    ['libmd0', 'libmd-dev'],
  );
  assert.ok(
    s[1]!.paths.includes('usr/share/doc/libmd/README') && s[1]!.paths.includes('usr/share/man/man7/libmd.7.gz'),
    'leftover documents go with -dev',
  );
  const one = planSplit({ entries: [file('usr/bin/tree'), file('usr/share/man/man1/tree.1.gz')], main: 'tree' });
  assert.deepEqual(
    one.map((p) => [p.name, p.role, p.paths.length]),
    [['tree', 'main', 2]],
  );
  // A plugin with a SONAME outside the public library folders is not a library package.
  const plug = planSplit({ entries: [lib('usr/lib/foo/plugins/a.so', 'a.so'), file('usr/bin/foo')], main: 'foo' });
  assert.deepEqual(
    plug.map((p) => p.name),
    ['foo'],
  );
});

test("packages: from the recipe: first matching glob wins, the rest goes to the port's package, a name clash is refused", () => {
  const entries = [
    lib('usr/lib/libmd.so.0.1.0', 'libmd.so.0'),
    link('usr/lib/libmd.so.0', 'libmd.so.0.1.0'),
    link('usr/lib/libmd.so', 'libmd.so.0'),
    file('usr/include/md5.h'),
    file('usr/share/man/man3/md5.3.gz'),
  ];
  const s = planSplit({
    entries,
    main: 'libmd',
    explicit: { libmd0: ['usr/lib/libmd.so.*'], 'libmd-dev': ['usr/include/**', 'usr/lib/libmd.so'] },
  });
  assert.deepEqual(
    s.map((p) => [p.name, p.role, p.paths]),
    [
      ['libmd', 'main', ['usr/share/man/man3/md5.3.gz']],
      ['libmd0', 'runtime', ['usr/lib/libmd.so.0', 'usr/lib/libmd.so.0.1.0']],
      ['libmd-dev', 'dev', ['usr/include/md5.h', 'usr/lib/libmd.so']],
    ],
  );
  // The default split would make a runtime package libmd0 and the port's own package libmd0 from the rest.
  assert.throws(
    () => planSplit({ entries: [...entries, file('usr/bin/md5')], main: 'libmd0' }),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_PACKAGE',
  );
});

test("sections: the recipe's, else mapped from the category, else misc", () => {
  assert.equal(portSection('textproc/serd'), 'text');
  assert.equal(portSection('devel/libmd'), 'devel');
  assert.equal(portSection('sysutils/tree'), 'admin');
  assert.equal(portSection('security/signify-openbsd'), 'utils');
  assert.equal(portSection('nosuch/x'), 'misc');
  assert.equal(portSection('sysutils/tree', 'utils'), 'utils');
});

test('copyright (DEP-5) and changelog (golden); licenses Debian ships are pointed at, others quoted', () => {
  assert.deepEqual(dep5License('GPL-3.0-or-later'), { expression: 'GPL-3+', common: ['GPL-3'] });
  assert.equal(dep5License('BSD-3-Clause AND (MIT OR ISC)').expression, 'BSD-3-clause and (Expat or ISC)');
  const mit = {
    name: 'LICENSE',
    text: 'Copyright (c) 2009-2017 Dave Gamble and cJSON contributors\n\nPermission is hereby granted...\n\n\tTHE SOFTWARE IS PROVIDED "AS IS"\n',
  };
  assertGolden(
    golden('copyright-mit.txt'),
    copyrightText({
      name: 'cjson',
      origin: 'textproc/cjson',
      license: 'MIT',
      source: 'https://github.com/DaveGamble/cJSON',
      files: [mit],
    }),
  );
  assertGolden(
    golden('copyright-gpl.txt'),
    copyrightText({
      name: 'hello',
      origin: 'misc/hello',
      license: 'GPL-3.0-or-later',
      files: [
        {
          name: 'COPYING',
          text: '  GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007\n Copyright (C) 2007 Free Software Foundation, Inc.\n',
        },
      ],
    }),
  );
  const cl = changelogText({
    source: 'hello',
    version: '2.10-k1',
    origin: 'misc/hello',
    identity: 'ab'.repeat(32),
    maintainer: 'Jane <jane@example.org>',
    epoch: 1700000000,
  });
  assertGolden(golden('changelog-hello.txt'), cl);
  assert.deepEqual(gzipN(cl), gzipN(cl), 'the same bytes every time');
  assert.equal(gzipN(cl)[8], 2, 'gzip header says maximum compression');
});

test("host-side staging: license files and kiln's own files never follow the build's links", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-stage-'));
  try {
    const outside = path.join(tmp, 'outside');
    fs.writeFileSync(outside, 'host secret\n');
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    fs.symlinkSync(outside, path.join(src, 'COPYING'));
    fs.writeFileSync(path.join(src, 'LICENSE.md'), 'MIT text\n');
    assert.deepEqual(
      readLicenseFiles(src).map((f) => f.name),
      ['LICENSE.md'],
      'a link named COPYING is not read',
    );
    const root = path.join(tmp, 'root');
    fs.mkdirSync(path.join(root, 'usr/share/doc/x'), { recursive: true });
    fs.symlinkSync(outside, path.join(root, 'usr/share/doc/x/copyright'));
    writeOwnFile(root, 'usr/share/doc/x/copyright', "kiln's\n");
    assert.equal(fs.readFileSync(outside, 'utf8'), 'host secret\n', 'the link was replaced, not written through');
    assert.equal(fs.readFileSync(path.join(root, 'usr/share/doc/x/copyright'), 'utf8'), "kiln's\n");
    fs.symlinkSync(tmp, path.join(root, 'usr/share/doc/y'));
    assert.throws(
      () => writeOwnFile(root, 'usr/share/doc/y/copyright', 'x'),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_PACKAGE',
    );
    assert.ok(!fs.existsSync(path.join(tmp, 'copyright')), 'nothing written through a linked folder');
    assert.deepEqual(
      listStaged(root).map((e) => [e.path, e.kind]),
      [
        ['usr/share/doc/x/copyright', 'file'],
        ['usr/share/doc/y', 'symlink'],
      ],
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the finishing script (golden) strips, compresses, fixes permissions and clamps times', () => {
  assertGolden(golden('finish.sh'), finishScript({ destdir: '/kiln/destdir', dbgdir: '/kiln/dbgsym' }));
});

test('lintian output parsed; the rule: every E:, and W: outside the allow-list (unknown-field only for X-Kiln-Identity)', () => {
  const tags = parseLintian(
    [
      'E: hello: no-copyright-file',
      'W: hello: unknown-field X-Kiln-Identity',
      'W: hello: unknown-field X-Other',
      'W: libmd-dev: pkg-config-unavailable-for-cross-compilation [usr/lib/pkgconfig/libmd.pc]',
      'W: tree: groff-message 19: x [usr/share/man/man1/tree.1:1]',
      'I: libmd0: no-symbols-control-file usr/lib/libmd.so.0.0.5',
      'N: a note',
      'garbage',
    ].join('\n'),
  );
  assert.equal(tags.length, 6);
  assert.deepEqual(tags[3], {
    severity: 'W',
    package: 'libmd-dev',
    tag: 'pkg-config-unavailable-for-cross-compilation',
    detail: '[usr/lib/pkgconfig/libmd.pc]',
    line: 'W: libmd-dev: pkg-config-unavailable-for-cross-compilation [usr/lib/pkgconfig/libmd.pc]',
  });
  assert.deepEqual(
    lintianViolations(tags).map((t) => `${t.severity} ${t.tag} ${t.detail}`),
    ['E no-copyright-file ', 'W unknown-field X-Other', 'W groff-message 19: x [usr/share/man/man1/tree.1:1]'],
  );
  assert.deepEqual(lintianCounts(tags)[0], ['W: unknown-field', 2]);
});

test("portSourceDateEpoch: the port folder's last commit in a git tree, else its newest file, never before 1980", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-epoch-'));
  try {
    const port = path.join(tmp, 'misc/x');
    fs.mkdirSync(port, { recursive: true });
    fs.writeFileSync(path.join(port, 'port.yaml'), 'version: "1"\n');
    const t = new Date(1600000000 * 1000);
    fs.utimesSync(path.join(port, 'port.yaml'), t, t);
    assert.equal(await portSourceDateEpoch(port), 1600000000, 'no git: the newest file');
    const old = new Date(1000 * 1000);
    fs.utimesSync(path.join(port, 'port.yaml'), old, old);
    assert.equal(await portSourceDateEpoch(port), 315532800, 'never the 1970s');
    const env = {
      ...process.env,
      GIT_AUTHOR_DATE: '@1650000000 +0000',
      GIT_COMMITTER_DATE: '@1650000000 +0000',
      GIT_AUTHOR_NAME: 'k',
      GIT_AUTHOR_EMAIL: 'k@example.org',
      GIT_COMMITTER_NAME: 'k',
      GIT_COMMITTER_EMAIL: 'k@example.org',
    };
    await run('git', ['init', '-q', tmp], { env });
    await run('git', ['-C', tmp, 'add', '.'], { env });
    await run('git', ['-C', tmp, 'commit', '-q', '-m', 'x'], { env });
    fs.writeFileSync(path.join(port, 'port.yaml'), 'version: "2"\n'); // checked out later: the commit counts, not the file time
    assert.equal(await portSourceDateEpoch(port), 1650000000);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('recipes: section: and packages: are parsed, and a bad section, name or glob is a located problem', () => {
  const head = 'version: "1.0.4"\nsummary: x\nbuild: {system: autotools}\n';
  const ok = parseRecipe(
    `${head}section: libs\npackages:\n  libmd0: [usr/lib/*/libmd.so.*]\n  libmd-dev: [usr/include/**, usr/lib/*/libmd.so]\n`,
    'p.yaml',
    'devel/libmd',
  );
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.recipe!.section, 'libs');
  assert.deepEqual(ok.recipe!.packages, {
    libmd0: ['usr/lib/*/libmd.so.*'],
    'libmd-dev': ['usr/include/**', 'usr/lib/*/libmd.so'],
  });
  const bad = parseRecipe(
    `${head}section: nosuch\npackages:\n  Bad_Name: [a]\n  libx: [../etc/*]\n  liby: []\n`,
    'p.yaml',
    'devel/libmd',
  );
  assert.deepEqual(
    bad.problems.map((p) => `${p.line} ${p.field}`).sort(),
    ['4 section', '6 packages.Bad_Name', '7 packages.libx[0]', '8 packages.liby'].sort(),
  );
});
