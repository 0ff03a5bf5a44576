import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../util/errors.js';
import type { Dag } from '../graph/index.js';
import { createScheduler, type Scheduler } from './index.js';

/** Builds a Dag from `{origin: [deps...]}` (insertion order = node ids). */
function dagOf(spec: Record<string, string[]>): Dag {
  const ids = Object.keys(spec);
  return { ids, deps: ids.map((o) => spec[o]!.map((d) => ids.indexOf(d))) };
}
const id = (dag: Dag, origin: string): number => dag.ids.indexOf(origin);
const names = (dag: Dag, nodes: number[]): string[] => nodes.map((i) => dag.ids[i]!);

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof KilnError && e.code === code);
}

// a ← b, a ← c, {b, c} ← d
const diamond = dagOf({ 'x/a': [], 'x/b': ['x/a'], 'x/c': ['x/a'], 'x/d': ['x/b', 'x/c'] });

test('diamond: priorities are critical paths and next() hands out the most urgent ready node', () => {
  const s = createScheduler({ dag: diamond, durations: [1, 2, 3, 1], builders: 2 });
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => s.priority(i)),
    [5, 3, 4, 1],
  );
  assert.deepEqual(names(diamond, s.readyQueue()), ['x/a']);
  assert.equal(s.next(), id(diamond, 'x/a'));
  assert.equal(s.next(), id(diamond, 'x/a'), 'next() does not change state');
  s.started(0, 'b0');
  assert.equal(s.state(0), 'running');
  assert.equal(s.next(), null, 'nothing else is ready');
  const out = s.finished(0, 'ok');
  assert.deepEqual(names(diamond, out.ready), ['x/c', 'x/b'], 'c has the longer critical path');
  assert.deepEqual(names(diamond, s.readyQueue()), ['x/c', 'x/b']);
  s.started(s.next()!, 'b0');
  s.started(s.next()!, 'b1');
  assert.equal(s.next(), null, 'both slots busy');
  assert.equal(s.state(3), 'waiting');
  s.finished(id(diamond, 'x/b'), 'ok');
  assert.equal(s.state(3), 'waiting', 'd still needs c');
  s.finished(id(diamond, 'x/c'), 'ok');
  assert.equal(s.state(3), 'ready');
  assert.equal(s.isDone(), false);
  s.started(3, 'b0');
  s.finished(3, 'ok');
  assert.equal(s.isDone(), true);
  assert.deepEqual(s.counts(), { total: 4, waiting: 0, ready: 0, running: 0, done: 4, failed: 0, skipped: 0 });
});

test('equal priorities are broken by origin name, whatever the node ids', () => {
  const dag = dagOf({ 'z/last': [], 'a/first': [], 'm/mid': [] });
  const s = createScheduler({ dag, durations: [5, 5, 5], builders: 3 });
  assert.deepEqual(names(dag, s.readyQueue()), ['a/first', 'm/mid', 'z/last']);
});

test('invalid transitions throw KILN_E_SCHEDULER and change nothing', () => {
  const s = createScheduler({ dag: diamond, durations: [1, 1, 1, 1], builders: 1 });
  throwsCode(() => s.started(3, 0), 'KILN_E_SCHEDULER'); // waiting, not ready
  throwsCode(() => s.finished(0, 'ok'), 'KILN_E_SCHEDULER'); // ready, not running
  throwsCode(() => s.requeue(0), 'KILN_E_SCHEDULER');
  throwsCode(() => s.state(99), 'KILN_E_SCHEDULER');
  s.started(0, 0);
  throwsCode(() => s.started(0, 0), 'KILN_E_SCHEDULER'); // already running
  s.finished(0, 'ok');
  throwsCode(() => s.finished(0, 'ok'), 'KILN_E_SCHEDULER'); // a result that arrives twice
  s.started(1, 0);
  throwsCode(() => s.started(2, 1), 'KILN_E_SCHEDULER'); // the only slot is busy
  assert.equal(s.state(2), 'ready');
  assert.deepEqual(s.counts(), { total: 4, waiting: 1, ready: 1, running: 1, done: 1, failed: 0, skipped: 0 });
  throwsCode(() => createScheduler({ dag: diamond, durations: [1, 1, 1], builders: 1 }), 'KILN_E_SCHEDULER');
  throwsCode(() => createScheduler({ dag: diamond, durations: [1, -1, 1, 1], builders: 1 }), 'KILN_E_SCHEDULER');
  throwsCode(() => createScheduler({ dag: diamond, durations: [1, 1, 1, 1], builders: 0 }), 'KILN_E_SCHEDULER');
});

