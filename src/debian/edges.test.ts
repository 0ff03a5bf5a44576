import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDependNames } from './edges.js';

test('the names Build-Depends fields need: first admitted alternative, no versions, restrictions honoured', () => {
  const bd =
    'debhelper-compat (= 13),\n libbsd-dev (>= 0.11),\n gcc-12 [arm64] | gcc,\n pkgconf:native, python3 <!nocheck>';
  assert.deepEqual(buildDependNames([bd, 'libfoo-dev [!amd64]', ''], 'amd64', new Set(['nocheck'])), [
    'debhelper-compat',
    'gcc',
    'libbsd-dev',
    'pkgconf',
  ]);
  assert.deepEqual(buildDependNames([bd], 'arm64', new Set()), [
    'debhelper-compat',
    'gcc-12',
    'libbsd-dev',
    'pkgconf',
    'python3',
  ]);
});
