/**
 * The walk of a cached scan: the tree's winners (as `indexTree` finds them, without checking single-layer origins)
 * and the stamp of each winner's `port.yaml`. A scan with a cache gives it to a prestarted loader worker, and
 * meanwhile reads the cache and makes its ports; once done with that, it walks too: the walk is shared by category
 * (each thread claims the next category from a shared counter), each thread's share in a form it can hand another in
 * a single message ({@link WalkPart}), joined in category order ({@link joinWalk}).
 * Imports nothing heavy (the worker runs it before anything else).
 */
import fs from 'node:fs';
import { hasPort, subdirs } from './layout.js';
import { LayerNames } from './merge.js';
import type { TreeLayer } from './ref.js';

/** Numbers per file stamp: size, mtimeMs, ctimeMs, ino, dev, mode (see `scan-cache.ts`). */
export const STAMP = 6;
/** In a stamp's mode slot: there is no port.yaml (ENOENT, ENOTDIR: the folder is no port). */
export const STAMP_ABSENT = -1;
/** In a stamp's mode slot: the stat failed otherwise (the load reports why). */
export const STAMP_ERROR = -2;

/** A walked tree. */
export interface TreeWalk {
  /** Winning origins, sorted. */
  readonly origins: string[];
  /** Per winner: its layer's index. */
  readonly layer: ArrayLike<number>;
  /** Per winner: its port.yaml's stamp (mode slot {@link STAMP_ABSENT} or {@link STAMP_ERROR} when none). */
  readonly stamps: Float64Array;
  /** Origin → names of the lower layers it shadows (as `indexTree` gives it). */
  readonly shadowed: [string, string[]][];
}

/** One thread's share of a walk: the categories it walked, in the order it took them, and their winners. */
export interface WalkPart {
  /** The categories walked (indices into {@link walkCategories}' list). */
  readonly cats: number[];
  /** Per category walked: how many winners it has. */
  readonly counts: number[];
  /** The winners of those categories, in that order, `\n`-separated (one string is one cheap message). */
  readonly origins: string;
  /** Per winner: its layer's index. */
  readonly layer: Uint16Array;
  /** Per winner: its port.yaml's stamp. */
  readonly stamps: Float64Array;
  /** Origin → names of the lower layers it shadows. */
  readonly shadowed: [string, string[]][];
  /** False when a folder name holds a newline or the walk was stopped (the part is then not usable). */
  readonly ok: boolean;
}

/**
 * The categories of `layers` (every layer's folders, hidden ones skipped), sorted so that walking them in order
 * gives the origins in sorted order (`a` before `a-b`: `a/…` sorts after `a-b/…`, so each is keyed with its slash).
 */
export function walkCategories(layers: readonly TreeLayer[]): string[] {
  const all = new Set<string>();
  for (const l of layers) for (const c of subdirs(l.dir)) all.add(c);
  return [...all]
    .map((c) => `${c}/`)
    .sort()
    .map((c) => c.slice(0, -1));
}

