/**
 * Virtual-time simulation: drives the real state machine ({@link schedulerFor}) with an event queue of
 * finish times instead of builders, so `kiln simulate` and the bench measure the scheduler that bulks run.
 */
import type { Dag } from '../graph/index.js';
import { toCsr, toDurations } from './csr.js';
import { policyRank } from './policies.js';
import { choosePortfolio, type PortfolioChoice } from './portfolio.js';
import { criticalPath } from './priorities.js';
import { runSimulation, type Trace } from './run.js';
import type { Policy } from './types.js';

/** What a simulation reports (the JSON of `kiln simulate --json`). */
export interface SimulationResult {
  /** Number of ports scheduled. */
  readonly ports: number;
  /** Builders (`-J`). */
  readonly builders: number;
  /** Ordering policy simulated. */
  readonly policy: Policy;
  /** Wall time of the whole bulk in virtual seconds. */
  readonly makespan_s: number;
  /** Longest chain of durations through the graph: no schedule can beat it. */
  readonly critical_path_s: number;
  /** Sum of all durations. */
  readonly work_s: number;
  /** max(critical path, work / builders): a lower bound on any schedule's makespan. */
  readonly lower_bound_s: number;
  /** work / (makespan × builders): the share of builder time spent building. */
  readonly utilisation: number;
  /** The most builds running at once. */
  readonly peak_builders: number;
  /** For `kiln`: which ordering of the portfolio was chosen, and every candidate's makespan. */
  readonly chosen?: string;
  readonly candidates?: Readonly<Record<string, number>>;
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Also return the per-node schedule. */
  readonly trace?: boolean;
}

/**
 * Simulates a bulk of `dag` with `builders` builders under `policy`: every port starts when the scheduler
 * hands it out and ends `durations[i]` seconds later. For `kiln`, the scheduler's ordering is chosen from
 * its portfolio by simulation first (see `choosePriority`), and the figure reported is that real run.
 */
export function simulate(
  dag: Dag,
  durations: ArrayLike<number>,
  builders: number,
  policy: Policy = 'kiln',
  opts: SimulateOptions = {},
): SimulationResult & { trace?: Trace } {
  const csr = toCsr(dag);
  const dur = toDurations(csr.n, durations, dag.ids);
  const cp = criticalPath(csr, dur);
  let rank: Int32Array;
  let choice: PortfolioChoice | undefined;
  if (policy === 'kiln') {
    choice = choosePortfolio(dag, csr, dur, cp, builders);
    rank = choice.rank;
  } else {
    rank = policyRank(csr, dur, dag.ids, policy);
  }
  const run = runSimulation(dag, csr, dur, cp, builders, rank, opts.trace === true);
  let cpMax = 0,
    work = 0;
  for (let i = 0; i < csr.n; i++) {
    if (cp[i]! > cpMax) cpMax = cp[i]!;
    work += dur[i]!;
  }
  const result: SimulationResult & { trace?: Trace } = {
    ports: csr.n,
    builders,
    policy,
    makespan_s: run.makespan,
    critical_path_s: cpMax,
    work_s: work,
    lower_bound_s: Math.max(cpMax, work / builders),
    utilisation: run.makespan > 0 ? work / (run.makespan * builders) : 1,
    peak_builders: run.peak,
    ...(choice ? { chosen: choice.name, candidates: choice.makespans } : {}),
    ...(run.trace ? { trace: run.trace } : {}),
  };
  return result;
}
