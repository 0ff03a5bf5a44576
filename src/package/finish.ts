/**
 * The finishing steps debhelper runs after `make install` (dh_strip, dh_compress, dh_fixperms and the mtime
 * clamp of dh_builddeb), as one POSIX shell script run by the build user inside the build sandbox: the staged
 * tree is untrusted, so every program that reads or changes it runs there, never on the host. It uses only
 * binutils (strip, objcopy, readelf) and gzip, which every build jail has (build-essential).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Where the finishing script works inside the sandbox. */
export interface FinishPaths {
  /** The staged tree (DESTDIR). */
  readonly destdir: string;
  /** A folder the build user may write: the detached debug files go to `DBG/usr/lib/debug/.build-id/`, the list to `DBG/list`. */
  readonly dbgdir: string;
}

/** Public folders whose every file is a program (made executable, as dh_fixperms does). */
const BIN_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/games'];
/** Folders whose files are never executable. */
const DATA_DIRS = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/include',
  'usr/share/locale',
  'usr/share/applications',
  'usr/share/pkgconfig',
];

/**
 * The script (for `sh -e`, any working folder). In order:
 * 1. removes what Debian never ships: the info `dir` index and libtool `.la` files;
 * 2. strips every ELF program and shared library (`--strip-unneeded` for `*.so*`), after copying its debug
 *    information to `DBG/usr/lib/debug/.build-id/NN/REST.debug` (compressed) when it has a build ID and debug
 *    sections, adding a `.gnu_debuglink` and a line `PATH BUILDID` to `DBG/list`; static archives get
 *    `--strip-debug` with deterministic headers;
 * 3. compresses man and info pages with `gzip -9n` (recompressing upstream's `.gz` pages without name and time)
 *    and points links at the compressed names;
 * 4. fixes permissions: folders 0755, files without group/other write or set-id bits, data folders and
 *    libraries 0644, programs in bin folders 0755;
 * 5. sets every mtime to SOURCE_DATE_EPOCH (from the environment; dpkg-deb clamps what is added later).
 */
