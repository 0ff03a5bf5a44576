import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../util/exec.js';
import { assertGolden } from '../util/golden.js';
import { KilnError } from '../util/errors.js';
import {
  buildDeb,
  renderControl,
  debVersion,
  shlibDepends,
  dpkgSonameResolver,
  composeDepends,
  readElfDynamic,
  splitSoname,
  debSonames,
} from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = (name: string): string => path.join(here, '__golden__', name);
let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-package-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const base = {
  package: 'hello',
  version: debVersion('2.10', 3),
  architecture: 'amd64',
  maintainer: 'kiln <kiln@localhost>',
  summary: 'GNU hello greeter',
};

test('renderControl: full field set, long description per policy (golden)', () => {
  assertGolden(
    golden('control-full.txt'),
    renderControl({
      ...base,
      installedSize: 281.2,
      depends: ['libfoo (>= 1.0-k1)', 'libc6 (>= 2.36)', 'libfoo (>= 1.0-k1)'],
      conflicts: ['hello-traditional'],
      section: 'misc',
      homepage: 'https://www.gnu.org/software/hello/',
      extra: { 'X-Kiln-Origin': 'misc/hello' },
      description:
        '\nThe GNU hello program produces a familiar, friendly greeting. It allows non-programmers to use a classic computer science tool which would otherwise be unavailable to them, and it is a good example of GNU coding standards.\n\nIt shows:\n  * verbatim lines\n\tand tabs\n.\nlast line   \n\n',
    }),
  );
});

test('renderControl: minimal fields (golden) and bad values are KILN_E_PACKAGE', () => {
  assertGolden(golden('control-minimal.txt'), renderControl(base));
  for (const bad of [
    { package: 'Hello' },
    { version: 'x1' },
    { summary: 'two\nlines' },
    { maintainer: ' ' },
    { homepage: 'a\nb' },
    { extra: { 'bad field': 'x' } },
  ]) {
    assert.throws(
      () => renderControl({ ...base, ...bad }),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_PACKAGE',
      JSON.stringify(bad),
    );
  }
});

