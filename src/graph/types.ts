/** The dependency graph as the scheduler and the plan see it: dense integer node ids. */

/**
 * A directed graph of ports. Node `i` is `ids[i]` (an origin); `deps[i]` lists the nodes that must be
 * built before `i` (its build and run dependencies within the graph), without duplicates.
 */
export interface Dag {
  /** Origins, indexed by node id. */
  readonly ids: readonly string[];
  /** `deps[i]`: node ids that `i` needs built first. */
  readonly deps: readonly (readonly number[])[];
}
