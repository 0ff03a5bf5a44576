/**
 * Operator limits are ceilings (issue 14): a recipe may lower kiln.yaml's limits, never raise them, and the port's
 * log says when it tried; the limit that stopped a build is the first thing its one-line reason says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { limitNotes, portLimits } from './index.js';
import { buildPort } from '../build/index.js';
import { parseRecipe, type Port } from '../recipe/index.js';
import { FakeRunner } from '../sandbox/index.js';

function portWith(limits: string, extra = ''): Port {
  const text = `version: "1.0"\nsummary: greedy\nbuild:\n  system: script\n  script: |\n    echo one\n    echo two\n  limits:\n${limits}${extra}`;
  const r = parseRecipe(text, 'port.yaml', 'misc/greedy');
  assert.ok(r.recipe, JSON.stringify(r.problems));
  return {
    origin: 'misc/greedy',
    dir: '/nonexistent',
    path: '/nonexistent/port.yaml',
    layer: 'main',
    pkgname: 'greedy',
    recipe: r.recipe,
    contentHash: 'x',
  };
}

const GLOBAL = { wallMs: 3_600_000, cpuSeconds: 7200, noOutputMs: 600_000, memoryBytes: 256 * 1048576, nproc: 4096 };

test("a recipe cannot raise kiln.yaml's limits; it may lower them; the log says what was clamped", () => {
  const greedy = portWith('    memory_mb: 1000000\n    wall_s: 999999\n    cpu_s: 10\n');
  const l = portLimits(GLOBAL, greedy);
  assert.equal(l.memoryBytes, 256 * 1048576, "memory_mb 1000000 is clamped to kiln.yaml's 256");
  assert.equal(l.wallMs, 3_600_000);
  assert.equal(l.cpuSeconds, 10, 'lowering is allowed');
  assert.equal(l.noOutputMs, 600_000);
  const notes = limitNotes(GLOBAL, greedy);
  assert.equal(notes.length, 2);
  assert.match(notes.join('\n'), /memory_mb 1000000, above kiln\.yaml's 256 MiB; using 256/);
  assert.match(notes.join('\n'), /wall_s 999999, above kiln\.yaml's 3600 s; using 3600/);
  assert.deepEqual(limitNotes(GLOBAL, portWith('    memory_mb: 100\n')), []);
});

test('the limit that stopped a build leads its reason (not the multi-line command)', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-limits-'));
  try {
    const jailDir = path.join(home, 'jail');
    fs.mkdirSync(jailDir);
    const runner = new FakeRunner((_l, cmd) => (cmd.user === 'root' ? {} : { limit: 'memory' }));
    const res = await buildPort({
      home,
      jail: { name: 'fake', path: jailDir, arch: 'amd64', release: 'trixie' },
      port: portWith('    memory_mb: 64\n'),
      identity: 'f'.repeat(64),
      options: {},
      depDebs: [],
      kilnRun: [],
      jobs: 1,
      limits: GLOBAL,
      outDir: path.join(home, 'out'),
      logFile: path.join(home, 'greedy.log'),
      sourceDateEpoch: 1,
      runner,
    });
    assert.equal(res.ok, false);
    assert.equal(res.failure, 'limit');
    assert.equal(res.limit, 'memory');
    assert.match(res.reason ?? '', /^hit its memory limit \(.*\) and was killed: /);
    assert.ok(!(res.reason ?? '').includes('\n'));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
