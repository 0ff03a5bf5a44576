import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedNames } from './shared-layer.js';

test('the shared layer takes what at least half the ports need together', () => {
  const got = sharedNames([
    ['debhelper', 'gcc', 'libssl-dev'],
    ['debhelper', 'gcc', 'zlib1g-dev'],
    ['debhelper', 'gcc'],
    ['python3'],
  ]);
  assert.deepEqual(got, ['debhelper', 'gcc']);
});

test('no shared layer below three ports with dependencies, or when nothing is common', () => {
  assert.deepEqual(sharedNames([['a', 'b'], ['a', 'b'], []]), []);
  assert.deepEqual(sharedNames([['a'], ['b'], ['c']]), []);
});

test('the shared layer never takes a name that leaves fewer than half the ports holding the whole set', () => {
  // a: 4 of 5, b: 3 of 5, but only 2 hold both.
  assert.deepEqual(sharedNames([['a', 'b'], ['a', 'b'], ['a'], ['a'], ['b']]), ['a']);
});
