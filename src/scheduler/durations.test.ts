import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DURATION_S, durationsFor, parseDurations } from './index.js';

test('parseDurations keeps valid entries and locates every bad one', () => {
  const text = '{\n  "lib/a": 12.5,\n  "lib/b": -1,\n  "lib/c": null, "lib/d": 0\n}\n';
  const r = parseDurations(text, 'd.json');
  assert.deepEqual(
    [...r.durations],
    [
      ['lib/a', 12.5],
      ['lib/d', 0],
    ],
  );
  assert.deepEqual(
    r.problems.map((p) => `${p.line}:${p.column} ${p.field}`),
    ['3:3 lib/b', '4:3 lib/c'],
  );
});

test('parseDurations rejects non-objects and bad JSON with a position', () => {
  assert.equal(
    parseDurations('[1, 2]', 'x').problems[0]!.message,
    'must be a JSON object {"CATEGORY/NAME": seconds, ...}',
  );
  const bad = parseDurations('{\n  "a/b": 1,,\n}', 'x');
  assert.equal(bad.durations.size, 0);
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0]!.line, 2);
});

test('durationsFor fills the default for unknown origins and counts them', () => {
  const dag = { ids: ['a/x', 'a/y', 'a/z'], deps: [[], [0], []] };
  const r = durationsFor(
    dag,
    new Map([
      ['a/y', 7],
      ['other/port', 3],
    ]),
  );
  assert.deepEqual([...r.durations], [DEFAULT_DURATION_S, 7, DEFAULT_DURATION_S]);
  assert.equal(r.defaulted, 2);
  assert.deepEqual([...durationsFor(dag, new Map(), 5).durations], [5, 5, 5]);
});
