import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMailDomain, maintainerOf } from './maintainer.js';
import { parseConfig } from './load.js';

test('maintainer: kiln.yaml wins; the default is never a host lintian calls bogus', () => {
  const cfg = parseConfig('maintainer: "Jane Builder <jane@builds.example.org>"\n', 'kiln.yaml');
  assert.equal(maintainerOf(cfg), 'Jane Builder <jane@builds.example.org>');
  assert.throws(() => parseConfig('maintainer: "kiln <kiln@localhost>"\n', 'kiln.yaml'), /maintainer/);
  for (const bad of ['localhost', 'vm', 'box.localdomain', 'printer.local', '', 'a..b'])
    assert.equal(isMailDomain(bad), false, bad);
  for (const good of ['example.org', 'build-1.example.org']) assert.equal(isMailDomain(good), true, good);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-maint-'));
  try {
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/mailname'), 'mail.example.net\n');
    assert.equal(maintainerOf(undefined, root), 'kiln <kiln@mail.example.net>');
    fs.writeFileSync(path.join(root, 'etc/mailname'), 'localhost\n');
    const host = maintainerOf(undefined, root);
    assert.equal(
      host,
      isMailDomain(os.hostname()) ? `kiln <kiln@${os.hostname().toLowerCase()}>` : 'kiln <kiln@kiln.invalid>',
    );
    assert.equal(parseConfig('debug_symbols: true\n', 'kiln.yaml').debug_symbols, true);
    assert.equal(parseConfig('', 'kiln.yaml').debug_symbols, false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
