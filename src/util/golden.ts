/**
 * Golden files: a test compares output with a checked-in file; `UPDATE_GOLDEN=1` rewrites the file
 * instead (then review the diff before committing).
 */
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

/** Asserts `actual` equals the golden file at `file` (or rewrites it when UPDATE_GOLDEN=1). */
export function assertGolden(file: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file)) {
    assert.fail(`golden file ${file} is missing; run the test with UPDATE_GOLDEN=1 to create it`);
  }
  assert.equal(
    actual,
    fs.readFileSync(file, 'utf8'),
    `output differs from golden file ${file} (UPDATE_GOLDEN=1 rewrites it)`,
  );
}
