import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../main.js';

const RACY_MS = 40;

async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, env: {}, isTTY: false });
  return { code, out: out.join(''), err: err.join('\n') };
}

function port(root: string, origin: string, body: string): void {
  fs.mkdirSync(path.join(root, origin), { recursive: true });
  fs.writeFileSync(path.join(root, origin, 'port.yaml'), body);
}

function recipe(version: string, extra = ''): string {
  return `version: "${version}"\nsummary: a port\nbuild:\n  system: make\n${extra}`;
}

/** Waits until what was just written is older than the racy margin. */
function settle(): void {
  const sab = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sab, 0, 0, RACY_MS + 20);
}

test('bulk -n plans the same through the scan cache as from a cold scan, edit after edit', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bulk-cache-'));
  const before = process.env.KILN_SCAN_RACY_MS;
  process.env.KILN_SCAN_RACY_MS = String(RACY_MS);
  t.after(() => {
    fs.rmSync(root, { recursive: true, force: true });
    if (before === undefined) delete process.env.KILN_SCAN_RACY_MS;
    else process.env.KILN_SCAN_RACY_MS = before;
  });
  const tree = path.join(root, 'ports');
  const home = path.join(root, 'home');
  const scanDir = path.join(home, 'cache', 'scan');
  port(tree, 'lib/base', recipe('1.0', 'options:\n  NLS:\n    default: true\n    description: nls\n'));
  port(tree, 'lib/mid', recipe('1.0', 'depends:\n  build: [lib/base]\n'));
  port(tree, 'app/top', recipe('1.0', 'depends:\n  build: [lib/mid]\n  run: [lib/base]\n'));
  port(tree, 'app/other', recipe('1.0'));
  assert.equal((await kiln(root, 'tree', 'add', 'mine', '--path', tree, '--home', home)).code, 0);
  const plan = ['bulk', '-n', '-a', '--json', '--explain', '-j', 'j', '-p', 'mine', '--home', home];

  /** The cached plan, then the cold one (cache removed), which must match. */
  const check = async (what: string): Promise<string> => {
    const cached = await kiln(root, ...plan);
    fs.rmSync(scanDir, { recursive: true, force: true });
    const cold = await kiln(root, ...plan);
    assert.equal(cached.out, cold.out, what);
    assert.equal(cached.err, cold.err, what);
    assert.equal(cached.code, cold.code, what);
    return cold.out;
  };

  settle();
  await check('first');
  const file = path.join(scanDir, fs.readdirSync(scanDir)[0]!);
  const stamp = fs.statSync(file);
  assert.equal((await kiln(root, ...plan)).code, 0);
  assert.equal(fs.statSync(file).mtimeMs, stamp.mtimeMs, 'nothing changed: the cache is read, not written');

  fs.writeFileSync(
    path.join(tree, 'lib/base/port.yaml'),
    recipe('1.1', 'options:\n  NLS:\n    default: true\n    description: nls\n'),
  );
  settle();
  const edited = await check('a recipe edited');
  assert.match(edited, /recipe changed|new/);

  assert.equal((await kiln(root, 'options', '-p', 'mine', '--home', home, '--set', 'lib/base:NLS=off')).code, 0);
  fs.writeFileSync(
    path.join(tree, 'lib/base/port.yaml'),
    recipe(
      '1.1',
      'options:\n  NLS:\n    default: true\n    description: nls\n  DOCS:\n    default: false\n    description: docs\n',
    ),
  );
  settle();
  await check('an option chosen and one added');

  port(tree, 'app/added', recipe('1.0', 'depends:\n  build: [app/top]\n'));
  fs.rmSync(path.join(tree, 'app/other'), { recursive: true });
  fs.renameSync(path.join(tree, 'lib/mid'), path.join(tree, 'lib/middle'));
  settle();
  const renamed = await check('added, removed, renamed');
  assert.match(renamed, /app\/added/);
  assert.doesNotMatch(renamed, /app\/other/);
});
