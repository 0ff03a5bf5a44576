import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { scanTree, type ScanOptions, type TreeScan } from './scan.js';
import type { TreeRef } from './ref.js';
import { scanCacheFile } from './scan-cache-key.js';
import { recipe, scanData, tmpDir, writePort } from './testkit.js';
import {
  closureDag,
  planningSourceOf,
  portDepends,
  portOptionDefaults,
  portOptions,
  tableRowOf,
} from '../graph/index.js';
import { prestartLoaders } from './pool.js';
import { treeLayersFromArgs } from './ref.js';

const RACY_MS = 40;

/** Waits until every file written so far is older than the racy margin (so a scan may cache it). */
function settle(): void {
  const until = Date.now() + RACY_MS + 15;
  const sab = new Int32Array(new SharedArrayBuffer(4));
  for (let guard = 0; guard < 100 && Date.now() < until; guard++) Atomics.wait(sab, 0, 0, 10);
}

/** Scans with the cache and without it; asserts they agree and returns the cache's figures. */
async function same(ref: TreeRef, cache: ScanOptions['cache'], what: string): Promise<NonNullable<TreeScan['cache']>> {
  const cached = await scanTree(ref, { cache, workers: 0 });
  const cold = await scanTree(ref, { workers: 0 });
  // The graph first, while the cached ports' recipes are not made (their edges come from the cache's integers).
  assert.deepEqual(closureDag(cached.ports, 'all'), closureDag(cold.ports, 'all'), `${what}: graph`);
  assert.deepEqual(scanData(cached), scanData(cold), what);
  // Also through a lazy recipe's own getters and keys (not only JSON).
  for (const [o, p] of cold.ports)
    assert.deepEqual({ ...cached.ports.get(o)!.recipe }, { ...p.recipe }, `${what}: ${o}`);
  return cached.cache!;
}

const PATCH = '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n';

test('a cached scan equals a cold one through edits, additions, removals, renames, patches, options and overlays', async (t) => {
  const root = tmpDir(t);
  const lower = path.join(root, 'lower');
  const upper = path.join(root, 'upper');
  const cache = { dir: path.join(root, 'home', 'cache', 'scan'), racyMs: RACY_MS };
  for (let i = 0; i < 12; i++) {
    const deps = i > 0 ? `depends:\n  build: [devel/p${i - 1}]\n  run: [outside/x]\n  system: [pkg-config]\n` : '';
    writePort(lower, `devel/p${i}`, recipe(`1.${i}`, deps));
  }
  writePort(lower, 'net/patched', recipe('1.0', 'patches: [fix.patch, files/two.patch]\n'), {
    'fix.patch': PATCH,
    'files/two.patch': PATCH,
  });
  writePort(
    lower,
    'net/opts',
    recipe('1.0', 'options:\n  NLS:\n    default: true\n    description: native language support\n'),
  );
  writePort(
    lower,
    'net/named',
    recipe(
      '2.0',
      'name: libnamed\ndescription: |\n  Two\n  lines. ünïcødé\nhomepage: https://example.org/\nlicense: MIT\narch: [amd64]\nrevision: 3\n',
    ),
  );
  writePort(lower, 'net/broken', 'version: [oops]\n');
  fs.mkdirSync(path.join(upper, 'devel'), { recursive: true });
  const ref: TreeRef = {
    name: 'ov',
    layers: [
      { name: 'low', dir: lower },
      { name: 'up', dir: upper },
    ],
  };
  const valid = 15;

  settle();
  let c = await same(ref, cache, 'first scan');
  assert.deepEqual(c, { reused: 0, loaded: valid + 1, written: true });
  assert.ok(fs.existsSync(scanCacheFile(cache, ref.layers)!));
  c = await same(ref, cache, 'nothing changed');
  assert.deepEqual(c, { reused: valid, loaded: 1, written: false }, 'only the invalid recipe is loaded again');

  // Edits in place of the same size: only the stamp tells.
  const p3 = path.join(lower, 'devel/p3/port.yaml');
  fs.writeFileSync(p3, fs.readFileSync(p3, 'utf8').replace('1.3', '9.3'));
  fs.writeFileSync(path.join(lower, 'net/patched/files/two.patch'), PATCH.replace('+b', '+c'));
  settle();
  c = await same(ref, cache, 'a recipe and a patch edited');
  assert.equal(c.loaded, 3);
  assert.equal((await same(ref, cache, 'again')).loaded, 1);

  // Options: one added to a recipe, one changed.
  fs.writeFileSync(
    path.join(lower, 'devel/p5/port.yaml'),
    recipe('1.5', 'options:\n  DOCS:\n    default: false\n    description: docs\n'),
  );
  const o = path.join(lower, 'net/opts/port.yaml');
  fs.writeFileSync(o, fs.readFileSync(o, 'utf8').replace('default: true', 'default: false'));
  settle();
  assert.equal((await same(ref, cache, 'options')).loaded, 3);

  // Added, removed, renamed (port and category), a patch removed, an invalid recipe fixed and a valid one broken.
  writePort(lower, 'devel/new', recipe('0.1', 'depends:\n  build: [devel/p1]\n'));
  fs.rmSync(path.join(lower, 'devel/p11'), { recursive: true });
  fs.renameSync(path.join(lower, 'devel/p10'), path.join(lower, 'devel/p10-renamed'));
  fs.renameSync(path.join(lower, 'net'), path.join(lower, 'www'));
  fs.rmSync(path.join(lower, 'www/patched/fix.patch'));
  fs.writeFileSync(path.join(lower, 'www/broken/port.yaml'), recipe('1.0'));
  fs.writeFileSync(path.join(lower, 'devel/p2/port.yaml'), 'summary: [no\n');
  settle();
  c = await same(ref, cache, 'added, removed, renamed');
  assert.equal(c.written, true);
  c = await same(ref, cache, 'settled');
  assert.equal(c.loaded, 2, 'the broken recipe and the port whose patch is missing');

  // A recipe replaced by a rename with the same bytes (an editor's save): another inode, loaded again.
  const p4 = path.join(lower, 'devel/p4/port.yaml');
  fs.writeFileSync(`${p4}.new`, fs.readFileSync(p4));
  fs.renameSync(`${p4}.new`, p4);
  // An upper layer starts shadowing a lower port; a folder without port.yaml shadows nothing.
  writePort(upper, 'devel/p6', recipe('6.0'));
  fs.mkdirSync(path.join(upper, 'devel/p7/files'), { recursive: true });
  settle();
  c = await same(ref, cache, 'overlay');
  assert.equal(c.loaded, 4);

  // The same layers in another order are another cache.
  const swapped: TreeRef = { name: 'ov', layers: [ref.layers[1]!, ref.layers[0]!] };
  assert.notEqual(scanCacheFile(cache, swapped.layers), scanCacheFile(cache, ref.layers));
  assert.equal((await same(swapped, cache, 'swapped layers')).reused, 0);
});

