/**
 * The index of a repository's `.deb`s: what publishing learnt from reading each file once (size, MD5, SHA256 and its
 * control stanza, by content), and which input file has which content (by path, size, mtime in ns and inode), so a
 * republish reads only the files that changed. One SQLite file per repository (`repos/NAME/.kiln/debs.db`), beside
 * the pool it describes: it goes when the repository goes, and it is written under the repository's publish lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KilnError } from '../util/errors.js';

/** Schema version of a deb index file (`PRAGMA user_version`). */
const DEB_INDEX_VERSION = 1;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS stanzas (
    sha256  TEXT PRIMARY KEY,   -- of the whole .deb
    md5     TEXT NOT NULL,
    size    INTEGER NOT NULL,
    control TEXT NOT NULL       -- the control file as read from the .deb
  ) STRICT;
  CREATE TABLE IF NOT EXISTS files (
    path     TEXT PRIMARY KEY,  -- absolute
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ino      INTEGER NOT NULL,
    sha256   TEXT NOT NULL
  ) STRICT;
`;

/** What is known of one `.deb`'s content. */
export interface DebStanza {
  readonly sha256: string;
  readonly md5: string;
  readonly size: number;
  /** The control file text. */
  readonly control: string;
}

/** The identity of an input file: it is taken as unchanged while all four agree. */
export interface DebFileKey {
  readonly path: string;
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ino: bigint;
}

/** A repository's deb index (see the module comment). Call {@link DebIndex.close} when done. */
export class DebIndex {
  private readonly byFile: Database.Statement;
  private readonly bySha: Database.Statement;
  private readonly putStanza: Database.Statement;
  private readonly putFile: Database.Statement;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.byFile =
      db.prepare(`SELECT s.sha256, s.md5, s.size, s.control FROM files f JOIN stanzas s ON s.sha256 = f.sha256
      WHERE f.path = ? AND f.size = ? AND f.mtime_ns = ? AND f.ino = ?`);
    this.bySha = db.prepare('SELECT sha256, md5, size, control FROM stanzas WHERE sha256 = ?');
    this.putStanza = db.prepare('INSERT OR REPLACE INTO stanzas (sha256, md5, size, control) VALUES (?, ?, ?, ?)');
    this.putFile = db.prepare(
      'INSERT OR REPLACE INTO files (path, size, mtime_ns, ino, sha256) VALUES (?, ?, ?, ?, ?)',
    );
  }

  /**
   * Opens (creating) the index at `file`. A damaged or foreign file is replaced by an empty index: it is only a
   * cache of what the `.deb`s say.
   */
  static open(file: string): DebIndex {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      let db: Database.Database | undefined;
      try {
        db = new Database(file, { timeout: 5000 });
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        const v = db.pragma('user_version', { simple: true }) as number;
        if (v !== 0 && v !== DEB_INDEX_VERSION)
          throw Object.assign(new Error(`deb index version ${v}`), { code: 'SQLITE_NOTADB' });
        db.exec(SCHEMA);
        db.pragma(`user_version = ${DEB_INDEX_VERSION}`);
        return new DebIndex(db, file);
      } catch (e) {
        db?.close();
        const code = (e as { code?: unknown }).code;
        if (attempt === 0 && (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')) {
          for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
          continue;
        }
        throw new KilnError(
          'KILN_E_STORE',
          `deb index ${file}: opening failed: ${e instanceof Error ? e.message : String(e)}`,
          {
            hint: `check that ${path.dirname(file)} is writable; the file is a cache and may be deleted`,
            exitCode: 1,
            cause: e,
          },
        );
      }
    }
  }

  /** The content of an input file when its (path, size, mtime, inode) are those recorded, else undefined. */
  lookup(k: DebFileKey): DebStanza | undefined {
    return this.guard('reading', () => this.byFile.get(k.path, k.size, k.mtimeNs, k.ino) as DebStanza | undefined);
  }

  /** What is known of the content with this SHA256, whatever file held it. */
  stanza(sha256: string): DebStanza | undefined {
    return this.guard('reading', () => this.bySha.get(sha256) as DebStanza | undefined);
  }

  /** Records input files and their contents, in one transaction. */
  record(rows: readonly { readonly file: DebFileKey; readonly stanza: DebStanza }[]): void {
    if (rows.length === 0) return;
    this.guard('writing', () =>
      this.db.transaction(() => {
        for (const { file, stanza: s } of rows) {
          this.putStanza.run(s.sha256, s.md5, s.size, s.control);
          this.putFile.run(file.path, file.size, file.mtimeNs, file.ino, s.sha256);
        }
      })(),
    );
  }

  /** Forgets every file not in `keep`, and every content no remaining file holds. Returns the files forgotten. */
  prune(keep: ReadonlySet<string>): number {
    return this.guard('pruning', () =>
      this.db.transaction(() => {
        const gone = (this.db.prepare('SELECT path FROM files').pluck().all() as string[]).filter((p) => !keep.has(p));
        const del = this.db.prepare('DELETE FROM files WHERE path = ?');
        for (const p of gone) del.run(p);
        this.db.prepare('DELETE FROM stanzas WHERE sha256 NOT IN (SELECT sha256 FROM files)').run();
        return gone.length;
      })(),
    );
  }

  /** Numbers of files and contents known (tests, benches). */
  counts(): { files: number; stanzas: number } {
    return this.guard('reading', () => ({
      files: this.db.prepare('SELECT count(*) FROM files').pluck().get() as number,
      stanzas: this.db.prepare('SELECT count(*) FROM stanzas').pluck().get() as number,
    }));
  }

  close(): void {
    this.db.close();
  }

  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new KilnError(
        'KILN_E_STORE',
        `deb index ${this.file}: ${doing} failed: ${e instanceof Error ? e.message : String(e)}`,
        {
          hint: 'the file is a cache: delete it and publish again',
          exitCode: 1,
          cause: e,
        },
      );
    }
  }
}
