/**
 * The order the build list is printed in: the order the scheduler would start ports on one builder.
 * {@link oneBuilderOrderFallback} mirrors its rule (critical-path priority: longest remaining duration to a
 * sink first; ties by origin) until the scheduler's `oneBuilderOrder` is wired in here. Pure.
 */
import type { Dag } from '../graph/index.js';
import { dependents, topoOrder } from '../graph/index.js';
import type { OrderFn } from './types.js';

/** Critical-path list scheduling on one builder: node ids of `dag`, dependencies first. Acyclic input. */
export function oneBuilderOrderFallback(dag: Dag, durations: ArrayLike<number>): number[] {
  const n = dag.ids.length;
  const rev = dependents(dag);
  const topo = topoOrder(dag);
  const cp = new Float64Array(n);
  for (let t = topo.length - 1; t >= 0; t--) {
    const v = topo[t]!;
    let best = 0;
    for (const w of rev[v]!) if (cp[w]! > best) best = cp[w]!;
    cp[v] = (durations[v] ?? 0) + best;
  }
  const before = (a: number, b: number): boolean =>
    cp[a]! !== cp[b]! ? cp[a]! > cp[b]! : dag.ids[a]! < dag.ids[b]!;
  const heap: number[] = [];
  const push = (v: number): void => {
    let i = heap.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const pending = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    pending[i] = dag.deps[i]!.length;
    if (pending[i] === 0) push(i);
  }
  const order: number[] = [];
  while (heap.length > 0) {
    const v = pop();
    order.push(v);
    for (const w of rev[v]!) if (--pending[w]! === 0) push(w);
  }
  return order;
}

/** The order function `makePlan` uses by default. */
export const defaultOrder: OrderFn = oneBuilderOrderFallback;
