/**
 * Scanning a tree: walk `CAT/NAME/port.yaml` in every layer, merge the layers as portshaker does (a port
 * folder in a higher layer replaces the same origin below, whole: recipe, patches and all), load each
 * winning recipe, and collect every problem of the tree at once.
 */
import type { Problem } from '../util/errors.js';
import { ORIGIN_RE, type Port } from '../recipe/index.js';
import { indexTree } from './merge.js';
import { hasPort } from './layout.js';
import { loadAll, type LoadJob } from './parallel.js';
import type { TreeRef } from './ref.js';

/** The result of {@link scanTree}. */
export interface TreeScan {
  /** Every loadable port, by origin, in origin order. */
  readonly ports: Map<string, Port>;
  /** Every problem of every recipe (the tree's ports that failed to load are absent from `ports`). */
  readonly problems: Problem[];
  /** Origin → names of the lower layers whose port folder it replaces (only origins that shadow something). */
  readonly shadowed: Map<string, string[]>;
}

/** Options of {@link scanTree}. */
export interface ScanOptions {
  /** Helper worker threads for loading recipes (default: one fewer than the cores; 0 loads on this thread only). */
  readonly workers?: number;
  /** Use workers only for trees of at least this many ports (default 3000: below, starting one costs more). */
  readonly minParallel?: number;
}

/**
 * Scans a whole tree: every port of every layer, merged, loaded and checked. Large trees are loaded on
 * every core (worker threads), but the call stays synchronous and the result does not depend on it.
 */
export function scanTree(ref: TreeRef, opts: ScanOptions = {}): TreeScan {
  // One stat per port saved: a folder without port.yaml fails to load, and only then is it checked.
  const { winners, shadowed } = indexTree(ref, { checkSingles: false });
  const jobs: LoadJob[] = [];
  for (const [origin, layer] of winners) {
    if (ORIGIN_RE.test(origin)) jobs.push({ dir: `${layer.dir}/${origin}`, origin, layer: layer.name });
  }
  const loads = loadAll(jobs, { workers: opts.workers, minJobs: opts.minParallel }).results;
  const ports = new Map<string, Port>();
  const problems: Problem[] = [];
  // Problems in origin order, each file's own in the loader's order.
  let k = 0;
  for (const [origin, layer] of winners) {
    if (!ORIGIN_RE.test(origin)) {
      if (!hasPort(layer.dir, origin)) continue;
      problems.push({ path: `${layer.dir}/${origin}/port.yaml`, line: 1, column: 1, field: '-',
        message: `the folder names make the origin ${JSON.stringify(origin)}, which is not CATEGORY/NAME of letters, digits and . _ + -; rename the folder` });
      continue;
    }
    const res = loads[k++]!;
    if (!res.port && !hasPort(layer.dir, origin)) continue; // not a port: a folder without port.yaml
    if (res.problems.length > 0) problems.push(...res.problems);
    if (res.port) ports.set(origin, res.port);
  }
  return { ports, problems, shadowed };
}
