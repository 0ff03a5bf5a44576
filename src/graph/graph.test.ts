import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closure,
  closureDag,
  buildDag,
  dependents,
  topoOrder,
  subDag,
  findCycles,
  cycleGroups,
  cyclicComponents,
  formatCycle,
} from './index.js';
import type { Dag, PlanningTable } from './index.js';
import { attachPlanning, portsOfNodes } from './index.js';
import type { Port } from '../recipe/types.js';
import { mkports } from './__fixtures__/mkports.js';
import { prng } from '../util/prng.js';

const rng = prng;

function dagOf(edges: Record<string, string[]>): Dag {
  const ids = Object.keys(edges);
  const ix = new Map(ids.map((o, i) => [o, i]));
  return { ids, deps: ids.map((o) => edges[o]!.map((d) => ix.get(d)!)) };
}

test('closure follows build and run dependencies transitively and sorts the result', () => {
  const ports = mkports({
    'a/app': { build: ['l/lib'], run: ['l/rt'] },
    'l/lib': ['l/base'],
    'l/rt': { run: ['l/base'] },
    'l/base': [],
    'x/unrelated': [],
  });
  const c = closure(ports, ['a/app']);
  assert.deepEqual(c.origins, ['a/app', 'l/base', 'l/lib', 'l/rt']);
  assert.deepEqual(c.missing, []);
  assert.deepEqual(closure(ports, 'all').origins, ['a/app', 'l/base', 'l/lib', 'l/rt', 'x/unrelated']);
});

test('closure reports missing dependencies with the asking recipe, list and index, and missing roots', () => {
  const ports = mkports({
    'a/app': { build: ['l/lib', 'l/gone'], run: ['l/lib', 'l/also-gone'] },
    'l/lib': [],
  });
  const c = closure(ports, ['a/app', 'z/nope', 'a/app']);
  assert.deepEqual(c.origins, ['a/app', 'l/lib']);
  assert.deepEqual(c.missing, [
    { origin: 'z/nope', dependsOn: 'z/nope', kind: 'root', index: 1 },
    { origin: 'a/app', dependsOn: 'l/gone', kind: 'build', index: 1 },
    { origin: 'a/app', dependsOn: 'l/also-gone', kind: 'run', index: 1 },
  ]);
  assert.equal(closure(ports, 'all').missing.length, 2);
});

test('closure walks a 100,000-deep chain without recursion', () => {
  const spec: Record<string, string[]> = {};
  const N = 100_000;
  for (let i = 0; i < N; i++) spec[`c/p${i}`] = i + 1 < N ? [`c/p${i + 1}`] : [];
  const ports = mkports(spec);
  const c = closure(ports, ['c/p0']);
  assert.equal(c.origins.length, N);
  const dag = buildDag(ports, c.origins);
  const order = topoOrder(dag);
  assert.equal(order.length, N);
  assert.equal(dag.ids[order[0]!], `c/p${N - 1}`);
  assert.equal(dag.ids[order[N - 1]!], 'c/p0');
  assert.deepEqual(findCycles(dag), []);
});

test('buildDag unions build and run dependencies inside the set, without duplicates, keeping self-edges', () => {
  const ports = mkports({
    'a/a': { build: ['a/b', 'a/c', 'a/b'], run: ['a/c', 'a/out'] },
    'a/b': ['a/b'],
    'a/c': [],
    'a/out': [],
  });
  const dag = buildDag(ports, ['a/a', 'a/b', 'a/c']);
  assert.deepEqual(dag.ids, ['a/a', 'a/b', 'a/c']);
  assert.deepEqual(dag.deps, [[1, 2], [1], []]);
  assert.deepEqual(dependents(dag), [[], [0, 1], [0]]);
  assert.deepEqual(findCycles(dag), [['a/b']]);
  assert.equal(formatCycle(['a/b']), 'a/b → a/b');
});

