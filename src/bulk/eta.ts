/**
 * The ETA (pure): the rest of a bulk simulated on the real scheduler with learned durations, running builds
 * counted by the time they still need.
 */
import { subDag, type Dag } from '../graph/index.js';
import { simulate, type Scheduler } from '../scheduler/index.js';

/**
 * Seconds until the bulk should end, from `now` (seconds on the scheduler's clock), or null when nothing is left.
 * `expected[i]` is node i's expected duration; `scale` multiplies every expectation (see {@link etaScale}).
 */
export function estimateRemaining(
  sched: Scheduler,
  dag: Dag,
  expected: ArrayLike<number>,
  builders: number,
  now: number,
  scale = 1,
): number | null {
  const left: number[] = [];
  for (let i = 0; i < dag.ids.length; i++) {
    const s = sched.state(i);
    if (s === 'waiting' || s === 'ready' || s === 'running') left.push(i);
  }
  if (left.length === 0) return null;
  const sub = subDag(dag, left);
  const dur = left.map((i) => {
    const e = (expected[i] ?? 60) * scale;
    if (sched.state(i) !== 'running') return e;
    const since = sched.times(i).start;
    // A build past its expectation is assumed to need a little more (10 % of its expected time).
    return Number.isFinite(since) ? Math.max(e * 0.1, e - (now - since)) : e;
  });
  return simulate(sub, dur, builders, 'kiln').makespan_s;
}

/**
 * How much slower (> 1) or faster (< 1) than expected this bulk's builds run, from the ports finished so far
 * (`actualS` and `expectedS` summed over them): a busier host or other job counts make every learned duration a
 * little off in the same direction. Pulled towards 1 by one average port's worth of prior (one build's own noise,
 * ±30 % on a loaded host, should not swing the whole ETA), clamped to [0.5, 3].
 */
export function etaScale(actualS: number, expectedS: number, finished: number): number {
  if (finished === 0 || expectedS <= 0) return 1;
  const prior = expectedS / finished;
  return Math.min(3, Math.max(0.5, (actualS + prior) / (expectedS + prior)));
}
