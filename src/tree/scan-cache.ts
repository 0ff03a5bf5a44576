/**
 * The scan cache: what a tree scan found for each valid port, kept in `HOME/cache/scan/KEY.bin` so that a scan of
 * an unchanged tree reads no recipe. An entry is reused only when its `port.yaml` and every patch it names have
 * the same (size, mtime, ctime, inode, device, mode) as when it was loaded, the port comes from the same layer of
 * the same overlay, and the cache was written by the same kiln code (`codeStamp`) in the same cache format.
 * Everything else is loaded again, and every problem comes from a real load (ports with problems are never cached).
 *
 * Racy files: a file whose mtime or ctime is less than `racyMs` before the scan started may still change without
 * its stamp changing (file times tick coarsely), so its port is not cached (git's "racily clean" rule).
 *
 * File: `KILNSCAN`, the index's length (uint32 LE), its checksum (uint32 LE), the index (`v8.serialize` of
 * {@link CacheIndex}: typed arrays and a few long strings, no object per port), then the recipe texts (UTF-8, back
 * to back). A reused port's recipe text is read from the file only if something reads a parsed key of its recipe
 * (`sources`, `build`, `install`), through a descriptor kept open while any of those ports lives (a replaced cache
 * file does not change under it), and checked against its sha256. Written to a temporary file and renamed, so
 * readers see a whole file or none; anything unexpected in a file (truncated, another format, a bad checksum, values
 * of the wrong type) makes it ignored, and the scan writes a new one. Recipe content only ever lands in length-
 * delimited strings and JSON made by `JSON.stringify`, so no recipe can change how the file reads.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import v8 from 'node:v8';
import { hash as oneShotHash } from 'node:crypto';
import { lazyEagerKeys, lazyRecipe, type Port } from '../recipe/index.js';
import { KilnError } from '../util/errors.js';
import type { TreeLayer } from './ref.js';
import { STAMP, stampFile } from './walk.js';
import { EntryPlanning, cachedPort, type EntrySource } from './scan-cache-port.js';
import {
  HEADER,
  MAGIC,
  MAX_INDEX,
  SCAN_CACHE_FORMAT,
  TAG_EMPTY_LIST,
  TAG_EMPTY_MAP,
  TAG_JSON,
  TAG_NUMBER,
  TAG_STRING,
  checkIndex,
  checksum,
  codeStamp,
  sameStamp,
  type CacheIndex,
  type Depends,
  type EntrySink,
  type Offsets,
  type Options,
} from './scan-cache-index.js';
import { layersKey } from './scan-cache-key.js';

/** A cache read from disk and checked, ready to give ports. */
export interface ScanCache {
  /** Origin → entry. */
  readonly byOrigin: Map<string, number>;
  readonly size: number;
  /** True when entry `e` can stand for its origin in layer `layer`, whose port.yaml has the stamp at `stamps[at ..]`. */
  fresh(e: number, layer: number, stamps: Float64Array, at: number): boolean;
  /** The port of entry `e` (its recipe reads its text from the cache file when needed). Ask at most once per entry: its values are not copied. */
  port(e: number): Port;
  /** Copies entry `e` into a writer. */
  copyTo(e: number, w: EntrySink): void;
}

/** Closes a cache file's descriptor once no port reading from it is left. */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
});

/**
 * Reads and checks the cache file of `layers`; undefined when there is none, or it was written by other code,
 * for other layers, or is not what kiln writes (it is then simply replaced by the next write).
 */
