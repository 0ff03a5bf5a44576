import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from './index.js';

function withStore(fn: (home: string) => void): void {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bulks-'));
  try {
    fn(home);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test('a bulk, its builds, and learned durations survive reopening the database', () =>
  withStore((home) => {
    let s = openStore(home);
    const b = s.bulks.startBulk({ jail: 'j', tree: 't', pid: 1, pidStart: '9', builders: 2, request: { list: 'x' } });
    assert.equal(b.status, 'running');
    s.bulks.setBuild(b.id, 'a/x', { result: 'queued', reasons: ['new'] });
    s.bulks.setBuild(b.id, 'a/x', { result: 'running', started: '2026-01-01T00:00:00Z', builder: '1' });
    s.bulks.setBuild(b.id, 'a/x', {
      result: 'built',
      wallMs: 42_000,
      files: ['All/x_1-k1_amd64.deb'],
      phases: [{ name: 'fetch', wallMs: 3 }],
    });
    s.bulks.setBuild(b.id, 'a/y', { result: 'failed', phase: 'build', failure: 'build', reason: 'exit 2' });
    s.close();
    s = openStore(home);
    const rows = s.bulks.builds(b.id);
    assert.deepEqual(
      rows.map((r) => [r.origin, r.result]),
      [
        ['a/x', 'built'],
        ['a/y', 'failed'],
      ],
    );
    assert.deepEqual(rows[0]!.reasons, ['new'], 'fields not given in a later update are kept');
    assert.equal(rows[0]!.builder, '1');
    assert.deepEqual(rows[0]!.files, ['All/x_1-k1_amd64.deb']);
    assert.equal(rows[1]!.phase, 'build');
    assert.deepEqual([...s.bulks.learnedDurations()], [['a/x', 42]]);
    s.bulks.finishBulk(b.id, 'failed', { built: 1, failed: 1 }, 3);
    const done = s.bulks.getBulk(b.id)!;
    assert.equal(done.status, 'failed');
    assert.deepEqual(done.counts, { built: 1, failed: 1 });
    assert.equal(done.generation, 3);
    assert.equal(s.bulks.listBulks({ jail: 'j', tree: 't' }).length, 1);
    assert.equal(s.bulks.listBulks({ jail: 'other' }).length, 0);
    s.close();
  }));

test('the package set of a (jail, tree) is replaced whole', () =>
  withStore((home) => {
    const s = openStore(home);
    const p = (origin: string, version: string) => ({
      origin,
      pkgname: origin.split('/')[1]!,
      version,
      arch: 'amd64',
      identity: 'i',
      components: { a: 1 },
      files: [`All/${origin}.deb`],
      built: '2026-01-01T00:00:00Z',
    });
    s.bulks.replacePackages('j', 't', [p('a/x', '1-k1'), p('a/y', '1-k1')]);
    s.bulks.replacePackages('j', 'u', [p('a/z', '1-k1')]);
    s.bulks.replacePackages('j', 't', [p('a/x', '2-k1')]);
    assert.deepEqual(
      s.bulks.packages('j', 't').map((r) => [r.origin, r.version]),
      [['a/x', '2-k1']],
    );
    assert.deepEqual(
      s.bulks.packages('j', 'u').map((r) => r.origin),
      ['a/z'],
    );
    assert.deepEqual(s.bulks.packages('j', 't')[0]!.components, { a: 1 });
    s.close();
  }));
