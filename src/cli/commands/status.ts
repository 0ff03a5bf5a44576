/** `kiln status [BULK] [--json]` and `kiln logs BULK ORIGIN`: what bulks did, read from the state database. */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, UsageError } from '../../util/errors.js';
import { openStore, type BulkRow, type BuildRow } from '../../store/index.js';
import { formatDuration, ownerAlive, type BulkEvent } from '../../bulk/index.js';
import { loadBulkState } from '../../report/index.js';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { suggestion } from '../suggest.js';

function bulkId(s: string | undefined, cmd: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(s))
    throw new UsageError(`kiln ${cmd}: BULK must be a bulk number (see \`kiln status\`), not "${s}"`);
  return Number(s);
}

/** A running bulk whose process is gone is shown as crashed (`kiln bulk --resume` continues it). */
function shownStatus(b: BulkRow): string {
  return b.status === 'running' && !ownerAlive(b) ? 'crashed' : b.status;
}

/**
 * The failures that blocked most ports (pbulk's "most offending"), from the bulk's events journal: the final
 * `bulk-done` event's list, else (a running or crashed bulk) the `port-skipped` events since the last start.
 */
function offenders(home: string, id: number): { origin: string; blocked: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(home, 'logs', String(id), 'events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const blocked = new Map<string, number>();
  let last: { origin: string; blocked: number }[] | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let e: BulkEvent;
    try {
      e = JSON.parse(line) as BulkEvent;
    } catch {
      continue;
    }
    if (e.type === 'bulk-start') {
      blocked.clear();
      last = undefined;
    }
    if (e.type === 'port-skipped') blocked.set(e.because, (blocked.get(e.because) ?? 0) + 1);
    if (e.type === 'bulk-done') last = [...e.offenders];
  }
  return (
    last ??
    [...blocked]
      .map(([origin, n]) => ({ origin, blocked: n }))
      .sort((a, b) => b.blocked - a.blocked || (a.origin < b.origin ? -1 : 1))
      .slice(0, 10)
  );
}

/** Counts of a bulk: the recorded ones when it ended, else counted from its rows (a running bulk). */
function countsOf(b: BulkRow, builds: readonly BuildRow[]): Record<string, number> {
  if (b.counts) return b.counts;
  const n = (r: string): number => builds.filter((x) => x.result === r).length;
  return {
    built: n('built'),
    failed: n('failed'),
    skipped: n('skipped'),
    kept: n('kept'),
    deleted: n('deleted'),
    remaining: n('queued') + n('running'),
  };
}

/** Handler of `kiln status`. */
export async function statusCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('status', argv, {});
  if (values.help) {
    ctx.out('usage: kiln status [BULK] [--json]');
    return 0;
  }
  const id = bulkId(positionals[0], 'status');
  const store = openStore(ctx.home);
  try {
    if (id === undefined) {
      const bulks = store.bulks.listBulks({ limit: 50 });
      if (values.json) {
        ctx.out(JSON.stringify(bulks.map((b) => ({ ...b, status: shownStatus(b) }))));
        return 0;
      }
      if (bulks.length === 0) {
        ctx.out('no bulks yet');
        return 0;
      }
      for (const b of bulks) {
        const c = b.counts
          ? ` built ${b.counts.built ?? 0} failed ${b.counts.failed ?? 0} skipped ${b.counts.skipped ?? 0} kept ${b.counts.kept ?? 0}`
          : '';
        ctx.out(`${String(b.id).padStart(4)}  ${shownStatus(b).padEnd(9)} ${b.jail}-${b.tree}  ${b.started}${c}`);
      }
      return 0;
    }
    const bulk = store.bulks.getBulk(id);
    if (!bulk)
      throw new KilnError('KILN_E_USAGE', `no bulk ${id}`, { hint: 'see `kiln status` for the list', exitCode: 2 });
    const builds = store.bulks.builds(id);
    const counts = countsOf(bulk, builds);
    const worst = offenders(ctx.home, id);
    if (values.json) {
      ctx.out(JSON.stringify({ bulk: { ...bulk, status: shownStatus(bulk), counts }, builds, offenders: worst }));
      return 0;
    }
    ctx.out(
      `bulk ${bulk.id}: ${shownStatus(bulk)}, jail ${bulk.jail}, tree ${bulk.tree}, started ${bulk.started}${bulk.finished ? `, finished ${bulk.finished}` : ''}`,
    );
    ctx.out(
      `  built ${counts.built ?? 0}, failed ${counts.failed ?? 0}, skipped ${counts.skipped ?? 0}, kept ${counts.kept ?? 0}, deleted ${counts.deleted ?? 0}${counts.remaining ? `, remaining ${counts.remaining}` : ''}`,
    );
    if (shownStatus(bulk) === 'running') ctx.out(runningLine(store, ctx.home, id));
    for (const b of builds) ctx.out(buildLine(b));
    if (worst.length > 0)
      ctx.out(`  most offending: ${worst.map((o) => `${o.origin} (blocked ${o.blocked})`).join(', ')}`);
    return 0;
  } finally {
    store.close();
  }
}

