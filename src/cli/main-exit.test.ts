/**
 * The CLI process ends right after `bulk -n` (cli/main.ts exitNow): its whole output still arrives through a pipe,
 * larger than a pipe's buffer, and its exit code is the command's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { REPO_ROOT } from '../bulk/testing.js';

const bin = [process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'src/cli/bin.ts')];

test('bulk -n ends the process at once, with all of its output and its exit code', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-main-exit-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const tree = path.join(root, 'tree');
  const n = 1500;
  for (let i = 0; i < n; i++) {
    const dir = path.join(tree, `cat${i % 10}`, `a-port-with-a-long-name-${i}`);
    fs.mkdirSync(dir, { recursive: true });
    const deps = i >= 10 ? `depends:\n  build: [cat${(i - 10) % 10}/a-port-with-a-long-name-${i - 10}]\n` : '';
    fs.writeFileSync(
      path.join(dir, 'port.yaml'),
      `version: "1.${i}"\nsummary: a port\nbuild:\n  system: make\n${deps}`,
    );
  }
  const home = path.join(root, 'home');
  const kiln = (...args: string[]) =>
    run(bin[0]!, [...bin.slice(1), 'bulk', '-n', '-j', 'nojail', '-p', tree, '--home', home, ...args], {
      cwd: REPO_ROOT,
      allowFailure: true,
    });
  // Text with reasons: ~80 KB through the pipe, more than its buffer holds.
  const text = await kiln('-a', '--explain');
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('build ')).length, n);
  assert.ok(text.stdout.length > 64 * 1024);
  assert.equal(lines.at(-2), `plan: ${n} to build, 0 to keep, 0 to delete, 0 skipped`);
  const json = await kiln('-na', '--json');
  assert.equal(json.status, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { build: string[] }).build.length, n);
  const missing = await kiln('no/such');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no\/such is not in tree/);
});
