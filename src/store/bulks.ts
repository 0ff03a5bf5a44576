/**
 * Bulk state in the database: one row per bulk (also the (jail, tree) lock), one row per port of a bulk, and the
 * current package set per (jail, tree), which the next bulk's plan compares against. Reached as `store.bulks`.
 */
import type Database from 'better-sqlite3';

/** Status of a bulk. `crashed`: its process died without finishing (found by the lock check). */
export type BulkStatus = 'running' | 'done' | 'failed' | 'crashed' | 'cancelled';
/** Result of one port in a bulk. */
export type BuildResultKind = 'queued' | 'running' | 'built' | 'failed' | 'skipped' | 'kept' | 'deleted';

/** One bulk. */
export interface BulkRow {
  readonly id: number;
  readonly jail: string;
  readonly tree: string;
  readonly status: BulkStatus;
  readonly pid: number;
  readonly pidStart: string;
  readonly builders: number;
  /** What was asked (list, origins, flags), as given at the start. */
  readonly request: Record<string, unknown>;
  readonly started: string;
  readonly finished?: string;
  readonly counts?: Record<string, number>;
  readonly generation?: number;
}

/** One port's row in a bulk. Optional fields are absent until known. */
export interface BuildRow {
  readonly id: number;
  readonly bulkId: number;
  readonly origin: string;
  readonly result: BuildResultKind;
  readonly pkgname?: string;
  readonly version?: string;
  readonly arch?: string;
  readonly identity?: string;
  readonly components?: unknown;
  readonly reasons?: readonly string[];
  readonly phase?: string;
  readonly failure?: string;
  readonly reason?: string;
  readonly builder?: string;
  readonly started?: string;
  readonly finished?: string;
  readonly wallMs?: number;
  readonly cpuMs?: number;
  readonly phases?: unknown;
  readonly files?: readonly string[];
  readonly log?: string;
}

/** Fields of a {@link BuildRow} a caller may set. */
export type BuildUpdate = Partial<Omit<BuildRow, 'id' | 'bulkId' | 'origin'>>;

/** A package currently published for (jail, tree). */
export interface PackageRow {
  readonly jail: string;
  readonly tree: string;
  readonly origin: string;
  readonly pkgname: string;
  readonly version: string;
  readonly arch: string;
  readonly identity: string;
  readonly components: unknown;
  /** Package files, relative to `HOME/packages/JAIL-TREE`. */
  readonly files: readonly string[];
  readonly built: string;
  readonly durationS?: number;
  readonly abi?: string;
}

type Guard = <T>(doing: string, fn: () => T) => T;
type Row = Record<string, unknown>;

const JSON_BUILD = ['components', 'reasons', 'phases', 'files'] as const;
const BUILD_COLUMNS: Record<keyof BuildUpdate, string> = {
  result: 'result',
  pkgname: 'pkgname',
  version: 'version',
  arch: 'arch',
  identity: 'identity',
  components: 'components',
  reasons: 'reasons',
  phase: 'phase',
  failure: 'failure',
  reason: 'reason',
  builder: 'builder',
  started: 'started',
  finished: 'finished',
  wallMs: 'wall_ms',
  cpuMs: 'cpu_ms',
  phases: 'phases',
  files: 'files',
  log: 'log',
};

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as T;
}

function bulkFromRow(r: Row): BulkRow {
  return defined({
    id: r.id as number,
    jail: r.jail as string,
    tree: r.tree as string,
    status: r.status as BulkStatus,
    pid: r.pid as number,
    pidStart: r.pid_start as string,
    builders: r.builders as number,
    request: JSON.parse(r.request as string) as Record<string, unknown>,
    started: r.started as string,
    finished: r.finished as string | undefined,
    counts: r.counts ? (JSON.parse(r.counts as string) as Record<string, number>) : undefined,
    generation: r.generation as number | undefined,
  });
}

function buildFromRow(r: Row): BuildRow {
  const j = (k: string): unknown => (r[k] ? JSON.parse(r[k] as string) : undefined);
  return defined({
    id: r.id as number,
    bulkId: r.bulk_id as number,
    origin: r.origin as string,
    result: r.result as BuildResultKind,
    pkgname: r.pkgname as string,
    version: r.version as string,
    arch: r.arch as string,
    identity: r.identity as string,
    components: j('components'),
    reasons: j('reasons') as string[] | undefined,
    phase: r.phase as string,
    failure: r.failure as string,
    reason: r.reason as string,
    builder: r.builder as string,
    started: r.started as string,
    finished: r.finished as string,
    wallMs: r.wall_ms as number,
    cpuMs: r.cpu_ms as number,
    phases: j('phases'),
    files: j('files') as string[] | undefined,
    log: r.log as string,
  });
}

function packageFromRow(r: Row): PackageRow {
  return defined({
    jail: r.jail as string,
    tree: r.tree as string,
    origin: r.origin as string,
    pkgname: r.pkgname as string,
    version: r.version as string,
    arch: r.arch as string,
    identity: r.identity as string,
    components: JSON.parse(r.components as string) as unknown,
    files: JSON.parse(r.files as string) as string[],
    built: r.built as string,
    durationS: r.duration_s as number | undefined,
    abi: r.abi as string | undefined,
  });
}

/** Typed access to bulks, builds and packages. */
export class BulkRecords {
  /** @internal made by the Store. */
  constructor(
    private readonly db: Database.Database,
    private readonly guard: Guard,
    private readonly now: () => Date,
  ) {}