test('findCycles reports each cycle whole, in dependency order, starting at its first origin', () => {
  const dag = dagOf({
    'x/c': ['x/a'],
    'x/a': ['x/b'],
    'x/b': ['x/c'], // x/a → x/b → x/c → x/a
    'y/top': ['x/a', 'z/q'],
    'z/q': ['z/r'],
    'z/r': ['z/q', 'z/leaf'],
    'z/leaf': [],
  });
  assert.deepEqual(findCycles(dag), [
    ['x/a', 'x/b', 'x/c'],
    ['z/q', 'z/r'],
  ]);
  assert.equal(formatCycle(['x/a', 'x/b', 'x/c']), 'x/a → x/b → x/c → x/a');
  // Nodes on a cycle and those depending on one are left out of the topological order.
  assert.deepEqual(
    topoOrder(dag).map((i) => dag.ids[i]),
    ['z/leaf'],
  );
});

test('a component with many cycles is reported once, with all of its members', () => {
  const dag = dagOf({ 'a/1': ['a/2', 'a/3'], 'a/2': ['a/1', 'a/3'], 'a/3': ['a/4'], 'a/4': ['a/1'] });
  const groups = cycleGroups(dag);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0]!.members, [0, 1, 2, 3]);
  assert.deepEqual(findCycles(dag), [['a/1', 'a/2']]);
});

test('a 100,000-long cycle is found whole without overflowing the stack', () => {
  const N = 100_000;
  const ids = Array.from({ length: N }, (_, i) => `c/n${String(i).padStart(6, '0')}`);
  const deps = ids.map((_, i) => [(i + 1) % N]);
  const cycles = findCycles({ ids, deps });
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0]!.length, N);
  assert.equal(cycles[0]![0], 'c/n000000');
  assert.equal(cycles[0]![N - 1], `c/n${String(N - 1).padStart(6, '0')}`);
});

/** Reference SCCs by brute-force reachability (small graphs only). */
function referenceCyclic(dag: Dag): Set<string> {
  const n = dag.ids.length;
  const reach: Uint8Array[] = [];
  for (let s = 0; s < n; s++) {
    const r = new Uint8Array(n);
    const st = [...dag.deps[s]!];
    while (st.length) {
      const v = st.pop()!;
      if (!r[v]) {
        r[v] = 1;
        st.push(...dag.deps[v]!);
      }
    }
    reach.push(r);
  }
  const comps = new Set<string>();
  for (let s = 0; s < n; s++) {
    if (!reach[s]![s]) continue;
    const members: number[] = [];
    for (let t = 0; t < n; t++) if (reach[s]![t] && reach[t]![s]) members.push(t);
    comps.add(members.join(','));
  }
  return comps;
}

test('on dense random graphs, components match brute force and every reported cycle is a real cycle', () => {
  const rand = rng(42);
  for (let round = 0; round < 60; round++) {
    const n = 5 + Math.floor(rand() * 60);
    const density = rand() * 0.15;
    const ids = Array.from({ length: n }, (_, i) => `r/n${i}`);
    const deps = ids.map(() => {
      const s = new Set<number>();
      for (let j = 0; j < n; j++) if (rand() < density) s.add(j);
      return [...s];
    });
    const dag = { ids, deps };
    const got = new Set(cyclicComponents(dag).map((c) => c.join(',')));
    assert.deepEqual(got, referenceCyclic(dag), `round ${round}`);
    for (const g of cycleGroups(dag)) {
      for (let k = 0; k < g.cycle.length; k++) {
        const from = g.cycle[k]!;
        const to = g.cycle[(k + 1) % g.cycle.length]!;
        assert.ok(deps[from]!.includes(to), `round ${round}: ${from} → ${to} is not an edge`);
        assert.ok(g.members.includes(from));
      }
      assert.equal(new Set(g.cycle).size, g.cycle.length, 'a cycle repeats no node');
    }
    const order = topoOrder(dag);
    const pos = new Int32Array(n).fill(-1);
    order.forEach((v, k) => {
      pos[v] = k;
    });
    for (const v of order) for (const d of deps[v]!) assert.ok(pos[d]! >= 0 && pos[d]! < pos[v]!, 'deps come first');
  }
});

