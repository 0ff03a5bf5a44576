/**
 * Where a tree's scan cache file is: one per tree, keyed by its layers (names, folders, Debian indexes) in their
 * overlay order. Imports nothing but Node, so the CLI can ask at start-up whether a scan will have a cache file
 * (`cli/main.ts`: only then does a prestarted worker walk the tree for it).
 */
import { createHash } from 'node:crypto';
import nodePath from 'node:path';
import type { TreeLayer } from './ref.js';

/** Where the scan cache goes, and the racy margin (tests shorten it). */
export interface ScanCacheOptions {
  /** Folder of the cache files (`scanCacheDir(home)`). */
  readonly dir: string;
  /** See `RACY_MS` (`scan-cache-index.ts`). */
  readonly racyMs?: number;
}

/** The scan cache folder of a kiln home. */
export function scanCacheDir(home: string): string {
  return nodePath.join(home, 'cache', 'scan');
}

/** The layers as the cache keys them (their order, names, folders and Debian indexes). */
export function layersKey(layers: readonly TreeLayer[]): string {
  return JSON.stringify(layers.map((l) => [l.name, l.dir, l.debian?.index ?? null]));
}

/** The cache file of a tree's layers (undefined when a layer's folder is relative: the key must not depend on the cwd). */
export function scanCacheFile(opts: ScanCacheOptions, layers: readonly TreeLayer[]): string | undefined {
  if (layers.some((l) => !nodePath.isAbsolute(l.dir))) return undefined;
  const key = createHash('sha256').update(layersKey(layers)).digest('hex').slice(0, 32);
  return nodePath.join(opts.dir, `${key}.bin`);
}
