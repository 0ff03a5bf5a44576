/**
 * Mounts a sandbox needs: an overlayfs over a jail root, read from and torn down through `/proc/mounts`.
 * bubblewrap 0.8 has no overlay flags, so kiln mounts the overlay itself (as root) with `mount -t overlay`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';

/** One line of `/proc/mounts`. */
export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly fstype: string;
  readonly options: readonly string[];
  /** Position in `/proc/mounts` (mount order). */
  readonly seq: number;
}

/** Undoes `/proc/mounts` octal escapes (`\040` for a space, ...). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses `/proc/mounts` text (pure). */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({
      source: unescapeMount(f[0]!),
      target: unescapeMount(f[1]!),
      fstype: f[2]!,
      options: f[3]!.split(',').map(unescapeMount),
      seq: out.length,
    });
  }
  return out;
}

/** The host's current mounts. */
export function readMounts(): MountEntry[] {
  return parseMounts(fs.readFileSync('/proc/mounts', 'utf8'));
}

/** True when `p` is `dir` or inside it. */
function isUnder(p: string, dir: string): boolean {
  const d = path.resolve(dir);
  return p === d || p.startsWith(d.endsWith('/') ? d : `${d}/`);
}

/**
 * Every mount point at or under `dir`, in the order to unmount them in: the reverse of the order they were mounted
 * (`/proc/mounts` lists them in mount order), so an overlay goes before the idmapped layer under it and a nested
 * mount before its parent.
 */
export function mountsUnder(dir: string, mounts: readonly MountEntry[] = readMounts()): MountEntry[] {
  return mounts.filter((m) => isUnder(m.target, dir)).reverse();
}

/** Overlay mounts whose lower layer is `lowerdir` (sandboxes over a jail root). */
export function overlaysOver(lowerdir: string, mounts: readonly MountEntry[] = readMounts()): MountEntry[] {
  const want = path.resolve(lowerdir);
  return mounts.filter(
    (m) =>
      m.fstype === 'overlay' &&
      m.options.some(
        (o) =>
          o.startsWith('lowerdir=') &&
          o
            .slice('lowerdir='.length)
            .split(':')
            .some((l) => path.resolve(l) === want || idmappedFrom(l) === want),
      ),
  );
}

/**
 * The folder a sandbox's idmapped lower layer (`HOME/sandboxes/ID/lower`) shows, from the sandbox's `owner.json`
 * (an idmapped bind's source is not in `/proc/mounts`); undefined for any other folder.
 */
function idmappedFrom(lower: string): string | undefined {
  if (path.basename(lower) !== 'lower') return undefined;
  try {
    const o = JSON.parse(fs.readFileSync(path.join(path.dirname(lower), 'owner.json'), 'utf8')) as { lower?: unknown };
    return typeof o.lower === 'string' ? path.resolve(o.lower) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Mounts an overlayfs: `lower` read-only below, `upper` taking every write, at `merged`. `volatile`: the upper
 * layer is thrown away after the build, so it is never synced to disk (no sync on unmount either).
 */
export async function mountOverlay(
  lower: string | readonly string[],
  upper: string,
  work: string,
  merged: string,
): Promise<void> {
  const lowers = typeof lower === 'string' ? [lower] : lower;
  checkOverlayPaths([...lowers, upper, work, merged]);
  try {
    await run('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},volatile`,
      merged,
    ]);
  } catch (e) {
    throw new KilnError('KILN_E_SANDBOX', `mounting an overlay over ${lowers.join(' and ')} at ${merged} failed`, {
      hint: 'kiln must run as root on a kernel with overlayfs (`modprobe overlay`); see `kiln doctor`',
      exitCode: 1,
      cause: e,
    });
  }
}

/** Throws unless every path can be carried in overlayfs options (no `,` or `:`). */
export function checkOverlayPaths(paths: readonly string[]): void {
  for (const p of paths) {
    if (/[,:]/.test(p)) {
      throw new KilnError(
        'KILN_E_SANDBOX',
        `overlay path ${p} contains "," or ":", which overlayfs options cannot carry`,
        {
          hint: 'use a --home path without commas or colons',
          exitCode: 1,
        },
      );
    }
  }
}

/**
 * Unmounts everything at or under `dir`, deepest first. Idempotent: nothing mounted is success. A busy mount
 * is detached lazily (`umount -l`) so teardown never hangs; throws only when a mount is still listed after that.
 */
export async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const list = mountsUnder(dir);
    if (list.length === 0) return;
    // One umount for all of them (deepest first) is one process instead of one per mount; stragglers go lazily.
    const r = await run(
      'umount',
      list.map((m) => m.target),
      { allowFailure: true },
    );
    if (r.status !== 0) for (const m of mountsUnder(dir)) await run('umount', ['-l', m.target], { allowFailure: true });
  }
  const left = mountsUnder(dir);
  if (left.length > 0) {
    throw new KilnError('KILN_E_SANDBOX', `could not unmount ${left.map((m) => m.target).join(', ')}`, {
      hint: 'find what holds it (`fuser -vm PATH`), stop it, then `umount -l PATH`',
      exitCode: 1,
    });
  }
}

