/**
 * Writing a bulk's reports beside its logs (`HOME/logs/BULK/report.json` and `report.html`), each atomically
 * (temporary file, then rename), and the optional post-bulk hooks of kiln.yaml.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { run } from '../util/exec.js';
import { openStore } from '../store/index.js';
import { bulkLogDir, loadBulkState, reportOf, type BulkReport } from './model.js';
import { renderReportHtml } from './html.js';

/** Where {@link writeReports} wrote. */
export interface WrittenReports {
  readonly json: string;
  readonly html: string;
  readonly report: BulkReport;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Writes `report.json` and `report.html` of bulk `bulkId` into `HOME/logs/BULK/`. Call it once the bulk ended (the
 * bulk runner does); calling it earlier writes the state so far. Throws KILN_E_USAGE for an unknown bulk.
 */
export function writeReports(home: string, bulkId: number): WrittenReports {
  const store = openStore(home);
  let report: BulkReport;
  try {
    const s = loadBulkState(store, home, bulkId);
    if (!s)
      throw new KilnError('KILN_E_USAGE', `no bulk ${bulkId}`, { hint: 'see `kiln status` for the list', exitCode: 2 });
    report = reportOf(s, home);
  } finally {
    store.close();
  }
  const dir = bulkLogDir(home, bulkId);
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  const html = path.join(dir, 'report.html');
  writeAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  writeAtomic(html, renderReportHtml(report));
  return { json, html, report };
}

/** kiln.yaml's `hooks.post_bulk`. */
export interface PostBulkHooks {
  /** Shell commands, run with `sh -c` one after the other. */
  readonly commands: readonly string[];
  /** URLs that receive report.json by POST. */
  readonly urls: readonly string[];
}

/** What one hook did. */
export interface HookResult {
  readonly kind: 'command' | 'url';
  readonly target: string;
  readonly ok: boolean;
  /** Exit status, HTTP status or the error. */
  readonly detail: string;
}

/** Options of {@link runHooks}. */
export interface RunHooksOptions {
  readonly home: string;
  readonly bulkId: number;
  readonly hooks: PostBulkHooks;
  /** Per hook, ms (default 10 minutes for commands, 30 s for URLs). */
  readonly timeoutMs?: number;
}

/**
 * Runs the post-bulk hooks after {@link writeReports}: each command gets `KILN_HOME`, `KILN_BULK`,
 * `KILN_BULK_STATUS`, `KILN_REPORT_JSON` and `KILN_REPORT_HTML` in its environment; each URL gets report.json by
 * POST (`content-type: application/json`). Never throws: a failing hook is reported in its result and the others
 * still run.
 */
export async function runHooks(o: RunHooksOptions): Promise<HookResult[]> {
  const dir = bulkLogDir(o.home, o.bulkId);
  const jsonFile = path.join(dir, 'report.json');
  let body: string;
  try {
    if (!fs.existsSync(jsonFile)) writeReports(o.home, o.bulkId);
    body = fs.readFileSync(jsonFile, 'utf8');
  } catch {
    body = JSON.stringify({ bulk: { id: o.bulkId } });
  }
  let status = '';
  try {
    status = (JSON.parse(body) as BulkReport).bulk.status;
  } catch {
    /* an unreadable report: hooks still run */
  }
  const out: HookResult[] = [];
  for (const cmd of o.hooks.commands) {
    try {
      const r = await run('/bin/sh', ['-c', cmd], {
        cwd: o.home,
        allowFailure: true,
        timeoutMs: o.timeoutMs ?? 600_000,
        env: {
          ...process.env,
          KILN_HOME: o.home,
          KILN_BULK: String(o.bulkId),
          KILN_BULK_STATUS: status,
          KILN_REPORT_JSON: jsonFile,
          KILN_REPORT_HTML: path.join(dir, 'report.html'),
        },
      });
      out.push({
        kind: 'command',
        target: cmd,
        ok: r.status === 0,
        detail: `exit ${r.status}${r.stderr ? `: ${r.stderr.trim().split('\n').slice(-1)[0]}` : ''}`,
      });
    } catch (e) {
      out.push({ kind: 'command', target: cmd, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  for (const url of o.hooks.urls) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      await res.arrayBuffer();
      out.push({ kind: 'url', target: url, ok: res.ok, detail: `HTTP ${res.status}` });
    } catch (e) {
      out.push({ kind: 'url', target: url, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
