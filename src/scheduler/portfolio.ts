/**
 * kiln's portfolio: a few critical-path orderings that differ in how they break ties and weigh the work
 * behind a node. Before a bulk starts, each is simulated with the expected durations and the shortest
 * makespan wins (ties go to the earlier candidate, the plain critical path first).
 */
import type { Dag } from '../graph/index.js';
import { toCsr, toDurations, type Csr } from './csr.js';
import { kilnRank } from './policies.js';
import {
  criticalPath,
  directDependents,
  rankBy,
  rankByThenId,
  topoRank,
  transitiveDependents,
  unitChain,
} from './priorities.js';
import { justify } from './justify.js';
import { runSimulation } from './run.js';

/** The chosen ordering and every candidate's simulated makespan. */
export interface PortfolioChoice {
  /** Name of the chosen candidate. */
  readonly name: string;
  /** Its rank (`rank[node]` = place), to pass to `createScheduler`. */
  readonly rank: Int32Array;
  /** Simulated makespan of every candidate, in seconds. */
  readonly makespans: Readonly<Record<string, number>>;
}

/** How many of the best candidates get forward-backward justification. */
const JUSTIFY_TOP = 4;

/** The candidate orderings, named, plain critical path first. */
export function portfolioCandidates(
  ids: readonly string[],
  csr: Csr,
  dur: Float64Array,
  cp: Float64Array,
  builders: number,
): [string, () => Int32Array][] {
  let td: ReturnType<typeof transitiveDependents> | undefined;
  const trans = () => (td ??= transitiveDependents(csr, dur));
  return [
    ['critical-path', () => kilnRank(csr, dur, cp, ids)],
    ['critical-path+descendants', () => rankBy(ids, [cp, trans().count, directDependents(csr)])],
    ['critical-path+descendant-work', () => rankBy(ids, [cp, trans().work!, unitChain(csr)])],
    [
      'remaining-bound',
      () => {
        // Lower bound of what is left once the node starts: max(its chain, its share of the work behind it).
        const w = trans().work!;
        const key = new Float64Array(csr.n);
        for (let i = 0; i < csr.n; i++) key[i] = Math.max(cp[i]!, dur[i]! + w[i]! / builders);
        return rankBy(ids, [key, cp, trans().count]);
      },
    ],
    ['longest-chain', () => rankBy(ids, [unitChain(csr), cp])],
    ['most-descendants', () => rankBy(ids, [trans().count, cp])],
    // The baselines' own orders, last: kiln never does worse than them in its own simulation.
    ['topological', () => topoRank(csr)],
    ['poudriere-order', () => rankByThenId(csr.n, [unitChain(csr)])],
    ['pbulk-order', () => rankByThenId(csr.n, [trans().count])],
  ];
}

/**
 * Simulates every candidate at `builders`, then tries forward-backward justification on each (best
 * first), and returns the best ordering (internal form, graph already prepared). Stops as soon as an
 * ordering reaches the lower bound max(critical path, work / builders), since nothing can beat it.
 */
export function choosePortfolio(
  dag: Dag,
  csr: Csr,
  dur: Float64Array,
  cp: Float64Array,
  builders: number,
): PortfolioChoice {
  let cpMax = 0,
    work = 0;
  for (let i = 0; i < csr.n; i++) {
    if (cp[i]! > cpMax) cpMax = cp[i]!;
    work += dur[i]!;
  }
  // With whole-second durations every makespan is whole, so the bound rounds up.
  let whole = true;
  for (let i = 0; i < csr.n && whole; i++) whole = Number.isInteger(dur[i]);
  const raw = Math.max(cpMax, work / builders);
  const bound = whole ? Math.ceil(raw - 1e-9) : raw * (1 + 1e-12);
  const tried: { name: string; rank: Int32Array; makespan: number }[] = [];
  const makespans: Record<string, number> = {};
  let best: { name: string; rank: Int32Array; makespan: number } | undefined;
  const consider = (c: { name: string; rank: Int32Array; makespan: number }): boolean => {
    makespans[c.name] = c.makespan;
    if (!best || c.makespan < best.makespan) best = c;
    return best.makespan <= bound;
  };
  let optimal = false;
  for (const [name, make] of portfolioCandidates(dag.ids, csr, dur, cp, builders)) {
    const rank = make();
    const c = { name, rank, makespan: runSimulation(dag, csr, dur, cp, builders, rank, false).makespan };
    tried.push(c);
    if ((optimal = consider(c))) break;
  }
  tried.sort((a, b) => a.makespan - b.makespan);
  for (const c of optimal ? [] : tried.slice(0, JUSTIFY_TOP)) {
    const j = justify(dag, csr, dur, cp, builders, c.rank, c.makespan);
    if (consider({ name: `${c.name}+justified`, rank: j.rank, makespan: j.makespan })) break;
  }
  return { name: best!.name, rank: best!.rank, makespans };
}

/**
 * Picks kiln's ordering for a bulk of `dag` on `builders` builders: simulates each candidate of the
 * portfolio with `durations` and returns the fastest. Pass its `rank` to `createScheduler`.
 */
export function choosePriority(dag: Dag, durations: ArrayLike<number>, builders: number): PortfolioChoice {
  const csr = toCsr(dag);
  const dur = toDurations(csr.n, durations, dag.ids);
  return choosePortfolio(dag, csr, dur, criticalPath(csr, dur), builders);
}
