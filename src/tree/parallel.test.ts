import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadPort } from '../recipe/index.js';
import { loadAll } from './parallel.js';
import { recipe, tmpDir, writePort } from './testkit.js';

test('worker threads really load the recipes, in job order', (t) => {
  const root = tmpDir(t);
  const jobs = [];
  for (let i = 0; i < 300; i++) {
    const origin = `cat${i % 3}/port${i}`;
    writePort(root, origin, i === 17 ? 'summary: [bad\n' : recipe(`2.${i}`));
    jobs.push({ dir: path.join(root, origin), origin, layer: 'l' });
  }
  const { results, byWorkers } = loadAll(jobs, { workers: 2, minJobs: 0, callerLoads: false });
  assert.equal(byWorkers, 300);
  assert.deepEqual(results, jobs.map((j) => loadPort(j.dir, j.origin, j.layer)));
  assert.equal(results[17]!.port, undefined);
  assert.ok(results[17]!.problems.length > 0);
});

test('below the threshold no worker starts', (t) => {
  const root = tmpDir(t);
  writePort(root, 'devel/one', recipe());
  const { results, byWorkers } = loadAll([{ dir: path.join(root, 'devel/one'), origin: 'devel/one', layer: 'l' }], { workers: 2 });
  assert.equal(byWorkers, 0);
  assert.equal(results[0]!.port?.recipe.version, '1.0');
});
