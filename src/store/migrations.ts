/**
 * The schema of `HOME/kiln.db`, as an ordered list of migrations keyed by `PRAGMA user_version`.
 * Migration `n` (1-based) moves the database from version `n-1` to `n`. Append new migrations at the end
 * (builds, bulks, events...); never edit or reorder one that has shipped.
 */

/** One schema step. */
export interface Migration {
  /** The `user_version` the database has after this step (its 1-based position in the list). */
  readonly version: number;
  /** What it adds, for logs. */
  readonly name: string;
  /** SQL run inside one transaction. */
  readonly sql: string;
}

/** Every migration, in order. Later issues append here. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'trees, option choices, jails',
    sql: `
      CREATE TABLE trees (
        name    TEXT PRIMARY KEY,
        kind    TEXT NOT NULL CHECK (kind IN ('path', 'git', 'overlay')),
        spec    TEXT NOT NULL,          -- JSON, see TreeSpec
        created TEXT NOT NULL,          -- ISO 8601
        updated TEXT NOT NULL
      ) STRICT;
      CREATE TABLE options (
        tree   TEXT NOT NULL,
        origin TEXT NOT NULL,
        option TEXT NOT NULL,
        value  INTEGER NOT NULL CHECK (value IN (0, 1)),
        PRIMARY KEY (tree, origin, option)
      ) STRICT;
      CREATE TABLE jails (
        name          TEXT PRIMARY KEY,
        release       TEXT NOT NULL,
        arch          TEXT NOT NULL,
        mirror        TEXT NOT NULL,
        path          TEXT NOT NULL,
        identity      TEXT NOT NULL,
        manifest_hash TEXT NOT NULL,
        created       TEXT NOT NULL,
        updated       TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'bulks, builds, packages',
    sql: `
      CREATE TABLE bulks (
        id         INTEGER PRIMARY KEY,
        jail       TEXT NOT NULL,
        tree       TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'crashed', 'cancelled')),
        pid        INTEGER NOT NULL,       -- the bulk's process, for the (jail, tree) lock
        pid_start  TEXT NOT NULL,          -- its start time, so a reused pid is not taken for it
        builders   INTEGER NOT NULL,
        request    TEXT NOT NULL,          -- JSON: what was asked (list, origins, flags)
        started    TEXT NOT NULL,
        finished   TEXT,
        counts     TEXT,                   -- JSON: built, failed, skipped, kept, deleted
        generation INTEGER                 -- repository generation published by it
      ) STRICT;
      CREATE INDEX bulks_pair ON bulks (jail, tree, id);
      CREATE TABLE builds (
        id         INTEGER PRIMARY KEY,
        bulk_id    INTEGER NOT NULL REFERENCES bulks (id) ON DELETE CASCADE,
        origin     TEXT NOT NULL,
        result     TEXT NOT NULL CHECK (result IN ('queued', 'running', 'built', 'failed', 'skipped', 'kept', 'deleted')),
        pkgname    TEXT,
        version    TEXT,
        arch       TEXT,
        identity   TEXT,
        components TEXT,                   -- JSON: what the identity was computed from
        reasons    TEXT,                   -- JSON array: why it was (re)built, kept or deleted
        phase      TEXT,                   -- the phase a failure died in (or the running phase)
        failure    TEXT,                   -- kind of failure
        reason     TEXT,                   -- one line: why it failed or was skipped
        builder    TEXT,
        started    TEXT,
        finished   TEXT,
        wall_ms    INTEGER,
        cpu_ms     INTEGER,
        phases     TEXT,                   -- JSON: [{name, wallMs, ok}]
        files      TEXT,                   -- JSON: package files, relative to HOME/packages/JAIL-TREE
        log        TEXT,                   -- log file, relative to HOME/logs
        UNIQUE (bulk_id, origin)
      ) STRICT;
      CREATE INDEX builds_origin ON builds (origin, result, id);
      CREATE TABLE packages (
        jail       TEXT NOT NULL,
        tree       TEXT NOT NULL,
        origin     TEXT NOT NULL,
        pkgname    TEXT NOT NULL,
        version    TEXT NOT NULL,
        arch       TEXT NOT NULL,
        identity   TEXT NOT NULL,
        components TEXT NOT NULL,          -- JSON IdentityComponents
        files      TEXT NOT NULL,          -- JSON: relative to HOME/packages/JAIL-TREE
        built      TEXT NOT NULL,
        duration_s REAL,
        abi        TEXT,
        PRIMARY KEY (jail, tree, origin)
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: "trees of kind debian (a release of Debian's source archive)",
    sql: `
      CREATE TABLE trees_new (
        name    TEXT PRIMARY KEY,
        kind    TEXT NOT NULL CHECK (kind IN ('path', 'git', 'overlay', 'debian')),
        spec    TEXT NOT NULL,          -- JSON, see TreeSpec
        created TEXT NOT NULL,          -- ISO 8601
        updated TEXT NOT NULL
      ) STRICT;
      INSERT INTO trees_new SELECT name, kind, spec, created, updated FROM trees;
      DROP TABLE trees;
      ALTER TABLE trees_new RENAME TO trees;
    `,
  },
];
