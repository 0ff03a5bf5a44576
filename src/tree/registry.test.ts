import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openStore, type Store } from '../store/index.js';
import { KilnError } from '../util/errors.js';
import { addTree, deleteTree, listTrees, showPort, updateTree, treesDir } from './registry.js';
import { resolveTree } from './ref.js';
import { commitAll, git, gitRepo, recipe, tmpDir, writePort } from './testkit.js';

function setup(t: { after: (fn: () => void) => void }): { root: string; home: string; store: Store } {
  const root = tmpDir(t);
  const home = path.join(root, 'home');
  const store = openStore(home);
  t.after(() => store.close());
  return { root, home, store };
}

const isKiln =
  (code: string, re?: RegExp) =>
  (e: unknown): boolean =>
    e instanceof KilnError && e.code === code && (re === undefined || re.test(`${e.message}\n${e.hint ?? ''}`));

test('add --path stores the absolute folder; bad folders, names and duplicates are refused', async (t) => {
  const { root, home, store } = setup(t);
  writePort(path.join(root, 'ports'), 'devel/a', recipe());
  fs.mkdirSync(path.join(root, 'empty/devel/nothing'), { recursive: true });
  const rec = await addTree(store, home, { name: 'main', path: 'ports', cwd: root });
  assert.deepEqual(rec.spec, { kind: 'path', path: path.join(root, 'ports') });
  await assert.rejects(
    addTree(store, home, { name: 'main', path: 'ports', cwd: root }),
    isKiln('KILN_E_TREE_EXISTS', /kiln tree delete main/),
  );
  await assert.rejects(
    addTree(store, home, { name: 'x', path: 'nope', cwd: root }),
    isKiln('KILN_E_TREE_NOT_FOUND', /nope/),
  );
  await assert.rejects(
    addTree(store, home, { name: 'x', path: 'empty', cwd: root }),
    isKiln('KILN_E_TREE_INVALID', /CATEGORY\/NAME\/port\.yaml/),
  );
  await assert.rejects(
    addTree(store, home, { name: '-bad', path: 'ports', cwd: root }),
    isKiln('KILN_E_TREE_INVALID', /not a valid tree name/),
  );
  await assert.rejects(addTree(store, home, { name: 'a/b', path: 'ports', cwd: root }), isKiln('KILN_E_TREE_INVALID'));
  await assert.rejects(
    addTree(store, home, { name: 'x', path: 'ports', overlay: 'a,b', cwd: root }),
    isKiln('KILN_E_USAGE', /exactly one/),
  );
  await assert.rejects(addTree(store, home, { name: 'x', cwd: root }), isKiln('KILN_E_USAGE'));
  await assert.rejects(
    addTree(store, home, { name: 'x', path: 'ports', branch: 'b', cwd: root }),
    isKiln('KILN_E_USAGE', /--branch/),
  );
  assert.deepEqual(
    listTrees(store).map((x) => x.name),
    ['main'],
  );
});

test('add --git clones into HOME/trees/NAME; update fetches and resets to the branch', async (t) => {
  const { root, home, store } = setup(t);
  const upstream = path.join(root, 'upstream');
  const url = await gitRepo(upstream, { 'devel/a': recipe('1.0') });
  const rec = await addTree(store, home, { name: 'g', git: url });
  const clone = path.join(treesDir(home), 'g');
  assert.equal(rec.spec.kind, 'git');
  assert.ok(rec.spec.kind === 'git' && rec.spec.dir === clone && rec.spec.branch === 'main');
  assert.ok(rec.spec.kind === 'git' && rec.spec.commit === (await git(upstream, 'rev-parse', 'HEAD')));
  assert.match(fs.readFileSync(path.join(clone, 'devel/a/port.yaml'), 'utf8'), /"1\.0"/);
  assert.deepEqual(fs.readdirSync(treesDir(home)), ['g'], 'no partial clone is left behind');

  // Upstream moves on; the clone has local junk and edits; update makes it exactly upstream's branch.
  fs.writeFileSync(path.join(upstream, 'devel/a/port.yaml'), recipe('2.0'));
  writePort(upstream, 'devel/b', recipe());
  const head = await commitAll(upstream, 'v2');
  fs.writeFileSync(path.join(clone, 'devel/a/port.yaml'), 'garbage');
  fs.writeFileSync(path.join(clone, 'stray.txt'), 'x');
  const [u] = await updateTree(store, home, 'g');
  assert.equal(u?.commit, head);
  assert.match(fs.readFileSync(path.join(clone, 'devel/a/port.yaml'), 'utf8'), /"2\.0"/);
  assert.ok(fs.existsSync(path.join(clone, 'devel/b/port.yaml')));
  assert.ok(!fs.existsSync(path.join(clone, 'stray.txt')));
  const after = store.getTree('g')!;
  assert.ok(after.spec.kind === 'git' && after.spec.commit === head);
});

