/**
 * Per-port compiler caches (`ccache: true` in kiln.yaml): each (jail, tree, origin) has its own ccache folder,
 * `HOME/cache/ccache/JAIL/TREE/ORIGINHASH`, bound read-write into that port's build steps only, so one port's
 * objects can never reach another's build. Size-capped by ccache itself (`CCACHE_MAXSIZE`); `kiln clean ccache`
 * removes them.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

/** Where a build's ccache lives, and its size cap (ccache's syntax, e.g. `2G`). */
export interface CcacheSpec {
  /** Host folder of this port's cache. */
  readonly dir: string;
  readonly maxSize: string;
}

/** Where the per-port caches of a home live. */
export function ccacheRoot(home: string): string {
  return path.join(home, 'cache', 'ccache');
}

/** The cache folder of one (jail, tree, origin): names are kiln's own (jail and tree names are checked), the origin hashed. */
export function ccacheDir(home: string, jail: string, tree: string, origin: string): string {
  const h = createHash('sha256').update(origin).digest('hex').slice(0, 24);
  return path.join(ccacheRoot(home), jail, tree, h);
}

/** Where a build sees its cache. */
export const CCACHE_MOUNT = '/kiln/ccache';
