import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveView, formatDuration, plainLine } from './progress.js';
import { jobsFor } from './budget.js';

test('durations read like a person would write them', () => {
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(3720), '1h02m');
});

test('plain lines name the builder, the port, the phase of a failure and the ETA', () => {
  const t = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(
    plainLine({
      type: 'port-done',
      bulk: 1,
      t,
      origin: 'a/x',
      builder: 2,
      ok: false,
      wallS: 65,
      phase: 'configure',
      reason: 'exit 1',
    }),
    '[12:00:00] [2] a/x: FAILED in phase configure after 1m05s: exit 1',
  );
  assert.equal(
    plainLine({
      type: 'progress',
      bulk: 1,
      t,
      counts: { built: 3, failed: 1, skipped: 2, kept: 0, deleted: 0, remaining: 4 },
      etaS: 90,
      elapsedS: 30,
    }),
    '[12:00:00] progress: 6/10 (built 3, failed 1, skipped 2), elapsed 30s, ETA 1m30s',
  );
  assert.equal(plainLine({ type: 'port-phase', bulk: 1, t, origin: 'a/x', builder: 1, phase: 'build' }), null);
});

test('the live view shows one line per busy builder and a bar, and clears what it drew', () => {
  let screen = '';
  const v = new LiveView((s) => {
    screen += s;
  });
  const t = Date.now();
  v.onEvent({ type: 'port-start', bulk: 1, t, origin: 'a/x', builder: 1, jobs: 2, expectedS: 10 });
  v.onEvent({ type: 'port-phase', bulk: 1, t, origin: 'a/x', builder: 1, phase: 'configure' });
  v.onEvent({
    type: 'progress',
    bulk: 1,
    t,
    counts: { built: 1, failed: 0, skipped: 0, kept: 0, deleted: 0, remaining: 1 },
    etaS: 10,
    elapsedS: 1,
  });
  assert.match(screen, /\[1\] a\/x +configure/);
  assert.match(screen, /\[#{15}\.{15}\] 1\/2/);
  screen = '';
  v.onEvent({ type: 'port-done', bulk: 1, t, origin: 'a/x', builder: 1, ok: true, wallS: 3 });
  assert.match(screen, /^\x1b\[2F\x1b\[J/, 'the two live lines are cleared first');
  assert.match(screen, /a\/x: built in 3s/);
  assert.doesNotMatch(screen, /\[1\] a\/x +configure/);
});

test('the job budget gives a lone build every core and many builds one each', () => {
  const base = { cores: 8, builders: 8, mode: 'adaptive', parallelSafe: true } as const;
  assert.equal(jobsFor({ ...base, running: 0, ready: 0 }), 8);
  assert.equal(jobsFor({ ...base, running: 7, ready: 5 }), 1);
  assert.equal(jobsFor({ ...base, running: 1, ready: 2 }), 2);
  assert.equal(jobsFor({ ...base, running: 0, ready: 0, mode: 'fixed' }), 1);
  assert.equal(jobsFor({ ...base, running: 0, ready: 0, parallelSafe: false }), 1);
  // A long build starting while short ones finish up gets the cores they are about to free.
  assert.equal(jobsFor({ ...base, running: 3, ready: 0, expectedS: 400, runningLeftS: [10, 20, 300] }), 4);
  assert.equal(jobsFor({ ...base, running: 3, ready: 0, expectedS: 40, runningLeftS: [10, 20, 300] }), 2);
  assert.equal(
    jobsFor({ ...base, running: 3, ready: 0, expectedS: 400, runningLeftS: [10, 20, 300], mode: 'fixed' }),
    1,
  );
});
