/**
 * Where a published repository is written: the {@link PublishedStorage} interface (aptly's idea: the publisher
 * only writes through it, so another backend could stand behind it) and {@link FsPublishedStorage}, a folder.
 * Every path is relative to the repository's root and uses `/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';

/** The operations publishing needs. Writes of one file are whole or absent; `rename` replaces atomically. */
export interface PublishedStorage {
  /** Human-readable location, for messages. */
  readonly location: string;
  writeFile(rel: string, data: Buffer | string): Promise<void>;
  /** Makes `rel` the same file as `source` (an absolute path outside the storage): a hard link, else a copy. */
  linkFile(source: string, rel: string): Promise<void>;
  /** Makes `to` the same file as `from`, both inside the storage. */
  linkWithin(from: string, to: string): Promise<void>;
  readFile(rel: string): Promise<Buffer | null>;
  /** Names in a folder (empty when it does not exist). */
  list(rel: string): Promise<string[]>;
  exists(rel: string): Promise<boolean>;
  /** Atomic rename; replaces `to` when it is a file or symlink. */
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, rel: string): Promise<void>;
  readlink(rel: string): Promise<string | null>;
  /** Removes a file or folder tree; absent is fine. */
  remove(rel: string): Promise<void>;
  /** Makes everything written or linked since the last flush durable (file data, then the folders' entries). */
  flush(): Promise<void>;
}

/** {@link PublishedStorage} on a local folder. */
export class FsPublishedStorage implements PublishedStorage {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private abs(rel: string): string {
    const p = path.resolve(this.root, rel);
    if (p !== this.root && !p.startsWith(`${this.root}${path.sep}`)) {
      throw new KilnError('KILN_E_REPO', `path ${rel} leaves the repository ${this.root}`, {
        hint: 'this is a bug in kiln',
        exitCode: 1,
      });
    }
    return p;
  }

  /** Folders known to exist (saves a recursive mkdir per pool file). */
  private readonly made = new Set<string>();

  private parent(p: string): void {
    const d = path.dirname(p);
    this.dirtyDirs.add(d);
    if (this.made.has(d)) return;
    const first = fs.mkdirSync(d, { recursive: true });
    // The folders just made, and the one that now names the first of them.
    if (first) {
      let x = d;
      for (let guard = 0; guard < 256 && x.length >= first.length; guard++) {
        this.dirtyDirs.add(x);
        x = path.dirname(x);
      }
      this.dirtyDirs.add(path.dirname(first));
    }
    this.made.add(d);
  }

  /** Files written and folders changed since the last {@link flush}. */
  private readonly dirtyFiles = new Set<string>();
  private readonly dirtyDirs = new Set<string>();

  async writeFile(rel: string, data: Buffer | string): Promise<void> {
    const p = this.abs(rel);
    this.parent(p);
    fs.writeFileSync(p, data, { mode: 0o644 });
    this.dirtyFiles.add(p);
    this.dirtyDirs.add(path.dirname(p));
  }

  async flush(): Promise<void> {
    const fsyncPath = async (p: string): Promise<void> => {
      let h: fs.promises.FileHandle | undefined;
      try {
        h = await fs.promises.open(p, 'r');
        await h.sync();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      } finally {
        await h?.close();
      }
    };
    // Files first, then the folders that name them (and the folders made for them, up to the root).
    for (const set of [this.dirtyFiles, this.dirtyDirs]) {
      const items = [...set];
      set.clear();
      for (let i = 0; i < items.length; i += 64) await Promise.all(items.slice(i, i + 64).map(fsyncPath));
    }
  }

  async linkFile(source: string, rel: string): Promise<void> {
    const p = this.abs(rel);
    this.parent(p);
    try {
      fs.linkSync(source, p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        fs.rmSync(p);
        fs.linkSync(source, p);
        return;
      }
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e;
      fs.copyFileSync(source, p, fs.constants.COPYFILE_FICLONE);
    }
  }

  async linkWithin(from: string, to: string): Promise<void> {
    await this.linkFile(this.abs(from), to);
  }

  async readFile(rel: string): Promise<Buffer | null> {
    try {
      return fs.readFileSync(this.abs(rel));
    } catch {
      return null;
    }
  }

  async list(rel: string): Promise<string[]> {
    try {
      return fs.readdirSync(this.abs(rel)).sort();
    } catch {
      return [];
    }
  }

  async exists(rel: string): Promise<boolean> {
    try {
      fs.lstatSync(this.abs(rel));
      return true;
    } catch {
      return false;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const t = this.abs(to);
    this.parent(t);
    const f = this.abs(from);
    for (const d of this.made) if (d === f || d.startsWith(`${f}${path.sep}`)) this.made.delete(d);
    fs.renameSync(f, t);
    this.dirtyDirs.add(path.dirname(t));
  }

  async symlink(target: string, rel: string): Promise<void> {
    const p = this.abs(rel);
    this.parent(p);
    fs.rmSync(p, { force: true });
    fs.symlinkSync(target, p);
  }

  async readlink(rel: string): Promise<string | null> {
    try {
      return fs.readlinkSync(this.abs(rel));
    } catch {
      return null;
    }
  }

  async remove(rel: string): Promise<void> {
    const p = this.abs(rel);
    for (const d of this.made) if (d === p || d.startsWith(`${p}${path.sep}`)) this.made.delete(d);
    fs.rmSync(p, { recursive: true, force: true });
  }
}
