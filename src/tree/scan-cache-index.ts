/**
 * The scan cache's keys and index (see `scan-cache.ts` for the cache and its file): the format's constants, where a
 * tree's cache file is (`scan-cache-key.ts`: keyed by its layers, in order), the stamp of the code that wrote it
 * (`codeStamp`), the freshness rules (`sameStamp`, `isRacy`), and the check of an index read from disk
 * (`checkIndex`): anything that is not what kiln writes throws {@link BadCache}, and the file is then ignored.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import zlib from 'node:zlib';
import { createHash, hash as oneShotHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ORIGIN_RE, lazyEagerKeys, type Port } from '../recipe/light.js';
import { STAMP } from './walk.js';

/** Version of the cache file's layout: bump it when the layout or what an entry means changes. */
export const SCAN_CACHE_FORMAT = 4;
/** Files changed less than this long before a scan are not cached (see the module's note on racy files). */
export const RACY_MS = 2000;
export const MAGIC = 'KILNSCAN';
/** `KILNSCAN`, then the index's length and checksum, then the values' length and checksum (uint32 LE each). */
export const HEADER = 24;
export const TAG_STRING = 0;
export const TAG_JSON = 1;
export const TAG_EMPTY_LIST = 2;
export const TAG_EMPTY_MAP = 3;
export const TAG_NUMBER = 4;
/** Indexes larger than this are not read (a 35,000-port tree's is ~7 MB, its values ~8 MB). */
export const MAX_INDEX = 1 << 30;

export type Depends = Port['recipe']['depends'];
export type Options = Port['recipe']['options'];

/**
 * The eager keys an entry keeps in its index rather than its values: `depends` (as integers), `patches` (the
 * freshness check reads them) and `name` (its package name). Its `options` are among the values, and their defaults
 * (what a plan reads: `optionDefaults`) in the index.
 */
export const INDEX_KEYS: ReadonlySet<string> = new Set(['depends', 'patches', 'name']);

/** Option name → its default, in the options' order (what a plan reads of them). */
export function optionDefaults(options: Options): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const k in options) out[k] = options[k]!.default;
  return out;
}

/**
 * The index of a cache file: what a scan and a plan read, one entry per cached port, in origin order, as columns.
 * The entries' other eager values are in {@link CacheValues}, read only when a recipe is made or an entry copied.
 */
export interface CacheIndex {
  readonly magic: string;
  readonly format: number;
  readonly code: string;
  /** The layers as `layersKey` (`scan-cache-key.ts`) gives them. */
  readonly layers: string;
  /** Origins, `\n`-separated. */
  readonly origins: string;
  /** Per entry: its layer's index. */
  readonly layer: Uint16Array;
  /** Per entry: the port.yaml's stamp (STAMP numbers). */
  readonly stat: Float64Array;
  /** Per entry: its number of patches (their names are the recipe's `patches`). */
  readonly npatch: Uint16Array;
  /** The patches' stamps, entry after entry. */
  readonly pstat: Float64Array;
  /** Content hashes, 64 hex digits each, back to back. */
  readonly hashes: string;
  /** Per entry: its recipe's key mask. */
  readonly masks: Int32Array;
  /** Per entry: its recipe's `name` as an index into `pkgNames`, or -1 (none). */
  readonly nameAt: Int32Array;
  readonly pkgNames: string[];
  /** Per entry: its non-empty `patches` and its options' defaults (name → default) as indexes into the JSON array `plan`, or -1 (none). */
  readonly optAt: Int32Array;
  readonly patchesAt: Int32Array;
  readonly plan: string;
  /** Per entry: depends.build, .run, .system, .system_run lengths, then the entries: ≥ 0 an entry's origin, < 0 `names[-1 - x]`. */
  readonly ints: Int32Array;
  /** Interned dependency names (system packages, origins not in the cache). */
  readonly names: string[];
  /** Per entry: start of its text in the texts part (bytes); one more at the end (the part's length). */
  readonly text: Float64Array;
  /** Entries with patches (their content hash is not their text's) and their texts' sha256, 64 hex digits each. */
  readonly thashAt: Int32Array;
  readonly thashes: string;
}

