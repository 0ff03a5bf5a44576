import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../util/errors.js';
import { toCsr } from './csr.js';
import { RankHeap, EventHeap } from './heap.js';
import { criticalPath, transitiveDependents, unitChain } from './priorities.js';
import { prng, randomDag } from './random.js';

/** Transitive dependents by plain BFS from every node (the slow reference). */
function naive(deps: readonly (readonly number[])[], dur: Float64Array): { count: number[]; work: number[] } {
  const n = deps.length;
  const rdeps: number[][] = Array.from({ length: n }, () => []);
  deps.forEach((ds, i) => ds.forEach((d) => rdeps[d]!.push(i)));
  const count: number[] = [],
    work: number[] = [];
  for (let v = 0; v < n; v++) {
    const seen = new Set<number>();
    const stack = [...rdeps[v]!];
    while (stack.length > 0) {
      const w = stack.pop()!;
      if (seen.has(w)) continue;
      seen.add(w);
      stack.push(...rdeps[w]!);
    }
    count.push(seen.size);
    work.push([...seen].reduce((s, w) => s + dur[w]!, 0));
  }
  return { count, work };
}

test('transitive dependents are exact, across several bit blocks', () => {
  // 5,000 nodes: three blocks of 2,048 topological positions.
  const g = randomDag({ seed: 5, nodes: 5000, avgDeps: 3, levels: 12, chains: 2, chainLength: 50 });
  const csr = toCsr(g.dag);
  const got = transitiveDependents(csr, g.durations);
  const want = naive(g.dag.deps, g.durations);
  assert.deepEqual([...got.count], want.count);
  assert.deepEqual([...got.work!], want.work);
  assert.ok(Math.max(...want.count) > 2048, 'some node reaches more than one block');
  assert.equal(transitiveDependents(csr).work, null);
});

test('critical path and unit chain on a small graph', () => {
  // 0 ← 1 ← 3, 0 ← 2
  const dag = { ids: ['a/0', 'a/1', 'a/2', 'a/3'], deps: [[], [0], [0], [1]] };
  const csr = toCsr(dag);
  assert.deepEqual([...criticalPath(csr, Float64Array.from([1, 10, 20, 5]))], [21, 15, 20, 5]);
  assert.deepEqual([...unitChain(csr)], [3, 2, 1, 1]);
  assert.deepEqual([...csr.topo], [0, 1, 2, 3]);
});

test('toCsr refuses dependency ids out of range or on the node itself', () => {
  const bad = (deps: number[][]): void => {
    assert.throws(
      () => toCsr({ ids: deps.map((_, i) => `a/${i}`), deps }),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_SCHEDULER',
    );
  };
  bad([[1]]);
  bad([[0]]);
  bad([[], [-1]]);
  bad([[], [0.5]]);
});

test('RankHeap pops in rank order under random pushes and removals', () => {
  const rnd = prng(42);
  const n = 500;
  const order = Array.from({ length: n }, (_, i) => i).sort(() => rnd() - 0.5);
  const rank = new Int32Array(n);
  order.forEach((node, r) => {
    rank[node] = r;
  });
  const heap = new RankHeap(rank);
  const ref = new Set<number>();
  for (let step = 0; step < 5000; step++) {
    const v = Math.floor(rnd() * n);
    if (rnd() < 0.6) {
      heap.push(v);
      ref.add(v);
    } else {
      heap.remove(v);
      ref.delete(v);
    }
    const best = [...ref].sort((a, b) => rank[a]! - rank[b]!)[0] ?? -1;
    assert.equal(heap.peek(), best);
    assert.equal(heap.length, ref.size);
  }
  assert.deepEqual(
    heap.sorted(),
    [...ref].sort((a, b) => rank[a]! - rank[b]!),
  );
});

test('EventHeap pops by time, then by tie key, and grows', () => {
  const e = new EventHeap(1);
  const items: [number, number, number][] = [
    [5, 1, 3],
    [2, 2, 9],
    [5, 3, 1],
    [1, 4, 0],
    [2, 5, 2],
  ];
  for (const [t, node, key] of items) e.push(t, node, key);
  const out: number[] = [];
  while (e.length > 0) out.push(e.pop());
  assert.deepEqual(out, [4, 5, 2, 3, 1]);
  assert.equal(e.pop(), -1);
  assert.equal(e.peekTime(), Infinity);
});
