import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dag } from '../graph/index.js';
import {
  POLICIES,
  choosePriority,
  createScheduler,
  criticalPathPriorities,
  oneBuilderOrder,
  policyRanks,
  prng,
  randomDag,
  simulate,
} from './index.js';

function dagOf(spec: Record<string, string[]>): Dag {
  const ids = Object.keys(spec);
  return { ids, deps: ids.map((o) => spec[o]!.map((d) => ids.indexOf(d))) };
}
const diamond = dagOf({ 'x/a': [], 'x/b': ['x/a'], 'x/c': ['x/a'], 'x/d': ['x/b', 'x/c'] });

test('diamond: exact makespans, bounds and the one-builder order', () => {
  assert.deepEqual([...criticalPathPriorities(diamond, [1, 2, 3, 1])], [5, 3, 4, 1]);
  assert.deepEqual(oneBuilderOrder(diamond, [1, 2, 3, 1]), [0, 2, 1, 3]);
  const two = simulate(diamond, [1, 2, 3, 1], 2);
  assert.equal(two.makespan_s, 5);
  assert.equal(two.critical_path_s, 5);
  assert.equal(two.work_s, 7);
  assert.equal(two.lower_bound_s, 5);
  assert.equal(two.ports, 4);
  assert.equal(two.builders, 2);
  assert.equal(two.peak_builders, 2);
  assert.equal(two.utilisation, 7 / 10);
  assert.equal(simulate(diamond, [1, 2, 3, 1], 1).makespan_s, 7);
});

test('chain: makespan is the sum whatever the builders', () => {
  const chain = dagOf({ 'c/1': [], 'c/2': ['c/1'], 'c/3': ['c/2'], 'c/4': ['c/3'] });
  for (const p of POLICIES) {
    for (const n of [1, 2, 8]) {
      const r = simulate(chain, [4, 3, 2, 1], n, p);
      assert.equal(r.makespan_s, 10, `${p} at ${n}`);
      assert.equal(r.peak_builders, 1);
    }
  }
  assert.deepEqual(oneBuilderOrder(chain, [4, 3, 2, 1]), [0, 1, 2, 3]);
});

test('fork: longest leaves first on two builders, with the exact schedule', () => {
  const fork = dagOf({
    'f/root': [],
    'f/l5': ['f/root'],
    'f/l4': ['f/root'],
    'f/l3a': ['f/root'],
    'f/l3b': ['f/root'],
    'f/l2': ['f/root'],
    'f/l1': ['f/root'],
  });
  const d = [1, 5, 4, 3, 3, 2, 1];
  const r = simulate(fork, d, 2, 'kiln', { trace: true });
  assert.equal(r.makespan_s, 10);
  assert.deepEqual([...r.trace!.start], [0, 1, 1, 5, 6, 8, 9]);
  assert.deepEqual([...r.trace!.finish], [1, 6, 5, 8, 9, 10, 10]);
  assert.equal(r.lower_bound_s, 9.5);
  // FIFO takes the leaves in input order: the same here, by construction of the fork.
  assert.equal(simulate(fork, d, 2, 'fifo').makespan_s, 10);
});

test('baselines order as documented: poudriere by chain length, pbulk by transitive dependents', () => {
  // a has the longest chain (a→b→c); h has more dependents (4) but a shorter chain.
  const dag = dagOf({
    'p/h': [],
    'p/a': [],
    'p/b': ['p/a'],
    'p/c': ['p/b'],
    'p/w1': ['p/h'],
    'p/w2': ['p/h'],
    'p/w3': ['p/h'],
    'p/w4': ['p/h'],
  });
  const d = new Array<number>(8).fill(1);
  const first = (rank: Int32Array): string => dag.ids[rank.indexOf(0)]!;
  assert.equal(first(policyRanks(dag, d, 'poudriere')), 'p/a');
  assert.equal(first(policyRanks(dag, d, 'pbulk')), 'p/h');
  assert.equal(first(policyRanks(dag, d, 'fifo')), 'p/h');
  assert.equal(first(policyRanks(dag, d, 'kiln')), 'p/a');
});

