import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { isUnparsedLazyRecipe, loadPort } from '../recipe/index.js';
import { loadAll, startLoaders } from './parallel.js';
import { recipeLoaders } from './recipes.js';
import { recipe, tmpDir, writePort } from './testkit.js';

test('worker threads really load the recipes, in job order', async (t) => {
  const root = tmpDir(t);
  const jobs = [];
  for (let i = 0; i < 300; i++) {
    const origin = `cat${i % 3}/port${i}`;
    writePort(root, origin, i === 17 ? 'summary: [bad\n' : recipe(`2.${i}`));
    jobs.push({ dir: path.join(root, origin), origin, layer: 'l' });
  }
  const { results, byWorkers } = loadAll(jobs, {
    workers: 2,
    minJobs: 0,
    callerLoads: false,
    loaders: await recipeLoaders(),
  });
  assert.equal(byWorkers, 300);
  assert.deepEqual(
    results,
    jobs.map((j) => loadPort(j.dir, j.origin, j.layer)),
  );
  assert.equal(results[17]!.port, undefined);
  assert.ok(results[17]!.problems.length > 0);
});

test('below the threshold no worker starts', async (t) => {
  const root = tmpDir(t);
  writePort(root, 'devel/one', recipe());
  const { results, byWorkers } = loadAll([{ dir: path.join(root, 'devel/one'), origin: 'devel/one', layer: 'l' }], {
    workers: 2,
    loaders: await recipeLoaders(),
  });
  assert.equal(byWorkers, 0);
  // Loaded on this thread, the port keeps a lazy recipe too (the parsed rest dies young).
  assert.ok(isUnparsedLazyRecipe(results[0]!.port!.recipe));
  assert.equal(results[0]!.port?.recipe.version, '1.0');
  assert.ok(isUnparsedLazyRecipe(results[0]!.port!.recipe), 'scalars are data');
  assert.equal(results[0]!.port?.recipe.build.system, 'make');
  assert.ok(!isUnparsedLazyRecipe(results[0]!.port!.recipe), 'build is parsed when read');
});

test('ports loaded by workers carry lazy recipes: same keys, order and values; parsed only when read', async (t) => {
  const root = tmpDir(t);
  const jobs = [];
  const bodies = [
    recipe(
      '1.0',
      'name: libfoo\ndescription: |\n  Long text.\ndepends:\n  build: [cat0/port1, outside/none]\n  run: [cat0/port1]\n  system: [pkg-config, zlib1g-dev]\n  system_run: ["libc6 (>= 2.36)"]\n',
    ),
    recipe(
      '2.0',
      'homepage: https://example.org/\noptions:\n  NLS:\n    default: true\n    description: Native language support\n',
    ),
    recipe('3.0', 'patches: [fix.patch]\ndepends:\n  system: [pkg-config]\n'),
    'version: 1.0\nsummary: not a string version\nbuild:\n  system: make\n',
    recipe('4.0', 'license: MIT\narch: [amd64]\n'),
  ];
  for (let i = 0; i < 40; i++) {
    const origin = `cat${i % 2}/port${i}`;
    writePort(root, origin, bodies[i % bodies.length]!, { 'fix.patch': `patch ${i}\n` });
    jobs.push({ dir: path.join(root, origin), origin, layer: 'l' });
  }
  const { results, byWorkers } = loadAll(jobs, {
    workers: 2,
    minJobs: 0,
    callerLoads: false,
    loaders: await recipeLoaders(),
  });
  assert.equal(byWorkers, 40);
  const direct = jobs.map((j) => loadPort(j.dir, j.origin, j.layer));
  const lazyPorts = results.map((x) => x.port).filter((p) => p !== undefined);
  assert.equal(lazyPorts.length, 32);
  // Planning reads depends and options (and plans print versions): nothing is parsed.
  for (const p of lazyPorts) {
    void p.recipe.depends.build.length;
    void Object.keys(p.recipe.options);
    void `${p.recipe.version}-k${p.recipe.revision} ${p.recipe.summary}`;
    assert.ok(isUnparsedLazyRecipe(p.recipe), `${p.origin} was parsed by reading depends/options`);
  }
  assert.deepEqual(results[0]!.port!.recipe.depends, {
    build: ['cat0/port1', 'outside/none'],
    run: ['cat0/port1'],
    system: ['pkg-config', 'zlib1g-dev'],
    system_run: ['libc6 (>= 2.36)'],
  });
  assert.equal(results[0]!.port!.pkgname, 'libfoo');
  assert.equal(results[2]!.port!.pkgname, 'port2');
  assert.deepEqual(results[1]!.port!.recipe.options, {
    NLS: { default: true, description: 'Native language support' },
  });
  // Structured clone (postMessage) of a port whose recipe is not parsed yet gets the whole recipe.
  assert.ok(isUnparsedLazyRecipe(results[6]!.port!.recipe));
  assert.deepEqual(structuredClone(results[6]!.port), direct[6]!.port);
  // Same JSON (so the same keys in the same order) as an eager load, problems included.
  assert.equal(JSON.stringify(results), JSON.stringify(direct));
  assert.deepEqual(results, direct);
  assert.ok(!isUnparsedLazyRecipe(results[0]!.port!.recipe));
  assert.equal(results[0]!.port!.recipe.description, 'Long text.\n');
  // A lazy recipe behaves as a plain object: spread, assignment.
  const copy = { ...results[4]!.port!.recipe };
  assert.deepEqual(copy, direct[4]!.port!.recipe);
  const r = results[9]!.port!.recipe as { version: string };
  r.version = '9.9';
  assert.equal(r.version, '9.9');
  assert.equal(results[3]!.port, undefined);
  assert.match(results[3]!.problems[0]!.message, /string/);
});

test('workers started ahead take their jobs when they come, or are sent away for a small list', async (t) => {
  const root = tmpDir(t);
  const jobs = [];
  for (let i = 0; i < 50; i++) {
    // A layer folder with a tab and a newline in its name still round-trips to the workers.
    const origin = `cat${i % 2}/port${i}`;
    const dir = path.join(root, 'odd\tname\nhere', origin);
    writePort(path.join(root, 'odd\tname\nhere'), origin, recipe(`3.${i}`));
    jobs.push({ dir, origin, layer: i % 3 === 0 ? 'upper' : 'lower' });
  }
  const pool = startLoaders(2);
  const { results, byWorkers } = loadAll(jobs, {
    pool,
    minJobs: 0,
    callerLoads: false,
    loaders: await recipeLoaders(),
  });
  assert.equal(byWorkers, 50);
  assert.deepEqual(
    results,
    jobs.map((j) => loadPort(j.dir, j.origin, j.layer)),
  );
  assert.equal(results[3]!.port!.layer, 'upper');
  // Below the threshold the pool is dismissed and the caller loads everything.
  const small = loadAll(jobs.slice(0, 5), { pool: startLoaders(1), minJobs: 100, loaders: await recipeLoaders() });
  assert.equal(small.byWorkers, 0);
  assert.equal(small.results[4]!.port!.recipe.version, '3.4');
});