/** A running bulk as the page shows it: elapsed time, the ETA (counted down since the last estimate), what builds. */
function runningLine(store: Parameters<typeof loadBulkState>[0], home: string, id: number, now = Date.now()): string {
  const s = loadBulkState(store, home, id);
  if (!s) return '';
  const elapsed = Math.max(0, (now - Date.parse(s.started)) / 1000);
  const eta = s.etaS === null ? 'unknown' : formatDuration(Math.max(0, s.etaS - Math.max(0, now - s.lastT) / 1000));
  const busy = [...s.ports.values()]
    .filter((p) => p.result === 'running')
    .map(
      (p) =>
        `${p.origin}${p.phase ? ` (${p.phase}${p.startedT ? `, ${formatDuration((now - p.startedT) / 1000)}` : ''})` : ''}`,
    );
  return `  elapsed ${formatDuration(elapsed)}, ETA ${eta}; building: ${busy.join(', ') || 'nothing right now'}`;
}

function buildLine(b: BuildRow): string {
  const secs = b.wallMs !== undefined ? ` ${(b.wallMs / 1000).toFixed(1)}s` : '';
  const why =
    b.result === 'failed'
      ? ` phase ${b.phase ?? '?'}: ${b.reason ?? ''}`
      : b.result === 'skipped'
        ? ` ${b.reason ?? ''}`
        : b.reasons && b.reasons.length > 0
          ? ` (${b.reasons.join('; ')})`
          : '';
  return `  ${b.result.padEnd(8)} ${b.origin}${b.version ? ` ${b.version}` : ''}${secs}${why}`;
}

/** Handler of `kiln logs [-f] BULK ORIGIN`: prints the port's build log of that bulk; `-f` follows a running build. */
export async function logsCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('logs', argv, {
    follow: { type: 'boolean', short: 'f', default: false },
  });
  if (values.help || positionals.length !== 2) {
    if (values.help) {
      ctx.out('usage: kiln logs [-f] BULK ORIGIN   (-f: follow a running build until it ends)');
      return 0;
    }
    throw new UsageError('kiln logs: give BULK and ORIGIN', 'usage: kiln logs [-f] BULK ORIGIN');
  }
  const id = bulkId(positionals[0], 'logs')!;
  const origin = positionals[1]!;
  const store = openStore(ctx.home);
  try {
    const rowOf = (): BuildRow | undefined => store.bulks.builds(id).find((b) => b.origin === origin);
    const bulk = store.bulks.getBulk(id);
    const row = rowOf();
    if (!bulk || !row) {
      const known = bulk ? store.bulks.builds(id).map((b) => b.origin) : [];
      throw new KilnError(
        'KILN_E_PORT_NOT_FOUND',
        bulk ? `bulk ${id} has no port ${origin}${suggestion(origin, known)}` : `no bulk ${id}`,
        { hint: `see \`kiln status${bulk ? ` ${id}` : ''}\``, exitCode: 2 },
      );
    }
    const live = (): boolean => {
      const r = rowOf();
      const b = store.bulks.getBulk(id);
      return !!b && shownStatus(b) === 'running' && (r?.result === 'queued' || r?.result === 'running');
    };
    if (!values.follow || !live()) {
      if (!row.log)
        throw new KilnError('KILN_E_PORT_NOT_FOUND', `bulk ${id} has no log for ${origin}`, {
          hint: `see \`kiln status ${id}\``,
          exitCode: 2,
        });
      ctx.out(fs.readFileSync(path.join(ctx.home, 'logs', row.log), 'utf8'));
      return 0;
    }
    // Follow: print what is there, then what is appended, until the build ends (or its bulk dies).
    let offset = 0;
    let partial = '';
    const drain = (): void => {
      const rel = rowOf()?.log;
      if (!rel) return;
      let fd: number;
      try {
        fd = fs.openSync(path.join(ctx.home, 'logs', rel), 'r');
      } catch {
        return;
      }
      try {
        const buf = Buffer.alloc(1 << 16);
        for (
          let n = fs.readSync(fd, buf, 0, buf.length, offset);
          n > 0;
          n = fs.readSync(fd, buf, 0, buf.length, offset)
        ) {
          offset += n;
          const text = partial + buf.subarray(0, n).toString('utf8');
          const cut = text.lastIndexOf('\n') + 1;
          if (cut > 0) ctx.out(text.slice(0, cut - 1));
          partial = text.slice(cut);
        }
      } finally {
        fs.closeSync(fd);
      }
    };
    for (;;) {
      const going = live();
      drain();
      if (!going) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    if (partial) ctx.out(partial);
    return 0;
  } finally {
    store.close();
  }
}
