/** What a worker accepts of a job's shared-layer names (`sharedLayerNames`): names and recipe relations, nothing else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedLayerNames } from './worker.js';

test('a worker keeps package names and recipe relations of the shared layer, and drops anything else', () => {
  assert.deepEqual(
    sharedLayerNames([
      'debhelper-compat',
      'libc6-dev:amd64',
      'libfoo-dev (>= 1.2)',
      'gcc | clang',
      'libbar-dev:arm64 (<< 2.0) | libbaz-dev',
      '--allow-unauthenticated',
      'foo; rm -rf /',
      'Foo',
      '',
      42,
      null,
      'x'.repeat(600),
    ]),
    [
      'debhelper-compat',
      'libc6-dev:amd64',
      'libfoo-dev (>= 1.2)',
      'gcc | clang',
      'libbar-dev:arm64 (<< 2.0) | libbaz-dev',
    ],
  );
  assert.deepEqual(sharedLayerNames(undefined), []);
});
