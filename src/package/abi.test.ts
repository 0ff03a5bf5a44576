/**
 * The ABI hash on real tiny libraries built with gcc: an implementation change keeps it, an added exported
 * function, a changed data size, a new symbol version or a changed header changes it; the reader agrees with nm.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { abiOfTree, buildDeb, debAbiHash, debVersion, readElfExports } from './index.js';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-abi-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
/** Builds `usr/lib/libdemo.so.1` from `source` (plus an optional version script) into a fresh staged root. */
async function stageLib(
  source: string,
  o: { versionScript?: string; header?: string; flags?: string[] } = {},
): Promise<string> {
  const root = path.join(tmp, `root-${seq++}`);
  fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  fs.mkdirSync(path.join(root, 'usr/share/doc/demo'), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/share/doc/demo/README'), `built ${seq}\n`); // not part of the ABI
  const src = path.join(root, '..', `demo-${seq}.c`);
  fs.writeFileSync(src, source);
  const args = [
    '-shared',
    '-fPIC',
    ...(o.flags ?? ['-O2']),
    '-Wl,-soname,libdemo.so.1',
    '-o',
    path.join(root, 'usr/lib/libdemo.so.1'),
    src,
  ];
  if (o.versionScript !== undefined) {
    const map = path.join(root, '..', `demo-${seq}.map`);
    fs.writeFileSync(map, o.versionScript);
    args.push(`-Wl,--version-script=${map}`);
  }
  await run('gcc', args);
  fs.symlinkSync('libdemo.so.1', path.join(root, 'usr/lib/libdemo.so'));
  if (o.header !== undefined) {
    fs.mkdirSync(path.join(root, 'usr/include'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/include/demo.h'), o.header);
  }
  return root;
}

const hashOf = (root: string): string => {
  const a = abiOfTree(root);
  assert.ok(a, `an ABI for ${root}`);
  return a.hash;
};

const V1 =
  'static int helper(void) { return 1; }\nint demo_answer(void) { return 42; }\nint demo_table[4] = {1, 2, 3, 4};\n' +
  'int demo_use(void) { return helper(); }\n';

test('same exported interface, different code and flags: same ABI hash', async () => {
  const a = await stageLib(V1);
  const b = await stageLib(V1.replace('return 42', 'return 43 + helper()'), { flags: ['-O0', '-g'] });
  assert.notDeepEqual(
    fs.readFileSync(path.join(a, 'usr/lib/libdemo.so.1')),
    fs.readFileSync(path.join(b, 'usr/lib/libdemo.so.1')),
    'the libraries differ in bytes',
  );
  assert.equal(hashOf(a), hashOf(b));
  // A hidden or static addition is not exported.
  const c = await stageLib(`${V1}__attribute__((visibility("hidden"))) int demo_private(void) { return 7; }\n`);
  assert.equal(hashOf(c), hashOf(a));
});

test('an added exported function, a resized data object, a new symbol version: different ABI hashes', async () => {
  const base = hashOf(await stageLib(V1));
  const added = await stageLib(`${V1}int demo_more(int x) { return x + 1; }\n`);
  assert.notEqual(hashOf(added), base);
  assert.ok(abiOfTree(added)!.libraries[0]!.symbols.includes('demo_more FUNC'));
  const resized = await stageLib(V1.replace('demo_table[4] = {1, 2, 3, 4}', 'demo_table[8] = {1, 2, 3, 4}'));
  assert.notEqual(hashOf(resized), base);
  assert.ok(abiOfTree(resized)!.libraries[0]!.symbols.includes('demo_table OBJECT:32'));
  const script = 'DEMO_1.0 { global: demo_answer; demo_table; demo_use; local: *; };\n';
  const versioned = await stageLib(V1, { versionScript: script });
  const vh = hashOf(versioned);
  assert.notEqual(vh, base);
  assert.ok(abiOfTree(versioned)!.libraries[0]!.symbols.includes('demo_answer@@DEMO_1.0 FUNC'));
  assert.equal(
    hashOf(await stageLib(V1.replace('return 42', 'return 41'), { versionScript: script })),
    vh,
    'same versioned ABI',
  );
  // A changed header is an ABI change; a changed README is not.
  const h1 = await stageLib(V1, { header: 'struct demo { int a; };\n' });
  const h2 = await stageLib(V1, { header: 'struct demo { int a; int b; };\n' });
  assert.notEqual(hashOf(h1), hashOf(h2));
});

test('readElfExports agrees with nm -D --defined-only on the exported names', async () => {
  const root = await stageLib(
    `${V1}int demo_more(int x) { return x; }\n__attribute__((weak)) int demo_weak(void) { return 0; }\n`,
    {
      versionScript:
        'DEMO_1.0 { global: demo_answer; demo_table; local: *; };\nDEMO_2.0 { global: demo_more; demo_weak; demo_use; } DEMO_1.0;\n',
    },
  );
  const lib = path.join(root, 'usr/lib/libdemo.so.1');
  const ours = readElfExports(fs.readFileSync(lib))!;
  assert.equal(ours.soname, 'libdemo.so.1');
  const nm = (await run('nm', ['-D', '--defined-only', '--with-symbol-versions', lib])).stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && /[A-Z]/.test(f[1]!) && !/^DEMO_\d/.test(f[2]!))
    .map((f) => f[2]!)
    .sort();
  // The version nodes themselves (DEMO_1.0 ...) are exported too; nm lists them apart.
  assert.deepEqual(
    ours.symbols
      .map((s) => s.split(' ')[0]!)
      .filter((s) => !/^DEMO_\d/.test(s))
      .sort(),
    nm,
  );
  assert.ok(ours.symbols.some((s) => s.startsWith('DEMO_2.0@@DEMO_2.0 ')));
  assert.ok(ours.symbols.includes('demo_more@@DEMO_2.0 FUNC'));
  assert.ok(ours.symbols.includes('demo_weak@@DEMO_2.0 FUNC WEAK'));
  assert.equal(readElfExports(Buffer.from('#!/bin/sh\n')), undefined);
});

test('debAbiHash: a library package has the ABI of its staged tree; a package without a library interface has none', async () => {
  const root = await stageLib(V1, { header: 'int demo_answer(void);\n' });
  const staged = hashOf(root);
  const control = {
    package: 'libdemo1',
    version: debVersion('1.0', 1),
    architecture: 'amd64',
    maintainer: 'kiln <kiln@localhost>',
    summary: 'demo',
  };
  const deb = await buildDeb({ destdir: root, outDir: path.join(tmp, 'debs'), control, sourceDateEpoch: 1 });
  assert.equal(await debAbiHash(deb), staged);
  const rebuilt = await stageLib(V1.replace('42', '6 * 7'), { header: 'int demo_answer(void);\n' });
  const deb2 = await buildDeb({
    destdir: rebuilt,
    outDir: path.join(tmp, 'debs2'),
    control: { ...control, version: debVersion('1.0', 2) },
    sourceDateEpoch: 1,
  });
  assert.equal(await debAbiHash(deb2), staged, 'a revision bump with the same interface keeps the ABI hash');
  const prog = path.join(tmp, 'prog');
  fs.mkdirSync(path.join(prog, 'usr/bin'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'plugin.c'), V1);
  await run('gcc', ['-o', path.join(prog, 'usr/bin/demo'), path.join(tmp, 'plugin.c'), '-shared', '-fPIC']);
  fs.renameSync(path.join(prog, 'usr/bin/demo'), path.join(prog, 'usr/bin/demo-plugin.so')); // no SONAME: not a library
  const debP = await buildDeb({
    destdir: prog,
    outDir: path.join(tmp, 'debs3'),
    control: { ...control, package: 'demo-bin' },
    sourceDateEpoch: 1,
  });
  assert.equal(await debAbiHash(debP), undefined);
});