test('a change within the racy margin is never cached; a damaged cache is ignored and written again', async (t) => {
  const root = tmpDir(t);
  const dir = path.join(root, 'tree');
  for (let i = 0; i < 5; i++)
    writePort(dir, `devel/p${i}`, recipe(`1.${i}`, 'patches: [a.patch]\n'), { 'a.patch': PATCH });
  const ref: TreeRef = { name: 't', layers: [{ name: 't', dir }] };
  const cache = { dir: path.join(root, 'cache'), racyMs: 60_000 };
  // Everything was written within the last minute: nothing may be cached.
  assert.deepEqual(await same(ref, cache, 'racy'), { reused: 0, loaded: 5, written: true });
  assert.deepEqual(await same(ref, cache, 'racy again'), { reused: 0, loaded: 5, written: false });

  const settled = { dir: cache.dir, racyMs: RACY_MS };
  settle();
  assert.equal((await same(ref, settled, 'settled')).written, true);
  assert.equal((await same(ref, settled, 'cached')).reused, 5);
  const file = scanCacheFile(settled, ref.layers)!;
  const good = fs.readFileSync(file);
  const damages: [string, Buffer][] = [
    ['truncated', good.subarray(0, good.length - 7)],
    ['empty', Buffer.alloc(0)],
    ['a byte of the index flipped', Buffer.from(good.map((b, i) => (i === 200 ? b ^ 0x20 : b)))],
    ['garbage', Buffer.from('KILNSCAN\x08\x00\x00\x00\x00\x00\x00\x00not v8 data')],
  ];
  for (const [what, bytes] of damages) {
    fs.writeFileSync(file, bytes);
    const r = await same(ref, settled, what);
    assert.deepEqual(r, { reused: 0, loaded: 5, written: true }, what);
    assert.equal((await same(ref, settled, `${what}, rewritten`)).reused, 5, what);
  }
  // A text damaged after the index was checked: reading that recipe says so (nothing else would show it).
  const texts = fs.readFileSync(file);
  const at = texts.lastIndexOf('summary: a test port');
  fs.writeFileSync(file, Buffer.from(texts.map((b, i) => (i === at ? 0x53 : b))));
  const scan = await scanTree(ref, { cache: settled, workers: 0 });
  assert.equal(scan.cache!.reused, 5);
  assert.throws(
    () => scan.ports.get('devel/p4')!.recipe.build,
    (e: Error & { code?: string }) => e.code === 'KILN_E_TREE_INVALID' && /damaged/.test(e.message),
  );
  // The values part (what only a made recipe reads) damaged: a plan still reads depends and options; a recipe says so.
  const valuesAt = 24 + good.readUInt32LE(8);
  fs.writeFileSync(file, Buffer.from(good.map((b, i) => (i === valuesAt + good.readUInt32LE(16) - 3 ? b ^ 0x20 : b))));
  const planned = await scanTree(ref, { cache: settled, workers: 0 });
  assert.equal(planned.cache!.reused, 5);
  const p0 = planned.ports.get('devel/p0')!;
  assert.deepEqual(portDepends(p0), { build: [], run: [], system: [], system_run: [] });
  assert.deepEqual(portOptionDefaults(p0), {});
  assert.equal(closureDag(planned.ports, 'all').dag.ids.length, 5);
  assert.throws(
    () => p0.recipe.version,
    (e: Error & { code?: string }) =>
      e.code === 'KILN_E_TREE_INVALID' && /scan cache file .* is damaged/.test(e.message),
  );
});

