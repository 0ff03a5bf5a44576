/**
 * `kiln clean ccache`: the per-port compiler caches (`HOME/cache/ccache/JAIL/TREE/ORIGINHASH`, kiln.yaml
 * `ccache: true`). They are only caches: every one goes, except those of a (jail, tree) whose bulk is running.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ccacheRoot } from '../build/index.js';
import { Cleaner, type CleanReport } from './report.js';
import { bulkRunning, type CleanOptions } from './packages.js';

function dirs(d: string): string[] {
  try {
    return fs
      .readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Removes every per-port compiler cache but those of running bulks. */
export function cleanCcache(o: CleanOptions): CleanReport {
  const c = new Cleaner('ccache', o.home, o.dryRun ?? false);
  const root = ccacheRoot(o.home);
  for (const jail of dirs(root)) {
    for (const tree of dirs(path.join(root, jail))) {
      const dir = path.join(root, jail, tree);
      if (bulkRunning(o.store, jail, tree)) {
        c.spare(dir, `bulk of jail ${jail} and tree ${tree} is running`);
        continue;
      }
      c.remove(dir, `compiler caches of jail ${jail} and tree ${tree}`);
    }
  }
  return c.report();
}
