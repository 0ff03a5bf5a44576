/**
 * The scheduler state machine. Per node: a state byte, the number of dependencies not yet done, and (when
 * running) its builder. Ready nodes sit in a {@link RankHeap} ordered by a precomputed total order, so every
 * event costs O(log n) plus the edges it touches. No loop runs inside: callers drive it with events.
 */
import { KilnError } from '../util/errors.js';
import { toCsr, toDurations, type Csr } from './csr.js';
import { RankHeap } from './heap.js';
import { criticalPath } from './priorities.js';
import { kilnRank } from './policies.js';
import type {
  BuilderId,
  BuildResult,
  Counts,
  FinishOutcome,
  NodeState,
  Offender,
  Scheduler,
  SchedulerOptions,
} from './types.js';

const WAITING = 0,
  READY = 1,
  RUNNING = 2,
  DONE = 3,
  FAILED = 4,
  SKIPPED = 5;
const NAMES: readonly NodeState[] = ['waiting', 'ready', 'running', 'done', 'failed', 'skipped'];

/** Creates a scheduler for `opts.dag`; see {@link Scheduler}. Throws KILN_E_CYCLE on a cyclic graph. */
export function createScheduler(opts: SchedulerOptions): Scheduler {
  const csr = toCsr(opts.dag);
  const dur = toDurations(csr.n, opts.durations, opts.dag.ids);
  return schedulerFor(opts, csr, dur, criticalPath(csr, dur));
}

function transitionError(message: string): KilnError {
  return new KilnError('KILN_E_SCHEDULER', message, {
    hint: 'drive the scheduler in order: next() → started() → finished(); this is a bug in the caller',
    exitCode: 1,
  });
}

function checkBuilders(b: number): void {
  if (!Number.isInteger(b) || b < 1) {
    throw new KilnError('KILN_E_SCHEDULER', `builders must be a whole number ≥ 1, got ${String(b)}`, {
      hint: 'pass -J with at least 1',
      exitCode: 1,
    });
  }
}

/**
 * Internal constructor sharing a prepared {@link Csr}, durations and critical path (the simulation builds
 * many schedulers over one graph).
 */