/**
 * Mounts a tmpfs of at most `bytes` (and `files` inodes, when given) at `dir` (mode 0755), for a sandbox's upper
 * layer in memory.
 */
export async function mountTmpfs(dir: string, bytes: number, files?: number): Promise<void> {
  try {
    const inodes = files !== undefined ? `,nr_inodes=${files}` : '';
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}${inodes},mode=0755,nosuid,nodev`, 'kiln-sandbox', dir]);
  } catch (e) {
    throw new KilnError('KILN_E_SANDBOX', `mounting a tmpfs at ${dir} failed`, {
      hint: 'kiln must run as root',
      exitCode: 1,
      cause: e,
    });
  }
}

/**
 * Mounts a fresh ext4 file system of `bytes` (at most `files` inodes) at `dir`, kept in the sparse image `img`
 * (it takes only what is written): a sandbox's disk limit that, unlike a tmpfs, costs no memory. The loop device
 * goes with the unmount (`autoclear`); the caller deletes `img`.
 */
export async function mountDisk(dir: string, img: string, bytes: number, files?: number): Promise<void> {
  fs.mkdirSync(path.dirname(img), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(
    img,
    fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fs.ftruncateSync(fd, bytes);
  } finally {
    fs.closeSync(fd);
  }
  try {
    await run('mkfs.ext4', [
      '-q',
      '-F',
      '-O',
      '^has_journal',
      '-E',
      'lazy_itable_init=1,nodiscard',
      '-m',
      '0',
      ...(files !== undefined ? ['-N', String(files)] : []),
      img,
    ]);
    // noinit_itable: no background zeroing of inode tables (it would write them all into the sparse image).
    await run('mount', ['-t', 'ext4', '-o', 'loop,nosuid,nodev,noinit_itable', img, dir]);
  } catch (e) {
    fs.rmSync(img, { force: true });
    throw new KilnError('KILN_E_SANDBOX', `making a ${Math.round(bytes / 1048576)} MiB disk for ${dir} failed`, {
      hint: 'the disk limit needs mkfs.ext4 and loop devices (`modprobe loop`); see `kiln doctor`',
      exitCode: 1,
      cause: e,
    });
  }
}

/**
 * Unmounts everything under `dir` before it is deleted, and throws KILN_E_SANDBOX when anything is still mounted
 * there (so a bind mount of a host folder is never emptied by accident).
 */
async function unmountForDelete(dir: string): Promise<void> {
  await unmountUnder(dir);
  if (mountsUnder(dir).length > 0) {
    throw new KilnError('KILN_E_SANDBOX', `refusing to delete ${dir}: something is still mounted under it`, {
      hint: 'unmount it by hand (`umount -R PATH`) and retry',
      exitCode: 1,
    });
  }
}

/**
 * Removes a folder tree that may have held mounts: unmounts under it first and refuses to delete while anything
 * is still mounted there (so a bind mount of a host folder is never emptied by accident). Idempotent.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  await unmountForDelete(dir);
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Removals started by {@link discardTree} and not finished yet. */
const pending = new Set<Promise<void>>();

/**
 * Removes `dir` off the caller's critical path: refuses while anything is mounted under it, renames it into
 * `trashDir` (instant) and deletes it in the background (a big build tree takes seconds to delete). A leftover
 * in `trashDir` (kiln died meanwhile) is removed by the next stale-sandbox cleanup. Idempotent.
 */
export async function discardTree(dir: string, trashDir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  await unmountForDelete(dir);
  fs.mkdirSync(trashDir, { recursive: true });
  const target = path.join(trashDir, `${path.basename(dir)}-${process.pid}-${Date.now()}`);
  fs.renameSync(dir, target);
  const p: Promise<void> = fs.promises
    .rm(target, { recursive: true, force: true, maxRetries: 3 })
    .catch(() => undefined)
    .finally(() => {
      pending.delete(p);
    });
  pending.add(p);
}

/** Waits until every background removal of {@link discardTree} has finished (tests, benches, exit). */
export async function settleRemovals(): Promise<void> {
  for (let i = 0; i < 1000 && pending.size > 0; i++) await Promise.all([...pending]);
}