test("a cached port gives its depends and options without making its recipe, and they are its recipe's", async (t) => {
  const root = tmpDir(t);
  const tree = path.join(root, 'tree');
  const cache = { dir: path.join(root, 'home', 'cache', 'scan'), racyMs: RACY_MS };
  writePort(tree, 'devel/aa', recipe('1.0', 'options:\n  NLS:\n    default: true\n    description: nls\n'));
  writePort(
    tree,
    'devel/bb',
    recipe('1.0', 'depends:\n  build: [devel/aa]\n  run: [outside/x]\n  system: [pkg-config]\n'),
  );
  settle();
  const ref: TreeRef = { name: 'tree', layers: [{ name: 'tree', dir: tree }] };
  assert.equal((await scanTree(ref, { cache, workers: 0 })).cache!.written, true);
  const cold = await scanTree(ref, { workers: 0 });
  const cached = await scanTree(ref, { cache, workers: 0 });
  assert.equal(cached.cache!.reused, 2);
  for (const [o, p] of cached.ports) {
    const want = cold.ports.get(o)!;
    // What a plan reads first: the options' defaults, from the index alone.
    assert.deepEqual(portOptionDefaults(p), o === 'devel/aa' ? { NLS: true } : {}, o);
    assert.deepEqual(portOptionDefaults(p), portOptionDefaults(want), o);
    assert.equal(typeof Object.getOwnPropertyDescriptor(p, 'recipe')!.get, 'function', o);
    assert.deepEqual(portDepends(p), want.recipe.depends, o);
    assert.deepEqual(portOptions(p), want.recipe.options, o);
    // Not made yet: `recipe` is still the accessor that makes it; the port has its row of the cache's table.
    assert.equal(typeof Object.getOwnPropertyDescriptor(p, 'recipe')!.get, 'function', o);
    const table = planningSourceOf(p)!.table!;
    assert.equal(table.origins[tableRowOf(p, table)], o);
    assert.deepEqual(Object.keys(p), Object.keys(want), o);
    // Once made, the recipe holds the very objects planning read, and the row no longer stands for them.
    assert.equal(p.recipe.depends, portDepends(p), o);
    assert.equal(p.recipe.options, portOptions(p), o);
    assert.equal(tableRowOf(p, table), -1, o);
  }
  // A copy with another recipe, or an assigned recipe, plans with that recipe.
  const b = cached.ports.get('devel/bb')!;
  const other = { ...b.recipe, depends: { build: [], run: [], system: [], system_run: [] } };
  assert.deepEqual(portDepends({ ...b, recipe: other }), other.depends);
  const c = cached.ports.get('devel/aa')!;
  (c as { recipe: unknown }).recipe = other;
  assert.equal(portDepends(c), other.depends);
  assert.equal(c.recipe, other);
});

