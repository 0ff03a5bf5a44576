/** Bulks: the plan built by N builders under the scheduler, recorded, published. See README.md. */
export { runBulk, packagesDir, builtRecords, type RunBulkOptions, type BulkSummary } from './runner.js';
export { logPath } from './build-phase.js';
export { portLimits, limitNotes } from './limits.js';
export { BulkEvents, type BulkEvent, type BulkCounts } from './events.js';
export { jobsFor, type BudgetInput } from './budget.js';
export { estimateRemaining, etaScale } from './eta.js';
export { acquireBulk, ownerAlive, processStart, type BulkLock } from './lock.js';
export {
  expectedDuration,
  cachedDistfileBytes,
  estimateFromSize,
  lastPublishSeconds,
  DEFAULT_EXPECTED_S,
  DEFAULT_PUBLISH_S,
  SIZE_MODEL,
  type Expected,
  type ExpectedInput,
  type EstimateSource,
} from './durations.js';
export { PhaseMeter } from './meter.js';
export { LiveView, formatDuration, plainLine } from './progress.js';
