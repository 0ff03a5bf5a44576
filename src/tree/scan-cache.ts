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
 * File: `KILNSCAN`, the index's length and checksum, the values' length and checksum (uint32 LE each), the index
 * (`v8.serialize` of {@link CacheIndex}: typed arrays and a few long strings, no object per port: what a scan and a
 * plan read), the values (`v8.serialize` of {@link CacheValues}: the entries' other eager values, such as `summary`),
 * then the recipe texts (UTF-8, back to back). A scan reads and checks the index only; the values are read and checked
 * when the first recipe is made (or an entry is copied into a new file), and a reused port's recipe text only if
 * something reads a parsed key of its recipe (`sources`, `build`, `install`), through a descriptor kept open while any
 * of those ports lives (a replaced cache file does not change under it); the text is checked against its sha256, and
 * damaged values or texts are an error naming the cache. Written to a temporary file and renamed, so readers see a
 * whole file or none; anything unexpected in an index (truncated, another format, a bad checksum, values of the wrong
 * type) makes the file ignored, and the scan writes a new one. Recipe content only ever lands in length-delimited
 * strings and JSON made by `JSON.stringify`, so no recipe can change how the file reads.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import v8 from 'node:v8';
import { hash as oneShotHash } from 'node:crypto';
import { lazyEagerKeys, lazyRecipe, type Port } from '../recipe/light.js';
import { KilnError } from '../util/errors.js';
import type { TreeLayer } from './ref.js';
import { STAMP, stampFile } from './walk.js';
import { cachedPort, type EntrySource } from './scan-cache-port.js';
import {
  BadCache,
  HEADER,
  MAGIC,
  MAX_INDEX,
  SCAN_CACHE_FORMAT,
  TAG_EMPTY_LIST,
  TAG_EMPTY_MAP,
  TAG_NUMBER,
  TAG_STRING,
  checkIndex,
  checkValues,
  checksum,
  codeStamp,
  sameStamp,
  type CacheIndex,
  type CacheValues,
  type Depends,
  type EntrySink,
  type Offsets,
  type Options,
  type ValueOffsets,
} from './scan-cache-index.js';
import { layersKey } from './scan-cache-key.js';

/** A cache read from disk and checked, ready to give ports. */
export interface ScanCache {
  /** Origin → entry. The origins are sorted: a lookup in origin order costs one comparison, any other a bisection. */
  readonly byOrigin: { get(origin: string): number | undefined };
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

/** Where the parts after the index are in the file. */
interface Parts {
  readonly file: string;
  readonly valuesAt: number;
  readonly valuesLen: number;
  readonly valuesSum: number;
  readonly textsAt: number;
}

/**
 * Reads and checks the cache file of `layers`; undefined when there is none, or it was written by other code,
 * for other layers, or is not what kiln writes (it is then simply replaced by the next write).
 */
export function readScanCache(file: string, layers: readonly TreeLayer[], opened?: number): ScanCache | undefined {
  let fd: number;
  try {
    fd = opened ?? fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  let keep = false;
  try {
    const head = Buffer.alloc(HEADER);
    if (fs.readSync(fd, head, 0, HEADER, 0) !== HEADER || head.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const len = head.readUInt32LE(8);
    const valuesLen = head.readUInt32LE(16);
    const size = fs.fstatSync(fd).size;
    if (len > MAX_INDEX || valuesLen > MAX_INDEX || HEADER + len + valuesLen > size) return undefined;
    const buf = Buffer.allocUnsafe(len);
    if (fs.readSync(fd, buf, 0, len, HEADER) !== len || checksum(buf) !== head.readUInt32LE(12)) return undefined;
    const x = v8.deserialize(buf) as CacheIndex;
    if (typeof x !== 'object' || x === null || x.magic !== MAGIC || x.format !== SCAN_CACHE_FORMAT) return undefined;
    if (x.code !== codeStamp() || x.layers !== layersKey(layers) || typeof x.origins !== 'string') return undefined;
    const o = checkIndex(x, layers.length);
    const textsAt = HEADER + len + valuesLen;
    if (textsAt + x.text[o.origins.length]! !== size) return undefined;
    keep = true;
    const parts = { file, valuesAt: HEADER + len, valuesLen, valuesSum: head.readUInt32LE(20), textsAt };
    return makeCache(x, o, layers, fd, parts);
  } catch (e) {
    if (e instanceof Error) return undefined; // BadCache, or what deserializing a damaged file throws
    throw e;
  } finally {
    if (!keep) fs.closeSync(fd);
  }
}

/** Origin → entry over sorted origins (see {@link ScanCache.byOrigin}). */
function sortedLookup(origins: readonly string[]): ScanCache['byOrigin'] {
  let cursor = -1;
  return {
    get(origin) {
      const next = cursor + 1;
      if (next < origins.length && origins[next] === origin) return (cursor = next);
      let lo = 0,
        hi = origins.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const m = origins[mid]!;
        if (m === origin) return (cursor = mid);
        if (m < origin) lo = mid + 1;
        else hi = mid - 1;
      }
      return undefined;
    },
  };
}

function makeCache(x: CacheIndex, o: Offsets, layers: readonly TreeLayer[], fd: number, parts: Parts): ScanCache {
  const source = { fd };
  closer.register(source, fd);
  const { origins, plan } = o;
  const n = origins.length;
  let all: Buffer | undefined; // every text at once, read when a writer copies entries
  const readAll = (): Buffer => {
    if (!all) {
      const len = x.text[n]!;
      all = Buffer.allocUnsafe(len);
      if (fs.readSync(source.fd, all, 0, len, parts.textsAt) !== len)
        throw new Error('scan cache: short read of the recipe texts');
    }
    return all;
  };
  const textOf = (e: number, path: string): string => {
    const start = x.text[e]!,
      len = x.text[e + 1]! - start;
    const b = all ? all.subarray(start, start + len) : Buffer.allocUnsafe(len);
    if (!all && fs.readSync(source.fd, b, 0, len, parts.textsAt + start) !== len) throw damaged(path);
    const want =
      o.thash[e]! >= 0 ? x.thashes.slice(64 * o.thash[e]!, 64 * o.thash[e]! + 64) : x.hashes.slice(64 * e, 64 * e + 64);
    if (oneShotHash('sha256', b, 'hex') !== want) throw damaged(path);
    return b.toString('utf8');
  };
  // The values part, read and checked when first needed (a recipe made, an entry copied).
  type Values = Omit<CacheValues, 'json'> & ValueOffsets;
  let vals: Values | undefined;
  const values = (): Values => {
    if (vals !== undefined) return vals;
    const b = Buffer.allocUnsafe(parts.valuesLen);
    try {
      if (fs.readSync(source.fd, b, 0, b.length, parts.valuesAt) !== b.length || checksum(b) !== parts.valuesSum)
        throw new BadCache('values');
      const v = v8.deserialize(b) as CacheValues;
      const made: Values = { ...v, ...checkValues(v, x, plan) };
      vals = made;
      return made;
    } catch (e) {
      if (e instanceof Error) throw damaged(parts.file, true);
      throw e;
    }
  };
  // One concatenation per string (a 35,000-port cache makes 70,000 of them).
  const layerDirs = layers.map((l) => `${l.dir}/`);
  const recipeFile = `${nodePath.sep}port.yaml`;
  const dirOf = (e: number): string => layerDirs[x.layer[e]!]! + origins[e]!;
  // One `depends`, one `options` and one recipe per entry, made on first need; the recipe holds the others.
  const depMemo = new Array<Depends | undefined>(n);
  const optMemo = new Array<Options | undefined>(n);
  const recipeMemo = new Array<Port['recipe'] | undefined>(n);
  // The options themselves are values (read with them, then shared by planning and the recipe); a plan reads only
  // their defaults, from the index.
  const optionsOf = (e: number): Options => {
    if (optMemo[e] === undefined) valuesOf(e);
    return optMemo[e]!;
  };
  const defaultsOf = (e: number): Readonly<Record<string, boolean>> =>
    x.optAt[e]! >= 0 ? (plan[x.optAt[e]!] as Record<string, boolean>) : NO_DEFAULTS;
  const patchesOf = (e: number): string[] => (x.patchesAt[e]! >= 0 ? (plan[x.patchesAt[e]!] as string[]) : []);
  /** The eager values of entry `e` (`lazyEagerKeys` order), `depends` and `options` its shared ones (made once). */
  const valuesOf = (e: number): unknown[] => {
    const keys = lazyEagerKeys(x.masks[e]!);
    const out = new Array<unknown>(keys.length);
    const v = values();
    let t = v.tagAt[e]!,
      s = v.strAt[e]!,
      j = v.jsonAt[e]!,
      u = v.numAt[e]!;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (key === 'depends') out[k] = dependsOf(e);
      else if (key === 'patches') out[k] = patchesOf(e);
      else if (key === 'name') out[k] = x.pkgNames[x.nameAt[e]!];
      else {
        const tag = v.tags[t++];
        let value: unknown;
        if (tag === TAG_STRING) value = v.strs.slice(s > 0 ? v.strEnd[s - 1]! : 0, v.strEnd[s++]!);
        else if (tag === TAG_NUMBER) value = v.nums[u++];
        else if (tag === TAG_EMPTY_LIST) value = [];
        else if (tag === TAG_EMPTY_MAP) value = {};
        else value = v.json[j++]; // handed out once: a recipe is made at most once per entry, the others only read
        if (key === 'options') {
          optMemo[e] ??= value as Options;
          value = optMemo[e];
        }
        out[k] = value;
      }
    }
    return out;
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
    optionDefaults: defaultsOf,
    inTable: (e) => recipeMemo[e] === undefined,
    recipe(e) {
      let r = recipeMemo[e];
      if (r === undefined) {
        const path = dirOf(e) + recipeFile;
        r = lazyRecipe(() => textOf(e, path), path, origins[e]!, x.masks[e]!, valuesOf(e));
        recipeMemo[e] = r;
      }
      return r;
    },
  };
  return {
    byOrigin: sortedLookup(origins),
    size: n,
    fresh(e, layer, stamps, at) {
      if (x.layer[e] !== layer || !sameStamp(stamps, at, x.stat, STAMP * e)) return false;
      if (x.npatch[e] === 0) return true;
      const patches = patchesOf(e);
      const dir = dirOf(e);
      const pst = new Float64Array(STAMP);
      for (let i = 0; i < patches.length; i++) {
        pst.fill(0);
        stampFile(nodePath.join(dir, patches[i]!), pst, 0);
        if (!sameStamp(pst, 0, x.pstat, STAMP * (o.pstatAt[e]! + i))) return false;
      }
      return true;
    },
    port(e) {
      const origin = origins[e]!;
      const dir = dirOf(e);
      const name = x.nameAt[e]! >= 0 ? x.pkgNames[x.nameAt[e]!]! : origin.slice(origin.indexOf('/') + 1);
      return cachedPort(
        origin,
        dir,
        dir + recipeFile,
        layers[x.layer[e]!]!.name,
        name,
        x.hashes.slice(64 * e, 64 * e + 64),
        entries,
        e,
      );
    },
    copyTo(e, w) {
      const np = x.npatch[e]!;
      const entryValues = valuesOf(e);
      const text = readAll().subarray(x.text[e]!, x.text[e + 1]!);
      w.add(
        origins[e]!,
        x.layer[e]!,
        x.stat.subarray(STAMP * e, STAMP * e + STAMP),
        x.pstat.subarray(STAMP * o.pstatAt[e]!, STAMP * (o.pstatAt[e]! + np)),
        x.hashes.slice(64 * e, 64 * e + 64),
        x.masks[e]!,
        entryValues,
        text,
      );
    },
  };
}

const NO_DEFAULTS: Readonly<Record<string, boolean>> = Object.freeze({});

function damaged(path: string, whole = false): KilnError {
  const what = whole ? `the scan cache file ${path}` : `the scan cache's copy of ${path}`;
  return new KilnError('KILN_E_TREE_INVALID', `${what} is damaged`, {
    hint: 'remove the folder cache/scan of the kiln home and run again',
  });
}
