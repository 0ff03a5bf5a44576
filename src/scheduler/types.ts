/** Public types of the scheduler. */
import type { Dag } from '../graph/index.js';

/**
 * Where a node stands. `waiting`: some dependency not finished; `ready`: all dependencies done, may start;
 * `running`: on a builder; `done`: built (or kept / finished before a resume); `failed`: its build failed;
 * `skipped`: a dependency failed, so it will not be built (see `skippedBecause`).
 */
export type NodeState = 'waiting' | 'ready' | 'running' | 'done' | 'failed' | 'skipped';

/** A builder's name: a local slot number or a remote worker's id. */
export type BuilderId = string | number;

/** Outcome of one build as the scheduler sees it. */
export type BuildResult = 'ok' | 'failed';

/** Ordering policies: kiln's own and the baselines it is compared with. */
export type Policy = 'kiln' | 'fifo' | 'poudriere' | 'pbulk';

/** Everything {@link createScheduler} needs. */
export interface SchedulerOptions {
  /** The graph (from `buildDag`); it must be acyclic (else KILN_E_CYCLE). */
  readonly dag: Dag;
  /** Expected seconds per node, indexed by node id (finite, ≥ 0). */
  readonly durations: ArrayLike<number>;
  /** How many builds may run at once (builder slots in total, ≥ 1). */
  readonly builders: number;
  /** Nodes already done before this run (finished before a `--resume`, or kept ports). */
  readonly done?: Iterable<number>;
  /**
   * An explicit total order, `rank[node]` = place (0 = first), as made by `policyRank` or
   * `choosePriority`. Default: kiln's critical-path order.
   */
  readonly rank?: Int32Array;
}

/** How many nodes are in each state. */
export interface Counts {
  readonly total: number;
  readonly waiting: number;
  readonly ready: number;
  readonly running: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/** What a `finished` event changed. */
export interface FinishOutcome {
  /** Nodes that became ready, in priority order. */
  readonly ready: number[];
  /** Nodes newly skipped because this node failed (empty when it succeeded). */
  readonly skipped: number[];
}

/** A failed node and how many nodes it kept from being built (pbulk's "most offending"). */
export interface Offender {
  readonly node: number;
  readonly origin: string;
  /** Transitive dependents that were not done when it failed. */
  readonly blocked: number;
}

/** A running build. */
export interface RunningBuild {
  readonly node: number;
  readonly builder: BuilderId;
  /** The `now` given when it started (NaN if none was given). */
  readonly since: number;
}

/**
 * The scheduler: an event-driven state machine with no loop and no clock of its own. The caller asks
 * `next()` what to start, reports `started`, `finished` and `workerLost`, and queries states.
 * Times (`now`, in seconds on the caller's clock) are optional and only recorded.
 */
export interface Scheduler {
  /** The graph being scheduled. */
  readonly dag: Dag;
  /** Builder slots in total (see `setBuilders`). */
  readonly builders: number;
  /**
   * The most urgent ready node if a builder slot is free, else null (also null when nothing is ready).
   * Does not change any state: call `started` to take it. `now` is recorded as the current time.
   */
  next(now?: number): number | null;
  /** `node` (which must be ready, with a free slot) starts on `builder`. Throws KILN_E_SCHEDULER otherwise. */
  started(node: number, builder: BuilderId, now?: number): void;
  /**
   * `node` (which must be running) finished. `ok` may make dependents ready; `failed` skips every
   * transitive dependent not yet done, naming this node as the reason.
   */
  finished(node: number, result: BuildResult, now?: number): FinishOutcome;
  /** The builder is gone: its running nodes go back to ready. Returns them (priority order). */
  workerLost(builder: BuilderId): number[];
  /** One running node goes back to ready (its build was abandoned and must be retried). */
  requeue(node: number): void;
  /** Changes the number of builder slots (workers joining or leaving); running builds carry on. */
  setBuilders(builders: number): void;
  /** State of a node. */
  state(node: number): NodeState;
  /** Ready nodes, most urgent first. */
  readyQueue(): number[];
  /** The builder a running node is on, else null (to tell a stale result from a lost worker apart). */
  runningOn(node: number): BuilderId | null;
  /** Running builds, in start order. */
  running(): RunningBuild[];
  /** True when nothing is waiting, ready or running. */
  isDone(): boolean;
  /** Nodes per state. */
  counts(): Counts;
  /** For a skipped node, the failed node that caused the skip; else null. */
  skippedBecause(node: number): number | null;
  /** Failed nodes by number of nodes they blocked, most first (ties by origin); at most `limit`. */
  mostOffending(limit?: number): Offender[];
  /** The node's critical path in seconds (its duration plus the longest chain of work after it). */
  priority(node: number): number;
  /** Recorded start / finish time of a node (NaN when not recorded). */
  times(node: number): { start: number; finish: number };
}
