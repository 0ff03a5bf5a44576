import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { scanTree, indexTree } from './index.js';
import { recipe, tmpDir, writePort } from './testkit.js';

test('a higher layer replaces the whole port folder below, patches included', async (t) => {
  const root = tmpDir(t);
  const lower = path.join(root, 'lower');
  const upper = path.join(root, 'upper');
  const patch = '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n';
  writePort(lower, 'devel/alpha', recipe('1.0', 'patches: [fix.patch]\n'), { 'fix.patch': patch });
  writePort(lower, 'devel/beta', recipe('1.0', 'patches: [fix.patch]\n'), { 'fix.patch': patch });
  writePort(lower, 'devel/gamma', recipe('1.0'));
  writePort(upper, 'devel/alpha', recipe('2.0'));
  // The upper port still names the patch, but the patch lives only in the lower folder: it must not leak up.
  writePort(upper, 'devel/beta', recipe('2.0', 'patches: [fix.patch]\n'));
  // A folder without port.yaml in the upper layer is no port and shadows nothing.
  fs.mkdirSync(path.join(upper, 'devel/gamma/files'), { recursive: true });

  const lowOnly = await scanTree({ name: 'low', layers: [{ name: 'low', dir: lower }] });
  assert.deepEqual(lowOnly.problems, []);
  const scan = await scanTree({
    name: 'ov',
    layers: [
      { name: 'low', dir: lower },
      { name: 'up', dir: upper },
    ],
  });

  const a = scan.ports.get('devel/alpha')!;
  assert.equal(a.layer, 'up');
  assert.equal(a.dir, path.join(upper, 'devel/alpha'));
  assert.equal(a.recipe.version, '2.0');
  assert.deepEqual(a.recipe.patches, []);
  assert.notEqual(a.contentHash, lowOnly.ports.get('devel/alpha')!.contentHash);

  assert.equal(scan.ports.has('devel/beta'), false, 'devel/beta names a patch its own folder lacks');
  assert.ok(
    scan.problems.some((p) => p.path.startsWith(path.join(upper, 'devel/beta')) && /fix\.patch/.test(p.message)),
    JSON.stringify(scan.problems),
  );

  assert.equal(scan.ports.get('devel/gamma')!.layer, 'low');
  assert.deepEqual(
    [...scan.shadowed],
    [
      ['devel/alpha', ['low']],
      ['devel/beta', ['low']],
    ],
  );
  assert.deepEqual([...scan.ports.keys()], ['devel/alpha', 'devel/gamma']);
});

test('dot-folders, folders without port.yaml and stray files are not ports', async (t) => {
  const root = tmpDir(t);
  writePort(root, 'devel/alpha', recipe());
  writePort(root, '.git/objects', recipe());
  writePort(root, 'devel/.hidden', recipe());
  fs.mkdirSync(path.join(root, 'devel/empty'), { recursive: true });
  fs.mkdirSync(path.join(root, 'devel/no recipe here'), { recursive: true });
  fs.writeFileSync(path.join(root, 'devel/empty/README'), 'a port folder without port.yaml');
  fs.mkdirSync(path.join(root, 'emptycat'), { recursive: true });
  fs.writeFileSync(path.join(root, 'README.md'), 'not a category');
  fs.writeFileSync(path.join(root, 'devel/Makefile'), 'not a port');
  fs.symlinkSync(path.join(root, 'devel'), path.join(root, 'linked'));
  const scan = await scanTree({ name: 't', layers: [{ name: 't', dir: root }] });
  assert.deepEqual(scan.problems, []);
  assert.deepEqual([...scan.ports.keys()], ['devel/alpha', 'linked/alpha']);
  assert.deepEqual(
    [...indexTree({ name: 't', layers: [{ name: 't', dir: root }] }).winners.keys()],
    ['devel/alpha', 'linked/alpha'],
  );
});

test('problems from several recipes are reported together; the good ports still load', async (t) => {
  const root = tmpDir(t);
  writePort(root, 'devel/good', recipe());
  writePort(root, 'devel/bad-type', 'version: 1.5\nsummary: x\nbuild:\n  system: make\n');
  writePort(root, 'net/bad-key', `${recipe()}summery: typo\n`);
  writePort(root, 'net/bad-system', 'version: "1"\nsummary: x\nbuild:\n  system: scons\n');
  writePort(root, 'net/bad name', `name: fine\n${recipe()}`);
  const scan = await scanTree({ name: 't', layers: [{ name: 't', dir: root }] });
  assert.deepEqual([...scan.ports.keys()], ['devel/good']);
  const files = new Set(scan.problems.map((p) => path.relative(root, p.path)));
  assert.deepEqual([...files].sort(), [
    'devel/bad-type/port.yaml',
    'net/bad name/port.yaml',
    'net/bad-key/port.yaml',
    'net/bad-system/port.yaml',
  ]);
  assert.match(
    scan.problems.find((p) => p.path.includes('bad name'))!.message,
    /not CATEGORY\/NAME.*rename the folder/,
  );
  for (const p of scan.problems) assert.ok(p.line >= 1 && p.column >= 1, JSON.stringify(p));
});

test('loading on worker threads gives the same ports and problems as loading on one thread', async (t) => {
  const root = tmpDir(t);
  for (let i = 0; i < 700; i++) {
    const deps = i > 0 ? `depends:\n  build: [cat${(i - 1) % 7}/port${i - 1}]\n` : '';
    writePort(root, `cat${i % 7}/port${i}`, i % 97 === 5 ? 'version: [oops]\n' : recipe(`1.${i}`, deps));
  }
  const ref = { name: 't', layers: [{ name: 't', dir: root }] };
  const one = await scanTree(ref, { workers: 0 });
  const many = await scanTree(ref, { workers: 2, minParallel: 0 });
  assert.equal(one.ports.size, 692);
  assert.equal(one.problems.length > 7, true);
  assert.deepEqual([...many.ports.keys()], [...one.ports.keys()]);
  assert.deepEqual([...many.ports.values()], [...one.ports.values()]);
  assert.deepEqual(many.problems, one.problems);
});
