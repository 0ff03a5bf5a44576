/**
 * Compact adjacency for the scheduler: both edge directions as CSR (offsets + flat Int32Array), a
 * topological order found iteratively (Kahn), and input checks. Everything here is O(nodes + edges)
 * and uses no recursion, so 35k nodes / 250k edges / 100k-deep chains are fine.
 */
import type { Dag } from '../graph/index.js';
import { KilnError } from '../util/errors.js';

/** The graph in flat arrays. Node ids are the {@link Dag}'s. */
export interface Csr {
  /** Number of nodes. */
  readonly n: number;
  /** Dependencies of `i`: `depIdx[depOff[i] .. depOff[i+1])`. */
  readonly depOff: Int32Array;
  readonly depIdx: Int32Array;
  /** Dependents of `i` (nodes that need `i`): `rdepIdx[rdepOff[i] .. rdepOff[i+1])`. */
  readonly rdepOff: Int32Array;
  readonly rdepIdx: Int32Array;
  /** A topological order: every node after all of its dependencies (ties in input order). */
  readonly topo: Int32Array;
}

/** Builds the {@link Csr} of `dag`; throws KILN_E_CYCLE if it has a cycle, KILN_E_SCHEDULER on bad ids. */
export function toCsr(dag: Dag): Csr {
  const n = dag.ids.length;
  if (dag.deps.length !== n) {
    throw new KilnError('KILN_E_SCHEDULER', `dag has ${n} ids but ${dag.deps.length} dependency lists`, {
      hint: 'build the Dag with buildDag from src/graph',
      exitCode: 1,
    });
  }
  const depOff = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) depOff[i + 1] = depOff[i]! + dag.deps[i]!.length;
  const m = depOff[n]!;
  const depIdx = new Int32Array(m);
  const indeg = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const deps = dag.deps[i]!;
    for (let j = 0; j < deps.length; j++) {
      const d = deps[j]!;
      if (!Number.isInteger(d) || d < 0 || d >= n || d === i) {
        throw new KilnError('KILN_E_SCHEDULER', `node ${dag.ids[i]} has an invalid dependency id ${d}`, {
          hint: 'dependency ids must be other nodes of the same Dag',
          exitCode: 1,
        });
      }
      depIdx[k++] = d;
      indeg[d]!++;
    }
  }
  // Dependents, in the order of the dependents' ids (deterministic).
  const rdepOff = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rdepOff[i + 1] = rdepOff[i]! + indeg[i]!;
  const fill = rdepOff.slice(0, n);
  const rdepIdx = new Int32Array(m);
  for (let i = 0; i < n; i++) {
    for (let e = depOff[i]!; e < depOff[i + 1]!; e++) rdepIdx[fill[depIdx[e]!]!++] = i;
  }
  const topo = topoOrder(n, depOff, rdepOff, rdepIdx);
  if (topo === null) {
    throw new KilnError('KILN_E_CYCLE', 'the dependency graph has a cycle; the scheduler needs a DAG', {
      hint: 'run findCycles from src/graph to see the cycle, and break it in the recipes',
      exitCode: 2,
    });
  }
  return { n, depOff, depIdx, rdepOff, rdepIdx, topo };
}

/** Kahn's algorithm with a FIFO queue seeded in input order; null when a cycle leaves nodes unplaced. */
function topoOrder(n: number, depOff: Int32Array, rdepOff: Int32Array, rdepIdx: Int32Array): Int32Array | null {
  const pending = new Int32Array(n);
  const order = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    pending[i] = depOff[i + 1]! - depOff[i]!;
    if (pending[i] === 0) order[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const v = order[head]!;
    for (let e = rdepOff[v]!; e < rdepOff[v + 1]!; e++) {
      const w = rdepIdx[e]!;
      if (--pending[w]! === 0) order[tail++] = w;
    }
  }
  return tail === n ? order : null;
}

/**
 * Checks and copies durations into a Float64Array: one finite, non-negative number of seconds per node.
 * Throws KILN_E_SCHEDULER otherwise.
 */
export function toDurations(n: number, durations: ArrayLike<number>, ids: readonly string[]): Float64Array {
  if (durations.length !== n) {
    throw new KilnError('KILN_E_SCHEDULER', `got ${durations.length} durations for ${n} nodes`, {
      hint: 'pass one duration (seconds) per Dag node, indexed by node id',
      exitCode: 1,
    });
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = durations[i]!;
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) {
      throw new KilnError('KILN_E_SCHEDULER', `duration of ${ids[i]} is ${String(d)}`, {
        hint: 'durations are finite, non-negative numbers of seconds',
        exitCode: 1,
      });
    }
    out[i] = d;
  }
  return out;
}
