import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { run, ExecError } from './exec.js';

test('run returns stdout and throws ExecError with the exit status', async () => {
  const r = await run('sh', ['-c', 'echo hi; echo err >&2']);
  assert.equal(r.stdout, 'hi\n');
  assert.equal(r.stderr, 'err\n');
  await assert.rejects(
    run('sh', ['-c', 'exit 3']),
    (e: unknown) => e instanceof ExecError && e.reason === 'exit' && e.exitStatus === 3,
  );
});

test('a missing program is reported as not-found', async () => {
  await assert.rejects(
    run('kiln-no-such-program', []),
    (e: unknown) => e instanceof ExecError && e.code === 'KILN_E_EXEC_NOT_FOUND',
  );
});

test('timeout kills the whole process group, grandchildren included', async () => {
  const pidFile = `/tmp/kiln-exec-test-${process.pid}`;
  await assert.rejects(
    run('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 300 }),
    (e: unknown) => e instanceof ExecError && e.reason === 'timeout',
  );
  const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
  fs.rmSync(pidFile);
  await new Promise((r) => setTimeout(r, 100));
  // Gone, or a zombie waiting for its new parent to reap it: either way no longer running.
  let state = 'gone';
  try {
    state = fs.readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]!.charAt(0);
  } catch {
    /* gone */
  }
  assert.ok(state === 'gone' || state === 'Z', `grandchild ${grandchild} still running (state ${state})`);
});

test('no-output limit fires when a child is silent, not while it talks', async () => {
  await assert.rejects(
    run('sh', ['-c', 'sleep 5'], { noOutputMs: 200 }),
    (e: unknown) => e instanceof ExecError && e.reason === 'no-output',
  );
  // Talking for twice the limit, a line every 0.25 s: the limit counts from the last line (a margin for a loaded host).
  const r = await run('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i; sleep 0.25; done'], {
    noOutputMs: 1500,
  });
  assert.equal(r.stdout.split('\n').length, 13);
});

test('a limit longer than a Node timer can hold (an emulated day) is capped, not fired at once', async () => {
  const r = await run('sh', ['-c', 'sleep 0.2; echo done'], {
    timeoutMs: 25 * 24 * 3600_000,
    noOutputMs: 25 * 2 * 3600_000,
  });
  assert.equal(r.stdout, 'done\n');
});
