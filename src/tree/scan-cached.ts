/**
 * `scanTree` with a scan cache (`scan-cache.ts`): the same result as a cold scan, loading only the recipes that
 * changed. With a cache file and a prestarted loader pool, the pool's first worker walks the tree and stamps every
 * port.yaml (`walk.ts`) while this thread reads the cache and makes every cached port; then the stamps decide which
 * ports stand and which recipes are loaded again (in parallel when there are many). Without a cache file it is a
 * cold scan whose loaders also stamp what they load, and the cache is written.
 */
import nodePath from 'node:path';
import type { Problem } from '../util/errors.js';
import { ORIGIN_RE, lazyEagerKeys, type Port } from '../recipe/light.js';
import { portOfParts } from './compact.js';
import { indexTree } from './merge.js';
import { estimatePorts, hasPort } from './layout.js';
import { PARALLEL_MIN_JOBS, askWalk, loadAll, startLoaders, stopLoaders, takeWalk, type LoadJob } from './parallel.js';
import { dropPrestarted, dropWalk, takePrestarted, walkKey, type LoaderPool } from './pool.js';
import { recipeLoaders } from './recipes.js';
import type { TreeLayer, TreeRef } from './ref.js';
import { RACY_MS, isRacy } from './scan-cache-index.js';
import type { ScanCacheOptions } from './scan-cache-key.js';
import { readScanCache, type ScanCache } from './scan-cache.js';
import { ScanCacheWriter } from './scan-cache-write.js';
import { STAMP, STAMP_ABSENT, stampFile, walkTree } from './walk.js';
import type { ScanOptions, TreeScan } from './scan.js';
import fs from 'node:fs';

/** The tree's winners: origins in order, each one's layer index, and (after a walk) port.yaml stamps. */
interface Winners {
  readonly origins: readonly string[];
  readonly layer: ArrayLike<number>;
  readonly stamps?: Float64Array;
  readonly shadowed: Map<string, string[]>;
}

/** A port of the result, and where its cache entry comes from. */
interface Kept {
  readonly origin: string;
  readonly layer: number;
  /** A reused entry of the old cache (then `port` is its port), or -1. */
  readonly entry: number;
  readonly port?: Port;
  /** A loaded job (its parts are in the load's results), or -1. */
  readonly job: number;
}

function winnersOf(ref: TreeRef, walk: boolean, pool: LoaderPool | undefined, asked: boolean): Winners {
  if (walk) {
    const w = asked ? takeWalk(pool!, ref.layers) : walkTree(ref.layers);
    if (!w) return winnersOf(ref, false, pool, false);
    return {
      origins: w.origins,
      layer: w.layer,
      stamps: w.stamps,
      shadowed: new Map(w.shadowed),
    };
  }
  const index = indexTree(ref, { checkSingles: false });
  const at = new Map(ref.layers.map((l, i) => [l, i]));
  return {
    origins: [...index.winners.keys()],
    layer: [...index.winners.values()].map((l) => at.get(l)!),
    shadowed: index.shadowed,
  };
}

/** `KILN_SCAN_RACY_MS=N`: the racy margin of the scan cache (tests shorten it; the default is {@link RACY_MS}). */
function racyFromEnv(): number | undefined {
  const v = process.env.KILN_SCAN_RACY_MS;
  return v !== undefined && /^[0-9]{1,6}$/.test(v) ? Number(v) : undefined;
}

