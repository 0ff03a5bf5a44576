/**
 * The dependency graph of a ports tree (pure): which ports a bulk covers, the {@link Dag} of them, cycles
 * reported whole and in order, topological order and reverse edges. Everything is iterative.
 */
export type { Dag } from './types.js';
export { closure } from './closure.js';
export type { Closure, MissingDep, MissingKind } from './closure.js';
export { buildDag, closureDag, dependents, portsOfNodes, topoOrder, subDag } from './dag.js';
export { cyclicComponents, cycleGroups, findCycles, formatCycle } from './cycles.js';
export type { CycleGroup } from './cycles.js';
export {
  attachPlanning,
  dropPlanning,
  planningRowOf,
  planningSourceOf,
  portDepends,
  portOptionDefaults,
  portOptions,
  tableRowOf,
} from './planning.js';
export type { PlanningSource, PlanningTable } from './planning.js';
