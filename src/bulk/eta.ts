/**
 * The ETA (pure): the rest of a bulk simulated on the real scheduler with learned durations, running builds
 * counted by the time they still need.
 */
import { subDag, type Dag } from '../graph/index.js';
import { simulate, type Scheduler } from '../scheduler/index.js';

/**
 * Seconds until the bulk should end, from `now` (seconds on the scheduler's clock), or null when nothing is left.
 * `expected[i]` is node i's expected duration.
 */
export function estimateRemaining(sched: Scheduler, dag: Dag, expected: ArrayLike<number>, builders: number, now: number): number | null {
  const left: number[] = [];
  for (let i = 0; i < dag.ids.length; i++) {
    const s = sched.state(i);
    if (s === 'waiting' || s === 'ready' || s === 'running') left.push(i);
  }
  if (left.length === 0) return null;
  const sub = subDag(dag, left);
  const dur = left.map((i) => {
    const e = expected[i] ?? 60;
    if (sched.state(i) !== 'running') return e;
    const since = sched.times(i).start;
    // A build past its expectation is assumed to need a little more (10 % of its expected time).
    return Number.isFinite(since) ? Math.max(e * 0.1, e - (now - since)) : e;
  });
  return simulate(sub, dur, builders, 'kiln').makespan_s;
}
