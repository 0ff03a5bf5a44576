import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostMirror, parseDeb822Sources, parseOneLineSources } from './mirror.js';
import { KilnError } from '../util/errors.js';

test('deb822 stanzas: picks the main archive over security, skips disabled ones', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mirror-'));
  try {
    fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'etc/apt/sources.list.d/a.sources'),
      [
        'Types: deb',
        'URIs: http://disabled.invalid/debian',
        'Suites: bookworm',
        'Components: main',
        'Enabled: no',
        '',
        'Types: deb',
        'URIs: http://security.invalid/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        '',
        'Types: deb',
        '# comment',
        'URIs: http://archive.invalid/debian/',
        'Suites: bookworm bookworm-updates',
        'Components: main contrib',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
      ].join('\n'),
    );
    assert.equal(hostMirror(undefined, root), 'http://archive.invalid/debian');
    assert.equal(hostMirror('http://override.invalid/x/', root), 'http://override.invalid/x');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('one-line sources with options', () => {
  const s = parseOneLineSources(
    'deb [arch=amd64 signed-by=/k.gpg] http://a.invalid/debian bookworm main # x\n# deb http://no/ x main\n',
    'f',
  );
  assert.equal(s.length, 1);
  assert.equal(s[0]!.uri, 'http://a.invalid/debian');
  assert.equal(s[0]!.signedBy, '/k.gpg');
  assert.deepEqual(s[0]!.components, ['main']);
  assert.equal(parseDeb822Sources('Types: deb\n', 'f').length, 0);
});

test('no source at all is a clear KILN_E_CONFIG error', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mirror-'));
  try {
    assert.throws(
      () => hostMirror(undefined, root),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_CONFIG',
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('this host has a mirror in its apt sources', () => {
  assert.match(hostMirror(), /^https?:\/\//);
});
