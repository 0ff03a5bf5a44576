/**
 * Packing a finished root into a file: a tar archive (sorted names, numeric owners, extended attributes, no atime
 * or ctime) or a squashfs filesystem. With `SOURCE_DATE_EPOCH`, every mtime later than it is clamped to it (tar)
 * or every time is set to it (squashfs), so the same root gives the same bytes.
 */
import { run } from '../util/exec.js';

/** Arguments of GNU tar that make an archive of `root` into `out` (pure). */
export function tarArgs(root: string, out: string, sourceDateEpoch?: number): string[] {
  return [
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=*',
    '--one-file-system',
    ...(sourceDateEpoch !== undefined ? [`--mtime=@${sourceDateEpoch}`, '--clamp-mtime'] : []),
    '-C',
    root,
    '-cf',
    out,
    '.',
  ];
}

/** Arguments of mksquashfs that make a filesystem of `root` into `out` (pure). */
export function squashfsArgs(root: string, out: string, sourceDateEpoch?: number): string[] {
  return [
    root,
    out,
    '-noappend',
    '-quiet',
    '-no-progress',
    '-xattrs',
    ...(sourceDateEpoch !== undefined
      ? ['-mkfs-time', String(sourceDateEpoch), '-all-time', String(sourceDateEpoch)]
      : []),
  ];
}

/** Packs `root` into the tar archive `out`. */
export async function packTar(
  root: string,
  out: string,
  sourceDateEpoch?: number,
  signal?: AbortSignal,
): Promise<void> {
  await run('tar', tarArgs(root, out, sourceDateEpoch), { signal });
}

/**
 * The environment of mksquashfs (pure): without `SOURCE_DATE_EPOCH`, which mksquashfs 4.5 refuses beside
 * `-mkfs-time`/`-all-time` ("can't be used at the same time"); the times are given by {@link squashfsArgs} instead.
 */
export function squashfsEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { SOURCE_DATE_EPOCH: _unused, ...rest } = env;
  return rest;
}

/** Packs `root` into the squashfs filesystem `out`. */
export async function packSquashfs(
  root: string,
  out: string,
  sourceDateEpoch?: number,
  signal?: AbortSignal,
): Promise<void> {
  await run('mksquashfs', squashfsArgs(root, out, sourceDateEpoch), { signal, env: squashfsEnv() });
}