/** The scan of `ref` through the cache file `file` (see the module's note). */
export async function scanCached(
  ref: TreeRef,
  opts: ScanOptions,
  cacheOpts: ScanCacheOptions,
  file: string,
): Promise<TreeScan> {
  const started = Date.now();
  const minJobs = opts.minParallel ?? PARALLEL_MIN_JOBS;
  const have = fs.existsSync(file);
  let pool: LoaderPool | undefined;
  let asked = false;
  if (have) {
    // Likely little to load: use a prestarted pool for the walk (the CLI may have asked it already), and start none
    // before knowing.
    pool = takePrestarted();
    if (pool && opts.workers !== 0) asked = askWalk(pool, ref.layers);
    if (pool && !asked) dropWalk(pool);
  } else {
    pool = opts.workers !== 0 && estimatePorts(ref) >= minJobs ? startLoaders(opts.workers) : undefined;
    // A walk of these layers asked at prestart (`kiln bulk -p DIR`) gives the winners while this thread was importing
    // kiln; any other walk is not wanted.
    asked = pool !== undefined && pool.walked === walkKey(ref.layers);
    if (pool && !asked) dropWalk(pool);
    dropPrestarted(); // a prestarted pool not adopted
  }
  let cache: ScanCache | undefined;
  let made: Port[] | undefined;
  let win: Winners;
  const slot: number[] = [];
  const jobs: LoadJob[] = [];
  let loaded: ReturnType<typeof loadAll>;
  try {
    cache = have ? readScanCache(file, ref.layers) : undefined;
    // While the worker walks: every cached port, on the bet that most still stand.
    if (cache && asked) {
      made = new Array<Port>(cache.size);
      for (let e = 0; e < cache.size; e++) made[e] = cache.port(e);
    }
    win = winnersOf(ref, have || asked, pool, asked);
    for (let i = 0; i < win.origins.length; i++) {
      const origin = win.origins[i]!;
      // An origin of the cache is a valid one (`checkIndex`): only the others are matched against ORIGIN_RE.
      const e = cache?.byOrigin.get(origin);
      if (e === undefined && !ORIGIN_RE.test(origin)) {
        slot.push(-1);
        continue;
      }
      const stamps = win.stamps;
      if (stamps && stamps[STAMP * i + 5] === STAMP_ABSENT) {
        slot.push(-1);
        continue;
      } // no port.yaml: not a port
      if (e !== undefined && stamps && cache!.fresh(e, win.layer[i]!, stamps, STAMP * i)) {
        slot.push(e);
        continue;
      }
      slot.push(-2 - jobs.length);
      const layer = ref.layers[win.layer[i]!]!;
      jobs.push({ dir: `${layer.dir}/${origin}`, origin, layer: layer.name });
    }
    // The recipe module is imported only now, and only when some recipe is to be loaded (not on a no-op).
    const loaders = jobs.length > 0 ? await recipeLoaders() : undefined;
    const p = pool;
    pool = undefined; // loadAll owns it now
    loaded = loadAll(jobs, { workers: opts.workers, minJobs, pool: p, extras: true, loaders });
  } finally {
    if (pool) stopLoaders(pool);
    dropPrestarted();
  }
  const problems: Problem[] = [];
  const kept: Kept[] = [];
  let reused = 0;
  for (let i = 0; i < win.origins.length; i++) {
    const origin = win.origins[i]!;
    const layer = ref.layers[win.layer[i]!]!;
    const s = slot[i]!;
    if (s === -1) {
      if (ORIGIN_RE.test(origin) || !hasPort(layer.dir, origin)) continue;
      problems.push({
        path: `${layer.dir}/${origin}/port.yaml`,
        line: 1,
        column: 1,
        field: '-',
        message: `the folder names make the origin ${JSON.stringify(origin)}, which is not CATEGORY/NAME of letters, digits and . _ + -; rename the folder`,
      });
      continue;
    }
    if (s >= 0) {
      // Keyed by the cache's own string, the very one its dependents' depends hold (graph lookups compare pointers).
      const port = made?.[s] ?? cache!.port(s);
      kept.push({ origin: port.origin, layer: win.layer[i]!, entry: s, port, job: -1 });
      reused++;
      continue;
    }
    const j = -2 - s;
    const res = loaded.results[j]!;
    if (!res.parts && !hasPort(layer.dir, origin)) continue; // not a port: a folder without port.yaml
    if (res.problems.length > 0) problems.push(...res.problems);
    if (res.parts) kept.push({ origin, layer: win.layer[i]!, entry: -1, job: j });
  }
  const since = started - (cacheOpts.racyMs ?? racyFromEnv() ?? RACY_MS);
  // Many ports loaded and all of them written: their ports are the new cache's, read back from the file written (a
  // plan then reads integers, and no recipe is made); otherwise lazy recipes of what was loaded, among the old
  // cache's ports.
  const reread = jobs.length >= minJobs;
  const written = updateCache(file, ref.layers, cache, kept, loaded, since, reused, reread);
  const fresh = written.fd !== undefined ? readScanCache(file, ref.layers, written.fd) : undefined;
  const ports = new Map<string, Port>();
  if (fresh !== undefined && fresh.size === kept.length) {
    for (let e = 0; e < fresh.size; e++) {
      const port = fresh.port(e);
      ports.set(port.origin, port);
    }
  } else {
    for (const k of kept) {
      const port = k.port ?? portOfParts(loaded.results[k.job]!.parts!, ref.layers[k.layer]!.name);
      ports.set(port.origin, port);
    }
  }
  return { ports, problems, shadowed: win.shadowed, cache: { reused, loaded: jobs.length, written: written.wrote } };
}

/**
 * Writes the cache again when it changes: a port was loaded that can be cached (valid, no problem, no racy file),
 * or an entry of the old cache was not reused (changed or gone). Returns whether it wrote, and with `reread`, when it
 * wrote every port, a descriptor open on the file written.
 */
function updateCache(
  file: string,
  layers: readonly TreeLayer[],
  cache: ScanCache | undefined,
  kept: readonly Kept[],
  loaded: ReturnType<typeof loadAll>,
  since: number,
  reused: number,
  reread: boolean,
): { wrote: boolean; fd?: number } {
  const { results, extras } = loaded;
  const cacheable = (k: Kept): boolean =>
    k.job >= 0 &&
    results[k.job]!.problems.length === 0 &&
    results[k.job]!.parts !== undefined &&
    !isRacy(extras!.stamps, STAMP * k.job, since);
  if (cache && reused === cache.size && !kept.some(cacheable)) return { wrote: false };
  const w = new ScanCacheWriter(kept.length);
  const pst = new Float64Array(STAMP);
  let added = 0;
  for (const k of kept) {
    if (k.entry >= 0) {
      cache!.copyTo(k.entry, w);
      added++;
      continue;
    }
    if (!cacheable(k)) continue;
    const parts = results[k.job]!.parts!;
    const patches = parts.values[lazyEagerKeys(parts.mask).indexOf('patches')] as readonly string[];
    const pstat = new Float64Array(STAMP * patches.length);
    let ok = true;
    for (let i = 0; i < patches.length && ok; i++) {
      pst.fill(0);
      stampFile(nodePath.join(parts.dir, patches[i]!), pst, 0);
      if (isRacy(pst, 0, since)) ok = false;
      else pstat.set(pst, STAMP * i);
    }
    if (!ok) continue;
    const stamp = extras!.stamps.subarray(STAMP * k.job, STAMP * k.job + STAMP);
    if (w.add(k.origin, k.layer, stamp, pstat, parts.contentHash, parts.mask, parts.values, parts.text)) added++;
  }
  const fd = w.write(file, layers, reread && added === kept.length);
  return fd !== undefined ? { wrote: true, fd } : { wrote: true };
}
