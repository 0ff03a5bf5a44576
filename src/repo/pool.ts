/**
 * The content-addressed pool store (`repos/NAME/.kiln/pool/SHA256.deb`) that every generation hard-links from, and
 * the record of one `.deb` (`scan.ts` fills both).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ControlField } from './control.js';

/** What kiln knows of one `.deb` file's content. */
export interface DebRecord {
  readonly control: readonly ControlField[];
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

/** The content-addressed store of published `.deb`s: `DIR/SHA256.deb`, written once, never changed. */
export class PoolStore {
  constructor(readonly dir: string) {}

  /** Path of the stored file for a digest. */
  path(sha256: string): string {
    return path.join(this.dir, `${sha256}.deb`);
  }

  /** Is a file with this digest stored? */
  has(sha256: string): boolean {
    return fs.existsSync(this.path(sha256));
  }

  /** A temp file name in the store for this process (`.tmp-PID-TAG`; {@link gc} removes those of dead processes). */
  tempPath(tag: string): string {
    return path.join(this.dir, `.tmp-${process.pid}-${tag}`);
  }

  /**
   * Makes the complete (and flushed) temp file `tmp` the stored file of `sha256` by rename, so a kill never leaves
   * half a file; when that content is stored already, `tmp` is removed instead.
   */
  adopt(sha256: string, tmp: string): void {
    if (this.has(sha256)) {
      fs.rmSync(tmp, { force: true });
      return;
    }
    fs.renameSync(tmp, this.path(sha256));
  }

  /**
   * Removes stored files whose digest is not in `used` (what the kept generations list: a stored file may also be
   * linked from its input, so link counts do not tell) and stale temp files; with `used` null, temp files only.
   * Returns bytes freed.
   */
  gc(used: ReadonlySet<string> | null): number {
    let freed = 0;
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const n of names) {
      const f = path.join(this.dir, n);
      const st = fs.lstatSync(f);
      const staleTmp = n.startsWith('.tmp-') && !pidAlive(Number(n.split('-')[1]));
      if (staleTmp || (used !== null && n.endsWith('.deb') && !used.has(n.slice(0, -'.deb'.length)))) {
        fs.rmSync(f, { force: true });
        freed += st.size;
      }
    }
    return freed;
  }
}

/** Is a process with this pid running? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One scanned input file. */
export interface ScannedDeb {
  /** The input path, absolute. */
  readonly path: string;
  readonly record: DebRecord;
}