function stage(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(path.join(d, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(d, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(d, 'usr/share/doc/hello'), { recursive: true });
  fs.writeFileSync(path.join(d, 'usr/bin/hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  fs.writeFileSync(path.join(d, 'etc/hello.conf'), 'greeting=hi\n');
  fs.writeFileSync(path.join(d, 'usr/share/doc/hello/README'), 'x'.repeat(3000));
  fs.symlinkSync('hello', path.join(d, 'usr/bin/hi'));
  return d;
}

// Installed-Size 12 = 6 folders + 1 link + 1 + 1 + 3 KiB of files.
test('buildDeb: fields, file list, conffiles, md5sums, scripts; DESTDIR left clean', async () => {
  const d = stage('one');
  const deb = await buildDeb({
    destdir: d,
    outDir: path.join(tmp, 'out1'),
    control: { ...base, depends: ['libc6'] },
    conffiles: ['/etc/hello.conf'],
    scripts: { postinst: 'echo installed' },
    sourceDateEpoch: 1700000000,
  });
  assert.equal(path.basename(deb), 'hello_2.10-k3_amd64.deb');
  assert.ok(!fs.existsSync(path.join(d, 'DEBIAN')), 'DEBIAN is removed from DESTDIR');
  const info = (await run('dpkg-deb', ['-I', deb])).stdout;
  for (const re of [
    /^ Package: hello$/m,
    /^ Version: 2\.10-k3$/m,
    /^ Architecture: amd64$/m,
    /^ Maintainer: kiln <kiln@localhost>$/m,
    /^ Installed-Size: 12$/m,
    /^ Depends: libc6$/m,
    /^ Description: GNU hello greeter$/m,
    /^\s+\d+ bytes,\s+1 lines\s+conffiles/m,
  ]) {
    assert.match(info, re);
  }
  assert.match(info, /^\s+\d+ bytes,\s+\d+ lines\s+\*\s+postinst\s+#!\/bin\/sh$/m, 'postinst is executable (*)');
  const field = async (f: string): Promise<string> => (await run('dpkg-deb', ['-f', deb, f])).stdout.trim();
  assert.equal(await field('Version'), '2.10-k3');
  const ctl = path.join(tmp, 'ctl1');
  await run('dpkg-deb', ['-e', deb, ctl]);
  assert.equal(fs.readFileSync(path.join(ctl, 'conffiles'), 'utf8'), '/etc/hello.conf\n');
  assert.equal(fs.statSync(path.join(ctl, 'postinst')).mode & 0o777, 0o755);
  assert.equal(fs.readFileSync(path.join(ctl, 'postinst'), 'utf8'), '#!/bin/sh\nset -e\necho installed\n');
  assert.match(
    fs.readFileSync(path.join(ctl, 'md5sums'), 'utf8'),
    /^[0-9a-f]{32} {2}etc\/hello\.conf\n[0-9a-f]{32} {2}usr\/bin\/hello\n[0-9a-f]{32} {2}usr\/share\/doc\/hello\/README\n$/,
  );
  const list = (await run('dpkg-deb', ['-c', deb])).stdout.trim().split('\n');
  assert.deepEqual(
    list.map((l) => l.split(/\s+/).slice(5).join(' ')),
    [
      './',
      './etc/',
      './etc/hello.conf',
      './usr/',
      './usr/bin/',
      './usr/bin/hello',
      './usr/share/',
      './usr/share/doc/',
      './usr/share/doc/hello/',
      './usr/share/doc/hello/README',
      './usr/bin/hi -> hello',
    ],
  ); // dpkg-deb puts symbolic links last
  assert.ok(
    list.every((l) => l.split(/\s+/)[1] === 'root/root'),
    'owned by root',
  );
});

test('buildDeb: the same inputs give byte-identical .debs (SOURCE_DATE_EPOCH), staged at different times', async () => {
  const a = stage('repro-a');
  const opts = {
    control: base,
    conffiles: ['/etc/hello.conf'],
    scripts: { postinst: 'true' },
    sourceDateEpoch: 1600000000,
  };
  const debA = await buildDeb({ ...opts, destdir: a, outDir: path.join(tmp, 'ra') });
  const old = new Date(1500000000 * 1000);
  const b = stage('repro-b');
  fs.utimesSync(path.join(b, 'usr/bin/hello'), old, old); // older than the epoch: kept, not clamped
  fs.utimesSync(path.join(a, 'usr/bin/hello'), old, old);
  const debA2 = await buildDeb({ ...opts, destdir: a, outDir: path.join(tmp, 'ra2') });
  const debB = await buildDeb({ ...opts, destdir: b, outDir: path.join(tmp, 'rb') });
  assert.ok(fs.readFileSync(debA2).equals(fs.readFileSync(debB)), 'two stagings of the same tree give the same bytes');
  assert.ok(
    !fs.readFileSync(debA).equals(fs.readFileSync(debB)),
    'a changed mtime below the epoch shows (the test can fail)',
  );
});

test('buildDeb: a conffile missing from DESTDIR and a DEBIAN folder in DESTDIR are KILN_E_PACKAGE', async () => {
  const d = stage('bad');
  await assert.rejects(
    buildDeb({ destdir: d, outDir: path.join(tmp, 'ob'), control: base, conffiles: ['/etc/nope.conf'] }),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_PACKAGE' && e.message.includes('/etc/nope.conf'),
  );
  fs.mkdirSync(path.join(d, 'DEBIAN'));
  await assert.rejects(
    buildDeb({ destdir: d, outDir: path.join(tmp, 'ob'), control: base }),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_PACKAGE' && e.message.includes('DEBIAN'),
  );
  assert.ok(fs.existsSync(path.join(d, 'DEBIAN')), 'a DEBIAN folder kiln did not make is left alone');
});

test('shared-library Depends: a tiny ELF linking libz needs zlib1g; its own library is not a dependency', async () => {
  const d = path.join(tmp, 'elf');
  fs.mkdirSync(path.join(d, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(d, 'usr/lib'), { recursive: true });
  const src = path.join(tmp, 'z.c');
  fs.writeFileSync(
    src,
    '#include <zlib.h>\n#include <stdio.h>\nint own(void);\nint main(void){ puts(zlibVersion()); return own(); }\n',
  );
  fs.writeFileSync(path.join(tmp, 'own.c'), 'int own(void){ return 0; }\n');
  await run('gcc', [
    '-shared',
    '-fPIC',
    '-Wl,-soname,libown.so.1',
    '-o',
    path.join(d, 'usr/lib/libown.so.1'),
    path.join(tmp, 'own.c'),
  ]);
  await run('gcc', ['-o', path.join(d, 'usr/bin/zver'), src, `-L${path.join(d, 'usr/lib')}`, '-l:libown.so.1', '-lz']);
  const dyn = readElfDynamic(fs.readFileSync(path.join(d, 'usr/bin/zver')))!;
  assert.deepEqual([...dyn.needed].sort(), ['libc.so.6', 'libown.so.1', 'libz.so.1']);
  assert.equal(readElfDynamic(fs.readFileSync(path.join(d, 'usr/lib/libown.so.1')))!.soname, 'libown.so.1');
  const r = await shlibDepends({ destdir: d, resolver: dpkgSonameResolver('/') });
  assert.deepEqual(r.needed, ['libc.so.6', 'libz.so.1']);
  assert.deepEqual(r.unresolved, []);
  assert.ok(
    r.depends.some((x) => /^zlib1g( \(>= [^)]+\))?$/.test(x)),
    `zlib1g in ${r.depends.join(', ')}`,
  );
  assert.ok(r.depends.some((x) => /^libc6( \(>= [^)]+\))?$/.test(x)));
  const viaKiln = await shlibDepends({
    destdir: d,
    resolver: dpkgSonameResolver('/'),
    kiln: new Map([['libz.so.1', 'myzlib (>= 1.3-k1)']]),
  });
  assert.ok(viaKiln.depends.includes('myzlib (>= 1.3-k1)') && !viaKiln.depends.some((x) => x.startsWith('zlib1g')));
  const deps = composeDepends({
    kilnRun: [{ name: 'myzlib', version: '1.3-k1' }],
    systemRun: ['ca-certificates'],
    shlibs: viaKiln.depends,
  });
  assert.equal(deps[0], 'myzlib (>= 1.3-k1)');
  assert.equal(deps[1], 'ca-certificates');
  assert.equal(deps.filter((x) => x.startsWith('myzlib')).length, 1);
  const deb = await buildDeb({
    destdir: d,
    outDir: path.join(tmp, 'oelf'),
    control: { ...base, package: 'zver', depends: deps },
    sourceDateEpoch: 0,
  });
  assert.match((await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout, /myzlib \(>= 1\.3-k1\), ca-certificates, libc6/);
  assert.deepEqual(await debSonames(deb), ['libown.so.1']);
  assert.deepEqual(splitSoname('libfoo-1.2.so'), ['libfoo', '1.2']);
  assert.equal(readElfDynamic(Buffer.from('#!/bin/sh\n')), undefined);
});
