/**
 * One run of the real state machine ({@link schedulerFor}) in virtual time: an event queue of finish
 * times stands in for the builders.
 */
import type { Dag } from '../graph/index.js';
import { KilnError } from '../util/errors.js';
import type { Csr } from './csr.js';
import { EventHeap } from './heap.js';
import { schedulerFor } from './machine.js';

/** Per-node start, finish and builder slot of a simulated schedule. */
export interface Trace {
  readonly start: Float64Array;
  readonly finish: Float64Array;
  readonly builder: Int32Array;
}

/** Result of one run of the state machine in virtual time. */
export interface RunResult {
  readonly makespan: number;
  readonly peak: number;
  readonly trace?: Trace;
}

/**
 * Drives a fresh scheduler over `rank` to completion in virtual time: start whatever `next()` hands out
 * while slots are free, then jump to the earliest finish. Each round finishes at least one node, so the
 * loop is bounded by nodes + 1 rounds.
 */
export function runSimulation(
  dag: Dag,
  csr: Csr,
  dur: Float64Array,
  cp: Float64Array,
  builders: number,
  rank: Int32Array,
  trace: boolean,
): RunResult {
  const n = csr.n;
  const s = schedulerFor({ dag, durations: dur, builders, rank }, csr, dur, cp);
  const free: number[] = [];
  for (let b = builders - 1; b >= 0; b--) free.push(b);
  const slot = new Int32Array(n).fill(-1);
  const events = new EventHeap(Math.min(builders, n) + 1);
  let t = 0,
    peak = 0,
    makespan = 0;
  for (let round = 0; round <= n + 1; round++) {
    for (let v = s.next(t); v !== null; v = s.next(t)) {
      const b = free.pop()!;
      s.started(v, b, t);
      slot[v] = b;
      events.push(t + dur[v]!, v, rank[v]!);
    }
    if (events.length > peak) peak = events.length;
    if (events.length === 0) break;
    t = events.peekTime();
    makespan = t;
    while (events.length > 0 && events.peekTime() === t) {
      const v = events.pop();
      s.finished(v, 'ok', t);
      free.push(slot[v]!);
    }
  }
  if (!s.isDone()) {
    throw new KilnError('KILN_E_SCHEDULER', 'the simulation stopped before every port was scheduled', {
      hint: 'this is a bug in the scheduler; please report it with the graph',
      exitCode: 1,
    });
  }
  if (!trace) return { makespan, peak };
  const start = new Float64Array(n),
    finish = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = s.times(i);
    start[i] = x.start;
    finish[i] = x.finish;
  }
  return { makespan, peak, trace: { start, finish, builder: slot } };
}
