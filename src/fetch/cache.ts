/**
 * The content-addressed distfile cache under `HOME/distfiles/`:
 * - `sha256/ab/abcdef…` holds each file, named by its sha256 (only files whose hash was checked get here);
 * - `by-name/FILENAME` is a readable symbolic link to it (the last file fetched under that name);
 * - `.tmp/` holds downloads in progress; `.bad/` (0700) holds files whose hash did not match, mode 0600, root only.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Folder layout of the distfile cache. */
export class DistfileCache {
  /** @param root the cache folder, normally `HOME/distfiles` */
  constructor(readonly root: string) {}

  /** Where the file with that sha256 lives (whether or not it is there). */
  pathOf(sha256: string): string {
    return path.join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** The cached file with that sha256, or undefined. */
  lookup(sha256: string): string | undefined {
    const p = this.pathOf(sha256);
    try {
      return fs.statSync(p).isFile() ? p : undefined;
    } catch {
      return undefined;
    }
  }

  /** A fresh temporary path for a download (same file system as the cache, so adopting is a rename). */
  tempPath(filename: string): string {
    const dir = path.join(this.root, '.tmp');
    fs.mkdirSync(dir, { recursive: true });
    return path.join(
      dir,
      `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}.${filename}`,
    );
  }

  /** Moves a checked download into the cache under its sha256, links its readable name, and returns its path. */
  adopt(tmp: string, sha256: string, filename: string): string {
    const dest = this.pathOf(sha256);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.chmodSync(tmp, 0o644);
    fs.renameSync(tmp, dest);
    this.link(sha256, filename);
    return dest;
  }

  /** Points `by-name/FILENAME` at the cached file (replacing an older link of that name). */
  link(sha256: string, filename: string): void {
    const dir = path.join(this.root, 'by-name');
    fs.mkdirSync(dir, { recursive: true });
    const link = path.join(dir, filename);
    const target = path.relative(dir, this.pathOf(sha256));
    try {
      if (fs.readlinkSync(link) === target) return;
    } catch {
      /* absent or not a link */
    }
    const tmp = `${link}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(target, tmp);
    fs.renameSync(tmp, link);
  }

  /**
   * Moves a file whose hash did not match into `.bad/` (folder 0700, file 0600: root only, never a build) and
   * returns its new path. The name is random, not the file's hash.
   */
  quarantine(tmp: string, filename: string): string {
    const dir = path.join(this.root, '.bad');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    const dest = path.join(dir, `${crypto.randomBytes(8).toString('hex')}.${filename}`);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, dest);
    return dest;
  }
}