/**
 * The entries' eager values but those of {@link INDEX_KEYS}, entry after entry, in `lazyEagerKeys` order: per value
 * a tag, {@link TAG_STRING} the next string of `strs`, {@link TAG_JSON} the next value of `json`,
 * {@link TAG_EMPTY_LIST} `[]`, {@link TAG_EMPTY_MAP} `{}` (each a new one), {@link TAG_NUMBER} the next of `nums`.
 */
export interface CacheValues {
  readonly tags: Uint8Array;
  readonly nums: Float64Array;
  /** The string values, back to back; `strEnd[i]` is where the i-th ends. */
  readonly strs: string;
  readonly strEnd: Uint32Array;
  /** JSON array of the other values. */
  readonly json: string;
}

/** What takes cache entries (the writer of `scan-cache-write.ts`): see its `add`. */
export interface EntrySink {
  add(
    origin: string,
    layer: number,
    stat: Float64Array,
    pstat: ArrayLike<number>,
    hash: string,
    mask: number,
    values: readonly unknown[],
    text: Buffer | string,
  ): boolean;
}

let codeStampMemo: string | undefined;

/**
 * A stamp of the code a scan result depends on: the files of the recipe, tree and util modules and kiln's
 * package.json (size and mtime), and Node's version (the serializer). A rebuilt or upgraded kiln has another.
 */
export function codeStamp(): string {
  if (codeStampMemo !== undefined) return codeStampMemo;
  const h = createHash('sha256').update(`${process.version}\0${SCAN_CACHE_FORMAT}\0`);
  const here = nodePath.dirname(fileURLToPath(import.meta.url));
  const files = [nodePath.join(here, '..', '..', 'package.json')];
  for (const d of ['recipe', 'tree', 'util']) {
    const dir = nodePath.join(here, '..', d);
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      /* absent: stamped as such */
    }
    for (const n of names) if (/\.(js|ts|mjs)$/.test(n) && !n.endsWith('.test.ts')) files.push(nodePath.join(dir, n));
  }
  for (const f of files) {
    const st = fs.statSync(f, { throwIfNoEntry: false });
    h.update(`${f}\0${st ? `${st.size}:${st.mtimeMs}` : '-'}\0`);
  }
  codeStampMemo = h.digest('hex');
  return codeStampMemo;
}

/** True when the stamps at `a[at ..]` and `b[bt ..]` are the same. */
export function sameStamp(a: Float64Array, at: number, b: Float64Array, bt: number): boolean {
  return (
    a[at] === b[bt] &&
    a[at + 1] === b[bt + 1] &&
    a[at + 2] === b[bt + 2] &&
    a[at + 3] === b[bt + 3] &&
    a[at + 4] === b[bt + 4] &&
    a[at + 5] === b[bt + 5]
  );
}

/**
 * True when a file with the stamp at `s[at ..]` may change without its stamp changing (changed at or after
 * `since`), or is no regular file (see {@link RACY_MS}).
 */
export function isRacy(s: Float64Array, at: number, since: number): boolean {
  return (s[at + 5]! & 0o170000) !== 0o100000 || !(s[at + 1]! < since) || !(s[at + 2]! < since);
}

/** A checksum of the index bytes: crc32 where Node has it (20.15 on), else the first 32 bits of sha1. */
export function checksum(b: Buffer): number {
  const crc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32;
  return typeof crc32 === 'function' ? crc32(b) : parseInt(oneShotHash('sha1', b, 'hex').slice(0, 8), 16);
}

/** Thrown (and caught by `readScanCache`) for a cache file that is not what kiln writes. */
export class BadCache extends Error {}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new BadCache(what);
}

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

/** What checking an index found: the origins, and where each entry's parts start in its columns. */
export interface Offsets {
  readonly origins: string[];
  /** Per entry: where its dependency integers start in `ints`. */
  readonly intAt: Int32Array;
  /** Per entry: its first patch stamp (counted in stamps). */
  readonly pstatAt: Int32Array;
  /** Per entry: index into `thashes`, or -1. */
  readonly thash: Int32Array;
  /** The parsed `plan` array. */
  readonly plan: unknown[];
}

