/**
 * Per-port compiler caches (`ccache: true` in kiln.yaml): each (jail, tree, origin) has its own ccache folder,
 * `HOME/cache/ccache/JAIL/TREE/ORIGINHASH`, bound read-write into that port's build steps only, so one port's
 * objects can never reach another's build. Each build owns the whole folder under its own host id ({@link claimCcacheDir}):
 * a sandbox in a user namespace gets a random id range, so the files the last build wrote belong to an id this one
 * does not have. Size-capped by ccache itself (`CCACHE_MAXSIZE`); `kiln clean ccache`
 * removes them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import type { BuildStep } from './script.js';

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

/** The folder of the port's configure cache and replay in its ccache folder (`configure-cache.ts`). */
export const CONFIGURE_CACHE_NAME = 'kiln-configure';

/** Past this many bytes of files, {@link claimCcacheDir} drops the port's configure cache (ccache caps the rest). */
export const CONFIGURE_CACHE_MAX = 128 * 1024 * 1024;

/**
 * Makes the cache folder `dir` (mode 0700) and gives everything in it to host id `owner` (the build user of the
 * sandbox about to use it), before the sandbox runs anything. Each sandbox has its own random host id range, so the
 * objects, manifests and stats of the previous build are another id's: without this, ccache can read but not write
 * them (no hit is recorded, `-z` zeroes nothing). The folder was written by this port's earlier builds (untrusted):
 * nothing is followed (`lchown`; only real folders are entered, walked with a bounded-memory explicit stack, not
 * recursion), and no build is running over it meanwhile. Other ids lose it, so no other sandbox can write it.
 * The configure cache (`kiln-configure/`, which ccache's own cap ignores) is removed if its files take more than
 * {@link CONFIGURE_CACHE_MAX} bytes: the next build configures from scratch.
 */
export function claimCcacheDir(dir: string, owner: number): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const top = fs.lstatSync(dir);
  if (!top.isDirectory()) {
    throw new KilnError('KILN_E_SANDBOX', `the ccache folder ${dir} is not a folder`, {
      hint: 'remove it: kiln clean ccache',
      exitCode: 1,
    });
  }
  fs.chmodSync(dir, 0o700);
  const conf = path.join(dir, CONFIGURE_CACHE_NAME);
  let confBytes = 0;
  const todo = [dir];
  for (let d = todo.pop(); d !== undefined; d = todo.pop()) {
    const st = fs.lstatSync(d, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.uid !== owner || st.gid !== owner) fs.lchownSync(d, owner, owner);
    if (st.isFile() && d.startsWith(conf + path.sep)) confBytes += st.size;
    if (!st.isDirectory()) continue;
    for (const name of fs.readdirSync(d)) todo.push(path.join(d, name));
  }
  if (confBytes > CONFIGURE_CACHE_MAX) fs.rmSync(conf, { recursive: true, force: true });
}

/**
 * The build steps with this build's ccache hits and misses printed at the end of the last (from the build's own
 * stats log, `CCACHE_STATSLOG`, so no `ccache -z` has to rewrite the cache's counters first), in the step's own shell
 * rather than one more sandbox command.
 */
export function withCcacheStats(steps: readonly BuildStep[]): BuildStep[] {
  return steps.map((s, i) =>
    i === steps.length - 1 ? { ...s, script: `${s.script}\nccache --show-log-stats || true` } : s,
  );
}
