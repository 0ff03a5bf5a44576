/**
 * Reading one `.deb` once: its bytes are hashed (MD5 and SHA256) in chunks (never whole in memory) and its control
 * file taken from the head. The pool store's temp file is a hard link to the input when both are on one filesystem
 * (no copy: kiln's writers replace a package file by rename, never rewrite it in place), else a copy written in the
 * same pass; either way flushed with `fdatasync`. Runs on a worker thread (`ingest-worker.ts`) or inline for a few
 * files. Touches no state but the temp file it is given.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { controlFromBytes } from './deb.js';

/** What reading one `.deb` gave. */
export interface Ingested {
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  /** The control file's text, or null when the in-process reader cannot decode it (then `dpkg-deb -f` can). */
  readonly control: string | null;
  /** Set when the file is not a `.deb` (or cannot be read): the message. */
  readonly error?: string;
}

const CHUNK = 1 << 20;

/** Bytes from the start of an ar archive up to the end of its second member (control.tar), or null when not an ar. */
function controlEnd(head: Buffer): number | null {
  if (head.length < 8 + 60 || head.toString('latin1', 0, 8) !== '!<arch>\n') return null;
  const size1 = Number.parseInt(head.toString('latin1', 8 + 48, 8 + 58).trim(), 10);
  if (!Number.isFinite(size1)) return null;
  const second = 8 + 60 + size1 + (size1 & 1);
  if (head.length < second + 60) return second + 60;
  const size2 = Number.parseInt(head.toString('latin1', second + 48, second + 58).trim(), 10);
  return Number.isFinite(size2) ? second + 60 + size2 : null;
}

/**
 * Reads `file` in 1 MiB chunks, hashing each and writing it to `copyTo` (created, mode 0644, then fdatasync'ed),
 * and decodes the control file from the head. Never throws: a failure is returned in `error`.
 */
export function ingestDeb(file: string, copyTo: string | null): Ingested {
  const md5 = crypto.createHash('md5');
  const sha = crypto.createHash('sha256');
  let fd = -1;
  let out = -1;
  let size = 0;
  let head: Buffer | null = null;
  let headDone = false;
  let bad = false;
  try {
    fd = fs.openSync(file, 'r');
    let linked = false;
    if (copyTo) {
      fs.rmSync(copyTo, { force: true });
      try {
        fs.linkSync(file, copyTo);
        linked = true;
      } catch (e) {
        if (!['EXDEV', 'EPERM', 'EMLINK', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
      if (!linked) out = fs.openSync(copyTo, 'w', 0o644);
    }
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let guard = 0; guard < 1 << 24; guard++) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      md5.update(chunk);
      sha.update(chunk);
      if (out >= 0) for (let w = 0; w < n; ) w += fs.writeSync(out, chunk, w, n - w);
      if (!headDone) {
        // The head up to the control member's end (usually a few KiB of the first chunk); the chunk buffer is reused.
        const whole: Buffer = head ? Buffer.concat([head, chunk]) : chunk;
        const end = controlEnd(whole);
        headDone = end === null || end <= whole.length;
        head = end === null ? null : Buffer.from(whole.subarray(0, Math.min(end, whole.length)));
        if (end === null) bad = true;
      }
      size += n;
    }
    // The stored bytes on disk: the copy, or the input itself (hard-linked: flushing it is cheap when it is clean).
    if (out >= 0) fs.fdatasyncSync(out);
    else if (linked) fs.fdatasyncSync(fd);
    if (bad || !head || !headDone) throw new Error('not a Debian binary package (bad ar header)');
    const control = controlFromBytes(head);
    return { size, md5: md5.digest('hex'), sha256: sha.digest('hex'), control };
  } catch (e) {
    return { size, md5: '', sha256: '', control: null, error: e instanceof Error ? e.message : String(e) };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (out >= 0) fs.closeSync(out);
  }
}
