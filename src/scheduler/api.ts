/** Convenience entry points over a {@link Dag} (the prepared-graph forms stay internal). */
import type { Dag } from '../graph/index.js';
import { toCsr, toDurations } from './csr.js';
import { schedulerFor } from './machine.js';
import { policyRank } from './policies.js';
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
  const s = schedulerFor({ dag, durations: dur, builders: 1 }, csr, dur, criticalPath(csr, dur));
  const order: number[] = [];
  for (let v = s.next(); v !== null && order.length < csr.n; v = s.next()) {
    s.started(v, 0);
    s.finished(v, 'ok');
    order.push(v);
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
