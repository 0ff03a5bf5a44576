import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../main.js';
import { assertGolden } from '../../util/golden.js';
import { planBulk } from './bulk.js';
import type { CliContext } from '../context.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(HERE, '../../plan/__fixtures__/tree');
const GOLDEN = path.resolve(HERE, '../../plan/__fixtures__/golden');

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bulk-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, env: {}, isTTY: false });
  return { code, out: out.join(''), err: err.join('\n') };
}

/** Copies the fixture tree to a fresh folder (so tests may change it). */
function copyTree(root: string): string {
  const dir = path.join(root, 'ports');
  fs.cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

test('bulk -n --explain on the fixture tree: plan on stdout, every located problem on stderr, exit 2 (golden)', async (t) => {
  const root = tmp(t);
  const tree = copyTree(root);
  const r = await kiln(
    root,
    'bulk',
    '-n',
    '--explain',
    '-a',
    '-j',
    'bookworm',
    '-p',
    'ports',
    '--home',
    path.join(root, 'home'),
  );
  assert.equal(r.code, 2);
  assertGolden(path.join(GOLDEN, 'fresh-explain.txt'), r.out);
  assertGolden(path.join(GOLDEN, 'cli-stderr.txt'), `${r.err.split(tree).join('TREE')}\n`);
  const lines = r.err.split('\n');
  assert.match(lines[0]!, /^kiln: note: jail bookworm does not exist yet/);
  assert.ok(
    lines.includes(`${tree}/editors/nano/port.yaml:4:21: depends.build[1]: devel/ncurses is not in tree ports`),
    r.err,
  );
  assert.ok(
    lines.some(
      (l) =>
        l.startsWith(`${tree}/devel/chicken/port.yaml:`) &&
        l.endsWith('dependency cycle: devel/chicken → devel/egg → devel/chicken'),
    ),
    r.err,
  );
});

test("bulk -n --json prints the spec's one object", async (t) => {
  const root = tmp(t);
  copyTree(root);
  const r = await kiln(
    root,
    'bulk',
    '-n',
    '--json',
    '-a',
    '-j',
    'bookworm',
    '-p',
    './ports',
    '--home',
    path.join(root, 'home'),
  );
  assert.equal(r.code, 2);
  assert.equal(r.out.split('\n').filter(Boolean).length, 1, 'one line of JSON');
  const plan = JSON.parse(r.out);
  assert.deepEqual(plan, JSON.parse(fs.readFileSync(path.join(GOLDEN, 'fresh.json'), 'utf8')));
  assert.deepEqual(Object.keys(plan), ['build', 'keep', 'delete', 'skip', 'counts']);
  const explained = JSON.parse(
    (
      await kiln(
        root,
        'bulk',
        '-n',
        '--json',
        '--explain',
        '-a',
        '-j',
        'j',
        '-p',
        'ports',
        '--home',
        path.join(root, 'home'),
      )
    ).out,
  );
  assert.deepEqual(explained.explain['net/curl'], ['new']);
});

test('a clean selection exits 0 and covers its dependencies; -C forces the requested ports', async (t) => {
  const root = tmp(t);
  copyTree(root);
  const home = path.join(root, 'home');
  let r = await kiln(root, 'bulk', '-n', '-j', 'bookworm', '-p', 'ports', 'devel/git', 'shells/hello', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    'build lib/zlib\nbuild lib/ssl\nbuild net/curl\nbuild devel/git\nbuild shells/hello\nplan: 5 to build, 0 to keep, 0 to delete, 0 skipped\n',
  );
  r = await kiln(root, 'bulk', '-n', '-C', '--explain', '-j', 'bookworm', '-p', 'ports', 'net/curl', '--home', home);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^build net\/curl: forced \(-C\), new$/m);
  assert.match(r.out, /^build lib\/ssl: new$/m);
});

test('-f LIST: an origin not in the tree is located in the list file and skipped', async (t) => {
  const root = tmp(t);
  copyTree(root);
  fs.writeFileSync(path.join(root, 'list.txt'), '# ports\nshells/hello\n\n  www/nope  # gone\n');
  const r = await kiln(
    root,
    'bulk',
    '-n',
    '-j',
    'bookworm',
    '-p',
    'ports',
    '-f',
    'list.txt',
    '--home',
    path.join(root, 'home'),
  );
  assert.equal(r.code, 2);
  assert.ok(
    r.err.split('\n').includes(`${path.join(root, 'list.txt')}:4:3: origin: www/nope is not in tree ports`),
    r.err,
  );
  assert.equal(
    r.out,
    'build shells/hello\nskip www/nope: not in the tree\nplan: 1 to build, 0 to keep, 0 to delete, 1 skipped\n',
  );
});

