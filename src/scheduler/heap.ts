/**
 * Binary heaps on typed arrays. {@link RankHeap} holds node ids ordered by a precomputed rank (0 = most
 * urgent) and supports removing any member, so a caller may start any ready node, not only the top.
 * {@link EventHeap} orders (time, node) pairs for the virtual-time simulation.
 */

/** Min-heap of node ids keyed by `rank[node]` (distinct ranks: a total order, so it is deterministic). */
export class RankHeap {
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  private size = 0;

  /** `rank[i]` is node i's place in the total priority order (lower = handed out first). */
  constructor(private readonly rank: Int32Array) {
    this.heap = new Int32Array(rank.length);
    this.pos = new Int32Array(rank.length).fill(-1);
  }

  /** Number of nodes in the heap. */
  get length(): number {
    return this.size;
  }

  /** Is `node` in the heap? */
  has(node: number): boolean {
    return this.pos[node]! >= 0;
  }

  /** The most urgent node, or -1 when empty. */
  peek(): number {
    return this.size > 0 ? this.heap[0]! : -1;
  }

  /** Adds `node` (no-op if present). */
  push(node: number): void {
    if (this.pos[node]! >= 0) return;
    const i = this.size++;
    this.heap[i] = node;
    this.pos[node] = i;
    this.up(i);
  }

  /** Removes `node` (no-op if absent). */
  remove(node: number): void {
    const i = this.pos[node]!;
    if (i < 0) return;
    const last = this.heap[--this.size]!;
    this.pos[node] = -1;
    if (i === this.size) return;
    this.heap[i] = last;
    this.pos[last] = i;
    this.up(i);
    this.down(this.pos[last]!);
  }

  /** The members, most urgent first (a sorted copy; O(k log k)). */
  sorted(): number[] {
    const out = Array.from(this.heap.subarray(0, this.size));
    const rank = this.rank;
    return out.sort((a, b) => rank[a]! - rank[b]!);
  }

  private up(i: number): void {
    const { heap, pos, rank } = this;
    const node = heap[i]!;
    const r = rank[node]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pn = heap[p]!;
      if (rank[pn]! <= r) break;
      heap[i] = pn;
      pos[pn] = i;
      i = p;
    }
    heap[i] = node;
    pos[node] = i;
  }

  private down(i: number): void {
    const { heap, pos, rank } = this;
    const n = this.size;
    const node = heap[i]!;
    const r = rank[node]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      if (l + 1 < n && rank[heap[l + 1]!]! < rank[heap[l]!]!) c = l + 1;
      const cn = heap[c]!;
      if (rank[cn]! >= r) break;
      heap[i] = cn;
      pos[cn] = i;
      i = c;
    }
    heap[i] = node;
    pos[node] = i;
  }
}

/** Min-heap of events (time, node): earliest time first, then lower tie key (deterministic). */
export class EventHeap {
  private times: Float64Array;
  private nodes: Int32Array;
  private keys: Int32Array;
  private size = 0;

  constructor(capacity: number) {
    const c = Math.max(1, capacity);
    this.times = new Float64Array(c);
    this.nodes = new Int32Array(c);
    this.keys = new Int32Array(c);
  }

  /** Number of pending events. */
  get length(): number {
    return this.size;
  }

  /** Time of the earliest event (Infinity when empty). */
  peekTime(): number {
    return this.size > 0 ? this.times[0]! : Infinity;
  }

  /** Adds an event; `key` breaks ties between equal times (lower first). */
  push(time: number, node: number, key: number): void {
    if (this.size === this.times.length) this.grow();
    let i = this.size++;
    const { times, nodes, keys } = this;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! < time || (times[p] === time && keys[p]! <= key)) break;
      times[i] = times[p]!;
      nodes[i] = nodes[p]!;
      keys[i] = keys[p]!;
      i = p;
    }
    times[i] = time;
    nodes[i] = node;
    keys[i] = key;
  }

  /** Removes and returns the node of the earliest event (-1 when empty). */
  pop(): number {
    if (this.size === 0) return -1;
    const { times, nodes, keys } = this;
    const top = nodes[0]!;
    const n = --this.size;
    if (n === 0) return top;
    const t = times[n]!,
      v = nodes[n]!,
      k = keys[n]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      const r = l + 1;
      if (r < n && (times[r]! < times[l]! || (times[r] === times[l] && keys[r]! < keys[l]!))) c = r;
      if (times[c]! > t || (times[c] === t && keys[c]! >= k)) break;
      times[i] = times[c]!;
      nodes[i] = nodes[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    times[i] = t;
    nodes[i] = v;
    keys[i] = k;
    return top;
  }

  private grow(): void {
    const c = this.times.length * 2;
    const t = new Float64Array(c);
    t.set(this.times);
    this.times = t;
    const n = new Int32Array(c);
    n.set(this.nodes);
    this.nodes = n;
    const k = new Int32Array(c);
    k.set(this.keys);
    this.keys = k;
  }
}
