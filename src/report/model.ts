/**
 * Reading a bulk for people: its state (rows + journal), and the end-of-bulk report (`report.json`), which the
 * HTML report, the post-bulk hooks and the web page's past bulks all use.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BulkCounts } from '../bulk/index.js';
import { ownerAlive } from '../bulk/index.js';
import type { BulkRow, Store } from '../store/index.js';
import { applyEvent, initialState, type BulkState } from './state.js';
import { readJournal } from './journal.js';
import { readQaReport } from '../qa/index.js';

/** A bulk's status as shown: a running bulk whose process is gone is `crashed`. */
export function shownStatus(b: Pick<BulkRow, 'status' | 'pid' | 'pidStart'>): string {
  return b.status === 'running' && !ownerAlive(b) ? 'crashed' : b.status;
}

/** The state of bulk `id` now (rows first, then the journal folded on top); undefined when there is no such bulk. */
export function loadBulkState(store: Store, home: string, id: number): BulkState | undefined {
  const bulk = store.bulks.getBulk(id);
  if (!bulk) return undefined;
  const s = initialState(bulk, store.bulks.builds(id));
  for (const e of readJournal(home, id)) applyEvent(s, e);
  s.status = shownStatus({ ...bulk, status: s.status === 'running' ? bulk.status : s.status } as BulkRow);
  return s;
}

/** Format version of report.json. */
export const REPORT_VERSION = 1;

/** The end-of-bulk report (`report.json`). */
export interface BulkReport {
  readonly kilnReport: number;
  readonly bulk: {
    readonly id: number;
    readonly jail: string;
    readonly tree: string;
    readonly status: string;
    readonly builders: number;
    readonly started: string;
    readonly finished?: string;
    readonly wallS: number;
    readonly generation?: number;
  };
  readonly counts: BulkCounts;
  /** Ports built per hour of wall time. */
  readonly throughputPerHour: number;
  readonly built: readonly { origin: string; version?: string; wallS?: number; reasons?: string[]; log?: string }[];
  readonly failed: readonly {
    origin: string;
    phase?: string;
    failure?: string;
    reason?: string;
    wallS?: number;
    log?: string;
  }[];
  readonly skipped: readonly { origin: string; reason?: string }[];
  readonly kept: readonly { origin: string; reasons?: string[] }[];
  readonly deleted: readonly { origin: string; reasons?: string[] }[];
  /** Failures that blocked the most other ports. */
  readonly offenders: readonly { origin: string; blocked: number }[];
  /** The QA phase's results per port (`kiln bulk -t`), when any port ran it. */
  readonly qa?: readonly PortQa[];
}

/** One port's QA in the report: lintian tags by severity, new errors, the install test. */
export interface PortQa {
  readonly origin: string;
  readonly ok: boolean;
  readonly reason?: string;
  /** lintian tags per severity (`{E: 2, W: 1}`). */
  readonly lintian: Record<string, number>;
  /** E: tags the baseline does not have. */
  readonly newErrors: readonly string[];
  readonly install: {
    readonly ok: boolean;
    readonly leftovers: number;
    readonly missing: number;
    readonly reason?: string;
  };
  /** A Debian port's autopkgtest outcomes counted (`{pass: 2, fail: 1, skip: 1}`). */
  readonly autopkgtest?: Record<string, number>;
}

/** The QA of each port of `s` that has a QA report beside its log (`HOME/logs/BULK/ORIGIN.qa.json`). */
export function qaOf(home: string, s: BulkState): PortQa[] {
  const out: PortQa[] = [];
  for (const p of [...s.ports.values()].sort((a, b) => a.origin.localeCompare(b.origin))) {
    if (!p.log || (p.result !== 'built' && p.result !== 'failed')) continue;
    const q = readQaReport(path.join(home, 'logs', p.log));
    if (!q) continue;
    out.push(
      clean({
        origin: p.origin,
        ok: q.ok,
        reason: q.reason,
        lintian: q.lintian.counts,
        newErrors: q.lintian.newErrors,
        install: clean({
          ok: q.install.ok,
          leftovers: q.install.leftovers.length,
          missing: q.install.missing.length,
          reason: q.install.reason,
        }),
        autopkgtest: q.autopkgtest?.counts,
      }),
    );
  }
  return out;
}

/** A copy of `o` without its undefined fields (so JSON and goldens stay stable). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The report of a bulk's state (with `home`, each port's QA results too). */
export function reportOf(s: BulkState, home?: string): BulkReport {
  const qa = home !== undefined ? qaOf(home, s) : [];
  const ports = [...s.ports.values()];
  const of = (r: string) => ports.filter((p) => p.result === r).sort((a, b) => a.origin.localeCompare(b.origin));
  const wallS = s.elapsedS;
  return {
    kilnReport: REPORT_VERSION,
    bulk: {
      id: s.id,
      jail: s.jail,
      tree: s.tree,
      status: s.status,
      builders: s.builders,
      started: s.started,
      ...(s.finished ? { finished: s.finished } : {}),
      wallS,
      ...(s.generation !== undefined ? { generation: s.generation } : {}),
    },
    counts: s.counts,
    throughputPerHour: wallS > 0 ? Math.round((s.counts.built / wallS) * 3600 * 10) / 10 : 0,
    built: of('built').map((p) =>
      clean({ origin: p.origin, version: p.version, wallS: p.wallS, reasons: p.reasons, log: p.log }),
    ),
    failed: of('failed').map((p) =>
      clean({ origin: p.origin, phase: p.phase, failure: p.failure, reason: p.reason, wallS: p.wallS, log: p.log }),
    ),
    skipped: of('skipped').map((p) => clean({ origin: p.origin, reason: p.reason })),
    kept: of('kept').map((p) => clean({ origin: p.origin, reasons: p.reasons })),
    deleted: of('deleted').map((p) => clean({ origin: p.origin, reasons: p.reasons })),
    offenders: s.offenders,
    ...(qa.length > 0 ? { qa } : {}),
  };
}

/** Folder of a bulk's logs (and its reports). */
export function bulkLogDir(home: string, bulkId: number): string {
  return path.join(home, 'logs', String(bulkId));
}

/** The written report.json of a bulk, if any. */
export function readReport(home: string, bulkId: number): BulkReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(bulkLogDir(home, bulkId), 'report.json'), 'utf8')) as BulkReport;
  } catch {
    return undefined;
  }
}
