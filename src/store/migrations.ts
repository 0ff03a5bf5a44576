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
  // Next: builds, bulks, ... (version 2, 3, ...)
];