export function readScanCache(file: string, layers: readonly TreeLayer[]): ScanCache | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  let keep = false;
  try {
    const head = Buffer.alloc(HEADER);
    if (fs.readSync(fd, head, 0, HEADER, 0) !== HEADER || head.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const len = head.readUInt32LE(8);
    const size = fs.fstatSync(fd).size;
    if (len > MAX_INDEX || HEADER + len > size) return undefined;
    const buf = Buffer.allocUnsafe(len);
    if (fs.readSync(fd, buf, 0, len, HEADER) !== len || checksum(buf) !== head.readUInt32LE(12)) return undefined;
    const x = v8.deserialize(buf) as CacheIndex;
    if (typeof x !== 'object' || x === null || x.magic !== MAGIC || x.format !== SCAN_CACHE_FORMAT) return undefined;
    if (x.code !== codeStamp() || x.layers !== layersKey(layers) || typeof x.origins !== 'string') return undefined;
    const o = checkIndex(x, layers.length);
    if (HEADER + len + x.text[o.origins.length]! !== size) return undefined;
    keep = true;
    return makeCache(x, o, layers, fd, HEADER + len);
  } catch (e) {
    if (e instanceof Error) return undefined; // BadCache, or what deserializing a damaged file throws
    throw e;
  } finally {
    if (!keep) fs.closeSync(fd);
  }
}

