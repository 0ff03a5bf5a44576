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

/**
 * Where a port's autoconf cache lives, in its own ccache folder (so just as private to the port, claimed and removed
 * with it; ccache's own cleanup only walks its `0`-`f` folders). Holds `config.cache` and the `key` it was made for.
 */
export const CONFIGURE_CACHE_DIR = `${CCACHE_MOUNT}/kiln-configure`;

/**
 * The configure step's script (pure) around `configure` (a command starting `./configure `), given the port's autoconf
 * cache file as `--cache-file`. The file is used only while its key still matches, the key being the sha256 of
 * `fixed` (what kiln decides: the configure command with the port's options, the build's environment), of
 * `./configure` itself (a patch to it may change a check under the same cache variable) and of
 * `/var/lib/dpkg/status` (every installed package and version, so a jail update or a changed dependency starts
 * over). The key is written only after configure succeeded: a configure killed while writing the file leaves no key,
 * so the next build drops it. A stale or foreign answer can therefore only come from the port's own earlier builds
 * (the same untrusted recipe, which already runs code in its sandbox), never from another port's.
 */
export function cachedConfigureScript(fixed: string, configure: string): string {
  const kc = CONFIGURE_CACHE_DIR;
  return [
    `mkdir -p ${kc}`,
    `kiln_key=$( { printf '%s\\n' ${shWord(fixed)}; cat ./configure /var/lib/dpkg/status; } | sha256sum | cut -c1-64)`,
    `if [ "$(cat ${kc}/key 2>/dev/null)" != "$kiln_key" ]; then rm -f ${kc}/key ${kc}/config.cache; fi`,
    configure.replace(/^\.\/configure /, `./configure --cache-file=${kc}/config.cache `),
    `printf '%s\\n' "$kiln_key" > ${kc}/key`,
  ].join('\n');
}

/** One word for POSIX sh, single-quoted. */
function shWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Makes the cache folder `dir` (mode 0700) and gives everything in it to host id `owner` (the build user of the
 * sandbox about to use it), before the sandbox runs anything. Each sandbox has its own random host id range, so the
 * objects, manifests and stats of the previous build are another id's: without this, ccache can read but not write
 * them (no hit is recorded, `-z` zeroes nothing). The folder was written by this port's earlier builds (untrusted):
 * nothing is followed (`lchown`; only real folders are entered, walked with a bounded-memory explicit stack, not
 * recursion), and no build is running over it meanwhile. Other ids lose it, so no other sandbox can write it.
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
  const todo = [dir];
  for (let d = todo.pop(); d !== undefined; d = todo.pop()) {
    const st = fs.lstatSync(d, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.uid !== owner || st.gid !== owner) fs.lchownSync(d, owner, owner);
    if (!st.isDirectory()) continue;
    for (const name of fs.readdirSync(d)) todo.push(path.join(d, name));
  }
}