  /** Starts a bulk (status running) and returns it. */
  startBulk(b: {
    jail: string;
    tree: string;
    pid: number;
    pidStart: string;
    builders: number;
    request: Record<string, unknown>;
  }): BulkRow {
    const at = this.now().toISOString();
    const id = this.guard('starting a bulk', () =>
      Number(
        this.db
          .prepare(
            "INSERT INTO bulks (jail, tree, status, pid, pid_start, builders, request, started) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
          )
          .run(b.jail, b.tree, b.pid, b.pidStart, b.builders, JSON.stringify(b.request), at).lastInsertRowid,
      ),
    );
    return this.getBulk(id)!;
  }

  /** A bulk by id. */
  getBulk(id: number): BulkRow | undefined {
    const r = this.guard(
      'reading a bulk',
      () => this.db.prepare('SELECT * FROM bulks WHERE id = ?').get(id) as Row | undefined,
    );
    return r && bulkFromRow(r);
  }

  /** Bulks, newest first; optionally of one (jail, tree) pair. */
  listBulks(opts: { jail?: string; tree?: string; limit?: number } = {}): BulkRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.jail !== undefined) {
      where.push('jail = ?');
      args.push(opts.jail);
    }
    if (opts.tree !== undefined) {
      where.push('tree = ?');
      args.push(opts.tree);
    }
    const sql = `SELECT * FROM bulks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.guard('listing bulks', () =>
      (this.db.prepare(sql).all(...args, opts.limit ?? 100) as Row[]).map(bulkFromRow),
    );
  }

  /** Takes over a bulk for `--resume`: new owner process, status running again. */
  adoptBulk(id: number, pid: number, pidStart: string): void {
    this.guard('resuming a bulk', () =>
      this.db
        .prepare("UPDATE bulks SET pid = ?, pid_start = ?, status = 'running', finished = NULL WHERE id = ?")
        .run(pid, pidStart, id),
    );
  }

  /** Ends a bulk. */
  finishBulk(id: number, status: BulkStatus, counts?: Record<string, number>, generation?: number): void {
    this.guard('finishing a bulk', () =>
      this.db
        .prepare('UPDATE bulks SET status = ?, finished = ?, counts = ?, generation = ? WHERE id = ?')
        .run(status, this.now().toISOString(), counts ? JSON.stringify(counts) : null, generation ?? null, id),
    );
  }

  /** Creates or updates the row of `origin` in bulk `bulkId` (only the fields given change). */
  setBuild(bulkId: number, origin: string, u: BuildUpdate): void {
    const keys = (Object.keys(u) as (keyof BuildUpdate)[]).filter((k) => u[k] !== undefined && k !== 'result');
    const cols = keys.map((k) => BUILD_COLUMNS[k]);
    const vals = keys.map((k) => ((JSON_BUILD as readonly string[]).includes(k) ? JSON.stringify(u[k]) : u[k]));
    const sets = [...(u.result !== undefined ? ['result'] : []), ...cols].map((c) => `${c} = excluded.${c}`);
    const sql = `INSERT INTO builds (bulk_id, origin, result${cols.map((c) => `, ${c}`).join('')})
      VALUES (?, ?, ?${cols.map(() => ', ?').join('')})
      ON CONFLICT (bulk_id, origin) DO ${sets.length ? `UPDATE SET ${sets.join(', ')}` : 'NOTHING'}`;
    this.guard('recording a build', () => this.db.prepare(sql).run(bulkId, origin, u.result ?? 'queued', ...vals));
  }

  /** Every port's row of a bulk, in id order. */
  builds(bulkId: number): BuildRow[] {
    return this.guard('reading builds', () =>
      (this.db.prepare('SELECT * FROM builds WHERE bulk_id = ? ORDER BY id').all(bulkId) as Row[]).map(buildFromRow),
    );
  }

  /** A port's rows across bulks, newest first. */
  history(origin: string, limit = 50): BuildRow[] {
    return this.guard('reading build history', () =>
      (
        this.db.prepare('SELECT * FROM builds WHERE origin = ? ORDER BY id DESC LIMIT ?').all(origin, limit) as Row[]
      ).map(buildFromRow),
    );
  }

  /** Learned durations: seconds of each origin's latest successful build (any bulk). */
  learnedDurations(): Map<string, number> {
    const rows = this.guard(
      'reading durations',
      () =>
        this.db
          .prepare(
            `SELECT origin, wall_ms FROM builds WHERE id IN (SELECT MAX(id) FROM builds WHERE result = 'built' AND wall_ms IS NOT NULL GROUP BY origin)`,
          )
          .all() as { origin: string; wall_ms: number }[],
    );
    return new Map(rows.map((r) => [r.origin, r.wall_ms / 1000]));
  }

  /** The packages currently published for (jail, tree). */
  packages(jail: string, tree: string): PackageRow[] {
    return this.guard('reading packages', () =>
      (
        this.db.prepare('SELECT * FROM packages WHERE jail = ? AND tree = ? ORDER BY origin').all(jail, tree) as Row[]
      ).map(packageFromRow),
    );
  }

  /** Replaces the package set of (jail, tree) in one transaction (what a publish made current). */
  replacePackages(jail: string, tree: string, rows: readonly Omit<PackageRow, 'jail' | 'tree'>[]): void {
    this.guard('saving packages', () =>
      this.db
        .transaction(() => {
          this.db.prepare('DELETE FROM packages WHERE jail = ? AND tree = ?').run(jail, tree);
          const ins =
            this.db.prepare(`INSERT INTO packages (jail, tree, origin, pkgname, version, arch, identity, components, files, built, duration_s, abi)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
          for (const p of rows) {
            ins.run(
              jail,
              tree,
              p.origin,
              p.pkgname,
              p.version,
              p.arch,
              p.identity,
              JSON.stringify(p.components),
              JSON.stringify(p.files),
              p.built,
              p.durationS ?? null,
              p.abi ?? null,
            );
          }
        })
        .immediate(),
    );
  }
}
