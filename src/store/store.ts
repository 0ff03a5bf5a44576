/**
 * kiln's state database: `HOME/kiln.db`, SQLite through better-sqlite3 (the only module that imports it),
 * in WAL mode with a busy timeout so that several kiln processes can share it. Every query lives here,
 * behind typed methods; callers never write SQL. SQLite failures become `KILN_E_STORE` errors with a hint.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KilnError } from '../util/errors.js';
import { MIGRATIONS } from './migrations.js';
import { BulkRecords } from './bulks.js';
import type { JailInput, JailRecord, OptionRow, TreeRecord, TreeSpec } from './types.js';

/** File name of the database inside the home folder. */
export const DB_FILE = 'kiln.db';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Milliseconds to wait for another process's write lock (default 5000). */
  busyTimeoutMs?: number;
  /** Clock for created/updated stamps (tests). */
  now?: () => Date;
}

/** Opens (creating if needed) `HOME/kiln.db` and brings its schema up to date. Call {@link Store.close} when done. */
export function openStore(home: string, opts: OpenStoreOptions = {}): Store {
  const file = path.join(home, DB_FILE);
  let db: Database.Database;
  try {
    fs.mkdirSync(home, { recursive: true });
    db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 });
  } catch (e) {
    throw storeError(e, file, 'opening');
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    migrate(db, file);
  } catch (e) {
    db.close();
    throw e instanceof KilnError ? e : storeError(e, file, 'opening');
  }
  return new Store(db, file, opts.now ?? (() => new Date()));
}

/** Applies every pending migration, each in its own immediate transaction. */
function migrate(db: Database.Database, file: string): void {
  const known = MIGRATIONS.length;
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > known) {
    throw new KilnError(
      'KILN_E_STORE',
      `${file} has schema version ${current}, newer than this kiln knows (${known})`,
      {
        hint: 'upgrade kiln, or point --home at another folder',
        exitCode: 1,
      },
    );
  }
  for (const m of MIGRATIONS) {
    const step = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const v = db.pragma('user_version', { simple: true }) as number;
      if (v >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    });
    step.immediate();
  }
}

/** Turns a SQLite (or file system) failure into a KILN_E_STORE error with a useful hint. */
function storeError(e: unknown, file: string, doing: string): KilnError {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  let hint = `check that ${file} and its folder are readable and writable`;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    hint = 'another kiln process holds the database; wait for it to finish and retry';
  else if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    hint = `${file} is damaged or not a kiln database; move it away (kiln starts a fresh one) or restore a backup`;
  else if (code === 'SQLITE_FULL') hint = 'the disk is full; free some space and retry';
  else if (code === 'SQLITE_READONLY' || code === 'EACCES')
    hint = `kiln cannot write ${file}; run as a user who can, or use --home`;
  return new KilnError('KILN_E_STORE', `state database ${file}: ${doing} failed: ${msg}`, {
    hint,
    exitCode: 1,
    cause: e,
  });
}

interface TreeRow {
  name: string;
  spec: string;
  created: string;
  updated: string;
}
interface JailRow {
  name: string;
  release: string;
  arch: string;
  mirror: string;
  path: string;
  identity: string;
  manifest_hash: string;
  created: string;
  updated: string;
}

/** Typed access to the state database. Obtain one with {@link openStore}. */
export class Store {
  /** @internal use {@link openStore}. */
  constructor(
    private readonly db: Database.Database,
    /** Path of the database file. */ readonly file: string,
    private readonly now: () => Date,
  ) {
    this.bulks = new BulkRecords(db, (doing, fn) => this.guard(doing, fn), now);
  }

  /** Bulks, their builds, and the current package set per (jail, tree). */
  readonly bulks: BulkRecords;

  /** Schema version (`PRAGMA user_version`). */
  schemaVersion(): number {
    return this.guard('reading the schema version', () => this.db.pragma('user_version', { simple: true }) as number);
  }

