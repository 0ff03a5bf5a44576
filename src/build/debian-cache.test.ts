/** The Debian builds' autoconf cache folder: what survives a prune (the folder was written by untrusted builds). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { debianConfigSite, pruneConfigureCaches } from './debian-cache.js';

test('a prune keeps the newest caches and removes anything else, following no symlink', () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debcache-'));
  try {
    const dir = path.join(top, 'kiln-debian-configure');
    const outside = path.join(top, 'outside');
    fs.mkdirSync(path.join(outside, 'keep'), { recursive: true });
    fs.mkdirSync(dir);
    const names = [0, 1, 2, 3].map((i) => `${String(i).repeat(64)}.cache`);
    names.forEach((n, i) => {
      fs.writeFileSync(path.join(dir, n), `ac_cv_x=${i}\n`);
      fs.utimesSync(path.join(dir, n), 1000 + i, 1000 + i);
    });
    fs.symlinkSync(path.join(outside, 'keep'), path.join(dir, `${'9'.repeat(64)}.cache`)); // hostile: a link out
    fs.mkdirSync(path.join(dir, 'junk'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    assert.deepEqual(pruneConfigureCaches(dir, 2), [names[3], names[2]]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [names[2], names[3]].sort());
    assert.ok(fs.existsSync(path.join(outside, 'keep')), 'the link is removed, not what it points at');
    // The folder itself replaced by a link or a file: removed, never entered.
    fs.rmSync(dir, { recursive: true });
    fs.symlinkSync(outside, dir);
    assert.deepEqual(pruneConfigureCaches(dir), []);
    assert.equal(fs.existsSync(dir), false);
    assert.ok(fs.existsSync(path.join(outside, 'keep')));
    assert.deepEqual(pruneConfigureCaches(path.join(top, 'none')), []);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test('the site script names a cache only for a configure not given one, and is valid sh', async () => {
  const site = debianConfigSite();
  assert.match(site, /^if test "x\$cache_file" = x\/dev\/null /m);
  assert.match(site, /cat "\$0" \/var\/lib\/dpkg\/status/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debcache-sh-'));
  try {
    fs.writeFileSync(path.join(dir, 'site'), site);
    assert.equal((await run('sh', ['-n', path.join(dir, 'site')], { allowFailure: true })).status, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
