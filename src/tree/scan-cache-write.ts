/**
 * Writing a scan cache file (the format is described in `scan-cache.ts`): entries are added in origin order (copied
 * from the old cache or taken from fresh loads) and written in one go to a temporary file that is then renamed. An
 * entry's `depends`, `patches`, `name` and its options' defaults go to the index, its other eager values (its
 * options among them) to the values part.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import v8 from 'node:v8';
import { hash as oneShotHash } from 'node:crypto';
import { lazyEagerKeys } from '../recipe/light.js';
import type { TreeLayer } from './ref.js';
import { STAMP } from './walk.js';
import {
  HEADER,
  MAGIC,
  SCAN_CACHE_FORMAT,
  TAG_EMPTY_LIST,
  TAG_EMPTY_MAP,
  TAG_JSON,
  TAG_NUMBER,
  TAG_STRING,
  checksum,
  codeStamp,
  type CacheIndex,
  type CacheValues,
  optionDefaults,
  type Depends,
  type EntrySink,
  type Options,
} from './scan-cache-index.js';
import { layersKey } from './scan-cache-key.js';

/** True for a value JSON gives back exactly. */
function jsonSafe(x: unknown, depth = 0): boolean {
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return true;
  if (typeof x === 'number') return Number.isFinite(x) && !Object.is(x, -0);
  if (depth > 16 || typeof x !== 'object') return false;
  if (Array.isArray(x)) return x.every((y) => jsonSafe(y, depth + 1));
  const proto = Object.getPrototypeOf(x) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(x))
    if (k === '__proto__' || !jsonSafe((x as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

/** Collects entries (in origin order) and writes a cache file. */
export class ScanCacheWriter implements EntrySink {
  private n = 0;
  private readonly origins: string[] = [];
  private readonly layer: Uint16Array;
  private readonly stat: Float64Array;
  private readonly npatch: Uint16Array;
  private readonly pstat: number[] = [];
  private readonly hashes: string[] = [];
  private readonly masks: Int32Array;
  private readonly nameAt: Int32Array;
  private readonly pkgNames: string[] = [];
  private readonly optAt: Int32Array;
  private readonly patchesAt: Int32Array;
  private readonly plan: unknown[] = [];
  private readonly tags: number[] = [];
  private readonly strs: string[] = [];
  private readonly json: unknown[] = [];
  private readonly nums: number[] = [];
  private readonly deps: Depends[] = [];
  /** Texts as bytes (copied from a cache) or as strings (loaded), and their byte lengths. */
  private readonly texts: (Buffer | string)[] = [];
  private readonly textBytes: Float64Array;
  private readonly thashAt: number[] = [];
  private readonly thashes: string[] = [];

  /** A writer for at most `capacity` entries. */
  constructor(private readonly capacity: number) {
    this.layer = new Uint16Array(capacity);
    this.stat = new Float64Array(STAMP * capacity);
    this.npatch = new Uint16Array(capacity);
    this.masks = new Int32Array(capacity);
    this.nameAt = new Int32Array(capacity);
    this.optAt = new Int32Array(capacity);
    this.patchesAt = new Int32Array(capacity);
    this.textBytes = new Float64Array(capacity);
  }

  /**
   * Adds one port: its layer index, stamps, content hash, key mask, eager values (`lazyEagerKeys` order, `depends`
   * among them) and text (bytes, or the decoded string). Returns false (and adds nothing) for values JSON would not
   * give back exactly, or a full writer.
   */
  add(
    origin: string,
    layer: number,
    stat: Float64Array,
    pstat: ArrayLike<number>,
    hash: string,
    mask: number,
    values: readonly unknown[],
    text: Buffer | string,
  ): boolean {
    const keys = lazyEagerKeys(mask);
    if (this.n >= this.capacity) return false;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'string' && keys[i] !== 'depends' && !jsonSafe(v)) return false;
      if (keys[i] === 'name' && typeof v !== 'string') return false;
      if (keys[i] === 'options' && !optionsShaped(v)) return false;
      if (keys[i] === 'patches' && (!Array.isArray(v) || v.length !== pstat.length / STAMP)) return false;
    }
    const e = this.n++;
    this.origins.push(origin);
    this.layer[e] = layer;
    this.stat.set(stat.subarray(0, STAMP), STAMP * e);
    this.npatch[e] = pstat.length / STAMP;
    for (let i = 0; i < pstat.length; i++) this.pstat.push(pstat[i]!);
    this.hashes.push(hash);
    this.masks[e] = mask;
    this.nameAt[e] = this.optAt[e] = this.patchesAt[e] = -1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const key = keys[i];
      if (key === 'depends') this.deps.push(v as Depends);
      else if (key === 'name') {
        this.nameAt[e] = this.pkgNames.length;
        this.pkgNames.push(v as string);
      } else if (key === 'patches') {
        if ((v as string[]).length === 0) continue;
        this.patchesAt[e] = this.plan.length;
        this.plan.push(v);
      } else if (key === 'options' && !isEmpty(v as object)) {
        // Their defaults to the index (what a plan reads), the options themselves to the values.
        this.optAt[e] = this.plan.length;
        this.plan.push(optionDefaults(v as Options));
        this.tags.push(TAG_JSON);
        this.json.push(v);
      } else if (typeof v === 'string') {
        this.tags.push(TAG_STRING);
        this.strs.push(v);
      } else if (typeof v === 'number') {
        this.tags.push(TAG_NUMBER);
        this.nums.push(v);
      } else if (Array.isArray(v) && v.length === 0) this.tags.push(TAG_EMPTY_LIST);
      else if (typeof v === 'object' && v !== null && !Array.isArray(v) && isEmpty(v)) this.tags.push(TAG_EMPTY_MAP);
      else {
        this.tags.push(TAG_JSON);
        this.json.push(v);
      }
    }
    this.textBytes[e] = typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : text.length;
    if (pstat.length > 0) {
      this.thashAt.push(e);
      this.thashes.push(oneShotHash('sha256', typeof text === 'string' ? Buffer.from(text, 'utf8') : text, 'hex'));
    }
    this.texts.push(text);
    return true;
  }

  /** The index of what was added. */
  private index(layers: readonly TreeLayer[]): CacheIndex {
    const n = this.n;
    const entry = new Map<string, number>();
    for (let e = 0; e < n; e++) entry.set(this.origins[e]!, e);
    const names: string[] = [];
    const nameIndex = new Map<string, number>();
    const intern = (s: string): number => {
      let i = nameIndex.get(s);
      if (i === undefined) {
        i = names.length;
        names.push(s);
        nameIndex.set(s, i);
      }
      return i;
    };
    let size = 0;
    for (const d of this.deps) size += 4 + d.build.length + d.run.length + d.system.length + d.system_run.length;
    const ints = new Int32Array(size);
    let p = 0;
    for (const d of this.deps) {
      ints[p++] = d.build.length;
      ints[p++] = d.run.length;
      ints[p++] = d.system.length;
      ints[p++] = d.system_run.length;
      for (const o of d.build) ints[p++] = entry.get(o) ?? -1 - intern(o);
      for (const o of d.run) ints[p++] = entry.get(o) ?? -1 - intern(o);
      for (const s of d.system) ints[p++] = intern(s);
      for (const s of d.system_run) ints[p++] = intern(s);
    }
    const text = new Float64Array(n + 1);
    for (let e = 0; e < n; e++) text[e + 1] = text[e]! + this.textBytes[e]!;
    return {
      magic: MAGIC,
      format: SCAN_CACHE_FORMAT,
      code: codeStamp(),
      layers: layersKey(layers),
      origins: this.origins.join('\n'),
      layer: this.layer.subarray(0, n),
      stat: this.stat.subarray(0, STAMP * n),
      npatch: this.npatch.subarray(0, n),
      pstat: new Float64Array(this.pstat),
      hashes: this.hashes.join(''),
      masks: this.masks.subarray(0, n),
      nameAt: this.nameAt.subarray(0, n),
      pkgNames: this.pkgNames,
      optAt: this.optAt.subarray(0, n),
      patchesAt: this.patchesAt.subarray(0, n),
      plan: JSON.stringify(this.plan),
      ints,
      names,
      text,
      thashAt: new Int32Array(this.thashAt),
      thashes: this.thashes.join(''),
    };
  }

  /** The values of what was added (those not in the index). */
  private values(): CacheValues {
    const strEnd = new Uint32Array(this.strs.length);
    let end = 0;
    for (let i = 0; i < this.strs.length; i++) {
      end += this.strs[i]!.length;
      strEnd[i] = end;
    }
    return {
      tags: new Uint8Array(this.tags),
      nums: new Float64Array(this.nums),
      strs: this.strs.join(''),
      strEnd,
      json: JSON.stringify(this.json),
    };
  }

  /**
   * Writes the file (temporary name, then rename); a failure to write is ignored (the cache is an optimisation).
   * With `reopen`, returns a descriptor open for reading on the very file written (another scan may replace the file
   * by then), or undefined when it was not written.
   */
  write(file: string, layers: readonly TreeLayer[], reopen = false): number | undefined {
    const x = this.index(layers);
    const body = v8.serialize(x);
    const vals = v8.serialize(this.values());
    const all = Buffer.allocUnsafe(HEADER + body.length + vals.length + x.text[this.n]!);
    all.write(MAGIC, 0, 'latin1');
    all.writeUInt32LE(body.length, 8);
    all.writeUInt32LE(checksum(body), 12);
    all.writeUInt32LE(vals.length, 16);
    all.writeUInt32LE(checksum(vals), 20);
    body.copy(all, HEADER);
    vals.copy(all, HEADER + body.length);
    let off = HEADER + body.length + vals.length;
    for (let e = 0; e < this.n; e++) {
      const t = this.texts[e]!;
      if (typeof t === 'string') all.write(t, off, 'utf8');
      else t.copy(all, off);
      off += this.textBytes[e]!;
    }
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.mkdirSync(nodePath.dirname(file), { recursive: true });
      const fd = fs.openSync(tmp, 'wx', 0o644);
      try {
        for (let at = 0, guard = 0; at < all.length && guard < 1 << 20; guard++)
          at += fs.writeSync(fd, all, at, all.length - at);
      } finally {
        fs.closeSync(fd);
      }
      const back = reopen ? fs.openSync(tmp, 'r') : undefined;
      try {
        fs.renameSync(tmp, file);
      } catch (e) {
        if (back !== undefined) fs.closeSync(back);
        throw e;
      }
      return back;
    } catch {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to remove */
      }
      return undefined;
    }
  }
}

/** True for a recipe's `options`: an object of options, each an object with a boolean `default`. */
function optionsShaped(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k in v) {
    const opt = (v as Record<string, unknown>)[k];
    if (typeof opt !== 'object' || opt === null || typeof (opt as { default?: unknown }).default !== 'boolean')
      return false;
  }
  return true;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return Object.keys(o).length === 0;
}