export function finishScript(p: FinishPaths): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return `set -eu
umask 022
D=${q(p.destdir)}
DBG=${q(p.dbgdir)}
: "\${SOURCE_DATE_EPOCH:?}"
cd "$D"
mkdir -p "$DBG"
: > "$DBG/list"
echo ">>> finish: remove the info dir index and libtool archives"
rm -f usr/share/info/dir usr/share/info/dir.old
find . -type f -name '*.la' -path './*lib*' -exec rm -f {} +
echo ">>> finish: strip ELF files (debug information to $DBG)"
# Only files holding ELF's or ar's magic are looked at (one grep for all, not three processes per file).
find . -type f ! -path './usr/lib/debug/*' -exec env LC_ALL=C grep -las -e "$(printf '\\177ELF')" -e '^!<arch>' {} + |
LC_ALL=C sort | while IFS= read -r f; do
  magic=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \\n')
  case "$magic" in
    7f454c46*)
      type=$(readelf -h "$f" 2>/dev/null | sed -n 's/^ *Type: *\\([A-Z]*\\).*/\\1/p')
      case "$type" in EXEC|DYN) ;; *) continue ;; esac
      chmod u+w "$f"
      id=$(readelf -n "$f" 2>/dev/null | sed -n 's/^ *Build ID: *\\([0-9a-f][0-9a-f]*\\)$/\\1/p' | head -n 1)
      dbg=
      if [ -n "$id" ] && readelf -S "$f" 2>/dev/null | grep -q ' \\.debug_\\(info\\|line\\)'; then
        dir="$DBG/usr/lib/debug/.build-id/$(printf %s "$id" | cut -c1-2)"
        dbg="$dir/$(printf %s "$id" | cut -c3-).debug"
        mkdir -p "$dir"
        if objcopy --only-keep-debug --compress-debug-sections "$f" "$dbg"; then
          printf '%s %s\\n' "\${f#./}" "$id" >> "$DBG/list"
        else
          echo "finish: no debug file for $f (objcopy failed)"; rm -f "$dbg"; dbg=
        fi
      fi
      # An ELF file binutils cannot handle (another architecture's firmware, say) is shipped as it is.
      case "\${f##*/}" in
        *.so|*.so.*) strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f" || echo "finish: $f not stripped" ;;
        *) strip --remove-section=.comment --remove-section=.note "$f" || echo "finish: $f not stripped" ;;
      esac
      if [ -n "$dbg" ]; then objcopy --add-gnu-debuglink="$dbg" "$f" || echo "finish: no debug link in $f"; fi
      ;;
    213c617263683e0a) case "$f" in *.a) chmod u+w "$f"; strip --strip-debug --remove-section=.comment --remove-section=.note --enable-deterministic-archives "$f" || echo "finish: $f not stripped" ;; esac ;;
  esac
done
echo ">>> finish: compress man and info pages"
for d in usr/share/man usr/share/info; do
  [ -d "$d" ] || continue
  # Pages upstream gzipped itself may carry a name and a time in the header: recompressed as gzip -9n (only
  # those: the pages gzipped next are already so).
  find "$d" -type f -name '*.gz' | LC_ALL=C sort | while IFS= read -r g; do
    if gzip -dc "$g" > "$g.kiln-tmp" 2>/dev/null; then gzip -9nc "$g.kiln-tmp" > "$g"; fi
    rm -f "$g.kiln-tmp"
  done
  find "$d" -type f ! -name '*.gz' -exec gzip -9nf {} +
  # Links to pages now compressed point at the .gz: one ln per link (find gives the target), one rm for all.
  find "$d" -type l ! -name '*.gz' -printf '%p\\n%l\\n' | while IFS= read -r l && IFS= read -r t; do
    case "$t" in /*) r=".$t" ;; *) r="\${l%/*}/$t" ;; esac
    if [ -f "$r.gz" ] && [ ! -L "$r.gz" ] && ln -s "$t.gz" "$l.gz"; then printf '%s\\0' "$l"; fi
  done | xargs -0r rm -f
done
echo ">>> finish: fix permissions"
find . "$DBG" -type d -exec chmod 0755 {} +
find . "$DBG" -type f -exec chmod u+rw,go=rX,a-s {} +
for d in ${DATA_DIRS.join(' ')} usr/lib/debug; do [ -d "$d" ] && find "$d" -type f -exec chmod 0644 {} +; done
find "$DBG" -type f -exec chmod 0644 {} +
find . -type f \\( -name '*.so' -o -name '*.so.*' -o -name '*.a' -o -name '*.pc' \\) -path './*lib*' -exec chmod 0644 {} +
for d in ${BIN_DIRS.join(' ')}; do [ -d "$d" ] && find "$d" -type f -exec chmod 0755 {} +; done
echo ">>> finish: set mtimes to SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
find . "$DBG" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
exit 0
`;
}

/** One stripped ELF file and the build ID its detached debug file is named by. */
export interface DebugEntry {
  /** Path of the stripped file, relative to the staged root. */
  readonly path: string;
  /** Hex build ID: the debug file is `usr/lib/debug/.build-id/ID[0:2]/ID[2:].debug`. */
  readonly buildId: string;
}

/**
 * Reads `DBG/list` written by {@link finishScript} (a file the build user wrote: opened without following links,
 * at most 4 MiB, malformed lines ignored).
 */
export function readDebugList(dbgHostDir: string): DebugEntry[] {
  let fd: number;
  try {
    fd = fs.openSync(
      path.join(dbgHostDir, 'list'),
      fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
    );
  } catch {
    return [];
  }
  let text: string;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return [];
    const buf = Buffer.alloc(Math.min(st.size, 4 * 1024 * 1024));
    text = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const out: DebugEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S(?:.*\S)?) ([0-9a-f]{8,128})$/.exec(line);
    if (m && !m[1]!.split('/').includes('..')) out.push({ path: m[1]!, buildId: m[2]! });
  }
  return out;
}

/** The detached debug file's path (relative) for a build ID. */
export function debugFilePath(buildId: string): string {
  return `usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
}
