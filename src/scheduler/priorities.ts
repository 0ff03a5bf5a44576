/**
 * Priority functions over the DAG, all iterative over a topological order (no recursion):
 * - critical path: a node's duration plus the largest critical path among its dependents (kiln);
 * - unit chain: the same with every duration 1 (poudriere's "longest chain of dependents");
 * - transitive dependents: how many nodes need this one, exactly (pbulk), counted with bitsets in blocks,
 *   optionally with the sum of their durations (transitive work).
 * A ranking turns keys into a total order (`rank[node]` = place, 0 first) so the ready heap is deterministic.
 */
import type { Csr } from './csr.js';

/** Critical path of every node: `dur[i] + max(cp[d] for d dependent of i)` (seconds to a sink). */
export function criticalPath(csr: Csr, dur: Float64Array): Float64Array {
  const { n, topo, rdepOff, rdepIdx } = csr;
  const cp = new Float64Array(n);
  for (let t = n - 1; t >= 0; t--) {
    const v = topo[t]!;
    let best = 0;
    for (let e = rdepOff[v]!; e < rdepOff[v + 1]!; e++) {
      const c = cp[rdepIdx[e]!]!;
      if (c > best) best = c;
    }
    cp[v] = dur[v]! + best;
  }
  return cp;
}

/** Longest chain of dependents counted in nodes, the node itself included (poudriere's weight). */
export function unitChain(csr: Csr): Int32Array {
  const { n, topo, rdepOff, rdepIdx } = csr;
  const h = new Int32Array(n);
  for (let t = n - 1; t >= 0; t--) {
    const v = topo[t]!;
    let best = 0;
    for (let e = rdepOff[v]!; e < rdepOff[v + 1]!; e++) {
      const c = h[rdepIdx[e]!]!;
      if (c > best) best = c;
    }
    h[v] = 1 + best;
  }
  return h;
}

/** Exact transitive-dependent figures of every node (the node itself not included). */
export interface TransitiveDependents {
  /** How many distinct nodes need the node, directly or not. */
  readonly count: Int32Array;
  /** Sum of their durations (only when asked for). */
  readonly work: Float64Array | null;
}

/** Bits per block of target nodes: 2048 → 64 words per row. */
const BLOCK_WORDS = 64;

/**
 * Exact transitive dependents of every node. Targets are taken in blocks of 2048 consecutive topological
 * positions; for each block, one reverse-topological pass ORs the dependents' bit rows (a node only
 * reaches later positions, so the pass starts at the block's end). Time O(blocks × edges × 64 words),
 * memory O(nodes × 64 words).
 */
export function transitiveDependents(csr: Csr, dur: Float64Array | null = null): TransitiveDependents {
  const { n, topo, rdepOff, rdepIdx } = csr;
  const W = BLOCK_WORDS,
    B = W * 32;
  const posOf = new Int32Array(n);
  for (let t = 0; t < n; t++) posOf[topo[t]!] = t;
  const count = new Int32Array(n);
  const work = dur ? new Float64Array(n) : null;
  const rows = new Uint32Array(Math.max(1, n) * W);
  const nonEmpty = new Uint8Array(n);
  const table = dur ? new Float64Array(W * 4 * 256) : null;
  for (let start = 0; start < n; start += B) {
    const end = Math.min(n, start + B);
    rows.fill(0, 0, end * W);
    nonEmpty.fill(0, 0, end);
    if (table && dur) fillByteTables(table, topo, dur, start, end);
    for (let p = end - 1; p >= 0; p--) {
      const v = topo[p]!;
      const row = p * W;
      let any = 0;
      for (let e = rdepOff[v]!; e < rdepOff[v + 1]!; e++) {
        const q = posOf[rdepIdx[e]!]!;
        if (q >= end) continue;
        if (q >= start) {
          const b = q - start;
          rows[row + (b >>> 5)]! |= 1 << (b & 31);
          any = 1;
        }
        if (nonEmpty[q]) {
          const src = q * W;
          for (let w = 0; w < W; w++) rows[row + w]! |= rows[src + w]!;
          any = 1;
        }
      }
      if (!any) continue;
      nonEmpty[p] = 1;
      let c = 0,
        s = 0;
      for (let w = 0; w < W; w++) {
        const x = rows[row + w]!;
        if (x === 0) continue;
        c += popcount(x);
        if (table) {
          const base = w * 1024;
          s +=
            table[base + (x & 255)]! +
            table[base + 256 + ((x >>> 8) & 255)]! +
            table[base + 512 + ((x >>> 16) & 255)]! +
            table[base + 768 + ((x >>> 24) & 255)]!;
        }
      }
      count[v]! += c;
      if (work) work[v]! += s;
    }
  }
  return { count, work };
}

/** table[w*1024 + j*256 + byte] = sum of durations of the targets whose bits are set in that byte. */
function fillByteTables(table: Float64Array, topo: Int32Array, dur: Float64Array, start: number, end: number): void {
  for (let k = 0; k < table.length / 256; k++) {
    const base = k * 256;
    table[base] = 0;
    for (let v = 1; v < 256; v++) {
      const low = 31 - Math.clz32(v & -v);
      const p = start + k * 8 + low;
      table[base + v] = table[base + (v & (v - 1))]! + (p < end ? dur[topo[p]!]! : 0);
    }
  }
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** A sort key: higher values are handed out first. */
export type Key = ArrayLike<number>;

/**
 * Turns keys into a total order: nodes sorted by `keys[0]` descending, then `keys[1]` descending, …, then
 * by origin (code-unit order), then by id. Returns `rank[node]` = place in that order (0 = first).
 */
export function rankBy(ids: readonly string[], keys: readonly Key[]): Int32Array {
  const n = ids.length;
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Origins in ascending order (a scanned tree's usually are): the origin tie-break is the id's.
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = ids[i - 1]! < ids[i]!;
  const byOrigin = (a: number, b: number): number => {
    if (sorted) return a - b;
    const x = ids[a]!,
      y = ids[b]!;
    if (x !== y) return x < y ? -1 : 1;
    return a - b;
  };
  if (keys.length === 3) {
    // kiln's own rank: three keys, compared without a loop (35,000 nodes sort in a few ms).
    const [k0, k1, k2] = keys as [Key, Key, Key];
    order.sort((a, b) => k0[b]! - k0[a]! || k1[b]! - k1[a]! || k2[b]! - k2[a]! || byOrigin(a, b));
  } else {
    order.sort((a, b) => {
      for (const k of keys) {
        const d = k[b]! - k[a]!;
        if (d !== 0) return d;
      }
      return byOrigin(a, b);
    });
  }
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]!] = i;
  return rank;
}

/** Number of direct dependents of every node. */
export function directDependents(csr: Csr): Int32Array {
  const out = new Int32Array(csr.n);
  for (let i = 0; i < csr.n; i++) out[i] = csr.rdepOff[i + 1]! - csr.rdepOff[i]!;
  return out;
}

/** Rank by place in the topological order (FIFO: a node comes after what it needs, else input order). */
export function topoRank(csr: Csr): Int32Array {
  const rank = new Int32Array(csr.n);
  for (let t = 0; t < csr.n; t++) rank[csr.topo[t]!] = t;
  return rank;
}

/** Rank by keys, ties by node id (input order) rather than origin: how the baselines break ties. */
export function rankByThenId(n: number, keys: readonly Key[]): Int32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    for (const k of keys) {
      const d = k[b]! - k[a]!;
      if (d !== 0) return d;
    }
    return a - b;
  });
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]!] = i;
  return rank;
}