  /** Closes the database. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one write transaction (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.guard('a transaction', () => this.db.transaction(fn).immediate());
  }

  // ---- trees ------------------------------------------------------------------------------------

  /** Registers a tree; throws KILN_E_TREE_EXISTS when the name is taken. */
  insertTree(name: string, spec: TreeSpec): TreeRecord {
    const at = this.now().toISOString();
    try {
      this.db
        .prepare('INSERT INTO trees (name, kind, spec, created, updated) VALUES (?, ?, ?, ?, ?)')
        .run(name, spec.kind, JSON.stringify(spec), at, at);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KilnError('KILN_E_TREE_EXISTS', `a tree named "${name}" is already registered`, {
          hint: `pick another name, or remove it first with \`kiln tree delete ${name}\``,
        });
      }
      throw storeError(e, this.file, 'registering a tree');
    }
    return { name, spec, created: at, updated: at };
  }

  /** Replaces a registered tree's spec and stamps `updated`; returns false when there is no such tree. */
  updateTreeSpec(name: string, spec: TreeSpec): boolean {
    const at = this.now().toISOString();
    return this.guard(
      'updating a tree',
      () =>
        this.db
          .prepare('UPDATE trees SET kind = ?, spec = ?, updated = ? WHERE name = ?')
          .run(spec.kind, JSON.stringify(spec), at, name).changes > 0,
    );
  }

  /** A registered tree, or undefined. */
  getTree(name: string): TreeRecord | undefined {
    const row = this.guard(
      'reading a tree',
      () =>
        this.db.prepare('SELECT name, spec, created, updated FROM trees WHERE name = ?').get(name) as
          | TreeRow
          | undefined,
    );
    return row && treeFromRow(row);
  }

  /** Every registered tree, by name. */
  listTrees(): TreeRecord[] {
    const rows = this.guard(
      'listing trees',
      () => this.db.prepare('SELECT name, spec, created, updated FROM trees ORDER BY name').all() as TreeRow[],
    );
    return rows.map(treeFromRow);
  }

  /** Unregisters a tree and forgets its option choices; returns false when there was no such tree. */
  deleteTree(name: string): boolean {
    return this.transaction(() => {
      this.db.prepare('DELETE FROM options WHERE tree = ?').run(name);
      return this.db.prepare('DELETE FROM trees WHERE name = ?').run(name).changes > 0;
    });
  }

  // ---- option choices -----------------------------------------------------------------------------

  /** Every option choice stored for `tree`, ordered by origin then option. */
  getOptions(tree: string): OptionRow[] {
    const rows = this.guard(
      'reading option choices',
      () =>
        this.db
          .prepare('SELECT origin, option, value FROM options WHERE tree = ? ORDER BY origin, option')
          .all(tree) as { origin: string; option: string; value: number }[],
    );
    return rows.map((r) => ({ origin: r.origin, option: r.option, value: r.value === 1 }));
  }

  /** Stores choices for `tree` (insert or replace), all in one transaction. */
  setOptions(tree: string, rows: readonly OptionRow[]): void {
    this.transaction(() => {
      const st = this.db.prepare(
        'INSERT INTO options (tree, origin, option, value) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (tree, origin, option) DO UPDATE SET value = excluded.value',
      );
      for (const r of rows) st.run(tree, r.origin, r.option, r.value ? 1 : 0);
    });
  }

  /** Forgets one choice (the option falls back to its default); returns false when none was stored. */
  clearOption(tree: string, origin: string, option: string): boolean {
    return this.guard(
      'clearing an option choice',
      () =>
        this.db.prepare('DELETE FROM options WHERE tree = ? AND origin = ? AND option = ?').run(tree, origin, option)
          .changes > 0,
    );
  }

  // ---- jails ------------------------------------------------------------------------------------

  /** Registers or replaces a jail; `created` is kept from an earlier row, `updated` is now. */
  putJail(jail: JailInput): JailRecord {
    const at = this.now().toISOString();
    this.guard('saving a jail', () =>
      this.db
        .prepare(
          `INSERT INTO jails (name, release, arch, mirror, path, identity, manifest_hash, created, updated)
       VALUES (@name, @release, @arch, @mirror, @path, @identity, @manifestHash, @at, @at)
       ON CONFLICT (name) DO UPDATE SET release = excluded.release, arch = excluded.arch, mirror = excluded.mirror,
         path = excluded.path, identity = excluded.identity, manifest_hash = excluded.manifest_hash, updated = excluded.updated`,
        )
        .run({ ...jail, at }),
    );
    return this.getJail(jail.name)!;
  }

  /** A jail, or undefined. */
  getJail(name: string): JailRecord | undefined {
    const row = this.guard(
      'reading a jail',
      () => this.db.prepare('SELECT * FROM jails WHERE name = ?').get(name) as JailRow | undefined,
    );
    return row && jailFromRow(row);
  }

  /** Every jail, by name. */
  listJails(): JailRecord[] {
    return this.guard('listing jails', () =>
      (this.db.prepare('SELECT * FROM jails ORDER BY name').all() as JailRow[]).map(jailFromRow),
    );
  }

  /** Unregisters a jail; returns false when there was none. */
  deleteJail(name: string): boolean {
    return this.guard(
      'deleting a jail',
      () => this.db.prepare('DELETE FROM jails WHERE name = ?').run(name).changes > 0,
    );
  }

  /** Runs `fn`, turning any SQLite failure into KILN_E_STORE. */
  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw storeError(e, this.file, doing);
    }
  }
}

function treeFromRow(r: TreeRow): TreeRecord {
  return { name: r.name, spec: JSON.parse(r.spec) as TreeSpec, created: r.created, updated: r.updated };
}

function jailFromRow(r: JailRow): JailRecord {
  return {
    name: r.name,
    release: r.release,
    arch: r.arch,
    mirror: r.mirror,
    path: r.path,
    identity: r.identity,
    manifestHash: r.manifest_hash,
    created: r.created,
    updated: r.updated,
  };
}
