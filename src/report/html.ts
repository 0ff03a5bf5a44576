/**
 * `report.html`: one standalone page (inline CSS, no script, no server needed) with a bulk's counts, its failures
 * with the phase they died in and a link to each log (relative, so the folder can be copied as is), what was
 * skipped and why, what was built, kept and deleted.
 */
import type { BulkReport } from './model.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `1h 02m`, `3m 05s`, `12.3s`. */
export function formatSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

const CSS = `
:root{--bg:#fbfaf7;--fg:#222;--mute:#6b6b6b;--ok:#1f7a3d;--bad:#b3261e;--warn:#9a6700;--line:#e4e1da;--card:#fff}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg);margin:0;padding:24px 32px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:var(--mute)}
.counts{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.count{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:84px}
.count b{display:block;font-size:22px}
.built b{color:var(--ok)}.failed b{color:var(--bad)}.skipped b{color:var(--warn)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;background:#f3f1ec}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12.5px ui-monospace,Menlo,Consolas,monospace}
.status{display:inline-block;border-radius:10px;padding:1px 9px;font-weight:600;color:#fff;background:var(--mute)}
.status.done{background:var(--ok)}.status.failed{background:var(--bad)}
`;

function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number> = new Set(),
): string {
  if (rows.length === 0) return '<p class="meta">none</p>';
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/** The log's link relative to the report (both live in HOME/logs/BULK). */
function logLink(log: string | undefined, bulkId: number): string {
  if (!log) return '';
  const rel = log.startsWith(`${bulkId}/`) ? log.slice(String(bulkId).length + 1) : `../${log}`;
  return `<a href="${escapeHtml(encodeURI(rel))}">log</a>`;
}

/** Renders report.html from a report. Pure: the same report gives the same bytes. */
export function renderReportHtml(r: BulkReport): string {
  const b = r.bulk;
  const e = escapeHtml;
  const c = r.counts;
  const counts = (['built', 'failed', 'skipped', 'kept', 'deleted'] as const)
    .map((k) => `<div class="count ${k}"><b>${c[k]}</b>${k}</div>`)
    .join('');
  const sections = [
    `<h2>Failed (${r.failed.length})</h2>`,
    table(
      ['port', 'phase', 'kind', 'reason', 'time', ''],
      r.failed.map((f) => [
        `<code>${e(f.origin)}</code>`,
        e(f.phase ?? ''),
        e(f.failure ?? ''),
        e(f.reason ?? ''),
        formatSeconds(f.wallS),
        logLink(f.log, b.id),
      ]),
      new Set([4]),
    ),
    ...(r.offenders.length > 0
      ? [
          `<h2>Most offending failures</h2>`,
          table(
            ['port', 'ports blocked'],
            r.offenders.map((o) => [`<code>${e(o.origin)}</code>`, String(o.blocked)]),
            new Set([1]),
          ),
        ]
      : []),
    `<h2>Skipped (${r.skipped.length})</h2>`,
    table(
      ['port', 'why'],
      r.skipped.map((s) => [`<code>${e(s.origin)}</code>`, e(s.reason ?? '')]),
    ),
    `<h2>Built (${r.built.length})</h2>`,
    table(
      ['port', 'version', 'time', 'why', ''],
      r.built.map((p) => [
        `<code>${e(p.origin)}</code>`,
        e(p.version ?? ''),
        formatSeconds(p.wallS),
        e((p.reasons ?? []).join('; ')),
        logLink(p.log, b.id),
      ]),
      new Set([2]),
    ),
    ...(r.qa && r.qa.length > 0
      ? [
          `<h2>QA (${r.qa.length})</h2>`,
          table(
            ['port', 'lintian', 'new errors', 'install test', 'QA'],
            r.qa.map((q) => [
              `<code>${e(q.origin)}</code>`,
              e(
                Object.entries(q.lintian)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(' · ') || 'clean',
              ),
              e(q.newErrors.join(', ')),
              e(
                q.install.ok
                  ? `passed${q.install.leftovers ? `, ${q.install.leftovers} left after purge` : ''}`
                  : `failed: ${q.install.reason ?? ''}`,
              ) +
                (q.autopkgtest
                  ? e(
                      `; autopkgtest ${
                        Object.entries(q.autopkgtest)
                          .map(([k, v]) => `${k} ${v}`)
                          .join(' · ') || 'none'
                      }`,
                    )
                  : ''),
              q.ok ? 'ok' : `<b>failed</b>: ${e(q.reason ?? '')}`,
            ]),
          ),
        ]
      : []),
    `<h2>Kept (${r.kept.length})</h2>`,
    table(
      ['port'],
      r.kept.map((p) => [`<code>${e(p.origin)}</code>`]),
    ),
    `<h2>Deleted (${r.deleted.length})</h2>`,
    table(
      ['port', 'why'],
      r.deleted.map((p) => [`<code>${e(p.origin)}</code>`, e((p.reasons ?? []).join('; '))]),
    ),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>kiln bulk ${b.id}: ${e(b.jail)}-${e(b.tree)} ${e(b.status)}</title>
<style>${CSS}</style></head>
<body>
<h1>kiln bulk ${b.id} <span class="status ${e(b.status)}">${e(b.status)}</span></h1>
<div class="meta">jail <b>${e(b.jail)}</b> · tree <b>${e(b.tree)}</b> · ${b.builders} builder${b.builders === 1 ? '' : 's'} · started ${e(b.started)}${b.finished ? ` · finished ${e(b.finished)}` : ''} · ${formatSeconds(b.wallS)}${b.generation !== undefined ? ` · repository generation ${b.generation}` : ''} · ${r.counts.built > 0 ? `${r.throughputPerHour} ports/hour` : 'no port built'}</div>
<div class="counts">${counts}</div>
${sections.join('\n')}
</body></html>
`;
}
