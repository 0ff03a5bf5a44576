/**
 * A registered tree whose folder has gone is an error (KILN_E_TREE_MISSING), never an empty tree: a bulk would
 * otherwise plan to delete every package it has. Through the CLI, with a real store in a temporary home.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../main.js';
import { openStore } from '../../store/index.js';

async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, env: {}, isTTY: false });
  return { code, out: out.join(''), err: err.join('\n') };
}

test('bulk on a registered tree whose folder is gone stops with KILN_E_TREE_MISSING and deletes nothing', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tree-missing-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const tree = path.join(root, 'ports');
  const home = path.join(root, 'home');
  fs.mkdirSync(path.join(tree, 'misc', 'hello'), { recursive: true });
  fs.writeFileSync(
    path.join(tree, 'misc', 'hello', 'port.yaml'),
    'version: "1.0"\nsummary: a port\nbuild:\n  system: make\n',
  );
  assert.equal((await kiln(root, 'tree', 'add', 'mine', '--path', tree, '--home', home)).code, 0);
  const extra = path.join(root, 'extra');
  fs.mkdirSync(path.join(extra, 'misc', 'other'), { recursive: true });
  fs.writeFileSync(
    path.join(extra, 'misc', 'other', 'port.yaml'),
    'version: "1.0"\nsummary: b\nbuild:\n  system: make\n',
  );
  assert.equal((await kiln(root, 'tree', 'add', 'top', '--overlay', `mine,${extra}`, '--home', home)).code, 0);
  // What a publish left: the package of the tree's one port.
  const row = {
    origin: 'misc/hello',
    pkgname: 'hello',
    version: '1.0-k1',
    arch: 'amd64',
    identity: 'i',
    components: { format: 0, jail: 'x', recipe: 'x', options: {}, build: {}, run: {} },
    files: ['All/hello_1.0-k1_amd64.deb'],
    built: '2026-01-01T00:00:00Z',
  };
  const store = openStore(home);
  try {
    store.bulks.replacePackages('j', 'mine', [row]);
  } finally {
    store.close();
  }
  // Before: the plan keeps the package.
  const ok = await kiln(root, 'bulk', '-n', '-a', '-j', 'j', '-p', 'mine', '--home', home);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /misc\/hello/);
  assert.match(ok.out, / 0 to delete/);

  fs.rmSync(tree, { recursive: true, force: true });
  for (const argv of [
    ['bulk', '-n', '-a', '-j', 'j', '-p', 'mine'],
    ['bulk', '-a', '--yes', '-j', 'j', '-p', 'mine'],
  ]) {
    const r = await kiln(root, ...argv, '--home', home);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /\[KILN_E_TREE_MISSING\]/);
    assert.ok(r.err.includes(`tree mine is registered, but its folder ${tree} is gone`), r.err);
    assert.match(r.err, /hint: restore .*, or unregister the tree with `kiln tree delete mine`/);
    assert.equal(r.out, '', 'no plan is printed');
  }
  // An overlay over it names itself and the layer.
  const o = await kiln(root, 'bulk', '-n', '-a', '-j', 'j', '-p', 'top', '--home', home);
  assert.equal(o.code, 2);
  assert.ok(o.err.includes(`tree top is registered, but its folder ${tree} (its layer mine) is gone`), o.err);
  const after = openStore(home);
  try {
    assert.deepEqual(
      after.bulks.packages('j', 'mine').map((p) => p.origin),
      ['misc/hello'],
      'the package is still in the store',
    );
    assert.equal(after.bulks.listBulks({ jail: 'j', tree: 'mine', limit: 10 }).length, 0, 'no bulk was started');
  } finally {
    after.close();
  }
});
