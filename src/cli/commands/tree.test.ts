import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../main.js';
import { commitAll, gitRepo, recipe, tmpDir, writePort } from '../../tree/testkit.js';

/** Runs kiln in-process with captured output. */
async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, env: {}, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('kiln tree add/list/show/delete on folders and overlays', async (t) => {
  const root = tmpDir(t);
  const home = path.join(root, 'home');
  writePort(path.join(root, 'base'), 'devel/a', recipe('1.0'));
  writePort(path.join(root, 'base'), 'devel/b', recipe('1.0'));
  writePort(path.join(root, 'local'), 'devel/a', recipe('2.0'));

  let r = await kiln(root, 'tree', 'add', 'base', '--path', 'base', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `tree base added: folder ${path.join(root, 'base')}`);
  r = await kiln(root, 'tree', 'add', 'mine', '--overlay', 'base,./local', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`layers, lowest first: base, ${path.join(root, 'local')}$`));

  r = await kiln(root, 'tree', 'list', '--home', home);
  assert.equal(r.code, 0);
  const lines = r.out.split('\n');
  assert.match(lines[0]!, /^NAME +KIND +UPDATED +SOURCE$/);
  assert.match(
    lines[1]!,
    new RegExp(`^base +path +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  ${path.join(root, 'base')}$`),
  );
  assert.match(lines[2]!, new RegExp(`^mine +overlay .* base,${path.join(root, 'local')}$`));
  r = await kiln(root, 'tree', 'list', '--json', '--home', home);
  const listed = JSON.parse(r.out) as { name: string; kind: string; layers: { name: string; dir: string }[] }[];
  assert.deepEqual(
    listed.map((x) => [x.name, x.kind, x.layers.length]),
    [
      ['base', 'path', 1],
      ['mine', 'overlay', 2],
    ],
  );

  r = await kiln(root, 'tree', 'show', 'mine', 'devel/a', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    `devel/a: from layer ${path.join(root, 'local')} (${path.join(root, 'local/devel/a')})\n` +
      `  shadows layer base (${path.join(root, 'base/devel/a')})`,
  );
  r = await kiln(root, 'tree', 'show', 'mine', 'devel/b', '--json', '--home', home);
  assert.deepEqual(JSON.parse(r.out), {
    tree: 'mine',
    origin: 'devel/b',
    layer: 'base',
    dir: path.join(root, 'base/devel/b'),
    shadows: [],
  });
  r = await kiln(root, 'tree', 'show', 'mine', 'devel/zzz', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /devel\/zzz is not in tree mine \[KILN_E_PORT_NOT_FOUND\]/);

  r = await kiln(root, 'tree', 'delete', 'base', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /tree "base" is a layer of overlay mine \[KILN_E_TREE_IN_USE\]\nhint: delete that overlay first/);
  assert.equal((await kiln(root, 'tree', 'delete', 'mine', '--home', home)).code, 0);
  r = await kiln(root, 'tree', 'delete', 'base', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /left as it is/);
  assert.ok(fs.existsSync(path.join(root, 'base/devel/a/port.yaml')));
  r = await kiln(root, 'tree', 'list', '--home', home);
  assert.match(r.out, /no trees registered/);
});

test('kiln tree add --git and update; bad usage exits 2 with a hint', async (t) => {
  const root = tmpDir(t);
  const home = path.join(root, 'home');
  const up = path.join(root, 'up');
  const url = await gitRepo(up, { 'devel/a': recipe() });
  let r = await kiln(root, 'tree', 'add', 'g', '--git', url, '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    new RegExp(`^tree g added: ${url} branch main at [0-9a-f]{12}, cloned in ${path.join(home, 'trees/g')}$`),
  );
  writePort(up, 'devel/b', recipe());
  const head = await commitAll(up, 'more');
  r = await kiln(root, 'tree', 'update', 'g', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `g: at ${head.slice(0, 12)}`);
  assert.ok(fs.existsSync(path.join(home, 'trees/g/devel/b/port.yaml')));

  r = await kiln(root, 'tree', 'add', 'g', '--path', up, '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /\[KILN_E_TREE_EXISTS\]\nhint: .*kiln tree delete g/);
  for (const argv of [
    ['tree'],
    ['tree', 'frob'],
    ['tree', 'add', 'x'],
    ['tree', 'add', 'x', '--path', up, '--git', url],
    ['tree', 'show', 'g'],
    ['tree', 'add', 'x', '--pth', up],
    ['tree', 'list', 'extra'],
  ]) {
    r = await kiln(root, ...argv, '--home', home);
    assert.equal(r.code, 2, argv.join(' '));
  }
  r = await kiln(root, 'tree', 'update', 'nosuch', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /no tree named "nosuch" is registered \[KILN_E_TREE_NOT_FOUND\]\nhint: registered trees: g/);
  r = await kiln(root, 'tree', 'delete', 'g', '--home', home);
  assert.equal(r.code, 0);
  assert.ok(!fs.existsSync(path.join(home, 'trees/g')));
});
