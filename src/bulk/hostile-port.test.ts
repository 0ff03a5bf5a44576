/**
 * A hostile port folder in a real bulk (issue 14, with issue 18's scan): the tree scan reads only port.yaml and its
 * patches, so a port whose folder holds a symlink out of the tree and a FIFO is refused by its build, in the first
 * phase (`port-files`), naming each file, before any sandbox or fetch; the other ports build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store/index.js';
import { run } from '../util/exec.js';
import { kiln, scriptPort, testHome } from './testing.js';

test('a port folder with a symlink out of the tree and a FIFO fails in phase port-files; the rest builds', {
  timeout: 10 * 60_000,
}, async () => {
  const home = await testHome('kiln-hostile-port-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-port-tree-'));
  const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-port-keys-'));
  try {
    fs.writeFileSync(path.join(keys, 'secret.asc'), 'PRIVATE KEY\n', { mode: 0o600 });
    scriptPort(tree, 't/good');
    scriptPort(tree, 't/evil', { script: 'cat /kiln/port/files/key.asc > "$DESTDIR/stolen"' });
    fs.mkdirSync(path.join(tree, 't/evil/files'));
    fs.symlinkSync(path.join(keys, 'secret.asc'), path.join(tree, 't/evil/files/key.asc'));
    await run('mkfifo', [path.join(tree, 't/evil/files/pipe')]);
    assert.equal((await kiln(home, ['tree', 'add', 'hx', '--path', tree])).status, 0);
    const r = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'hx', 't/evil', 't/good', '-J', '2']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const s = openStore(home);
    try {
      const id = s.bulks.listBulks({ limit: 1 })[0]!.id;
      const b = new Map(s.bulks.builds(id).map((row) => [row.origin, row]));
      assert.equal(b.get('t/good')?.result, 'built');
      const evil = b.get('t/evil');
      assert.equal(evil?.result, 'failed');
      assert.equal(evil?.phase, 'port-files');
      assert.match(evil?.reason ?? '', /files\/(key\.asc|pipe):1:1: -: not a regular file/);
      const log = fs.readFileSync(path.join(home, 'logs', evil!.log!), 'utf8');
      assert.match(log, /files\/key\.asc:1:1: -: not a regular file \(a symlink to .*secret\.asc, outside the tree\)/);
      assert.match(log, /files\/pipe:1:1: -: not a regular file/);
      assert.doesNotMatch(log, /=== phase (fetch|sandbox|layer)/, 'nothing ran after the refusal');
    } finally {
      s.close();
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(keys, { recursive: true, force: true });
  }
});
