/**
 * arm64 on this amd64 host through qemu-user-static and binfmt_misc: the shared arm64 test jail (made once with
 * mmdebstrap), one tiny C port built in it with `kiln bulk`, its signed repository installed from with apt in a
 * fresh arm64 Debian root, and the program run there under qemu.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { freshRoot } from '../repo/testing.js';
import { kiln, testHome } from '../bulk/testing.js';
import { HELLO_SAYS, writeHelloTree } from '../image/testing.js';
import { checkArch, emulationFactor, limitsForArch, testJail } from './index.js';

test('build limits scale for emulated architectures only', () => {
  assert.equal(emulationFactor('amd64', 'amd64'), 1);
  assert.equal(emulationFactor('i386', 'amd64'), 1);
  assert.ok(emulationFactor('arm64', 'amd64') > 1);
  const l = { wallMs: 1000, noOutputMs: 500, memoryBytes: 7 };
  assert.deepEqual(limitsForArch(l, 'amd64', 'amd64'), l);
  const s = limitsForArch(l, 'arm64', 'amd64');
  assert.equal(s.wallMs, 1000 * emulationFactor('arm64', 'amd64'));
  assert.equal(s.noOutputMs, 500 * emulationFactor('arm64', 'amd64'));
  assert.equal(s.memoryBytes, 7);
});

test('an arm64 jail builds a C program that apt installs into an arm64 root and qemu runs', {
  timeout: 40 * 60_000,
}, async () => {
  assert.equal(
    await checkArch('arm64'),
    'emulated',
    'qemu-user-static is registered in binfmt_misc (scripts/setup-image-deps.sh)',
  );
  const j = await testJail({ arch: 'arm64' });
  assert.equal(j.arch, 'arm64');
  const home = await testHome('kiln-arm64-', { jail: { arch: 'arm64' }, name: 'arm64' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-arm64-tree-'));
  const root = await freshRoot('stable', 'arm64');
  try {
    const { tree, list } = writeHelloTree(dir);
    const b = await kiln(home, ['bulk', '-j', 'arm64', '-p', tree, '-f', list]);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    const gen = fs.realpathSync(path.join(home, 'repos', `arm64-${path.basename(tree)}`, 'current'));
    const packages = fs.readFileSync(path.join(gen, 'dists/arm64/main/binary-arm64/Packages'), 'utf8');
    assert.match(packages, /^Package: kiln-hi\n(?:.+\n)*?Architecture: arm64$/m);

    // The generation copied into the arm64 root as a file: source, signed-by kiln's key; apt runs under qemu.
    fs.cpSync(gen, path.join(root.dir, 'srv/kiln'), { recursive: true });
    fs.copyFileSync(path.join(gen, 'kiln-archive-keyring.gpg'), path.join(root.dir, 'etc/apt/keyrings/kiln.gpg'));
    fs.writeFileSync(
      path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'),
      'deb [signed-by=/etc/apt/keyrings/kiln.gpg] file:/srv/kiln arm64 main\n',
    );
    await root.exec(['apt-get', 'update']);
    await root.exec(['apt-get', 'install', '-y', 'kiln-hi']);
    const said = await root.exec(['kiln-hi']);
    assert.equal(said.stdout.trim(), `${HELLO_SAYS} aarch64`);
    const file = (await run('file', ['-b', path.join(root.dir, 'usr/bin/kiln-hi')], { allowFailure: true })).stdout;
    if (file !== '') assert.match(file, /aarch64/);
  } finally {
    root.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