test('a dense random acyclic graph of 20,000 nodes and 300,000 edges orders fully', () => {
  const rand = rng(7);
  const n = 20_000;
  const ids = Array.from({ length: n }, (_, i) => `d/n${i}`);
  const deps = ids.map((_, i) => {
    const s = new Set<number>();
    for (let k = 0; k < 15 && i > 0; k++) s.add(Math.floor(rand() * i));
    return [...s];
  });
  const dag = { ids, deps };
  assert.deepEqual(cyclicComponents(dag), []);
  const order = topoOrder(dag);
  assert.equal(order.length, n);
  const pos = new Int32Array(n);
  order.forEach((v, k) => {
    pos[v] = k;
  });
  for (let v = 0; v < n; v++) for (const d of deps[v]!) assert.ok(pos[d]! < pos[v]!);
  // Closing one long back-edge makes a cycle through the whole chain it spans.
  deps[0]!.push(n - 1);
  assert.equal(cycleGroups(dag).length, 1);
});

test('subDag keeps only the chosen nodes and the edges between them', () => {
  const dag = dagOf({ 'a/1': ['a/2', 'a/3'], 'a/2': ['a/3'], 'a/3': [] });
  assert.deepEqual(subDag(dag, [2, 0]), { ids: ['a/3', 'a/1'], deps: [[], [0]] });
});

test('closureDag gives the same graph and missing dependencies as closure + buildDag', () => {
  const rand = rng(3);
  const spec: Record<string, { build: string[]; run: string[] }> = {};
  const names = Array.from({ length: 300 }, (_, i) => `c${i % 7}/p${(i * 7919) % 1000}`);
  for (const o of names) {
    const pick = (): string[] =>
      Array.from({ length: Math.floor(rand() * 5) }, () =>
        rand() < 0.05 ? 'x/missing' : names[Math.floor(rand() * names.length)]!,
      );
    spec[o] = { build: pick(), run: pick() };
  }
  const ports = mkports(spec);
  for (const roots of ['all', [names[0]!, names[5]!, 'z/none']] as const) {
    const c = closure(ports, roots);
    const fast = closureDag(ports, roots);
    assert.deepEqual(fast.dag, buildDag(ports, c.origins));
    assert.deepEqual(fast.missing, c.missing);
  }
});

/**
 * Gives the ports of `ports` whose origins are in `tabled` planning data with a row of one table (as the scan
 * cache's ports have): rows in `rows` order (origins of the table that are not ports too), refs to rows or names.
 */
function withTable(ports: Map<string, Port>, rows: readonly string[], tabled: ReadonlySet<string>): Map<string, Port> {
  const rowOf = new Map(rows.map((o, r) => [o, r]));
  const names: string[] = [];
  const refs: number[] = [];
  const at: number[] = [];
  const nb: number[] = [];
  const nr: number[] = [];
  const ref = (d: string): number => {
    const r = rowOf.get(d);
    if (r !== undefined) return r;
    if (!names.includes(d)) names.push(d);
    return -1 - names.indexOf(d);
  };
  for (const o of rows) {
    const d = ports.get(o)?.recipe.depends ?? { build: ['x/gone'], run: [] };
    at.push(refs.length);
    nb.push(d.build.length);
    nr.push(d.run.length);
    for (const x of [...d.build, ...d.run]) refs.push(ref(x));
  }
  const table: PlanningTable = {
    origins: rows,
    refs: Int32Array.from(refs),
    at: (r) => at[r]!,
    builds: (r) => nb[r]!,
    runs: (r) => nr[r]!,
    name: (x) => names[-1 - x]!,
  };
  const out = new Map<string, Port>();
  for (const [o, p] of ports) {
    const copy = { ...p };
    if (tabled.has(o) && rowOf.has(o)) {
      const row = rowOf.get(o)!;
      attachPlanning(copy, { depends: () => p.recipe.depends, options: () => p.recipe.options, table }, row);
    }
    out.set(o, copy);
  }
  return out;
}

