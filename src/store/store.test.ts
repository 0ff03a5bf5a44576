import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore, MIGRATIONS, DB_FILE } from './index.js';
import { KilnError } from '../util/errors.js';

function tmpHome(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-store-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'home');
}

test('migrations are numbered 1..n in order', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  );
});

test('openStore creates HOME/kiln.db in WAL mode at the latest schema version, and reopens it', (t) => {
  const home = tmpHome(t);
  const s = openStore(home);
  assert.equal(s.schemaVersion(), MIGRATIONS.length);
  s.insertTree('main', { kind: 'path', path: '/srv/ports' });
  s.close();
  const raw = new Database(path.join(home, DB_FILE), { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
  const again = openStore(home);
  assert.equal(again.getTree('main')?.spec.kind, 'path');
  again.close();
});

test('trees: insert, duplicate, update, list, delete (with their option choices)', (t) => {
  let clock = 0;
  const s = openStore(tmpHome(t), { now: () => new Date(Date.UTC(2024, 0, 1) + 1000 * clock++) });
  t.after(() => s.close());
  const a = s.insertTree('b-tree', { kind: 'path', path: '/x' });
  s.insertTree('a-tree', { kind: 'overlay', layers: [{ tree: 'b-tree' }, { path: '/y' }] });
  assert.throws(
    () => s.insertTree('b-tree', { kind: 'path', path: '/z' }),
    (e: unknown) =>
      e instanceof KilnError && e.code === 'KILN_E_TREE_EXISTS' && /kiln tree delete b-tree/.test(e.hint ?? ''),
  );
  assert.deepEqual(
    s.listTrees().map((r) => r.name),
    ['a-tree', 'b-tree'],
  );
  assert.equal(s.updateTreeSpec('b-tree', { kind: 'path', path: '/w' }), true);
  const b = s.getTree('b-tree')!;
  assert.deepEqual(b.spec, { kind: 'path', path: '/w' });
  assert.equal(b.created, a.created);
  assert.ok(b.updated > a.updated);
  assert.equal(s.updateTreeSpec('nope', { kind: 'path', path: '/w' }), false);
  s.setOptions('b-tree', [{ origin: 'x/y', option: 'NLS', value: true }]);
  s.setOptions('a-tree', [{ origin: 'x/y', option: 'NLS', value: false }]);
  assert.equal(s.deleteTree('b-tree'), true);
  assert.equal(s.deleteTree('b-tree'), false);
  assert.equal(s.getTree('b-tree'), undefined);
  assert.deepEqual(s.getOptions('b-tree'), []);
  assert.deepEqual(s.getOptions('a-tree'), [{ origin: 'x/y', option: 'NLS', value: false }]);
});

test('options: upsert, read back ordered, clear', (t) => {
  const s = openStore(tmpHome(t));
  t.after(() => s.close());
  s.setOptions('t', [
    { origin: 'b/b', option: 'X', value: true },
    { origin: 'a/a', option: 'Z', value: false },
    { origin: 'a/a', option: 'Y', value: true },
  ]);
  s.setOptions('t', [{ origin: 'b/b', option: 'X', value: false }]);
  assert.deepEqual(s.getOptions('t'), [
    { origin: 'a/a', option: 'Y', value: true },
    { origin: 'a/a', option: 'Z', value: false },
    { origin: 'b/b', option: 'X', value: false },
  ]);
  assert.equal(s.clearOption('t', 'a/a', 'Y'), true);
  assert.equal(s.clearOption('t', 'a/a', 'Y'), false);
  assert.equal(s.getOptions('t').length, 2);
});

test('jails: put keeps created, updates the rest; list; delete', (t) => {
  let clock = 0;
  const s = openStore(tmpHome(t), { now: () => new Date(Date.UTC(2024, 0, 1) + 1000 * clock++) });
  t.after(() => s.close());
  const j = {
    name: 'bw',
    release: 'bookworm',
    arch: 'amd64',
    mirror: 'http://127.0.0.1/debian',
    path: '/h/jails/bw',
    identity: 'i1',
    manifestHash: 'm1',
  };
  const first = s.putJail(j);
  const second = s.putJail({ ...j, identity: 'i2' });
  assert.equal(second.identity, 'i2');
  assert.equal(second.manifestHash, 'm1');
  assert.equal(second.created, first.created);
  assert.notEqual(second.updated, first.updated);
  s.putJail({ ...j, name: 'arm', arch: 'arm64' });
  assert.deepEqual(
    s.listJails().map((x) => [x.name, x.arch]),
    [
      ['arm', 'arm64'],
      ['bw', 'amd64'],
    ],
  );
  assert.equal(s.deleteJail('bw'), true);
  assert.equal(s.deleteJail('bw'), false);
  assert.equal(s.getJail('bw'), undefined);
});

test('a file that is not a database gives KILN_E_STORE with a hint', (t) => {
  const home = tmpHome(t);
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, DB_FILE), 'this is not sqlite, just some text that is long enough'.repeat(100));
  assert.throws(
    () => openStore(home),
    (e: unknown) =>
      e instanceof KilnError && e.code === 'KILN_E_STORE' && /damaged|not a kiln database/.test(e.hint ?? ''),
  );
});

test('a database from a newer kiln is refused', (t) => {
  const home = tmpHome(t);
  openStore(home).close();
  const raw = new Database(path.join(home, DB_FILE));
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  raw.close();
  assert.throws(
    () => openStore(home),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_STORE' && /upgrade kiln/.test(e.hint ?? ''),
  );
});

test('a writer blocked past the busy timeout gives KILN_E_STORE naming the other process', (t) => {
  const home = tmpHome(t);
  const s = openStore(home, { busyTimeoutMs: 50 });
  t.after(() => s.close());
  const other = new Database(path.join(home, DB_FILE));
  other.exec('BEGIN IMMEDIATE');
  try {
    assert.throws(
      () => s.setOptions('t', [{ origin: 'a/a', option: 'X', value: true }]),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_STORE' && /another kiln process/.test(e.hint ?? ''),
    );
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  s.setOptions('t', [{ origin: 'a/a', option: 'X', value: true }]);
  assert.equal(s.getOptions('t').length, 1);
});