/** Checks a simulated schedule: dependencies respected, durations kept, never more than N at once. */
function checkSchedule(dag: Dag, d: ArrayLike<number>, n: number, r: ReturnType<typeof simulate>): void {
  const { start, finish, builder } = r.trace!;
  const events: [number, number][] = [];
  const perBuilder = new Map<number, [number, number][]>();
  for (let i = 0; i < dag.ids.length; i++) {
    assert.ok(Math.abs(finish[i]! - start[i]! - d[i]!) < 1e-9, 'finish = start + duration');
    for (const dep of dag.deps[i]!)
      assert.ok(start[i]! >= finish[dep]!, `${dag.ids[i]} started before ${dag.ids[dep]} finished`);
    assert.ok(builder[i]! >= 0 && builder[i]! < n);
    if (finish[i]! > start[i]!) {
      events.push([start[i]!, 1], [finish[i]!, -1]);
      const list = perBuilder.get(builder[i]!) ?? [];
      list.push([start[i]!, finish[i]!]);
      perBuilder.set(builder[i]!, list);
    }
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // finishes before starts at the same instant
  let running = 0;
  for (const [, delta] of events) {
    running += delta;
    assert.ok(running <= n, `more than ${n} running`);
  }
  for (const list of perBuilder.values()) {
    list.sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < list.length; k++) assert.ok(list[k]![0] >= list[k - 1]![1], 'two builds on one builder');
  }
  assert.ok(r.peak_builders <= n);
  assert.ok(r.makespan_s >= r.lower_bound_s - 1e-9, 'below the lower bound');
  assert.equal(r.makespan_s, Math.max(0, ...finish));
}

test('property: on random DAGs every policy respects dependencies and the builder limit; kiln is never worse', () => {
  let cases = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = prng(seed * 7919);
    const nodes = 5 + Math.floor(rnd() * 300);
    const g = randomDag({
      seed,
      nodes,
      avgDeps: 1 + rnd() * 6,
      levels: 2 + Math.floor(rnd() * 12),
      chains: Math.floor(rnd() * 3),
      chainLength: 3 + Math.floor(rnd() * 30),
      hubs: 1 + Math.floor(rnd() * 4),
    });
    const durations = seed % 4 === 0 ? new Float64Array(nodes).fill(60) : g.durations;
    for (const n of [1, 2, 4, 16, 64]) {
      const makespans: Record<string, number> = {};
      for (const p of POLICIES) {
        const r = simulate(g.dag, durations, n, p, { trace: true });
        checkSchedule(g.dag, durations, n, r);
        makespans[p] = r.makespan_s;
        cases++;
      }
      const base = Math.min(makespans.fifo!, makespans.poudriere!, makespans.pbulk!);
      assert.ok(makespans.kiln! <= base, `seed ${seed} at ${n}: ${JSON.stringify(makespans)}`);
    }
  }
  assert.equal(cases, 40 * 5 * POLICIES.length);
});

test('simulation is deterministic, and the chosen order drives the real scheduler to the same makespan', () => {
  const g = randomDag({ seed: 99, nodes: 400 });
  const a = simulate(g.dag, g.durations, 4, 'kiln', { trace: true });
  const b = simulate(g.dag, g.durations, 4, 'kiln', { trace: true });
  assert.deepEqual(a, b);
  const choice = choosePriority(g.dag, g.durations, 4);
  assert.equal(choice.name, a.chosen);
  assert.equal(choice.makespans[choice.name], a.makespan_s);
  // Drive createScheduler by hand with the chosen rank: same order of starts as the simulation.
  const s = createScheduler({ dag: g.dag, durations: g.durations, builders: 4, rank: choice.rank });
  const firstStarts: number[] = [];
  for (let v = s.next(0); v !== null; v = s.next(0)) {
    s.started(v, firstStarts.length);
    firstStarts.push(v);
  }
  const simFirst = [...a.trace!.start.keys()]
    .filter((i) => a.trace!.start[i] === 0)
    .sort((x, y) => choice.rank[x]! - choice.rank[y]!);
  assert.deepEqual(firstStarts, simFirst);
});

test('a 100,000-deep chain simulates without overflow', () => {
  const n = 100_000;
  const ids = Array.from({ length: n }, (_, i) => `chain/p${i}`);
  const dag: Dag = { ids, deps: ids.map((_, i) => (i === 0 ? [] : [i - 1])) };
  const r = simulate(dag, new Float64Array(n).fill(1), 8);
  assert.equal(r.makespan_s, n);
  assert.equal(r.critical_path_s, n);
  assert.equal(oneBuilderOrder(dag, new Float64Array(n).fill(1)).length, n);
});

test('oneBuilderOrder is the order a one-builder scheduler hands out, on random graphs with shuffled ids', () => {
  const rnd = prng(77);
  for (let seed = 1; seed <= 12; seed++) {
    const { dag, durations } = randomDag({ nodes: 300 + seed * 40, seed });
    // Unsorted origins make the tie-break by origin differ from the one by id.
    const ids = dag.ids.map((o) => (rnd() < 0.5 ? `z/${o}` : o));
    const shuffled: Dag = { ids, deps: dag.deps };
    const dur = Array.from(durations, (d, i) => (i % 7 === 0 ? 60 : d)); // ties in the critical path
    const s = createScheduler({ dag: shuffled, durations: dur, builders: 1 });
    const want: number[] = [];
    for (let v = s.next(); v !== null; v = s.next()) {
      s.started(v, 0);
      s.finished(v, 'ok');
      want.push(v);
    }
    assert.equal(want.length, ids.length);
    assert.deepEqual(oneBuilderOrder(shuffled, dur), want, `seed ${seed}`);
  }
});
