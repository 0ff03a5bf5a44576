/**
 * `kiln clean logs` (poudriere's logclean): the log folders (`HOME/logs/BULK/`) of bulks older than the newest
 * `keep` of their (jail, tree) pair, and of bulks the state database does not know. Never the logs of a running
 * bulk. The bulks' rows stay (`kiln status` still lists them; `kiln logs` then says the log is gone).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ownerAlive } from '../bulk/index.js';
import { Cleaner, type CleanReport } from './report.js';
import type { CleanOptions } from './packages.js';

/** Removes the logs of all but the newest `keep` bulks of each (jail, tree). */
export function cleanLogs(o: CleanOptions & { readonly keep: number }): CleanReport {
  const c = new Cleaner('logs', o.home, o.dryRun ?? false);
  const root = path.join(o.home, 'logs');
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return c.report();
  }
  const bulks = o.store.bulks.listBulks({ limit: 1_000_000 }); // newest first
  const rank = new Map<string, number>();
  const keepIds = new Set<number>();
  const byId = new Map(bulks.map((b) => [b.id, b]));
  for (const b of bulks) {
    const pair = `${b.jail}\0${b.tree}`;
    const n = rank.get(pair) ?? 0;
    rank.set(pair, n + 1);
    if (n < o.keep || (b.status === 'running' && ownerAlive(b))) keepIds.add(b.id);
  }
  const ids = names
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  for (const id of ids) {
    if (keepIds.has(id)) continue;
    const b = byId.get(id);
    const dir = path.join(root, String(id));
    if (!fs.lstatSync(dir).isDirectory()) continue;
    c.remove(
      dir,
      b
        ? `bulk ${id} (jail ${b.jail}, tree ${b.tree}, ${b.status}) is older than the newest ${o.keep} of its pair`
        : `bulk ${id} is not in the state database`,
    );
  }
  return c.report();
}
