/**
 * packagePort on the host, without a sandbox: a real gcc-built library and program staged as a library port
 * installs them; the default split into runtime, -dev and the program's package, exact Depends between them,
 * shlibs and the ldconfig trigger, copyright and changelog in each, a -dbgsym from the debug list; the control
 * files are golden (Installed-Size left out: it follows the compiler).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { run } from '../util/exec.js';
import { assertGolden } from '../util/golden.js';
import { packagePort, debugFilePath, type PackagePortInput } from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-port-pkg-'));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function control(deb: string, file = 'control'): Promise<string> {
  const out = path.join(tmp, `ctl-${path.basename(deb)}`);
  await run('dpkg-deb', ['-e', deb, out]);
  const p = path.join(out, file);
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8').replace(/^Installed-Size: \d+\n/m, '') : '';
}

test("packagePort: a library port split Debian's way, with metadata, shlibs, trigger and -dbgsym (golden control files)", async () => {
  const dest = path.join(tmp, 'destdir');
  const src = path.join(tmp, 'src');
  const dbg = path.join(tmp, 'dbg');
  for (const d of ['usr/lib', 'usr/include', 'usr/bin', 'usr/lib/pkgconfig', 'usr/share/man/man1'])
    fs.mkdirSync(path.join(dest, d), { recursive: true });
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'COPYING'), 'Copyright (c) 2024 Jane Hacker\n\nPermission to use, copy, modify...\n');
  fs.writeFileSync(path.join(tmp, 'foo.c'), 'int foo(void){ return 42; }\n');
  fs.writeFileSync(path.join(tmp, 'main.c'), 'int foo(void);\nint main(void){ return foo() == 42 ? 0 : 1; }\n');
  await run('gcc', [
    '-shared',
    '-fPIC',
    '-Wl,-soname,libfoo.so.1',
    '-o',
    path.join(dest, 'usr/lib/libfoo.so.1.2.3'),
    path.join(tmp, 'foo.c'),
  ]);
  fs.symlinkSync('libfoo.so.1.2.3', path.join(dest, 'usr/lib/libfoo.so.1'));
  fs.symlinkSync('libfoo.so.1', path.join(dest, 'usr/lib/libfoo.so'));
  await run('gcc', [
    '-o',
    path.join(dest, 'usr/bin/foo'),
    path.join(tmp, 'main.c'),
    `-L${path.join(dest, 'usr/lib')}`,
    '-lfoo',
  ]);
  fs.writeFileSync(path.join(dest, 'usr/include/foo.h'), 'int foo(void);\n');
  fs.writeFileSync(path.join(dest, 'usr/lib/pkgconfig/foo.pc'), 'Name: foo\n');
  fs.writeFileSync(path.join(dest, 'usr/share/man/man1/foo.1.gz'), zlib.gzipSync('.TH FOO 1\n'));
  // What the finishing script would have left: a detached debug file for the program, and its list.
  fs.mkdirSync(path.join(dbg, path.dirname(debugFilePath('abcdef0123'))), { recursive: true });
  fs.writeFileSync(path.join(dbg, debugFilePath('abcdef0123')), 'debug bytes');
  fs.writeFileSync(path.join(dbg, 'list'), 'usr/bin/foo abcdef0123\n');
  const work = path.join(tmp, 'work');
  fs.mkdirSync(work);
  const lines: string[] = [];
  const inp: PackagePortInput = {
    origin: 'devel/foo',
    name: 'foo',
    version: '1.2.3-k1',
    arch: 'amd64',
    summary: 'Answers every question',
    description: 'The foo library returns 42.',
    homepage: 'https://example.org/foo',
    license: 'ISC',
    maintainer: 'Jane Builder <jane@example.org>',
    identity: '0123456789abcdef'.repeat(4),
    epoch: 1700000000,
    destdir: dest,
    srcDir: src,
    dbgDir: dbg,
    workDir: work,
    outDir: path.join(tmp, 'out'),
    kilnRun: [],
    systemRun: [],
    resolver: async (sonames) => new Map(sonames.filter((n) => n === 'libc.so.6').map((n) => [n, 'libc6 (>= 2.34)'])),
    conffiles: [],
    scripts: {},
    extra: { 'X-Kiln-Identity': 'id' },
    log: (l) => lines.push(l),
    // What dpkg-gensymbols prints (run in the sandbox by the build's package phase).
    symbols: async (pkg) => (pkg === 'libfoo1' ? 'libfoo.so.1 libfoo1 #MINVER#\n foo@Base 1.2.3\n' : undefined),
  };
  const made = await packagePort(inp);
  assert.deepEqual(
    made.debs.map((d) => path.basename(d)),
    ['foo_1.2.3-k1_amd64.deb', 'libfoo1_1.2.3-k1_amd64.deb', 'libfoo-dev_1.2.3-k1_amd64.deb'],
  );
  assert.deepEqual(
    made.debugDebs.map((d) => path.basename(d)),
    ['foo-dbgsym_1.2.3-k1_amd64.deb'],
  );
  const [main, runtime, dev] = made.debs as [string, string, string];
  assertGolden(path.join(here, '__golden__', 'split-foo.control'), await control(main));
  assertGolden(path.join(here, '__golden__', 'split-libfoo1.control'), await control(runtime));
  assertGolden(path.join(here, '__golden__', 'split-libfoo-dev.control'), await control(dev));
  assertGolden(path.join(here, '__golden__', 'split-foo-dbgsym.control'), await control(made.debugDebs[0]!));
  assert.equal(await control(runtime, 'shlibs'), 'libfoo 1 libfoo1 (>= 1.2.3-k1)\n');
  assert.equal(await control(runtime, 'triggers'), 'activate-noawait ldconfig\n');
  assert.equal(
    await control(runtime, 'symbols'),
    'libfoo.so.1 libfoo1 #MINVER#\n* Build-Depends-Package: libfoo-dev\n foo@Base 1.2.3\n',
  );
  assert.equal(await control(main, 'triggers'), '', 'no trigger without a library');
  const list = async (deb: string): Promise<string[]> =>
    (await run('dpkg-deb', ['-c', deb])).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(5).join(' '));
  const rt = await list(runtime);
  assert.ok(
    rt.includes('./usr/lib/libfoo.so.1.2.3') &&
      rt.includes('./usr/lib/libfoo.so.1 -> libfoo.so.1.2.3') &&
      !rt.some((l) => l.startsWith('./usr/lib/libfoo.so ')),
  );
  const dv = await list(dev);
  assert.ok(
    dv.includes('./usr/include/foo.h') &&
      dv.includes('./usr/lib/libfoo.so -> libfoo.so.1') &&
      dv.includes('./usr/lib/pkgconfig/foo.pc'),
    dv.join('\n'),
  );
  for (const [deb, name] of [
    [main, 'foo'],
    [runtime, 'libfoo1'],
    [dev, 'libfoo-dev'],
  ] as const) {
    const l = await list(deb);
    assert.ok(
      l.includes(`./usr/share/doc/${name}/copyright`) && l.includes(`./usr/share/doc/${name}/changelog.Debian.gz`),
      `${name}: ${l.join(' ')}`,
    );
  }
  const dbgList = await list(made.debugDebs[0]!);
  assert.ok(
    dbgList.includes(`./${debugFilePath('abcdef0123')}`) && dbgList.includes('./usr/share/doc/foo-dbgsym -> foo'),
    dbgList.join('\n'),
  );
  const x = path.join(tmp, 'x');
  await run('dpkg-deb', ['-x', main, x]);
  assert.match(
    fs.readFileSync(path.join(x, 'usr/share/doc/foo/copyright'), 'utf8'),
    /^License: ISC\n The upstream file COPYING:/m,
  );
  assert.match(
    zlib.gunzipSync(fs.readFileSync(path.join(x, 'usr/share/doc/foo/changelog.Debian.gz'))).toString(),
    /^foo \(1\.2\.3-k1\) kiln; urgency=medium$/m,
  );
  assert.equal(fs.lstatSync(path.join(x, 'usr/bin/foo')).mtimeMs, 1700000000 * 1000, 'times clamped to the epoch');
  assert.ok(lines.some((l) => /^packages: foo \(main/.test(l)));
});
