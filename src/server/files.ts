/**
 * Resolving a requested path inside a served root without ever leaving it: `..` and `.` segments, NUL bytes and
 * backslashes are refused outright (400); symlinks are followed and the result must still lie under the root (else
 * 404). Only regular files are served.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Outcome of {@link resolveUnder}. */
export type Resolved =
  | { readonly ok: true; readonly file: string; readonly size: number; readonly mtime: Date }
  | { readonly ok: false; readonly status: 400 | 404 };

/** Is this (already percent-decoded) relative path acceptable at all? */
export function saneRelative(rel: string): boolean {
  if (rel.includes('\0') || rel.includes('\\')) return false;
  return rel.split('/').every((seg) => seg !== '..' && seg !== '.');
}

/**
 * The real path of `rel` under `root` when it is a regular file that stays inside the root's real path.
 * `root` may itself be a symlink (a repository's `current`): it is resolved once, so one request reads one
 * generation.
 */
export function resolveUnder(root: string, rel: string): Resolved {
  if (!saneRelative(rel)) return { ok: false, status: 400 };
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    return { ok: false, status: 404 };
  }
  let real: string;
  try {
    real = fs.realpathSync(path.join(realRoot, rel));
  } catch {
    return { ok: false, status: 404 };
  }
  if (!real.startsWith(`${realRoot}${path.sep}`)) return { ok: false, status: 404 };
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch {
    return { ok: false, status: 404 };
  }
  if (!st.isFile()) return { ok: false, status: 404 };
  return { ok: true, file: real, size: st.size, mtime: st.mtime };
}

const TYPES: [RegExp, string][] = [
  [/\.deb$/, 'application/vnd.debian.binary-package'],
  [/\/by-hash\//, 'application/octet-stream'],
  [/\.gz$/, 'application/gzip'],
  [/\.xz$/, 'application/x-xz'],
  [/(^|\/)Release\.gpg$/, 'application/pgp-signature'],
  [/\.gpg$/, 'application/pgp-keys'],
  [/\.(asc|json)$|(^|\/)(Release|InRelease|Packages)$/, 'text/plain; charset=utf-8'],
];

/** Content type of a served repository file (never text/html). */
export function contentType(rel: string): string {
  for (const [re, t] of TYPES) if (re.test(rel)) return t;
  return 'application/octet-stream';
}
