/**
 * Scanning a tree: walk `CAT/NAME/port.yaml` in every layer, merge the layers as portshaker does (a port
 * folder in a higher layer replaces the same origin below, whole: recipe, patches and all), load each
 * winning recipe, and collect every problem of the tree at once.
 */
import type { Problem } from '../util/errors.js';
import { ORIGIN_RE, type Port, type PortLoad } from '../recipe/light.js';
import { indexTree, type TreeIndex } from './merge.js';
import { estimatePorts, hasPort } from './layout.js';
import { PARALLEL_MIN_JOBS, loadAll, startLoaders, stopLoaders, type LoadJob } from './parallel.js';
import { dropPrestarted } from './pool.js';
import { recipeLoaders } from './recipes.js';
import type { TreeLayer, TreeRef } from './ref.js';
import { KilnError } from '../util/errors.js';
import { scanCacheFile, type ScanCacheOptions } from './scan-cache-key.js';
import { scanCached } from './scan-cached.js';

/** The result of {@link scanTree}. */
export interface TreeScan {
  /** Every loadable port, by origin, in origin order. */
  readonly ports: Map<string, Port>;
  /** Every problem of every recipe (the tree's ports that failed to load are absent from `ports`). */
  readonly problems: Problem[];
  /** Origin → names of the lower layers whose port folder it replaces (only origins that shadow something). */
  readonly shadowed: Map<string, string[]>;
  /**
   * The `--debian` layer, when the tree has one (always the lowest): its ports are the archive's source packages,
   * which a bulk adds from the layer's index (`debianBulk` in the debian module); `ports` holds the folder layers'.
   */
  readonly debian?: TreeLayer;
  /** With a scan cache: how many ports it gave, how many recipes were loaded, and whether it was written again. */
  readonly cache?: { readonly reused: number; readonly loaded: number; readonly written: boolean };
}

/** Options of {@link scanTree}. */
export interface ScanOptions {
  /** Helper worker threads for loading recipes (default: one fewer than the cores; 0 loads on this thread only). */
  readonly workers?: number;
  /** Use workers only for trees of at least this many ports (default 3000: below, starting one costs more). */
  readonly minParallel?: number;
  /**
   * Reuse what an earlier scan found for the recipes that have not changed since, and keep what this one finds,
   * in this scan cache (`scan-cache.ts`). The result is the same as without it.
   */
  readonly cache?: ScanCacheOptions;
}

/**
 * Scans a whole tree: every port of every layer, merged, loaded and checked. Large trees are loaded on
 * every core (worker threads), but the call stays synchronous and the result does not depend on it.
 */
export async function scanTree(ref: TreeRef, opts: ScanOptions = {}): Promise<TreeScan> {
  const debianAt = ref.layers.findIndex((l) => l.debian !== undefined);
  if (debianAt > 0 || ref.layers.filter((l) => l.debian).length > 1) {
    throw new KilnError(
      'KILN_E_TREE_INVALID',
      `tree ${ref.name}: a Debian archive tree can only be the lowest layer of an overlay, and only one`,
      {
        hint: 'register the overlay again with the --debian tree first: --overlay DEBIANTREE,YOURLAYER',
      },
    );
  }
  const cacheFile = opts.cache ? scanCacheFile(opts.cache, ref.layers) : undefined;
  if (cacheFile !== undefined) {
    const scan = await scanCached(ref, opts, opts.cache!, cacheFile);
    return debianAt === 0 ? { ...scan, debian: ref.layers[0]! } : scan;
  }
  const minJobs = opts.minParallel ?? PARALLEL_MIN_JOBS;
  // A large tree: start the helper workers now, so their start-up overlaps the walk below.
  let pool = opts.workers !== 0 && estimatePorts(ref) >= minJobs ? startLoaders(opts.workers) : undefined;
  if (!pool) dropPrestarted();
  let loads: PortLoad[];
  let index: TreeIndex;
  try {
    // One stat per port saved: a folder without port.yaml fails to load, and only then is it checked.
    index = indexTree(ref, { checkSingles: false });
    const jobs: LoadJob[] = [];
    for (const [origin, layer] of index.winners) {
      if (ORIGIN_RE.test(origin)) jobs.push({ dir: `${layer.dir}/${origin}`, origin, layer: layer.name });
    }
    const loaders = jobs.length > 0 ? await recipeLoaders() : undefined;
    const p = pool;
    pool = undefined; // loadAll owns it now
    loads = loadAll(jobs, { workers: opts.workers, minJobs, pool: p, loaders }).results;
  } finally {
    if (pool) stopLoaders(pool);
  }
  const { winners, shadowed } = index;
  const ports = new Map<string, Port>();
  const problems: Problem[] = [];
  // Problems in origin order, each file's own in the loader's order.
  let k = 0;
  for (const [origin, layer] of winners) {
    if (!ORIGIN_RE.test(origin)) {
      if (!hasPort(layer.dir, origin)) continue;
      problems.push({
        path: `${layer.dir}/${origin}/port.yaml`,
        line: 1,
        column: 1,
        field: '-',
        message: `the folder names make the origin ${JSON.stringify(origin)}, which is not CATEGORY/NAME of letters, digits and . _ + -; rename the folder`,
      });
      continue;
    }
    const res = loads[k++]!;
    if (!res.port && !hasPort(layer.dir, origin)) continue; // not a port: a folder without port.yaml
    if (res.problems.length > 0) problems.push(...res.problems);
    if (res.port) ports.set(origin, res.port);
  }
  return { ports, problems, shadowed, ...(debianAt === 0 ? { debian: ref.layers[0]! } : {}) };
}
