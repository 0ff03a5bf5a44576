/**
 * Dependency cycles: strongly connected components by an iterative Tarjan (no recursion, so a 100,000-deep
 * chain or Debian's own tangled graph never overflows the stack), and one whole cycle, in order, per
 * component. Pure.
 */
import type { Dag } from './types.js';

/** One cyclic component of a graph: a cycle through it, and all of its members. */
export interface CycleGroup {
  /**
   * Node ids of one cycle in dependency order: `cycle[0]` depends on `cycle[1]`, …, and the last depends on
   * `cycle[0]`. Starts at the member whose origin sorts first; it is a shortest cycle through that member.
   */
  readonly cycle: number[];
  /** Every node of the strongly connected component, ascending (a superset of `cycle`'s nodes). */
  readonly members: number[];
}

/**
 * Strongly connected components with more than one node, or with a self-edge, each as a node-id list
 * (ascending). Iterative Tarjan, O(nodes + edges).
 */
export function cyclicComponents(dag: Dag): number[][] {
  const n = dag.ids.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  const callNode = new Int32Array(n);
  const callEdge = new Int32Array(n);
  let cp = 0;
  let next = 0;
  const out: number[][] = [];
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    callNode[0] = root;
    callEdge[0] = 0;
    cp = 1;
    index[root] = low[root] = next++;
    stack[sp++] = root;
    onStack[root] = 1;
    while (cp > 0) {
      const v = callNode[cp - 1]!;
      const edges = dag.deps[v]!;
      const e = callEdge[cp - 1]!;
      if (e < edges.length) {
        callEdge[cp - 1] = e + 1;
        const w = edges[e]!;
        if (index[w] === -1) {
          index[w] = low[w] = next++;
          stack[sp++] = w;
          onStack[w] = 1;
          callNode[cp] = w;
          callEdge[cp] = 0;
          cp++;
        } else if (onStack[w] === 1 && index[w]! < low[v]!) {
          low[v] = index[w]!;
        }
        continue;
      }
      cp--;
      if (cp > 0) {
        const parent = callNode[cp - 1]!;
        if (low[v]! < low[parent]!) low[parent] = low[v]!;
      }
      if (low[v] === index[v] && stack[sp - 1] === v) {
        // A component of one node (most of them): cyclic only with a self-edge; no list made for the others.
        sp--;
        onStack[v] = 0;
        if (edges.includes(v)) out.push([v]);
      } else if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack[--sp]!;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || edges.includes(v)) out.push(comp.sort((a, b) => a - b));
      }
    }
  }
  return out;
}

/** A shortest cycle through `start` within `members` (breadth-first over dependency edges). */
function cycleThrough(dag: Dag, start: number, inComp: Int32Array, compId: number): number[] {
  if (dag.deps[start]!.includes(start)) return [start];
  const parent = new Map<number, number>([[start, -1]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of dag.deps[v]!) {
      if (inComp[w] !== compId) continue;
      if (w === start) {
        const path: number[] = [];
        for (let x = v; x !== -1; x = parent.get(x)!) path.push(x);
        return path.reverse();
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  /* c8 ignore next */
  throw new Error('cycleThrough: start is not on a cycle of its component');
}

/**
 * Every cyclic component with one whole cycle through it, sorted by the cycle's first origin. Each
 * component is reported once, however many cycles it holds (enumerating them all is exponential).
 */
export function cycleGroups(dag: Dag): CycleGroup[] {
  const comps = cyclicComponents(dag);
  const inComp = new Int32Array(dag.ids.length).fill(-1);
  const groups: CycleGroup[] = [];
  comps.forEach((members, c) => {
    let start = members[0]!;
    for (const m of members) {
      inComp[m] = c;
      if (dag.ids[m]! < dag.ids[start]!) start = m;
    }
    groups.push({ cycle: cycleThrough(dag, start, inComp, c), members });
  });
  return groups.sort((a, b) => (dag.ids[a.cycle[0]!]! < dag.ids[b.cycle[0]!]! ? -1 : 1));
}

/**
 * The cycles of `dag` as origins, one per cyclic component, each the whole cycle in dependency order
 * without repeating the first origin at the end: `[A, B, C]` means A → B → C → A (see {@link formatCycle}).
 */
export function findCycles(dag: Dag): string[][] {
  return cycleGroups(dag).map((g) => g.cycle.map((i) => dag.ids[i]!));
}

/** `[A, B, C]` → `"A → B → C → A"`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.length === 0 ? '' : [...cycle, cycle[0]!].join(' → ');
}
