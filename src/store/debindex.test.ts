import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DebIndex } from './index.js';

test('the deb index finds a file only while its (path, size, mtime, inode) hold, prunes, and survives damage', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debindex-'));
  try {
    const file = path.join(dir, 'debs.db');
    const key = { path: '/p/a.deb', size: 10, mtimeNs: 1_700_000_000_123_456_789n, ino: 42n };
    const stanza = { sha256: 'a'.repeat(64), md5: 'b'.repeat(32), size: 10, control: 'Package: a\nVersion: 1\n' };
    let ix = DebIndex.open(file);
    ix.record([
      { file: key, stanza },
      { file: { ...key, path: '/pool/x.deb', ino: 43n }, stanza },
    ]);
    assert.deepEqual(ix.lookup(key), stanza);
    for (const changed of [{ size: 11 }, { mtimeNs: key.mtimeNs + 1n }, { ino: 44n }, { path: '/p/b.deb' }]) {
      assert.equal(
        ix.lookup({ ...key, ...changed }),
        undefined,
        JSON.stringify(changed, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      );
    }
    ix.close();
    ix = DebIndex.open(file);
    assert.deepEqual(ix.stanza('a'.repeat(64)), stanza, 'kept across opens');
    assert.equal(ix.prune(new Set(['/pool/x.deb'])), 1);
    assert.equal(ix.lookup(key), undefined);
    assert.deepEqual(ix.counts(), { files: 1, stanzas: 1 });
    assert.equal(ix.prune(new Set()), 1);
    assert.deepEqual(ix.counts(), { files: 0, stanzas: 0 }, 'a content no file holds is forgotten');
    ix.close();
    // A damaged file is only a cache: it is replaced by an empty index.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    fs.writeFileSync(file, 'not a database, not at all'.repeat(100));
    ix = DebIndex.open(file);
    assert.deepEqual(ix.counts(), { files: 0, stanzas: 0 });
    ix.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
