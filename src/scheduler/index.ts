/**
 * The scheduler: a pure, event-driven state machine that hands out ready ports by critical-path priority,
 * plus the virtual-time simulation that measures it against other orderings.
 */
export { createScheduler } from './machine.js';
export { simulate, type SimulationResult, type SimulateOptions } from './simulate.js';
export type { Trace } from './run.js';
export { choosePriority, type PortfolioChoice } from './portfolio.js';
export { criticalPathPriorities, oneBuilderOrder, policyRanks } from './api.js';
export { randomDag, prng, type RandomDag, type RandomDagOptions } from './random.js';
export { POLICIES } from './policies.js';
export type {
  BuilderId,
  BuildResult,
  Counts,
  FinishOutcome,
  NodeState,
  Offender,
  Policy,
  RunningBuild,
  Scheduler,
  SchedulerOptions,
} from './types.js';
export { parseDurations, durationsFor, DEFAULT_DURATION_S, type DurationsParse } from './durations.js';