test('closureDag resolves ports of a planning table from its integers: the same graph and missing dependencies', () => {
  const rand = rng(5);
  const names = Array.from({ length: 400 }, (_, i) => `c${i % 5}/p${(i * 7919) % 2000}`);
  const spec: Record<string, { build: string[]; run: string[] }> = {};
  for (const o of names) {
    const pick = (): string[] =>
      Array.from({ length: Math.floor(rand() * 5) }, () =>
        rand() < 0.05 ? `x/missing${Math.floor(rand() * 3)}` : names[Math.floor(rand() * names.length)]!,
      );
    spec[o] = { build: pick(), run: pick() };
  }
  const plain = mkports(spec);
  const sorted = [...plain.keys()].sort();
  // Every port in the table; some not (loaded again); table rows of ports that are gone, in another order.
  const cases: [string, string[], Set<string>][] = [
    ['all tabled', sorted, new Set(sorted)],
    ['some tabled', sorted, new Set(sorted.filter(() => rand() < 0.7))],
    [
      'rows of gone ports, unsorted rows',
      [...sorted.slice(0, 300), 'c9/gone', 'x/missing1'].reverse(),
      new Set(sorted),
    ],
  ];
  const want = closureDag(plain, 'all');
  for (const [what, rows, tabled] of cases) {
    const ports = withTable(plain, rows, tabled);
    const got = closureDag(ports, 'all');
    assert.deepEqual(got.dag, want.dag, what);
    assert.deepEqual(got.missing, want.missing, what);
    assert.deepEqual(got.dag, buildDag(ports, closure(ports, 'all').origins), what);
    assert.deepEqual(
      portsOfNodes(got.dag, ports),
      got.dag.ids.map((o) => ports.get(o)),
      what,
    );
  }
  // A map in another order than its sorted origins (the graph's nodes are sorted) gives the same graph too.
  const shuffled = withTable(new Map([...plain].reverse()), sorted, new Set(sorted));
  assert.deepEqual(closureDag(shuffled, 'all').dag, want.dag);
});

test('portsOfNodes looks ports up for a dag made from another map', () => {
  const ports = mkports({ 'a/1': ['a/2'], 'a/2': [] });
  const { dag } = closureDag(ports, 'all');
  const other = new Map([...ports].map(([o, p]) => [o, { ...p }]));
  assert.equal(portsOfNodes(dag, ports)[0], ports.get('a/1'));
  assert.equal(portsOfNodes(dag, other)[0], other.get('a/1'));
});

test('topoOrder is Kahn FIFO over dependents() exactly, also leaving out nodes on or behind cycles', () => {
  const rand = rng(11);
  for (let round = 0; round < 20; round++) {
    const n = 50 + Math.floor(rand() * 400);
    const deps = Array.from({ length: n }, (_, i) => {
      const s = new Set<number>();
      for (let k = 0; k < 4; k++) if (rand() < 0.8) s.add(Math.floor(rand() * n)); // any direction: cycles, self-edges
      return [...s].filter((d) => d !== i || round % 3 === 0);
    });
    const dag = { ids: deps.map((_, i) => `r/n${i}`), deps };
    const rev = dependents(dag);
    const pending = deps.map((d) => d.length);
    const want: number[] = [];
    for (let i = 0; i < n; i++) if (pending[i] === 0) want.push(i);
    for (let h = 0; h < want.length; h++) for (const k of rev[want[h]!]!) if (--pending[k]! === 0) want.push(k);
    assert.deepEqual(topoOrder(dag), want, `round ${round}`);
  }
});
