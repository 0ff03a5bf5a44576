/**
 * A port's own autoconf cache and configure replay (with kiln.yaml `ccache: true`), in its per-port ccache folder
 * (`kiln-configure/`, so just as private to the (jail, tree, origin), claimed, capped and removed with it; ccache's
 * own cleanup only walks its `0`-`f` folders).
 *
 * - `config.cache` (`--cache-file`): the answers of configure's checks, used while the **configure key** matches:
 *   the sha256 of what kiln decides (the configure command with the port's options, the build's environment), of
 *   `./configure` itself, of `/var/lib/dpkg/status` (every installed package and version) and of the installed
 *   packages' `md5sums` (the content of their files: a kiln-built dependency rebuilt under the same version).
 * - **Replay** (`replay.tar`, `replay.list`, `replay.gone`): the files configure made, changed or removed in the
 *   source tree on the last run (Makefiles, `config.h`, `config.status`, `libtool`, `.deps`…), found by comparing
 *   the tree's (ctime, inode, size, name) before and after it. They are put back instead of running configure when
 *   the **tree key** also matches: the configure key, the name, type, mode and link target of every entry of the
 *   patched source tree, and the content of every file but compilation units (`*.c`, `*.cc`, `*.cpp`, `*.S`… which
 *   neither a configure check nor config.status reads, save generated ones, which are outputs and so restored).
 *   A patch to `configure`, `configure.ac`, a `Makefile.in`, `config.h.in`, a header, `ltmain.sh` or any file added
 *   or removed misses; a patch to a `.c` file replays. What kiln varies between builds and leaves out of `fixed`
 *   (SOURCE_DATE_EPOCH, the job count) is in the key when any file of the tree but compilation units names it (a
 *   configure may stamp a date from it). The restored files all get one time, now, so make finds them
 *   newer than their inputs (no `config.status --recheck`).
 *
 * Keys are written only once the step succeeded (the replay's last), so a configure or archive killed half-way
 * leaves no key and the next build starts over. A corrupt archive fails to extract and configure runs (over the
 * outputs it rewrites anyway). Everything here is read and written inside the port's own sandbox, as its build
 * user: a stale or hostile entry can only come from the port's own earlier builds (the same untrusted recipe,
 * which already runs code there) and only reach the same port; the host only claims, caps and removes the folder.
 */
import { CCACHE_MOUNT, CONFIGURE_CACHE_NAME } from './ccache.js';

/** Where a build sees its port's configure cache. */
export const CONFIGURE_CACHE_DIR = `${CCACHE_MOUNT}/${CONFIGURE_CACHE_NAME}`;

/** The most a replay archive may take (bytes); a larger one is not kept (the host also drops an oversized folder). */
export const CONFIGURE_REPLAY_MAX = 64 * 1024 * 1024;

/** Source files no configure check or config.status reads (by name; as `find -name` patterns). */
export const COMPILATION_UNITS = ['*.c', '*.cc', '*.cpp', '*.cxx', '*.c++', '*.C', '*.m', '*.mm', '*.s', '*.S'];

/** Where the script keeps its cache and reads the installed packages (tests run it on the host elsewhere). */
export interface ConfigureCachePaths {
  readonly dir?: string;
  /** dpkg's database (default `/var/lib/dpkg`): its `status` and `info/*.md5sums` are in the keys. */
  readonly dpkgDir?: string;
}

/**
 * The configure step's script (pure): `prepare` (what makes `./configure` when the tree lacks it: autoreconf) then
 * `configure` (a command starting `./configure `). Replays the last run's outputs when the tree key matches, else
 * runs both, configure with the port's autoconf cache file, and records what they made. `fixed` is what kiln decides
 * (configure command and environment), in both keys.
 */