export function schedulerFor(opts: SchedulerOptions, csr: Csr, dur: Float64Array, cp: Float64Array): Scheduler {
  const { dag } = opts;
  const { n, depOff, rdepOff, rdepIdx } = csr;
  const ids = dag.ids;
  checkBuilders(opts.builders);
  let builders = opts.builders;
  const rank = opts.rank ?? kilnRank(csr, dur, cp, ids);
  if (rank.length !== n) throw transitionError(`rank has ${rank.length} entries for ${n} nodes`);

  const state = new Uint8Array(n);
  const pending = new Int32Array(n);
  const skipBy = new Int32Array(n).fill(-1);
  const start = new Float64Array(n).fill(NaN);
  const finish = new Float64Array(n).fill(NaN);
  const builderOf: (BuilderId | undefined)[] = new Array<BuilderId | undefined>(n);
  const byBuilder = new Map<BuilderId, Set<number>>();
  const runOrder = new Map<number, true>();
  const blocked = new Map<number, number>();
  const seen = new Int32Array(n);
  let stamp = 0;
  const heap = new RankHeap(rank);
  const count = [n, 0, 0, 0, 0, 0];
  let now = NaN;

  for (const d of opts.done ?? []) {
    checkNode(d);
    if (state[d] !== DONE) {
      state[d] = DONE;
      count[WAITING]!--;
      count[DONE]!++;
    }
  }
  for (let i = 0; i < n; i++) {
    if (state[i] === DONE) continue;
    let p = 0;
    for (let e = depOff[i]!; e < depOff[i + 1]!; e++) if (state[csr.depIdx[e]!] !== DONE) p++;
    pending[i] = p;
    if (p === 0) setState(i, READY);
  }

  function checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 0 || node >= n) throw transitionError(`no node ${String(node)}`);
  }
  function setState(node: number, s: number): void {
    count[state[node]!]!--;
    count[s]!++;
    state[node] = s;
    if (s === READY) heap.push(node);
  }
  function expect(node: number, s: number, what: string): void {
    checkNode(node);
    if (state[node] !== s) {
      throw transitionError(`cannot ${what} ${ids[node]}: it is ${NAMES[state[node]!]}, not ${NAMES[s]}`);
    }
  }
  function release(node: number): void {
    const b = builderOf[node]!;
    builderOf[node] = undefined;
    runOrder.delete(node);
    const set = byBuilder.get(b);
    if (set) {
      set.delete(node);
      if (set.size === 0) byBuilder.delete(b);
    }
  }
  function byRank(a: number, b: number): number {
    return rank[a]! - rank[b]!;
  }

  /** Skips every transitive dependent of `failed` that is not done; returns the newly skipped. */
  function propagateFailure(failed: number): number[] {
    const skipped: number[] = [];
    stamp++;
    const stack: number[] = [failed];
    seen[failed] = stamp;
    let total = 0;
    while (stack.length > 0) {
      const v = stack.pop()!;
      for (let e = rdepOff[v]!; e < rdepOff[v + 1]!; e++) {
        const w = rdepIdx[e]!;
        if (seen[w] === stamp || state[w] === DONE) continue;
        seen[w] = stamp;
        total++;
        if (state[w] === WAITING) {
          setState(w, SKIPPED);
          skipBy[w] = failed;
          skipped.push(w);
        }
        stack.push(w);
      }
    }
    blocked.set(failed, total);
    return skipped.sort(byRank);
  }

  const machine: Scheduler = {
    dag,
    get builders() {
      return builders;
    },
    next(t?: number): number | null {
      if (t !== undefined) now = t;
      if (count[RUNNING]! >= builders) return null;
      const top = heap.peek();
      return top < 0 ? null : top;
    },
    started(node: number, builder: BuilderId, t?: number): void {
      expect(node, READY, 'start');
      if (count[RUNNING]! >= builders) {
        throw transitionError(`cannot start ${ids[node]}: all ${builders} builder slots are busy`);
      }
      if (t !== undefined) now = t;
      heap.remove(node);
      setState(node, RUNNING);
      builderOf[node] = builder;
      let set = byBuilder.get(builder);
      if (!set) {
        set = new Set();
        byBuilder.set(builder, set);
      }
      set.add(node);
      runOrder.set(node, true);
      start[node] = now;
    },
    finished(node: number, result: BuildResult, t?: number): FinishOutcome {
      expect(node, RUNNING, 'finish');
      if (result !== 'ok' && result !== 'failed') throw transitionError(`unknown result ${String(result)}`);
      if (t !== undefined) now = t;
      release(node);
      finish[node] = now;
      if (result === 'failed') {
        setState(node, FAILED);
        return { ready: [], skipped: propagateFailure(node) };
      }
      setState(node, DONE);
      const ready: number[] = [];
      for (let e = rdepOff[node]!; e < rdepOff[node + 1]!; e++) {
        const w = rdepIdx[e]!;
        if (state[w] !== WAITING) continue;
        if (--pending[w]! === 0) {
          setState(w, READY);
          ready.push(w);
        }
      }
      return { ready: ready.length > 1 ? ready.sort(byRank) : ready, skipped: [] };
    },
    workerLost(builder: BuilderId): number[] {
      const set = byBuilder.get(builder);
      if (!set) return [];
      const nodes = [...set].sort(byRank);
      for (const node of nodes) machine.requeue(node);
      return nodes;
    },
    requeue(node: number): void {
      expect(node, RUNNING, 'requeue');
      release(node);
      start[node] = NaN;
      setState(node, READY);
    },
    setBuilders(b: number): void {
      checkBuilders(b);
      builders = b;
    },
    state(node: number): NodeState {
      checkNode(node);
      return NAMES[state[node]!]!;
    },
    readyQueue: () => heap.sorted(),
    runningOn(node: number): BuilderId | null {
      checkNode(node);
      return state[node] === RUNNING ? builderOf[node]! : null;
    },
    running: () => [...runOrder.keys()].map((node) => ({ node, builder: builderOf[node]!, since: start[node]! })),
    isDone: () => count[WAITING]! + count[READY]! + count[RUNNING]! === 0,
    counts: (): Counts => ({
      total: n,
      waiting: count[WAITING]!,
      ready: count[READY]!,
      running: count[RUNNING]!,
      done: count[DONE]!,
      failed: count[FAILED]!,
      skipped: count[SKIPPED]!,
    }),
    skippedBecause(node: number): number | null {
      checkNode(node);
      return state[node] === SKIPPED ? skipBy[node]! : null;
    },
    mostOffending(limit = Infinity): Offender[] {
      const list = [...blocked].map(([node, b]) => ({ node, origin: ids[node]!, blocked: b }));
      list.sort(
        (a, b) => b.blocked - a.blocked || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.node - b.node),
      );
      return list.slice(0, limit);
    },
    priority(node: number): number {
      checkNode(node);
      return cp[node]!;
    },
    times(node: number) {
      checkNode(node);
      return { start: start[node]!, finish: finish[node]! };
    },
  };
  return machine;
}
