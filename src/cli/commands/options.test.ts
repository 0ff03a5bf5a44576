import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../main.js';
import { assertGolden } from '../../util/golden.js';
import { recipe, tmpDir, writePort } from '../../tree/testkit.js';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'options.golden.txt');

async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, env: {}, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const OPTS = `options:
  NLS:
    default: false
    description: Native language support
  DOCS:
    default: true
    description: Build the manual
`;

function setup(t: { after: (fn: () => void) => void }): { root: string; home: string } {
  const root = tmpDir(t);
  writePort(path.join(root, 'ports'), 'editors/ed', recipe('1.0', OPTS));
  writePort(path.join(root, 'ports'), 'devel/plain', recipe());
  fs.writeFileSync(path.join(root, 'list.txt'), '# my ports\neditors/ed\n\ndevel/plain   # no options\n');
  return { root, home: path.join(root, 'home') };
}

test('kiln options --set stores choices and --show prints defaults, choices and values', async (t) => {
  const { root, home } = setup(t);
  assert.equal((await kiln(root, 'tree', 'add', 'main', '--path', 'ports', '--home', home)).code, 0);
  let r = await kiln(
    root,
    'options',
    '-p',
    'main',
    '--set',
    'editors/ed:NLS=on',
    '--set',
    'editors/ed:DOCS=off',
    '--home',
    home,
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'main: editors/ed:NLS=on\nmain: editors/ed:DOCS=off');
  r = await kiln(root, 'options', '-p', 'main', '-f', 'list.txt', '--show', '--home', home);
  assert.equal(r.code, 0, r.err);
  assertGolden(GOLDEN, `${r.out}\n`);
  r = await kiln(root, 'options', '-p', 'main', 'editors/ed', '--json', '--home', home);
  assert.deepEqual(JSON.parse(r.out), [
    {
      origin: 'editors/ed',
      layer: 'main',
      options: [
        { name: 'DOCS', default: true, chosen: false, value: false, description: 'Build the manual' },
        { name: 'NLS', default: false, chosen: true, value: true, description: 'Native language support' },
      ],
    },
  ]);
  // A tree given by path keeps its choices under the folder's name.
  r = await kiln(root, 'options', '-p', './ports', '--set', 'editors/ed:NLS=off', '--show', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^ports: editors\/ed:NLS=off\neditors\/ed \(layer ports\)/);
});

test('kiln options rejects unknown options, origins, trees and bad usage with exit 2', async (t) => {
  const { root, home } = setup(t);
  let r = await kiln(root, 'options', '-p', 'ports', '--set', 'editors/ed:NSL=on', '--home', home);
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    'kiln: editors/ed has no option NSL (its options: DOCS, NLS) [KILN_E_OPTION]\n' +
      "hint: see the port's options with `kiln options -p TREE ORIGIN --show`",
  );
  r = await kiln(root, 'options', '-p', 'ports', '--set', 'editors/ed:NLS=maybe', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /the value must be on or off/);
  r = await kiln(root, 'options', '-p', 'ports', 'devel/nope', 'net/gone', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /not in tree ports: devel\/nope, net\/gone \[KILN_E_PORT_NOT_FOUND\]/);
  r = await kiln(root, 'options', '-p', 'nosuch', 'editors/ed', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /\[KILN_E_TREE_NOT_FOUND\]/);
  assert.equal((await kiln(root, 'options', 'editors/ed', '--home', home)).code, 2);
  assert.equal((await kiln(root, 'options', '-p', 'ports', '--home', home)).code, 2);
  r = await kiln(root, 'options', '-p', 'ports', '-f', 'missing.txt', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /cannot read list file missing\.txt/);
});