test('a cyclic graph is refused with KILN_E_CYCLE', () => {
  const dag = dagOf({ 'a/a': ['a/c'], 'a/b': ['a/a'], 'a/c': ['a/b'] });
  throwsCode(() => createScheduler({ dag, durations: [1, 1, 1], builders: 1 }), 'KILN_E_CYCLE');
});

function runAll(s: Scheduler, fail: Set<number>): number[] {
  const order: number[] = [];
  for (let guard = 0; guard < 1000 && !s.isDone(); guard++) {
    const v = s.next();
    assert.notEqual(v, null, 'work left but nothing to start');
    s.started(v!, 0);
    s.finished(v!, fail.has(v!) ? 'failed' : 'ok');
    order.push(v!);
  }
  return order;
}

test('a failure skips every transitive dependent, naming the failed port; unrelated ports still build', () => {
  const dag = dagOf({
    'lib/a': [],
    'lib/b': ['lib/a'],
    'app/c': ['lib/b'],
    'app/d': ['lib/a'],
    'lib/e': [],
    'app/f': ['app/c', 'lib/e'],
    'app/g': ['lib/e'],
  });
  const s = createScheduler({ dag, durations: [1, 1, 1, 1, 1, 1, 1], builders: 1 });
  s.started(id(dag, 'lib/a'), 0);
  const out = s.finished(id(dag, 'lib/a'), 'failed');
  assert.deepEqual(names(dag, out.skipped).sort(), ['app/c', 'app/d', 'app/f', 'lib/b']);
  for (const o of ['lib/b', 'app/c', 'app/d', 'app/f']) {
    assert.equal(s.state(id(dag, o)), 'skipped');
    assert.equal(s.skippedBecause(id(dag, o)), id(dag, 'lib/a'));
  }
  assert.equal(s.skippedBecause(id(dag, 'lib/e')), null);
  assert.deepEqual(names(dag, runAll(s, new Set())), ['lib/e', 'app/g']);
  assert.deepEqual(s.counts(), { total: 7, waiting: 0, ready: 0, running: 0, done: 2, failed: 1, skipped: 4 });
  assert.deepEqual(s.mostOffending(), [{ node: id(dag, 'lib/a'), origin: 'lib/a', blocked: 4 }]);
});

test('mostOffending ranks failures by ports blocked; a port blocked twice keeps its first reason', () => {
  const dag = dagOf({
    'a/x': [],
    'a/y': [],
    'b/x1': ['a/x'],
    'b/x2': ['b/x1'],
    'b/x3': ['a/x'],
    'b/both': ['a/x', 'a/y'],
  });
  const s = createScheduler({ dag, durations: [1, 1, 1, 1, 1, 1], builders: 2 });
  s.started(id(dag, 'a/y'), 0);
  s.started(id(dag, 'a/x'), 1);
  assert.deepEqual(names(dag, s.finished(id(dag, 'a/y'), 'failed').skipped), ['b/both']);
  assert.deepEqual(names(dag, s.finished(id(dag, 'a/x'), 'failed').skipped).sort(), ['b/x1', 'b/x2', 'b/x3']);
  assert.equal(s.skippedBecause(id(dag, 'b/both')), id(dag, 'a/y'));
  assert.deepEqual(
    s.mostOffending().map((o) => [o.origin, o.blocked]),
    [
      ['a/x', 4],
      ['a/y', 1],
    ],
  );
  assert.deepEqual(
    s.mostOffending(1).map((o) => o.origin),
    ['a/x'],
  );
  assert.equal(s.isDone(), true);
});

