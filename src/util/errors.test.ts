import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, KilnError, InputError, formatProblem } from './errors.js';

const docs = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../docs/errors.md'), 'utf8');

test('every error code is documented in docs/errors.md', () => {
  const missing = Object.keys(ERROR_CODES).filter((c) => !docs.includes(`| ${c} |`));
  assert.deepEqual(missing, []);
});

test('docs/errors.md lists no code that does not exist', () => {
  const listed = [...docs.matchAll(/^\| (KILN_E_[A-Z_]+) \|/gm)].map((m) => m[1]);
  assert.deepEqual(
    listed.filter((c) => !(c! in ERROR_CODES)),
    [],
  );
});

test('InputError carries every problem and formats PATH:LINE:COLUMN: FIELD: message', () => {
  const e = new InputError('KILN_E_RECIPE', [
    { path: 'a/b/port.yaml', line: 3, column: 5, field: 'version', message: 'must be a string' },
    { path: 'a/c/port.yaml', line: 1, column: 1, field: '-', message: 'empty file' },
  ]);
  assert.ok(e instanceof KilnError);
  assert.equal(e.code, 'KILN_E_RECIPE');
  assert.equal(e.exitCode, 2);
  assert.equal(e.message, 'a/b/port.yaml:3:5: version: must be a string\na/c/port.yaml:1:1: -: empty file');
  assert.equal(formatProblem(e.problems[1]!), 'a/c/port.yaml:1:1: -: empty file');
});
