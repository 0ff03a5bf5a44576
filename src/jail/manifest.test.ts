import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDpkgQuery, jailIdentity, diffManifests, checkArch } from './index.js';
import { KilnError } from '../util/errors.js';

test('the manifest keeps installed packages only, sorted as package=version', () => {
  const q = 'ii \tzlib1g:amd64=1:1.2.13\nii \tapt=2.6.1\nrc \told=1.0\nii \tlibc6:amd64=2.36-9\n';
  assert.equal(parseDpkgQuery(q), 'apt=2.6.1\nlibc6:amd64=2.36-9\nzlib1g:amd64=1:1.2.13\n');
});

test('the identity changes with release, arch and any package version', () => {
  const m = 'apt=2.6.1\nlibc6=2.36-9\n';
  const id = jailIdentity('bookworm', 'amd64', m);
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(jailIdentity('bookworm', 'amd64', m), id);
  assert.notEqual(jailIdentity('trixie', 'amd64', m), id);
  assert.notEqual(jailIdentity('bookworm', 'arm64', m), id);
  assert.notEqual(jailIdentity('bookworm', 'amd64', 'apt=2.6.1\nlibc6=2.36-9+deb12u1\n'), id);
});

test('diffManifests lists changed, added and removed packages', () => {
  assert.deepEqual(diffManifests('a=1\nb=1\nc=1\n', 'a=1\nb=2\nd=1\n'), ['b: 1 -> 2', '-c=1', '+d=1']);
});

test('a foreign arch without binfmt_misc says what to mount', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-binfmt-'));
  try {
    assert.equal(await checkArch('amd64', 'amd64', dir), 'native');
    assert.equal(await checkArch('i386', 'amd64', dir), 'native');
    await assert.rejects(
      checkArch('arm64', 'amd64', dir),
      (e: unknown) =>
        e instanceof KilnError && e.code === 'KILN_E_FOREIGN_ARCH' && /mount -t binfmt_misc/.test(e.hint ?? ''),
    );
    fs.writeFileSync(path.join(dir, 'status'), 'enabled\n');
    await assert.rejects(
      checkArch('arm64', 'amd64', dir),
      (e: unknown) => e instanceof KilnError && /update-binfmts --enable qemu-aarch64/.test(e.hint ?? ''),
    );
    await assert.rejects(
      checkArch('vax', 'amd64', dir),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_FOREIGN_ARCH',
    );
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});
