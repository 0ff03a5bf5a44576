/** `kiln status [BULK] [--json]` and `kiln logs BULK ORIGIN`: what bulks did, read from the state database. */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, UsageError } from '../../util/errors.js';
import { openStore, type BulkRow, type BuildRow } from '../../store/index.js';
import { ownerAlive } from '../../bulk/index.js';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';

function bulkId(s: string | undefined, cmd: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(s)) throw new UsageError(`kiln ${cmd}: BULK must be a bulk number (see \`kiln status\`), not "${s}"`);
  return Number(s);
}

/** A running bulk whose process is gone is shown as crashed (`kiln bulk --resume` continues it). */
function shownStatus(b: BulkRow): string {
  return b.status === 'running' && !ownerAlive(b) ? 'crashed' : b.status;
}

/** Handler of `kiln status`. */
export async function statusCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('status', argv, {});
  if (values.help) { ctx.out('usage: kiln status [BULK] [--json]'); return 0; }
  const id = bulkId(positionals[0], 'status');
  const store = openStore(ctx.home);
  try {
    if (id === undefined) {
      const bulks = store.bulks.listBulks({ limit: 50 });
      if (values.json) { ctx.out(JSON.stringify(bulks.map((b) => ({ ...b, status: shownStatus(b) })))); return 0; }
      if (bulks.length === 0) { ctx.out('no bulks yet'); return 0; }
      for (const b of bulks) {
        const c = b.counts ? ` built ${b.counts.built ?? 0} failed ${b.counts.failed ?? 0} skipped ${b.counts.skipped ?? 0} kept ${b.counts.kept ?? 0}` : '';
        ctx.out(`${String(b.id).padStart(4)}  ${shownStatus(b).padEnd(9)} ${b.jail}-${b.tree}  ${b.started}${c}`);
      }
      return 0;
    }
    const bulk = store.bulks.getBulk(id);
    if (!bulk) throw new KilnError('KILN_E_USAGE', `no bulk ${id}`, { hint: 'see `kiln status` for the list', exitCode: 2 });
    const builds = store.bulks.builds(id);
    if (values.json) { ctx.out(JSON.stringify({ bulk: { ...bulk, status: shownStatus(bulk) }, builds })); return 0; }
    ctx.out(`bulk ${bulk.id}: ${shownStatus(bulk)}, jail ${bulk.jail}, tree ${bulk.tree}, started ${bulk.started}${bulk.finished ? `, finished ${bulk.finished}` : ''}`);
    for (const b of builds) ctx.out(buildLine(b));
    return 0;
  } finally { store.close(); }
}

function buildLine(b: BuildRow): string {
  const secs = b.wallMs !== undefined ? ` ${(b.wallMs / 1000).toFixed(1)}s` : '';
  const why = b.result === 'failed' ? ` phase ${b.phase ?? '?'}: ${b.reason ?? ''}`
    : b.result === 'skipped' ? ` ${b.reason ?? ''}`
    : b.reasons && b.reasons.length > 0 ? ` (${b.reasons.join('; ')})` : '';
  return `  ${b.result.padEnd(8)} ${b.origin}${b.version ? ` ${b.version}` : ''}${secs}${why}`;
}

/** Handler of `kiln logs BULK ORIGIN`: prints the port's build log of that bulk. */
export async function logsCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('logs', argv, {});
  if (values.help || positionals.length !== 2) {
    if (values.help) { ctx.out('usage: kiln logs BULK ORIGIN'); return 0; }
    throw new UsageError('kiln logs: give BULK and ORIGIN', 'usage: kiln logs BULK ORIGIN');
  }
  const id = bulkId(positionals[0], 'logs')!;
  const origin = positionals[1]!;
  const store = openStore(ctx.home);
  try {
    const row = store.bulks.builds(id).find((b) => b.origin === origin);
    if (!row?.log) {
      throw new KilnError('KILN_E_PORT_NOT_FOUND', `bulk ${id} has no log for ${origin}`, { hint: `see \`kiln status ${id}\``, exitCode: 2 });
    }
    const file = path.join(ctx.home, 'logs', row.log);
    ctx.out(fs.readFileSync(file, 'utf8'));
    return 0;
  } finally { store.close(); }
}
