/**
 * kiln.yaml `ccache: true` for Debian rebuilds (`build.system: debian`): the port's own compiler cache (the same
 * per-(jail, tree, origin) folder as a recipe port's, `ccache.ts`) and its own autoconf cache, given to whatever
 * `configure` debian/rules runs (`dh_auto_configure` or its own) through a site script, `CONFIG_SITE`.
 *
 * The site script, written by kiln (root's, read-only to the build), points autoconf's `cache_file` at a file of the
 * port's folder named by the sha256 of the configure script's path and bytes, its arguments, its working folder, the
 * values of its precious variables (CC, CFLAGS, ...: autoconf refuses a cache made under others) and
 * `/var/lib/dpkg/status` (every installed package and version). A patch that changes configure (or configure.ac:
 * `dh_autoreconf` makes a new configure), a changed flag or dependency, a jail update: another key, a cold configure.
 * A configure given `--cache-file` by its caller (a sub-configure of AC_CONFIG_SUBDIRS) is left alone. autoconf
 * writes the file at the end of its checks, by a rename. The files are written by the port's untrusted build, so
 * a wrong answer in one can only come from this port's own earlier builds (which already ran code in its sandbox),
 * never another port's; at most {@link CONFIGURE_CACHE_KEEP} are kept, the newest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CCACHE_MOUNT, type CcacheSpec } from './ccache.js';

/** Where the build sees kiln's site script. */
export const DEBIAN_CONFIG_SITE = '/kiln/config.site';

/** The folder of the port's autoconf caches, in its ccache folder (so claimed, capped and cleaned with it). */
export const DEBIAN_CONFIGURE_SUBDIR = 'kiln-debian-configure';
export const DEBIAN_CONFIGURE_DIR = `${CCACHE_MOUNT}/${DEBIAN_CONFIGURE_SUBDIR}`;

/** How many autoconf caches a port keeps (one per configure script and arguments; a few flavours or sub-builds). */
export const CONFIGURE_CACHE_KEEP = 8;

/** The site script (pure): sets `cache_file` to the port's cache for this configure, unless its caller gave one. */
export function debianConfigSite(): string {
  const dir = DEBIAN_CONFIGURE_DIR;
  return [
    "# kiln (ccache: true): this port's own autoconf cache, one per configure script, arguments, flags and packages.",
    `if test "x$cache_file" = x/dev/null && test -d ${CCACHE_MOUNT} && test -w ${CCACHE_MOUNT}; then`,
    `  kiln_key=$( { printf '%s\\n' "$0" "$ac_configure_args" "$(pwd)"`,
    `    for kiln_v in $ac_precious_vars; do eval "kiln_x=\\\${$kiln_v-}"; printf '%s=%s\\n' "$kiln_v" "$kiln_x"; done`,
    `    cat "$0" /var/lib/dpkg/status; } | sha256sum | cut -c1-64)`,
    `  mkdir -p ${dir} && cache_file=${dir}/$kiln_key.cache`,
    'fi',
    '',
  ].join('\n');
}

/** The build's environment for ccache and the site script (the caller puts `/usr/lib/ccache` first in PATH). */
export function debianCcacheEnv(c: Pick<CcacheSpec, 'maxSize'>, srcDir: string): Record<string, string> {
  return {
    CCACHE_DIR: CCACHE_MOUNT,
    CCACHE_MAXSIZE: c.maxSize,
    CCACHE_BASEDIR: srcDir,
    CONFIG_SITE: DEBIAN_CONFIG_SITE,
    CCACHE_STATSLOG: '/kiln/home/ccache-stats.log', // this build's own counters (ccache --show-log-stats)
  };
}

/**
 * Before a build (none runs over the folder): keeps the {@link CONFIGURE_CACHE_KEEP} newest regular `*.cache` files
 * of the port's autoconf cache folder `hostDir` and removes everything else in it (nothing is followed).
 */
export function pruneConfigureCaches(hostDir: string, keep = CONFIGURE_CACHE_KEEP): string[] {
  const st = fs.lstatSync(hostDir, { throwIfNoEntry: false });
  if (st === undefined) return [];
  if (!st.isDirectory()) {
    fs.rmSync(hostDir, { force: true });
    return [];
  }
  const entries = fs.readdirSync(hostDir).map((name) => {
    const s = fs.lstatSync(path.join(hostDir, name));
    return { name, ok: s.isFile() && /^[0-9a-f]{64}\.cache$/.test(name), mtime: s.mtimeMs };
  });
  const kept = entries
    .filter((e) => e.ok)
    .sort((a, b) => b.mtime - a.mtime || a.name.localeCompare(b.name))
    .slice(0, keep)
    .map((e) => e.name);
  for (const e of entries)
    if (!kept.includes(e.name)) fs.rmSync(path.join(hostDir, e.name), { recursive: true, force: true });
  return kept;
}

/** Writes the site script into the sandbox's root-owned `/kiln` (a fresh file: nothing there is followed). */
export function writeConfigSite(hostPath: (inside: string) => string): void {
  const fd = fs.openSync(
    hostPath(DEBIAN_CONFIG_SITE),
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o644,
  );
  try {
    fs.writeSync(fd, debianConfigSite());
  } finally {
    fs.closeSync(fd);
  }
}