function makeCache(x: CacheIndex, o: Offsets, layers: readonly TreeLayer[], fd: number, base: number): ScanCache {
  const source = { fd };
  closer.register(source, fd);
  const { origins, json } = o;
  const byOrigin = new Map<string, number>();
  for (let e = 0; e < origins.length; e++) byOrigin.set(origins[e]!, e);
  let all: Buffer | undefined; // every text at once, read when a writer copies entries
  const readAll = (): Buffer => {
    if (!all) {
      const len = x.text[origins.length]!;
      all = Buffer.allocUnsafe(len);
      if (fs.readSync(source.fd, all, 0, len, base) !== len)
        throw new Error('scan cache: short read of the recipe texts');
    }
    return all;
  };
  const textOf = (e: number, path: string): string => {
    const start = x.text[e]!,
      len = x.text[e + 1]! - start;
    const b = all ? all.subarray(start, start + len) : Buffer.allocUnsafe(len);
    if (!all && fs.readSync(source.fd, b, 0, len, base + start) !== len) throw damaged(path);
    const want =
      o.thash[e]! >= 0 ? x.thashes.slice(64 * o.thash[e]!, 64 * o.thash[e]! + 64) : x.hashes.slice(64 * e, 64 * e + 64);
    if (oneShotHash('sha256', b, 'hex') !== want) throw damaged(path);
    return b.toString('utf8');
  };
  const dirOf = (e: number): string => `${layers[x.layer[e]!]!.dir}/${origins[e]!}`;
  // One `depends` and one `options` per entry, made on first need and shared by its planning data and its recipe.
  const depMemo = new Array<Depends | undefined>(origins.length);
  const optMemo = new Array<Options | undefined>(origins.length);
  const stringAt = (i: number): string => x.strs.slice(i > 0 ? x.strEnd[i - 1]! : 0, x.strEnd[i]!);
  const optionsOf = (e: number): Options => {
    let v = optMemo[e];
    if (v === undefined) {
      v = (o.optAt[e]! >= 0 ? json[o.optAt[e]!] : {}) as Options;
      optMemo[e] = v;
    }
    return v;
  };
  /** The eager values of entry `e` (`lazyEagerKeys` order), `depends` and `options` its shared ones. */
  const valuesOf = (e: number): unknown[] => {
    const keys = lazyEagerKeys(x.masks[e]!);
    const vals = new Array<unknown>(keys.length);
    let t = o.tagAt[e]!,
      s = o.strAt[e]!,
      j = o.jsonAt[e]!,
      u = o.numAt[e]!;
    for (let k = 0; k < keys.length; k++) {
      if (keys[k] === 'depends') {
        vals[k] = dependsOf(e);
        continue;
      }
      const tag = x.tags[t++];
      if (keys[k] === 'options') {
        vals[k] = optionsOf(e);
        if (tag === TAG_JSON) j++;
      } else if (tag === TAG_STRING) vals[k] = stringAt(s++);
      else if (tag === TAG_NUMBER) vals[k] = x.nums[u++];
      else if (tag === TAG_EMPTY_LIST) vals[k] = [];
      else if (tag === TAG_EMPTY_MAP) vals[k] = {};
      else vals[k] = json[j++]; // handed out once: a recipe is made at most once per entry, the others only read
    }
    return vals;
  };
  const dependsOf = (e: number): Depends => {
    const memo = depMemo[e];
    if (memo !== undefined) return memo;
    let p = o.intAt[e]!;
    const lists: string[][] = [];
    for (let k = 0; k < 4; k++) lists.push(new Array<string>(x.ints[p + k]!));
    p += 4;
    for (let k = 0; k < 4; k++) {
      const out = lists[k]!;
      for (let i = 0; i < out.length; i++) {
        const d = x.ints[p++]!;
        out[i] = k >= 2 ? x.names[d]! : d >= 0 ? origins[d]! : x.names[-1 - d]!;
      }
    }
    const made = { build: lists[0]!, run: lists[1]!, system: lists[2]!, system_run: lists[3]! };
    depMemo[e] = made;
    return made;
  };
  const patchesOf = (e: number): readonly string[] => {
    return x.npatch[e] === 0 ? [] : (json[o.patchJson[e]!] as string[]);
  };
  const entries: EntrySource = {
    table: {
      origins,
      refs: x.ints,
      at: (e) => o.intAt[e]! + 4,
      builds: (e) => x.ints[o.intAt[e]!]!,
      runs: (e) => x.ints[o.intAt[e]! + 1]!,
      name: (ref) => x.names[-1 - ref]!,
    },
    depends: dependsOf,
    options: optionsOf,
    recipe(e) {
      const path = `${dirOf(e)}${nodePath.sep}port.yaml`;
      return lazyRecipe(() => textOf(e, path), path, origins[e]!, x.masks[e]!, valuesOf(e));
    },
  };
  return {
    byOrigin,
    size: origins.length,
    fresh(e, layer, stamps, at) {
      if (x.layer[e] !== layer || !sameStamp(stamps, at, x.stat, STAMP * e)) return false;
      const patches = patchesOf(e);
      if (patches.length === 0) return true;
      const dir = dirOf(e);
      const pst = new Float64Array(STAMP);
      for (let i = 0; i < patches.length; i++) {
        pst.fill(0);
        stampFile(nodePath.join(dir, patches[i]!), pst, 0);
        if (!sameStamp(pst, 0, x.pstat, STAMP * (o.patchAt[e]! + i))) return false;
      }
      return true;
    },
    port(e) {
      const origin = origins[e]!;
      const dir = dirOf(e);
      const name = o.nameAt[e]! >= 0 ? stringAt(o.nameAt[e]!) : undefined;
      return cachedPort(
        origin,
        dir,
        `${dir}${nodePath.sep}port.yaml`,
        layers[x.layer[e]!]!.name,
        name ?? origin.slice(origin.indexOf('/') + 1),
        x.hashes.slice(64 * e, 64 * e + 64),
        new EntryPlanning(entries, e),
      );
    },
    copyTo(e, w) {
      const n = x.npatch[e]!;
      const vals = valuesOf(e);
      const text = readAll().subarray(x.text[e]!, x.text[e + 1]!);
      w.add(
        origins[e]!,
        x.layer[e]!,
        x.stat.subarray(STAMP * e, STAMP * e + STAMP),
        x.pstat.subarray(STAMP * o.patchAt[e]!, STAMP * (o.patchAt[e]! + n)),
        x.hashes.slice(64 * e, 64 * e + 64),
        x.masks[e]!,
        vals,
        text,
      );
    },
  };
}

function damaged(path: string): KilnError {
  return new KilnError('KILN_E_TREE_INVALID', `the scan cache's copy of ${path} is damaged`, {
    hint: 'remove the folder cache/scan of the kiln home and run again',
  });
}