test('an invalid recipe is reported at its line; it and its dependents are skipped, naming it', async (t) => {
  const root = tmp(t);
  const tree = copyTree(root);
  fs.writeFileSync(
    path.join(tree, 'lib/zlib/port.yaml'),
    'version: 1.3\nsummary: Compression library\nbuild:\n  system: make\n',
  );
  const r = await kiln(
    root,
    'bulk',
    '-n',
    '-j',
    'bookworm',
    '-p',
    'ports',
    'net/curl',
    '--home',
    path.join(root, 'home'),
  );
  assert.equal(r.code, 2);
  assert.match(r.err, new RegExp(`^${tree}/lib/zlib/port.yaml:1:10: version: `, 'm'));
  assert.match(
    r.err,
    new RegExp(`^${tree}/net/curl/port.yaml:\\d+:\\d+: depends.build\\[1\\]: lib/zlib's recipe is invalid$`, 'm'),
  );
  assert.match(r.out, /^skip lib\/zlib: its recipe is invalid$/m);
  assert.match(r.out, /^skip net\/curl: depends on lib\/zlib, whose recipe is invalid$/m);
  assert.match(r.out, /^skip lib\/ssl: depends on lib\/zlib, whose recipe is invalid$/m);
});

test('usage: -j and -p are required, one way to choose ports, -J a number; builds are not implemented yet', async (t) => {
  const root = tmp(t);
  copyTree(root);
  const home = path.join(root, 'home');
  for (const argv of [
    ['bulk', '-n', '-p', 'ports', '-a'],
    ['bulk', '-n', '-j', 'j', '-a'],
    ['bulk', '-n', '-j', 'j', '-p', 'ports'],
    ['bulk', '-n', '-j', 'j', '-p', 'ports', '-a', 'net/curl'],
    ['bulk', '-n', '-j', 'j', '-p', 'ports', '-a', '-J', 'many'],
    ['bulk', '-n', '-j', 'j', '-p', 'ports', '-a', '--frobnicate'],
  ]) {
    const r = await kiln(root, ...argv, '--home', home);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /\[KILN_E_USAGE\]/);
  }
  // Without -n the jail must exist: a real bulk never builds against a placeholder.
  let r = await kiln(root, 'bulk', '-j', 'j', '-p', 'ports', '-a', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /\[KILN_E_JAIL_NOT_FOUND\]/);
  r = await kiln(root, 'bulk', '-n', '-j', 'j', '-p', 'no-such-tree', '-a', '--home', home);
  assert.equal(r.code, 2);
  assert.match(r.err, /\[KILN_E_TREE_NOT_FOUND\]/);
});

test('planBulk: option choices stored with `kiln options` change the identity of the port and its dependents', async (t) => {
  const root = tmp(t);
  copyTree(root);
  const home = path.join(root, 'home');
  const ctx: CliContext = { home, out: () => {}, err: () => {}, isTTY: false, env: {}, cwd: root };
  assert.equal((await kiln(root, 'tree', 'add', 'main', '--path', 'ports', '--home', home)).code, 0);
  const before = await planBulk(ctx, { jail: 'j', tree: 'main', all: true, dryRun: true });
  assert.equal((await kiln(root, 'options', '-p', 'main', '--set', 'net/curl:HTTP2=off', '--home', home)).code, 0);
  const after = await planBulk(ctx, { jail: 'j', tree: 'main', all: true, dryRun: true });
  assert.equal(after.identities.get('lib/ssl')!.hash, before.identities.get('lib/ssl')!.hash);
  assert.notEqual(after.identities.get('net/curl')!.hash, before.identities.get('net/curl')!.hash);
  assert.notEqual(after.identities.get('devel/git')!.hash, before.identities.get('devel/git')!.hash);
  assert.deepEqual(after.identities.get('net/curl')!.components.options, { HTTP2: false });
  assert.equal(before.jail, undefined);
  assert.deepEqual(before.dag.ids.length, 10);
});
