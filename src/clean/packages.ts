/**
 * `kiln clean packages` (poudriere's pkgclean): package files under `HOME/packages/JAIL-TREE/All` that neither the
 * current package set of the pair nor any kept generation of its repository refers to, and the whole folder of a
 * pair whose jail or tree is no longer registered (whose package records are dropped too, so a later bulk of a
 * re-made pair builds afresh). A pair with a running bulk is left alone: its new packages are not recorded yet.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../store/index.js';
import { ownerAlive } from '../bulk/index.js';
import { listGenerations, repoName } from '../repo/index.js';
import { Cleaner, type CleanReport } from './report.js';

/** Options of the cleans. */
export interface CleanOptions {
  readonly home: string;
  readonly store: Store;
  /** Measure and report only. */
  readonly dryRun?: boolean;
}

/** Every (jail, tree) pair the store knows of from its bulks, by folder name `JAIL-TREE`. */
function knownPairs(store: Store): Map<string, { jail: string; tree: string }> {
  const out = new Map<string, { jail: string; tree: string }>();
  for (const b of store.bulks.listBulks({ limit: 1_000_000 }))
    out.set(repoName(b.jail, b.tree), { jail: b.jail, tree: b.tree });
  return out;
}

/** True when a live process runs a bulk of (jail, tree). */
export function bulkRunning(store: Store, jail: string, tree: string): boolean {
  return store.bulks.listBulks({ jail, tree, limit: 50 }).some((b) => b.status === 'running' && ownerAlive(b));
}

/** Base names of the `.deb`s in every kept generation of the (jail, tree) repository. */
function generationDebs(home: string, jail: string, tree: string): Set<string> {
  const out = new Set<string>();
  let gens: { dir: string }[] = [];
  try {
    gens = listGenerations(home, jail, tree);
  } catch {
    return out;
  }
  for (const g of gens) {
    const stack = [path.join(g.dir, 'pool')];
    for (let guard = 0; stack.length > 0 && guard < 1_000_000; guard++) {
      const dir = stack.pop()!;
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (e.isDirectory()) stack.push(path.join(dir, e.name));
        else if (e.name.endsWith('.deb')) out.add(e.name);
      }
    }
  }
  return out;
}

/** Removes package files nothing refers to, and the folders of pairs whose jail or tree is gone. */
export function cleanPackages(o: CleanOptions): CleanReport {
  const c = new Cleaner('packages', o.home, o.dryRun ?? false);
  const root = path.join(o.home, 'packages');
  let names: string[] = [];
  try {
    names = fs.readdirSync(root).sort();
  } catch {
    return c.report();
  }
  const jails = o.store.listJails().map((j) => j.name);
  const trees = o.store.listTrees().map((t) => t.name);
  const live = new Map<string, { jail: string; tree: string }>();
  for (const jail of jails) for (const tree of trees) live.set(repoName(jail, tree), { jail, tree });
  const known = knownPairs(o.store);

  for (const name of names) {
    const dir = path.join(root, name);
    if (!fs.lstatSync(dir).isDirectory()) continue;
    const pair = live.get(name);
    if (!pair) {
      const was = known.get(name);
      if (was && bulkRunning(o.store, was.jail, was.tree)) {
        c.spare(dir, `bulk of jail ${was.jail} and tree ${was.tree} is running`);
        continue;
      }
      const gone = was
        ? [
            ...(jails.includes(was.jail) ? [] : [`jail ${was.jail}`]),
            ...(trees.includes(was.tree) ? [] : [`tree ${was.tree}`]),
          ]
        : [];
      c.remove(
        dir,
        gone.length > 0 ? `${gone.join(' and ')} no longer registered` : 'no registered jail and tree make this name',
      );
      if (was && !c.dryRun) o.store.bulks.replacePackages(was.jail, was.tree, []);
      continue;
    }
    if (bulkRunning(o.store, pair.jail, pair.tree)) {
      c.spare(dir, `bulk of jail ${pair.jail} and tree ${pair.tree} is running`);
      continue;
    }
    const wanted = new Set(
      o.store.bulks.packages(pair.jail, pair.tree).flatMap((p) => p.files.map((f) => path.normalize(f))),
    );
    const published = generationDebs(o.home, pair.jail, pair.tree);
    const all = path.join(dir, 'All');
    let files: string[] = [];
    try {
      files = fs.readdirSync(all).sort();
    } catch {
      continue;
    }
    for (const f of files) {
      if (wanted.has(path.join('All', f))) continue;
      if (published.has(f)) continue;
      c.remove(path.join(all, f), `not in the package set of ${name} nor in a kept generation of its repository`);
    }
  }
  // Records of pairs whose jail or tree is gone, even when their folder went already.
  if (!c.dryRun) {
    for (const [name, was] of known) {
      if (live.has(name) || bulkRunning(o.store, was.jail, was.tree)) continue;
      if (o.store.bulks.packages(was.jail, was.tree).length > 0) o.store.bulks.replacePackages(was.jail, was.tree, []);
    }
  }
  return c.report();
}
