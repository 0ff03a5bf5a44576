import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addedPackages, installedPackages } from './status.js';

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.41-12

Package: libyaml-dev
Status: install ok installed
Architecture: amd64
Version: 0.2.5-2

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
`;

test('installed packages are name:arch=version of what dpkg says is installed, sorted', () => {
  assert.deepEqual(installedPackages(STATUS), ['libc6:amd64=2.41-12', 'libyaml-dev:amd64=0.2.5-2']);
});

test('what an install added: new packages and new versions only', () => {
  const before = ['libc6:amd64=2.41-11', 'zlib1g:amd64=1.3'];
  const after = ['libc6:amd64=2.41-12', 'libyaml-dev:amd64=0.2.5-2', 'zlib1g:amd64=1.3'];
  assert.deepEqual(addedPackages(before, after), ['libc6:amd64=2.41-12', 'libyaml-dev:amd64=0.2.5-2']);
});
