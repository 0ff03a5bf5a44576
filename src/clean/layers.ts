/**
 * `kiln clean layers`: the dependency layers (`HOME/cache/layers`, kiln.yaml `cache.layers_mb`). They are only
 * caches: every one goes, except those a running sandbox stacks; aliases to removed layers go with them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { layersInUse, layersRoot, listLayers } from '../layers/index.js';
import { Cleaner, type CleanReport } from './report.js';
import type { CleanOptions } from './packages.js';

/** Removes every dependency layer but those in use, then the aliases that lead nowhere. */
export function cleanLayers(o: CleanOptions): CleanReport {
  const c = new Cleaner('layers', o.home, o.dryRun ?? false);
  const root = layersRoot(o.home);
  const busy = layersInUse(o.home);
  for (const l of listLayers(root)) {
    if (busy.has(path.join(l.dir, 'root'))) {
      c.spare(l.dir, 'a running sandbox stacks it');
      continue;
    }
    c.remove(l.dir, `dependency layer of jail ${l.jail} (${l.meta.packages.length} packages)`);
  }
  if (o.dryRun) return c.report();
  for (const jail of safeList(root)) {
    const aliases = path.join(root, jail, 'alias');
    for (const a of safeList(aliases)) {
      const key = fs.readFileSync(path.join(aliases, a), 'utf8').trim();
      if (!fs.existsSync(path.join(root, jail, key, 'meta.json'))) fs.rmSync(path.join(aliases, a), { force: true });
    }
  }
  return c.report();
}

function safeList(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}
