/**
 * Orderings as total ranks (`rank[node]` = place, 0 first): kiln's critical path and the baselines it is
 * measured against (FIFO, poudriere's longest chain of dependents, pbulk's number of transitive
 * dependents).
 */
import type { Csr } from './csr.js';
import {
  criticalPath,
  directDependents,
  rankBy,
  rankByThenId,
  topoRank,
  transitiveDependents,
  unitChain,
} from './priorities.js';
import type { Policy } from './types.js';

/**
 * kiln's default order: critical path (seconds to a sink) descending, then the longest chain of dependents
 * in nodes, then more direct dependents, then origin name.
 */
export function kilnRank(csr: Csr, dur: Float64Array, cp: Float64Array, ids: readonly string[]): Int32Array {
  return rankBy(ids, [cp, unitChain(csr), directDependents(csr)]);
}

/** The rank of a policy. Baselines break ties by input order, as a plain sort of their queue would. */
export function policyRank(csr: Csr, dur: Float64Array, ids: readonly string[], policy: Policy): Int32Array {
  switch (policy) {
    case 'kiln':
      return kilnRank(csr, dur, criticalPath(csr, dur), ids);
    case 'fifo':
      return topoRank(csr);
    case 'poudriere':
      return rankByThenId(csr.n, [unitChain(csr)]);
    case 'pbulk':
      return rankByThenId(csr.n, [transitiveDependents(csr).count]);
  }
}

/** Every policy name, kiln's first. */
export const POLICIES: readonly Policy[] = ['kiln', 'fifo', 'poudriere', 'pbulk'];
