/** Bulks: the plan built by N builders under the scheduler, recorded, published. See README.md. */
export { runBulk, packagesDir, logPath, builtRecords, portLimits, type RunBulkOptions, type BulkSummary } from './runner.js';
export { BulkEvents, type BulkEvent, type BulkCounts } from './events.js';
export { jobsFor, type BudgetInput } from './budget.js';
export { estimateRemaining } from './eta.js';
export { acquireBulk, ownerAlive, processStart, type BulkLock } from './lock.js';