/** A non-empty name → boolean record (options' defaults). */
const isDefaults = (v: unknown): boolean => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let any = false;
  for (const k in v) {
    any = true;
    if (typeof (v as Record<string, unknown>)[k] !== 'boolean') return false;
  }
  return any;
};

/** Options whose defaults are `defaults`: each an object with that boolean `default`, and no other option. */
const optionsMatch = (v: unknown, defaults: unknown): boolean => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const d = defaults as Record<string, boolean>;
  let n = 0;
  for (const k in v) {
    const opt = (v as Record<string, unknown>)[k];
    n++;
    if (typeof opt !== 'object' || opt === null || (opt as { default?: unknown }).default !== d[k]) return false;
  }
  for (const _ in d) n--;
  return n === 0;
};

/** Per key mask: whether its recipes have a `name`. */
const hasName = new Map<number, boolean>();
function maskHasName(mask: number): boolean {
  let v = hasName.get(mask);
  if (v === undefined) {
    v = lazyEagerKeys(mask).includes('name');
    hasName.set(mask, v);
  }
  return v;
}

/** Checks the index's shape and every entry (a failed check throws {@link BadCache}). */
export function checkIndex(x: CacheIndex, layers: number): Offsets {
  const origins = x.origins === '' ? [] : x.origins.split('\n');
  const n = origins.length;
  const perEntry = (a: unknown, type: new (n: number) => ArrayLike<number>, len = n): boolean =>
    a instanceof type && a.length === len;
  check(perEntry(x.layer, Uint16Array) && perEntry(x.npatch, Uint16Array), 'layer');
  check(perEntry(x.stat, Float64Array, STAMP * n) && x.pstat instanceof Float64Array, 'stat');
  check(perEntry(x.masks, Int32Array) && perEntry(x.nameAt, Int32Array) && isStrings(x.pkgNames), 'masks');
  check(perEntry(x.optAt, Int32Array) && perEntry(x.patchesAt, Int32Array) && typeof x.plan === 'string', 'plan');
  // (Their digits, like every other byte of the index, are covered by the checksum.)
  check(typeof x.hashes === 'string' && x.hashes.length === 64 * n, 'hashes');
  check(x.ints instanceof Int32Array && isStrings(x.names), 'ints');
  check(perEntry(x.text, Float64Array, n + 1) && x.text[0] === 0, 'text');
  check(
    x.thashAt instanceof Int32Array && typeof x.thashes === 'string' && x.thashes.length === 64 * x.thashAt.length,
    'thashes',
  );
  const plan = JSON.parse(x.plan) as unknown;
  check(Array.isArray(plan), 'plan');
  const o: Offsets = {
    origins,
    intAt: new Int32Array(n),
    pstatAt: new Int32Array(n),
    thash: new Int32Array(n).fill(-1),
    plan,
  };
  for (let i = 0; i < x.thashAt.length; i++) {
    const e = x.thashAt[i]!;
    check(e >= 0 && e < n && o.thash[e] === -1, 'thashAt');
    o.thash[e] = i;
  }
  let prev = '';
  let p = 0,
    q = 0,
    lastPlan = -1,
    lastName = -1;
  for (let e = 0; e < n; e++) {
    const origin = origins[e]!;
    check(origin > prev && ORIGIN_RE.test(origin), 'origin');
    prev = origin;
    check(x.layer[e]! < layers && Number.isInteger(x.text[e + 1]) && x.text[e + 1]! >= x.text[e]!, 'layer, text');
    const mask = x.masks[e]!;
    check(mask >= 0 && mask < 1 << 16, 'mask');
    // Each value of `plan` and `pkgNames` belongs to one entry (a recipe may be changed by whoever holds it).
    const name = x.nameAt[e]!;
    check(name === -1 ? !maskHasName(mask) : name > lastName && name < x.pkgNames.length && maskHasName(mask), 'name');
    if (name >= 0) lastName = name;
    // (`patches` comes before `options` in a recipe, and so in `plan`.)
    const pat = x.patchesAt[e]!;
    if (pat >= 0) {
      const v = plan[pat];
      check(pat > lastPlan && pat < plan.length && isStrings(v) && v.length === x.npatch[e] && v.length > 0, 'patches');
      lastPlan = pat;
    } else check(pat === -1 && x.npatch[e] === 0, 'patches');
    const opt = x.optAt[e]!;
    if (opt >= 0) {
      check(opt > lastPlan && opt < plan.length && isDefaults(plan[opt]), 'options');
      lastPlan = opt;
    } else check(opt === -1, 'options');
    o.pstatAt[e] = q;
    q += x.npatch[e]!;
    o.intAt[e] = p;
    check(p + 4 <= x.ints.length, 'ints');
    const nb = x.ints[p]!,
      nr = x.ints[p + 1]!,
      ns = x.ints[p + 2]!,
      nsr = x.ints[p + 3]!;
    check(nb >= 0 && nr >= 0 && ns >= 0 && nsr >= 0, 'depends lengths');
    p += 4;
    check(p + nb + nr + ns + nsr <= x.ints.length, 'depends');
    for (let i = 0; i < nb + nr; i++, p++) check(x.ints[p]! < n && -1 - x.ints[p]! < x.names.length, 'depends entry');
    for (let i = 0; i < ns + nsr; i++, p++) check(x.ints[p]! >= 0 && x.ints[p]! < x.names.length, 'system entry');
  }
  check(p === x.ints.length && STAMP * q === x.pstat.length, 'lengths');
  return o;
}