test('add --git --branch follows that branch; a repository that is not a tree, or a bad URL, leaves nothing', async (t) => {
  const { root, home, store } = setup(t);
  const upstream = path.join(root, 'upstream');
  const url = await gitRepo(upstream, { 'devel/a': recipe('1.0') });
  await git(upstream, 'checkout', '--quiet', '-b', 'stable');
  writePort(upstream, 'devel/only-stable', recipe());
  await commitAll(upstream, 'stable only');
  await git(upstream, 'checkout', '--quiet', 'main');
  const rec = await addTree(store, home, { name: 's', git: url, branch: 'stable' });
  assert.ok(rec.spec.kind === 'git' && rec.spec.branch === 'stable');
  assert.ok(fs.existsSync(path.join(treesDir(home), 's/devel/only-stable/port.yaml')));

  const notTree = path.join(root, 'nottree');
  fs.mkdirSync(notTree);
  await git(notTree, 'init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(notTree, 'README'), 'hello');
  await commitAll(notTree, 'readme');
  await assert.rejects(
    addTree(store, home, { name: 'n', git: `file://${notTree}` }),
    isKiln('KILN_E_TREE_INVALID', /does not look like a ports tree/),
  );
  await assert.rejects(
    addTree(store, home, { name: 'm', git: `file://${root}/missing` }),
    isKiln('KILN_E_TREE_INVALID', /git clone/),
  );
  await assert.rejects(
    addTree(store, home, { name: 'b', git: url, branch: 'nosuch' }),
    isKiln('KILN_E_TREE_INVALID', /nosuch/),
  );
  assert.deepEqual(fs.readdirSync(treesDir(home)), ['s']);
  assert.deepEqual(
    listTrees(store).map((x) => x.name),
    ['s'],
  );
});

test('overlays: layers lowest first, overlays of overlays flatten, show names the right layer', async (t) => {
  const { root, home, store } = setup(t);
  const base = path.join(root, 'base');
  writePort(base, 'devel/a', recipe('1.0'));
  writePort(base, 'devel/b', recipe('1.0'));
  const mid = path.join(root, 'mid');
  writePort(mid, 'devel/a', recipe('2.0'));
  const top = path.join(root, 'top');
  writePort(top, 'devel/a', recipe('3.0'));
  writePort(top, 'devel/c', recipe());
  await addTree(store, home, { name: 'base', path: base });
  await addTree(store, home, { name: 'o1', overlay: 'base,mid', cwd: root });
  await addTree(store, home, { name: 'o2', overlay: ['o1', top] });
  await assert.rejects(
    addTree(store, home, { name: 'o3', overlay: 'base,nosuch,' }),
    isKiln('KILN_E_TREE_INVALID', /at least two layers, none empty/),
  );
  await assert.rejects(
    addTree(store, home, { name: 'o3', overlay: 'base,nosuch', cwd: root }),
    isKiln('KILN_E_TREE_NOT_FOUND', /nosuch/),
  );
  await assert.rejects(addTree(store, home, { name: 'o3', overlay: 'base' }), isKiln('KILN_E_TREE_INVALID'));

  const ref = resolveTree(store, 'o2', root);
  assert.deepEqual(ref, {
    name: 'o2',
    layers: [
      { name: 'base', dir: base },
      { name: mid, dir: mid },
      { name: top, dir: top },
    ],
  });
  assert.deepEqual(
    listTrees(store)
      .find((x) => x.name === 'o2')
      ?.layers.map((l) => l.dir),
    [base, mid, top],
  );

  const a = showPort(store, 'o2', 'devel/a');
  assert.equal(a.layer.dir, top);
  assert.deepEqual(
    a.shadows.map((l) => l.dir),
    [mid, base],
  );
  const b = showPort(store, 'o2', 'devel/b');
  assert.equal(b.layer.name, 'base');
  assert.deepEqual(b.shadows, []);
  assert.equal(showPort(store, 'o1', 'devel/a').layer.dir, mid);
  assert.throws(() => showPort(store, 'o1', 'devel/c'), isKiln('KILN_E_PORT_NOT_FOUND', /devel\/c is not in tree o1/));
  assert.throws(() => showPort(store, 'o1', '../devel'), isKiln('KILN_E_PORT_NOT_FOUND'));
  assert.throws(
    () => showPort(store, 'nosuch', 'devel/a'),
    isKiln('KILN_E_TREE_NOT_FOUND', /registered trees: base, o1, o2/),
  );
});

test('delete: refuses a tree an overlay uses, never touches a --path folder, removes a git clone', async (t) => {
  const { root, home, store } = setup(t);
  const base = path.join(root, 'base');
  writePort(base, 'devel/a', recipe());
  const url = await gitRepo(path.join(root, 'up'), { 'devel/z': recipe() });
  await addTree(store, home, { name: 'base', path: base });
  await addTree(store, home, { name: 'g', git: url });
  await addTree(store, home, { name: 'ov', overlay: 'base,g' });
  await addTree(store, home, { name: 'ov2', overlay: 'g,base' });
  store.setOptions('base', [{ origin: 'devel/a', option: 'NLS', value: true }]);
  assert.throws(() => deleteTree(store, home, 'base'), isKiln('KILN_E_TREE_IN_USE', /overlay ov, ov2/));
  assert.throws(() => deleteTree(store, home, 'g'), isKiln('KILN_E_TREE_IN_USE', /ov, ov2/));
  assert.throws(() => deleteTree(store, home, 'nosuch'), isKiln('KILN_E_TREE_NOT_FOUND'));
  deleteTree(store, home, 'ov');
  deleteTree(store, home, 'ov2');
  assert.ok(fs.existsSync(path.join(base, 'devel/a')), 'folders of an overlay are untouched');
  deleteTree(store, home, 'base');
  assert.ok(fs.existsSync(path.join(base, 'devel/a/port.yaml')), 'a --path folder is never deleted');
  assert.deepEqual(store.getOptions('base'), []);
  const clone = path.join(treesDir(home), 'g');
  assert.ok(fs.existsSync(clone));
  deleteTree(store, home, 'g');
  assert.ok(!fs.existsSync(clone), "kiln's git clone is removed");
  assert.deepEqual(listTrees(store), []);
});

test('update: a path tree is re-checked; an overlay updates each git layer', async (t) => {
  const { root, home, store } = setup(t);
  const base = path.join(root, 'base');
  writePort(base, 'devel/a', recipe());
  const up = path.join(root, 'up');
  const url = await gitRepo(up, { 'devel/z': recipe('1.0') });
  await addTree(store, home, { name: 'base', path: base });
  await addTree(store, home, { name: 'g', git: url });
  await addTree(store, home, { name: 'ov', overlay: 'base,g' });
  fs.writeFileSync(path.join(up, 'devel/z/port.yaml'), recipe('9.9'));
  const head = await commitAll(up, 'bump');
  const done = await updateTree(store, home, 'ov');
  assert.deepEqual(
    done.map((d) => [d.name, d.kind, d.commit]),
    [
      ['base', 'path', undefined],
      ['g', 'git', head],
      ['ov', 'overlay', undefined],
    ],
  );
  assert.match(fs.readFileSync(path.join(treesDir(home), 'g/devel/z/port.yaml'), 'utf8'), /9\.9/);
  fs.rmSync(path.join(base, 'devel'), { recursive: true });
  await assert.rejects(updateTree(store, home, 'base'), isKiln('KILN_E_TREE_INVALID'));
  await assert.rejects(updateTree(store, home, 'nosuch'), isKiln('KILN_E_TREE_NOT_FOUND'));
});

test('resolveTree takes a registered name or a tree folder path', async (t) => {
  const { root, home, store } = setup(t);
  const dir = path.join(root, 'my ports');
  writePort(dir, 'devel/a', recipe());
  await addTree(store, home, { name: 'reg', path: dir });
  assert.deepEqual(resolveTree(store, 'reg', '/'), { name: 'reg', layers: [{ name: 'reg', dir }] });
  assert.deepEqual(resolveTree(null, './my ports', root), { name: 'my_ports', layers: [{ name: 'my_ports', dir }] });
  assert.deepEqual(resolveTree(store, dir, '/'), { name: 'my_ports', layers: [{ name: 'my_ports', dir }] });
  assert.throws(() => resolveTree(store, 'nosuch', root), isKiln('KILN_E_TREE_NOT_FOUND', /registered trees: reg/));
  assert.throws(() => resolveTree(null, root, '/'), isKiln('KILN_E_TREE_INVALID', /does not look like a ports tree/));
});