export function cachedConfigureScript(
  fixed: string,
  configure: string,
  prepare: string,
  p: ConfigureCachePaths = {},
): string {
  const kc = p.dir ?? CONFIGURE_CACHE_DIR;
  const dpkg = p.dpkgDir ?? '/var/lib/dpkg';
  const units = COMPILATION_UNITS.map((g) => `-name '${g}'`).join(' -o ');
  const stat = `LC_ALL=C find . -mindepth 1 -printf '%C@ %i %s %p\\n' | LC_ALL=C sort`;
  const names = `LC_ALL=C find . -mindepth 1 -printf '%p\\n' | LC_ALL=C sort`;
  const sum = '| sha256sum | cut -c1-64)';
  return [
    `mkdir -p ${kc}`,
    `kiln_pkgs=$(cat ${dpkg}/status ${dpkg}/info/*.md5sums 2>/dev/null ${sum}`,
    // What kiln varies between builds (left out of `fixed`) is in the key when the tree names it (configure clears
    // MAKEFLAGS itself).
    `kiln_vary=$(LC_ALL=C find . -type f ! \\( ${units} \\) -exec grep -l -e SOURCE_DATE_EPOCH -e KILN_JOBS {} + 2>/dev/null || true)`,
    `if [ -n "$kiln_vary" ]; then kiln_vary="SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH KILN_JOBS=$KILN_JOBS"; fi`,
    `kiln_tree=$( { printf '%s\\n' ${shWord(fixed)} ${shWord(prepare)} "$kiln_pkgs" "$kiln_vary";` +
      ` LC_ALL=C find . -mindepth 1 -printf '%y %m %p %l\\n' | LC_ALL=C sort;` +
      ` LC_ALL=C find . -type f ! \\( ${units} \\) -print0 | LC_ALL=C sort -z | xargs -0r sha256sum; } ${sum}`,
    // Names in the lists must be the tree's own (`./…`, no `..`); GNU tar drops a leading `/` and refuses `..`.
    `kiln_own() { grep -x '[.]/.*' "$1" | grep -v '/[.][.]\\(/\\|$\\)' || true; }`,
    `if [ "$(cat ${kc}/replay.key 2>/dev/null)" = "$kiln_tree" ] && [ -f ${kc}/replay.gone ] && [ -f ${kc}/replay.list ]` +
      ` && { kiln_own ${kc}/replay.gone | xargs -d '\\n' -r rm -rf --; } && tar -xf ${kc}/replay.tar --no-same-owner; then`,
    `kiln_now=$(date +%s.%N)`,
    `kiln_own ${kc}/replay.list | xargs -d '\\n' -r touch -h -c -d "@$kiln_now" --`,
    `echo "kiln: configure replayed from this port's cache (same configure, options, packages and tree but compilation units)"`,
    'else',
    `rm -f ${kc}/replay.*`,
    `${stat} > ${kc}/replay.before`,
    prepare,
    `kiln_key=$( { printf '%s\\n' ${shWord(fixed)} "$kiln_pkgs"; cat ./configure; } ${sum}`,
    `if [ "$(cat ${kc}/key 2>/dev/null)" != "$kiln_key" ]; then rm -f ${kc}/key ${kc}/config.cache; fi`,
    configure.replace(/^\.\/configure /, `./configure --cache-file=${kc}/config.cache `),
    `printf '%s\\n' "$kiln_key" > ${kc}/key`,
    `${stat} | LC_ALL=C comm -13 ${kc}/replay.before - | cut -d' ' -f4- > ${kc}/replay.list`,
    `cut -d' ' -f4- ${kc}/replay.before | LC_ALL=C sort > ${kc}/replay.was`,
    `${names} | LC_ALL=C comm -23 ${kc}/replay.was - > ${kc}/replay.gone`,
    `if tar -cf ${kc}/replay.tar --no-recursion --no-unquote --verbatim-files-from -T ${kc}/replay.list` +
      ` && [ "$(stat -c %s ${kc}/replay.tar)" -le ${CONFIGURE_REPLAY_MAX} ]; then printf '%s\\n' "$kiln_tree" > ${kc}/replay.key;` +
      ` else rm -f ${kc}/replay.tar; fi`,
    `rm -f ${kc}/replay.before ${kc}/replay.was`,
    'fi',
  ].join('\n');
}

/** One word for POSIX sh, single-quoted. */
function shWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
