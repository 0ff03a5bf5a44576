/**
 * The on-disk shape of a ports tree: `CATEGORY/NAME/port.yaml`, two levels deep. Dot-folders and folders
 * without a `port.yaml` are not ports; a stray file where a category should be is ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TreeRef } from './ref.js';

/** File name of a recipe inside its port folder. */
export const RECIPE_FILE = 'port.yaml';

/** Sub-folders of `dir` (following symlinks), skipping dot-folders; [] when `dir` cannot be read. */
export function subdirs(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.charCodeAt(0) === 46 /* . */) continue;
    if (e.isDirectory()) out.push(e.name);
    else if (e.isSymbolicLink()) {
      try {
        if (fs.statSync(path.join(dir, e.name)).isDirectory()) out.push(e.name);
      } catch {
        /* dangling */
      }
    }
  }
  return out;
}

/** True when `dir` is an existing folder. */
export function isDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** The first `CAT/NAME` origin with a port.yaml under `dir`, or undefined: the test for "looks like a tree". */
export function firstPort(dir: string): string | undefined {
  for (const cat of subdirs(dir)) {
    for (const name of subdirs(path.join(dir, cat))) {
      if (fs.existsSync(path.join(dir, cat, name, RECIPE_FILE))) return `${cat}/${name}`;
    }
  }
  return undefined;
}

/** True when `layerDir/ORIGIN/port.yaml` exists. */
export function hasPort(layerDir: string, origin: string): boolean {
  // Plain concatenation: this runs once per port of a scan, and path.join costs a third of the stat.
  return fs.existsSync(`${layerDir}/${origin}/${RECIPE_FILE}`);
}

/**
 * A cheap guess of a tree's size before walking it: per layer, its categories times the ports of the
 * first and last of them (two more folder listings, which the walk then finds in the page cache).
 */
export function estimatePorts(ref: TreeRef): number {
  let n = 0;
  for (const layer of ref.layers) {
    const cats = subdirs(layer.dir);
    if (cats.length === 0) continue;
    const sample = [cats[0]!, cats[cats.length - 1]!];
    const per = sample.reduce((a, c) => a + subdirs(`${layer.dir}/${c}`).length, 0) / sample.length;
    n += per * cats.length;
  }
  return n;
}