test("workerLost puts the lost builder's running ports back to ready; others keep running", () => {
  const dag = dagOf({ 'p/a': [], 'p/b': [], 'p/c': [], 'p/d': ['p/a'] });
  const s = createScheduler({ dag, durations: [3, 2, 1, 1], builders: 3 });
  s.started(0, 'w1', 10);
  s.started(1, 'w1', 11);
  s.started(2, 'w2', 12);
  assert.deepEqual(
    s.running().map((r) => [r.node, r.builder, r.since]),
    [
      [0, 'w1', 10],
      [1, 'w1', 11],
      [2, 'w2', 12],
    ],
  );
  assert.equal(s.runningOn(0), 'w1');
  assert.deepEqual(s.workerLost('w1'), [0, 1]);
  assert.equal(s.runningOn(0), null);
  assert.equal(s.state(0), 'ready');
  assert.equal(s.state(1), 'ready');
  assert.equal(s.state(2), 'running');
  assert.deepEqual(s.readyQueue(), [0, 1]);
  assert.deepEqual(s.workerLost('w1'), [], 'nothing left on w1');
  throwsCode(() => s.finished(0, 'ok'), 'KILN_E_SCHEDULER'); // the lost worker's late result
  s.started(0, 'w3', 20);
  assert.equal(s.times(0).start, 20);
  s.finished(0, 'ok', 23);
  assert.deepEqual(s.times(0), { start: 20, finish: 23 });
  assert.equal(s.state(3), 'ready');
  s.requeue(2);
  assert.equal(s.state(2), 'ready');
  assert.equal(s.counts().running, 0);
});

test('setBuilders changes how many may run at once', () => {
  const dag = dagOf({ 'p/a': [], 'p/b': [], 'p/c': [] });
  const s = createScheduler({ dag, durations: [1, 1, 1], builders: 1 });
  s.started(s.next()!, 0);
  assert.equal(s.next(), null);
  s.setBuilders(2);
  assert.notEqual(s.next(), null);
  s.started(s.next()!, 1);
  s.setBuilders(1);
  assert.equal(s.next(), null, 'over capacity after shrinking: nothing new starts');
  throwsCode(() => s.setBuilders(0), 'KILN_E_SCHEDULER');
});

test('resume from a partial state: done nodes are not handed out again', () => {
  const dag = dagOf({ 'c/a': [], 'c/b': ['c/a'], 'c/c': ['c/b'], 'c/x': [] });
  const s = createScheduler({ dag, durations: [1, 1, 1, 1], builders: 1, done: [0, 3] });
  assert.deepEqual(s.counts(), { total: 4, waiting: 1, ready: 1, running: 0, done: 2, failed: 0, skipped: 0 });
  assert.deepEqual(names(dag, runAll(s, new Set())), ['c/b', 'c/c']);
  const kept = createScheduler({ dag, durations: [1, 1, 1, 1], builders: 1, done: new Set([1]) });
  assert.equal(kept.state(1), 'done');
  assert.equal(kept.state(2), 'ready', 'a node whose only dependency is done is ready');
  assert.deepEqual(names(dag, runAll(kept, new Set())), ['c/a', 'c/c', 'c/x'], 'a has the longer critical path');
  const all = createScheduler({ dag, durations: [1, 1, 1, 1], builders: 1, done: [0, 1, 2, 3] });
  assert.equal(all.isDone(), true);
  assert.equal(all.next(), null);
});

test('same input, same decisions (determinism)', () => {
  const dag = dagOf({ 'q/b': [], 'q/a': [], 'q/d': ['q/a', 'q/b'], 'q/c': ['q/a'], 'q/e': [] });
  const one = runAll(createScheduler({ dag, durations: [2, 2, 1, 1, 2], builders: 1 }), new Set());
  const two = runAll(createScheduler({ dag, durations: [2, 2, 1, 1, 2], builders: 1 }), new Set());
  assert.deepEqual(one, two);
  assert.deepEqual(names(dag, one), ['q/a', 'q/b', 'q/e', 'q/c', 'q/d']);
});

test('a 100,000-deep chain: no stack overflow, in order, and a failure at the root skips it all', () => {
  const n = 100_000;
  const ids = Array.from({ length: n }, (_, i) => `chain/p${i}`);
  const dag: Dag = { ids, deps: ids.map((_, i) => (i === 0 ? [] : [i - 1])) };
  const durations = new Float64Array(n).fill(2);
  const s = createScheduler({ dag, durations, builders: 4 });
  assert.equal(s.priority(0), 2 * n);
  assert.equal(s.priority(n - 1), 2);
  let expected = 0;
  for (let guard = 0; guard < n + 1 && !s.isDone(); guard++) {
    const v = s.next();
    assert.equal(v, expected++);
    s.started(v!, 0);
    s.finished(v!, 'ok');
  }
  assert.equal(expected, n);
  const f = createScheduler({ dag, durations, builders: 4 });
  f.started(0, 0);
  assert.equal(f.finished(0, 'failed').skipped.length, n - 1);
  assert.equal(f.skippedBecause(n - 1), 0);
  assert.deepEqual(f.mostOffending(), [{ node: 0, origin: 'chain/p0', blocked: n - 1 }]);
  assert.equal(f.isDone(), true);
});
