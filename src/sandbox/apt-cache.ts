/**
 * The shared apt package cache (`HOME/cache/apt/archives`) without shared writes. A sandbox sees it at
 * `/var/cache/apt/archives` as the lower layer of an overlay of its own: cached `.deb`s are read from it, new
 * downloads land in the sandbox's layer (`DIR/apt-upper`, on the sandbox's own, size-limited, file system). After
 * the download step the host promotes each new `.deb` into the shared cache only when its size and sha256 are the
 * ones the jail's own `Packages` index gives for that package (the jail's lists, read from the jail, never from the
 * sandbox). Host-side code opens nothing in a sandbox-writable folder by a path that could be a symlink: entries
 * are `lstat`ed, files opened with `O_NOFOLLOW`, and the shared cache is written by a temporary file and a rename.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { BindMount } from './argv.js';

/**
 * The shared cache folder of a kiln home. Only `.deb`s belong there: apt's `lock` and `partial/` that builds of
 * older kiln versions left (sandboxes wrote it then) are removed, as root-owned leftovers would lock a sandbox's
 * apt out (never followed: `rm` takes a symlink itself).
 */
export function sharedAptCache(home: string): string {
  const dir = path.join(home, 'cache', 'apt', 'archives');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const n of ['lock', 'partial']) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  return dir;
}

/** One package's file as the archive index names it. */
interface IndexEntry {
  readonly sha256: string;
  readonly size: number;
}

/** Parsed `Packages` files, keyed by path, size and mtime. */
const indexMemo = new Map<string, { key: string; map: Map<string, IndexEntry> }>();

/** apt's file name for a package in its cache: `NAME_VERSION_ARCH.deb`, the epoch's `:` as `%3a`. */
function cacheName(pkg: string, version: string, arch: string): string {
  return `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/** Parses a `Packages` file into cache name → sha256 and size. */
function parsePackages(text: string): Map<string, IndexEntry> {
  const map = new Map<string, IndexEntry>();
  for (const para of text.split('\n\n')) {
    const f = (k: string): string | undefined => new RegExp(`^${k}: *(.*)$`, 'm').exec(para)?.[1]?.trim();
    const pkg = f('Package');
    const ver = f('Version');
    const arch = f('Architecture');
    const sha = f('SHA256');
    const size = f('Size');
    if (pkg && ver && arch && sha && size)
      map.set(cacheName(pkg, ver, arch), { sha256: sha.toLowerCase(), size: Number(size) });
  }
  return map;
}

/** The jail's index: every `*_Packages` list of `JAIL/var/lib/apt/lists`, merged. */
export function jailPackageIndex(jailRoot: string): Map<string, IndexEntry> {
  const dir = path.join(jailRoot, 'var/lib/apt/lists');
  const out = new Map<string, IndexEntry>();
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('_Packages'))
      .sort();
  } catch {
    return out;
  }
  for (const n of names) {
    const file = path.join(dir, n);
    const st = fs.lstatSync(file);
    if (!st.isFile()) continue;
    const key = `${st.size}:${st.mtimeMs}`;
    let hit = indexMemo.get(file);
    if (!hit || hit.key !== key) {
      hit = { key, map: parsePackages(fs.readFileSync(file, 'utf8')) };
      indexMemo.set(file, hit);
    }
    for (const [k, v] of hit.map) if (!out.has(k)) out.set(k, v);
  }
  return out;
}

/** sha256 and size of a regular file opened without following a symlink; undefined if it is not one. */
function hashNoFollow(file: string): { sha256: string; size: number; data: Buffer } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > 2 ** 31) return undefined;
    const data = fs.readFileSync(fd);
    return { sha256: crypto.createHash('sha256').update(data).digest('hex'), size: data.length, data };
  } finally {
    fs.closeSync(fd);
  }
}

/** What a promotion did. */
export interface PromoteResult {
  /** File names copied into the shared cache. */
  readonly promoted: string[];
  /** File names left out, with why (not in the index, wrong hash, not a regular file). */
  readonly refused: { readonly name: string; readonly why: string }[];
}

/**
 * Copies the new `.deb`s of a sandbox's cache layer (`upper`, top level only) into `shared` when the jail's index
 * vouches for them. Never follows a symlink; never overwrites a cached file.
 */
export function promoteDownloads(upper: string, shared: string, jailRoot: string): PromoteResult {
  const promoted: string[] = [];
  const refused: { name: string; why: string }[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(upper).filter((n) => n.endsWith('.deb'));
  } catch {
    return { promoted, refused };
  }
  if (names.length === 0) return { promoted, refused };
  const index = jailPackageIndex(jailRoot);
  for (const name of names) {
    if (name.includes('/') || name.startsWith('.')) {
      refused.push({ name, why: 'bad name' });
      continue;
    }
    const want = index.get(name);
    if (!want) {
      refused.push({ name, why: "not in the jail's Packages index" });
      continue;
    }
    const dest = path.join(shared, name);
    if (fs.existsSync(dest)) continue;
    const got = hashNoFollow(path.join(upper, name));
    if (!got) {
      refused.push({ name, why: 'not a regular file' });
      continue;
    }
    if (got.size !== want.size || got.sha256 !== want.sha256) {
      refused.push({ name, why: 'sha256 differs from the index' });
      continue;
    }
    const tmp = path.join(shared, `.${name}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    const fd = fs.openSync(
      tmp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o644,
    );
    try {
      fs.writeSync(fd, got.data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, dest);
    promoted.push(name);
  }
  return { promoted, refused };
}

/**
 * The host-side apt package cache for the system-dependency phase: bind it at `/var/cache/apt/archives` so every
 * sandbox downloads a Debian package at most once. Creates `HOME/cache/apt/archives/partial`.
 */
export function aptCacheBind(home: string): BindMount {
  const source = path.join(home, 'cache', 'apt', 'archives');
  fs.mkdirSync(path.join(source, 'partial'), { recursive: true });
  return { source, dest: '/var/cache/apt/archives' };
}
