import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { indexTree } from './merge.js';
import type { TreeLayer } from './ref.js';
import { STAMP, STAMP_ABSENT, joinWalk, walkCategories, walkShare, walkTree, type TreeWalk } from './walk.js';
import { recipe, tmpDir, writePort } from './testkit.js';

/** Two layers with what makes a walk's merge and order hard. */
function layers(t: { after: (fn: () => void) => void }): TreeLayer[] {
  const root = tmpDir(t);
  const low = path.join(root, 'low');
  const high = path.join(root, 'high');
  // `a` and `a-b`: `a-b/…` sorts before `a/…`, though the category `a` sorts before `a-b`.
  for (const o of ['a/x', 'a/y', 'a-b/z', 'a.c/q', 'dup/both', 'dup/low-only', 'deep/shadowed'])
    writePort(low, o, recipe());
  for (const o of ['a/y', 'dup/both', 'dup/high-only', 'zz/last', 'deep/shadowed']) writePort(high, o, recipe('2.0'));
  fs.rmSync(path.join(high, 'deep/shadowed/port.yaml')); // a folder without port.yaml does not win
  fs.mkdirSync(path.join(high, 'a/empty')); // no port.yaml: stamped absent
  fs.writeFileSync(path.join(high, 'a/afile'), 'not a folder'); // no folder: stamped absent
  fs.mkdirSync(path.join(high, '.git/objects'), { recursive: true }); // hidden: no category
  writePort(high, 'a/.hidden', recipe()); // hidden: no port
  return [
    { name: 'low', dir: low },
    { name: 'high', dir: high },
  ];
}

/** The walk as `indexTree` and a stat per winner give it (the walk's definition). */
function expected(ls: TreeLayer[]): {
  origins: string[];
  layer: number[];
  absent: string[];
  shadowed: [string, string[]][];
} {
  const index = indexTree({ name: 't', layers: ls }, { checkSingles: false });
  const origins = [...index.winners.keys()];
  const absent = origins.filter((o) => !fs.existsSync(`${index.winners.get(o)!.dir}/${o}/port.yaml`));
  return {
    origins,
    layer: origins.map((o) => ls.indexOf(index.winners.get(o)!)),
    absent,
    shadowed: [...index.shadowed],
  };
}

function summary(w: TreeWalk): {
  origins: string[];
  layer: number[];
  absent: string[];
  shadowed: [string, string[]][];
} {
  return {
    origins: w.origins,
    layer: [...Array.from(w.layer)],
    absent: w.origins.filter((_, i) => w.stamps[STAMP * i + 5] === STAMP_ABSENT),
    shadowed: w.shadowed,
  };
}

test('a walk gives indexTree’s winners, order, layers and shadowing, and stamps absent what has no port.yaml', (t) => {
  const ls = layers(t);
  const want = expected(ls);
  // The non-folder entry is no origin to indexTree; the walk takes it and stamps it absent (the scan skips those).
  const w = walkTree(ls)!;
  const got = summary(w);
  assert.deepEqual(
    got.origins.filter((o) => o !== 'a/afile'),
    want.origins,
  );
  assert.deepEqual(got.absent.sort(), [...want.absent, 'a/afile'].sort());
  assert.deepEqual(got.shadowed, want.shadowed);
  assert.deepEqual(want.shadowed, [
    ['a/y', ['low']],
    ['dup/both', ['low']],
  ]);
  assert.deepEqual(got.origins.slice(0, 3), ['a-b/z', 'a.c/q', 'a/afile']);
  const at = (o: string): number => got.origins.indexOf(o);
  assert.equal(got.layer[at('a/y')], 1);
  assert.equal(got.layer[at('a/x')], 0);
  assert.equal(got.layer[at('deep/shadowed')], 0);
  // A real stamp: the size of the winning port.yaml.
  assert.equal(w.stamps[STAMP * at('dup/both')], fs.statSync(path.join(ls[1]!.dir, 'dup/both/port.yaml')).size);
});

test('a walk shared by category between two walkers, in any interleaving, joins to the same walk', (t) => {
  const ls = layers(t);
  const whole = summary(walkTree(ls)!);
  const cats = walkCategories(ls);
  assert.ok(cats.length >= 6);
  // Walker A claims the categories of `pattern` bit 1, walker B the others (as two threads racing for the counter).
  for (const pattern of [0, 0b1, 0b10101, 0b111111, 0b100110]) {
    let next = 0;
    const a = walkShare(ls, cats, () => {
      while (next < cats.length && ((pattern >> next) & 1) === 0) next++;
      return next++;
    });
    const rest = cats.map((_, k) => k).filter((k) => !a.cats.includes(k));
    let r = 0;
    const b = walkShare(ls, cats, () => rest[r++] ?? cats.length);
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      assert.deepEqual(summary(joinWalk(cats, order)!), whole, `pattern ${pattern}`);
    }
  }
});

test('shares that miss a category, repeat one, or were stopped do not join', (t) => {
  const ls = layers(t);
  const cats = walkCategories(ls);
  let n = 0;
  const all = walkShare(ls, cats, () => n++);
  let m = 0;
  const firstTwo = walkShare(ls, cats, () => (m < 2 ? m++ : cats.length));
  assert.equal(joinWalk(cats, [firstTwo]), undefined, 'categories missing');
  assert.equal(joinWalk(cats, [all, firstTwo]), undefined, 'categories walked twice');
  let s = 0;
  const stopped = walkShare(
    ls,
    cats,
    () => s++,
    () => s >= 2,
  );
  assert.equal(stopped.ok, false);
  let k = 2;
  const others = walkShare(ls, cats, () => k++);
  assert.equal(joinWalk(cats, [stopped, others]), undefined, 'a stopped share');
  assert.notEqual(joinWalk(cats, [all]), undefined);
});
