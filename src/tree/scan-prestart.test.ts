/**
 * A cold scan (no cache file yet) served by the walk the CLI asks at prestart (`kiln bulk -p DIR`): the winners come
 * from the worker's walk instead of this thread's, and the result equals a scan without any of it, with overlays,
 * shadowed ports, folders without port.yaml, a folder whose names make no origin and a broken recipe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { scanTree } from './scan.js';
import type { TreeRef } from './ref.js';
import { recipe, scanData, tmpDir, writePort } from './testkit.js';
import { prestartLoaders } from './pool.js';
import { scanCacheFile } from './scan-cache-key.js';

test('a cold scan takes its winners from a walk asked at prestart and equals a plain scan', async (t) => {
  const root = tmpDir(t);
  const low = path.join(root, 'low');
  const high = path.join(root, 'high');
  for (let i = 0; i < 6; i++) writePort(low, `devel/p${i}`, recipe(`1.${i}`));
  writePort(high, 'devel/p2', recipe('9.2')); // shadows low's
  writePort(high, 'net/q0', recipe('2.0', 'depends:\n  build: [devel/p1]\n'));
  writePort(high, 'net/broken', 'version: [\n');
  fs.mkdirSync(path.join(low, 'devel', 'no-recipe'), { recursive: true }); // not a port
  writePort(low, 'bad cat/x', recipe()); // names that make no origin
  const ref: TreeRef = {
    name: 'ov',
    layers: [
      { name: 'low', dir: low },
      { name: 'high', dir: high },
    ],
  };
  const plain = scanData(await scanTree(ref, { workers: 0 }));
  const cache = { dir: path.join(root, 'home', 'cache', 'scan'), racyMs: 0 };
  prestartLoaders(ref.layers);
  const s = await scanTree(ref, { cache, minParallel: 1 });
  assert.deepEqual(scanData(s), plain);
  assert.equal(s.cache?.reused, 0);
  // The walk knows which folders hold no port.yaml: not even tried (a scan that walks itself tries devel/no-recipe).
  assert.equal(s.cache?.loaded, 8, 'every folder with a port.yaml and a valid origin was loaded, and only those');
  assert.ok(fs.existsSync(scanCacheFile(cache, ref.layers)!), 'the cache was written');
  // The next scan reuses it and still agrees.
  prestartLoaders(ref.layers);
  const again = await scanTree(ref, { cache, minParallel: 1 });
  assert.deepEqual(scanData(again), plain);
  assert.equal(again.cache?.reused, 7, 'all valid ports come from the cache');
  // Without the prestart walk, the same cold scan walks on this thread (and tries the folder without port.yaml).
  const own = await scanTree(ref, { cache: { ...cache, dir: path.join(root, 'home2') }, minParallel: 1 });
  assert.deepEqual(scanData(own), plain);
  assert.equal(own.cache?.loaded, 9);
});