/** Where each entry's values start in the columns of {@link CacheValues} (made while checking them). */
export interface ValueOffsets {
  readonly tagAt: Int32Array;
  readonly strAt: Int32Array;
  readonly jsonAt: Int32Array;
  readonly numAt: Int32Array;
  readonly json: unknown[];
}

/**
 * Checks the values of the entries of index `x` (its key masks; each entry's options against the defaults its index
 * holds, `plan` being the index's parsed `plan`). A failed check throws {@link BadCache}.
 */
export function checkValues(v: CacheValues, x: CacheIndex, plan: readonly unknown[]): ValueOffsets {
  const masks = x.masks;
  check(typeof v === 'object' && v !== null, 'values');
  check(v.tags instanceof Uint8Array && v.nums instanceof Float64Array && v.strEnd instanceof Uint32Array, 'columns');
  check(typeof v.strs === 'string' && typeof v.json === 'string', 'strings');
  const json = JSON.parse(v.json) as unknown;
  check(Array.isArray(json), 'json');
  const n = masks.length;
  const o: ValueOffsets = {
    tagAt: new Int32Array(n),
    strAt: new Int32Array(n),
    jsonAt: new Int32Array(n),
    numAt: new Int32Array(n),
    json,
  };
  let t = 0,
    s = 0,
    j = 0,
    u = 0;
  for (let e = 0; e < n; e++) {
    o.tagAt[e] = t;
    o.strAt[e] = s;
    o.jsonAt[e] = j;
    o.numAt[e] = u;
    for (const key of lazyEagerKeys(masks[e]!)) {
      if (INDEX_KEYS.has(key)) continue;
      const tag = v.tags[t++];
      if (key === 'options') {
        const opt = x.optAt[e]!;
        check(opt >= 0 ? tag === TAG_JSON && optionsMatch(json[j], plan[opt]) : tag === TAG_EMPTY_MAP, 'options');
      }
      if (tag === TAG_STRING) s++;
      else if (tag === TAG_NUMBER) u++;
      else if (tag === TAG_JSON) j++;
      else check(tag === TAG_EMPTY_LIST || tag === TAG_EMPTY_MAP, 'tag');
    }
  }
  check(t === v.tags.length && s === v.strEnd.length && j === json.length && u === v.nums.length, 'lengths');
  for (let i = 0; i < s; i++) check(v.strEnd[i]! >= (i > 0 ? v.strEnd[i - 1]! : 0), 'strEnd');
  check(s === 0 ? v.strs === '' : v.strEnd[s - 1] === v.strs.length, 'strs length');
  return o;
}