/** The entries of a category folder, hidden ones skipped; none when it is not a folder. */
function names(dir: string): string[] {
  let all: string[];
  try {
    all = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return all.filter((n) => n.charCodeAt(0) !== 46 /* . */);
}

/** Growing arrays of one share's winners. */
class PartWriter {
  readonly cats: number[] = [];
  readonly counts: number[] = [];
  readonly origins: string[] = [];
  readonly layers: number[] = [];
  readonly shadowed: [string, string[]][] = [];
  stamps = new Float64Array(STAMP * 1024);
  ok = true;

  add(origin: string, layer: number, file: string): void {
    const n = this.origins.length;
    if (STAMP * (n + 1) > this.stamps.length) {
      const grown = new Float64Array(this.stamps.length * 2);
      grown.set(this.stamps);
      this.stamps = grown;
    }
    if (origin.includes('\n')) this.ok = false;
    this.origins.push(origin);
    this.layers.push(layer);
    stampFile(file, this.stamps, STAMP * n);
  }

  part(): WalkPart {
    const n = this.origins.length;
    return {
      cats: this.cats,
      counts: this.counts,
      origins: this.origins.join('\n'),
      layer: Uint16Array.from(this.layers),
      stamps: this.stamps.slice(0, STAMP * n),
      shadowed: this.shadowed,
      ok: this.ok,
    };
  }
}

/**
 * Walks category `cat` into `out`: the same merge as `indexTree` (the highest layer with the origin wins; an origin in
 * several layers is decided by which have a port.yaml), single-layer origins taken unchecked: an entry that is no
 * folder, or a folder without port.yaml, gets the stamp {@link STAMP_ABSENT}.
 */
function walkCategory(layers: readonly TreeLayer[], cat: string, out: PartWriter): void {
  const before = out.origins.length;
  const seen = new LayerNames();
  for (let li = 0; li < layers.length; li++) for (const name of names(`${layers[li]!.dir}/${cat}`)) seen.add(name, li);
  for (const name of [...seen.top.keys()].sort()) {
    const origin = `${cat}/${name}`;
    if (!seen.lower.has(name)) {
      const li = seen.top.get(name)!;
      out.add(origin, li, `${layers[li]!.dir}/${origin}/port.yaml`);
      continue;
    }
    const having = seen.layersOf(name).filter((i) => hasPort(layers[i]!.dir, origin));
    if (having.length === 0) continue;
    out.add(origin, having[0]!, `${layers[having[0]!]!.dir}/${origin}/port.yaml`);
    if (having.length > 1) out.shadowed.push([origin, having.slice(1).map((i) => layers[i]!.name)]);
  }
  out.counts.push(out.origins.length - before);
}

/**
 * This thread's share of the walk of `layers`: the categories `claim()` hands it (the next index each call, shared
 * with the other walkers; past the end: done). `stop`, asked between categories, ends the share unusable.
 */
export function walkShare(
  layers: readonly TreeLayer[],
  cats: readonly string[],
  claim: () => number,
  stop?: () => boolean,
): WalkPart {
  const out = new PartWriter();
  for (let guard = 0; guard <= cats.length; guard++) {
    if (stop?.()) {
      out.ok = false;
      break;
    }
    const k = claim();
    if (k >= cats.length) break;
    out.cats.push(k);
    walkCategory(layers, cats[k]!, out);
  }
  return out.part();
}

/** The walk made of `parts` (every category of `cats` in exactly one), in category order; undefined when unusable. */
export function joinWalk(cats: readonly string[], parts: readonly WalkPart[]): TreeWalk | undefined {
  // Per category: which part has it, and where its winners start in that part.
  const partOf = new Int32Array(cats.length).fill(-1);
  const startOf = new Int32Array(cats.length);
  const countOf = new Int32Array(cats.length);
  const lists = parts.map((p) => (p.origins === '' ? [] : p.origins.split('\n')));
  let total = 0;
  for (let pi = 0; pi < parts.length; pi++) {
    const p = parts[pi]!;
    if (!p.ok || p.layer.length !== lists[pi]!.length || p.stamps.length !== STAMP * p.layer.length) return undefined;
    let at = 0;
    for (let c = 0; c < p.cats.length; c++) {
      const k = p.cats[c]!;
      if (k < 0 || k >= cats.length || partOf[k] !== -1) return undefined;
      partOf[k] = pi;
      startOf[k] = at;
      countOf[k] = p.counts[c]!;
      at += p.counts[c]!;
    }
    if (at !== p.layer.length) return undefined;
    total += at;
  }
  if (partOf.includes(-1)) return undefined;
  const origins = new Array<string>(total);
  const layer = new Uint16Array(total);
  const stamps = new Float64Array(STAMP * total);
  let n = 0;
  for (let k = 0; k < cats.length; k++) {
    const p = parts[partOf[k]!]!;
    const list = lists[partOf[k]!]!;
    const from = startOf[k]!;
    const count = countOf[k]!;
    for (let i = 0; i < count; i++) origins[n + i] = list[from + i]!;
    layer.set(p.layer.subarray(from, from + count), n);
    stamps.set(p.stamps.subarray(STAMP * from, STAMP * (from + count)), STAMP * n);
    n += count;
  }
  const shadowed = parts.flatMap((p) => p.shadowed).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { origins, layer, stamps, shadowed };
}

/**
 * Walks the whole tree on this thread (the same result as any sharing of it); undefined when a folder name holds a
 * newline (the caller then indexes the tree the long way, `indexTree`).
 */
export function walkTree(layers: readonly TreeLayer[]): TreeWalk | undefined {
  const cats = walkCategories(layers);
  let next = 0;
  return joinWalk(cats, [walkShare(layers, cats, () => next++)]);
}

/** Writes the stamp of `file` at `out[at ..]`. */
export function stampFile(file: string, out: Float64Array, at: number): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    out[at + 5] = (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? STAMP_ABSENT : STAMP_ERROR;
    return;
  }
  if (!st) {
    out[at + 5] = STAMP_ABSENT;
    return;
  }
  stampStats(st, out, at);
}

/** Writes the stamp of a file whose stats are `st` at `out[at ..]`. */
export function stampStats(st: fs.Stats, out: Float64Array, at: number): void {
  out[at] = st.size;
  out[at + 1] = st.mtimeMs;
  out[at + 2] = st.ctimeMs;
  out[at + 3] = st.ino;
  out[at + 4] = st.dev;
  out[at + 5] = st.mode;
}