test('a walk asked at prestart serves a cached scan of its layers only; every scan equals a cold one', async (t) => {
  const root = tmpDir(t);
  const tree = path.join(root, 'tree');
  const other = path.join(root, 'other');
  const cache = { dir: path.join(root, 'home', 'cache', 'scan'), racyMs: RACY_MS };
  for (let i = 0; i < 5; i++) writePort(tree, `devel/p${i}`, recipe(`1.${i}`));
  writePort(other, 'devel/q0', recipe('2.0'));
  settle();
  const ref: TreeRef = { name: 'tree', layers: [{ name: 'tree', dir: tree }] };
  const cold = scanData(await scanTree(ref, { workers: 0 }));
  // No cache file yet: the walk is dropped, the scan loads everything and writes the cache.
  prestartLoaders(ref.layers);
  let s = await scanTree(ref, { cache, minParallel: 1 });
  assert.deepEqual(scanData(s), cold);
  assert.deepEqual(s.cache, { reused: 0, loaded: 5, written: true });
  // The walk of these layers is used.
  prestartLoaders(ref.layers);
  s = await scanTree(ref, { cache, minParallel: 1 });
  assert.deepEqual(scanData(s), cold);
  assert.deepEqual(s.cache, { reused: 5, loaded: 0, written: false });
  // A walk of other layers is not.
  prestartLoaders([{ name: 'other', dir: other }]);
  fs.writeFileSync(path.join(tree, 'devel/p1/port.yaml'), recipe('9.1'));
  s = await scanTree(ref, { cache, minParallel: 1 });
  assert.deepEqual(s.cache, { reused: 4, loaded: 1, written: true });
  assert.deepEqual(scanData(s), scanData(await scanTree(ref, { workers: 0 })));
  // What the CLI guesses from `-p`.
  assert.deepEqual(treeLayersFromArgs(['-a', '-p', 'ports/x', '-n'], '/w'), [{ name: 'x', dir: '/w/ports/x' }]);
  assert.deepEqual(treeLayersFromArgs(['--tree=/abs/t'], '/w'), [{ name: 't', dir: '/abs/t' }]);
  assert.equal(treeLayersFromArgs(['-p', 'registered'], '/w'), undefined);
  assert.equal(treeLayersFromArgs(['-a'], '/w'), undefined);
});

test('a scan that loads many recipes gives the ports of the cache it wrote, read back from that very file', async (t) => {
  const root = tmpDir(t);
  const tree = path.join(root, 'tree');
  for (let i = 0; i < 6; i++)
    writePort(tree, `devel/p${i}`, recipe(`1.${i}`, i > 0 ? 'depends:\n  build: [devel/p0]\n' : ''));
  writePort(tree, 'devel/patched', recipe('2.0', 'patches: [fix.patch]\n'), { 'fix.patch': '--- a\n+++ b\n' });
  writePort(tree, 'devel/broken', 'summary: [bad\n');
  settle();
  const ref: TreeRef = { name: 'tree', layers: [{ name: 'tree', dir: tree }] };
  const cold = await scanTree(ref, { workers: 0 });
  const cache = { dir: path.join(root, 'cache'), racyMs: RACY_MS };
  // From `minParallel` loaded recipes on (the parallel load's threshold), the ports are read back from the file.
  const s = await scanTree(ref, { cache, workers: 0, minParallel: 1 });
  assert.deepEqual(s.cache, { reused: 0, loaded: 8, written: true });
  assert.equal(s.ports.size, 7);
  for (const p of s.ports.values()) assert.notEqual(planningSourceOf(p)?.table, undefined, p.origin);
  assert.deepEqual(closureDag(s.ports, 'all'), closureDag(cold.ports, 'all'));
  assert.deepEqual(scanData(s), scanData(cold));
  // Read back from the very file written: another one put in its place later changes nothing.
  fs.writeFileSync(scanCacheFile(cache, ref.layers)!, 'not a cache');
  for (const [o, p] of cold.ports) assert.deepEqual({ ...s.ports.get(o)!.recipe }, { ...p.recipe }, o);
  // Below the threshold (or with a port not cached: a racy one), the loaded ports are lazy recipes.
  fs.rmSync(scanCacheFile(cache, ref.layers)!);
  const small = await scanTree(ref, { cache, workers: 0 });
  assert.equal(planningSourceOf(small.ports.get('devel/p1')!), undefined);
  assert.deepEqual(scanData(small), scanData(cold));
  fs.writeFileSync(path.join(tree, 'devel/p3/port.yaml'), recipe('3.3')); // racy: not cached
  const racy = await scanTree(ref, { cache, workers: 0, minParallel: 1 });
  assert.equal(racy.cache!.loaded, 2);
  assert.equal(planningSourceOf(racy.ports.get('devel/p3')!), undefined);
  assert.deepEqual(scanData(racy), scanData(await scanTree(ref, { workers: 0 })));
});
