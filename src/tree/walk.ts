/**
 * The walk of a cached scan: the tree's winners (as `indexTree` finds them, without checking single-layer origins)
 * and the stamp of each winner's `port.yaml`, in a form one thread can hand another in a single message. A scan
 * with a cache gives it to a prestarted loader worker, and meanwhile reads the cache and makes its ports.
 * Imports nothing heavy (the worker runs it before anything else).
 */
import fs from 'node:fs';
import { indexTree } from './merge.js';
import type { TreeLayer, TreeRef } from './ref.js';

/** Numbers per file stamp: size, mtimeMs, ctimeMs, ino, dev, mode (see `scan-cache.ts`). */
export const STAMP = 6;
/** In a stamp's mode slot: there is no port.yaml (ENOENT, ENOTDIR: the folder is no port). */
export const STAMP_ABSENT = -1;
/** In a stamp's mode slot: the stat failed otherwise (the load reports why). */
export const STAMP_ERROR = -2;

/** A walked tree. */
export interface TreeWalk {
  /** Winning origins, sorted, `\n`-separated (a folder name has no newline: see {@link walkTree}). */
  readonly origins: string;
  /** Per winner: its layer's index. */
  readonly layer: Uint16Array;
  /** Per winner: its port.yaml's stamp (mode slot {@link STAMP_ABSENT} or {@link STAMP_ERROR} when none). */
  readonly stamps: Float64Array;
  /** Origin → names of the lower layers it shadows (as `indexTree` gives it). */
  readonly shadowed: [string, string[]][];
  /** False when a folder name holds a newline (the walk is then not usable; the caller walks itself). */
  readonly ok: boolean;
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

/**
 * Walks the layers (plain folders; the same merge as `indexTree`) and stamps every winner's port.yaml. `stop`, when
 * given, is asked every 512 ports: true ends the walk early, with `ok` false.
 */
export function walkTree(layers: readonly TreeLayer[], stop?: () => boolean): TreeWalk {
  const ref: TreeRef = { name: 'walk', layers };
  const index = indexTree(ref, { checkSingles: false });
  const layerAt = new Map(layers.map((l, k) => [l, k]));
  const n = index.winners.size;
  const layer = new Uint16Array(n);
  const stamps = new Float64Array(STAMP * n);
  const origins: string[] = [];
  let ok = true;
  let i = 0;
  for (const [origin, l] of index.winners) {
    if ((i & 511) === 0 && stop?.()) {
      ok = false;
      break;
    }
    if (origin.includes('\n')) ok = false;
    origins.push(origin);
    layer[i] = layerAt.get(l)!;
    stampFile(`${l.dir}/${origin}/port.yaml`, stamps, STAMP * i);
    i++;
  }
  return { origins: origins.join('\n'), layer, stamps, shadowed: [...index.shadowed], ok };
}
