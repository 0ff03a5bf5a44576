/** Convenience entry points over a {@link Dag} (the prepared-graph forms stay internal). */
import type { Dag } from '../graph/index.js';
import { toCsr, toDurations, type Csr } from './csr.js';
import { kilnRank, policyRank } from './policies.js';
import { criticalPath } from './priorities.js';
import type { Policy } from './types.js';

/**
 * Critical-path priority of every node, indexed by node id: its duration plus the largest priority among
 * its dependents (the longest remaining path to a sink, in seconds). Iterative; throws KILN_E_CYCLE on a cycle.
 */
export function criticalPathPriorities(dag: Dag, durations: ArrayLike<number>): Float64Array {
  const csr = toCsr(dag);
  return criticalPath(csr, toDurations(csr.n, durations, dag.ids));
}

/**
 * The order in which the scheduler would start the nodes with one builder (every node succeeding):
 * always the most urgent ready node by kiln's default critical-path order. Used for `bulk -n`'s build list.
 */
export function oneBuilderOrder(dag: Dag, durations: ArrayLike<number>): number[] {
  const csr = toCsr(dag);
  const dur = toDurations(csr.n, durations, dag.ids);
  const rank = kilnRank(csr, dur, criticalPath(csr, dur), dag.ids);
  return rankedTopoOrder(csr, rank);
}

/**
 * What the scheduler hands out with one builder when every node succeeds: the ready node of lowest rank,
 * again and again (a topological order by rank). The same order as driving {@link schedulerFor} with
 * `next`/`started`/`finished`, without its per-event bookkeeping: a binary heap of ranks on a typed array.
 */
export function rankedTopoOrder(csr: Csr, rank: Int32Array): number[] {
  const { n, depOff, rdepOff, rdepIdx } = csr;
  const pending = new Int32Array(n);
  // heap[] holds ranks; byRank maps a rank back to its node (ranks are a permutation of 0..n-1).
  const byRank = new Int32Array(n);
  for (let i = 0; i < n; i++) byRank[rank[i]!] = i;
  const heap = new Int32Array(n);
  let size = 0;
  const push = (r: number): void => {
    let i = size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pr = heap[p]!;
      if (pr <= r) break;
      heap[i] = pr;
      i = p;
    }
    heap[i] = r;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && heap[c + 1]! < heap[c]!) c++;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  };
  for (let i = 0; i < n; i++) {
    pending[i] = depOff[i + 1]! - depOff[i]!;
    if (pending[i] === 0) push(rank[i]!);
  }
  const order: number[] = [];
  for (let guard = 0; size > 0 && guard < n; guard++) {
    const v = byRank[pop()]!;
    order.push(v);
    for (let e = rdepOff[v]!; e < rdepOff[v + 1]!; e++) {
      const w = rdepIdx[e]!;
      if (--pending[w]! === 0) push(rank[w]!);
    }
  }
  return order;
}

/**
 * The total order of a policy as ranks (`rank[node]` = place, 0 first), to pass to `createScheduler`
 * (`kiln`: the default critical-path order; baselines: `fifo`, `poudriere`, `pbulk`).
 */
export function policyRanks(dag: Dag, durations: ArrayLike<number>, policy: Policy): Int32Array {
  const csr = toCsr(dag);
  return policyRank(csr, toDurations(csr.n, durations, dag.ids), dag.ids, policy);
}
