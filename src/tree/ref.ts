/**
 * Turning a tree name or folder into a {@link TreeRef}: the flat, lowest-first list of layer folders that
 * scanning, options and builds work on. An overlay of overlays flattens into one list of layers.
 */
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import type { Store, TreeRecord } from '../store/index.js';
import { firstPort, isDir } from './layout.js';

/** One layer of a tree: a name (the registered tree's, or the folder's path) and its absolute folder. */
export interface TreeLayer {
  readonly name: string;
  readonly dir: string;
  /** For a `--debian` tree's layer: its index file (the layer's ports come from it, not from folders). */
  readonly debian?: { readonly index: string; readonly release: string };
}

/** A tree ready to scan: its name and its layers, lowest first (a plain tree has one layer). */
export interface TreeRef {
  readonly name: string;
  readonly layers: readonly TreeLayer[];
}

/** The index file of a `--debian` tree kept in `dir`. */
export function debianIndexFile(dir: string): string {
  return path.join(dir, 'index.json');
}

/** What a tree name may look like. */
export const TREE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Throws KILN_E_TREE_INVALID unless `name` is a valid tree name. */
export function checkTreeName(name: string): void {
  if (!TREE_NAME_RE.test(name) || name.length > 64) {
    throw new KilnError('KILN_E_TREE_INVALID', `"${name}" is not a valid tree name`, {
      hint: 'a tree name is 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
    });
  }
}

/** The layers of a registered tree, lowest first, overlays flattened (a folder used twice keeps its highest place). */
export function layersOf(store: Store, rec: TreeRecord): TreeLayer[] {
  const out: TreeLayer[] = [];
  collect(store, rec, out, [rec.name]);
  const lastIndex = new Map<string, number>();
  out.forEach((l, i) => lastIndex.set(l.dir, i));
  return out.filter((l, i) => lastIndex.get(l.dir) === i);
}

function collect(store: Store, rec: TreeRecord, out: TreeLayer[], chain: string[]): void {
  const spec = rec.spec;
  if (spec.kind === 'path') {
    out.push({ name: rec.name, dir: spec.path });
    return;
  }
  if (spec.kind === 'git') {
    out.push({ name: rec.name, dir: spec.dir });
    return;
  }
  if (spec.kind === 'debian') {
    out.push({ name: rec.name, dir: spec.dir, debian: { index: debianIndexFile(spec.dir), release: spec.release } });
    return;
  }
  for (const l of spec.layers) {
    if ('path' in l) {
      out.push({ name: l.path, dir: l.path });
      continue;
    }
    if (chain.includes(l.tree)) {
      throw new KilnError('KILN_E_TREE_INVALID', `overlay ${chain.join(' -> ')} -> ${l.tree} refers to itself`, {
        hint: `delete and re-add overlay ${rec.name}`,
      });
    }
    const sub = store.getTree(l.tree);
    if (!sub) {
      throw new KilnError('KILN_E_TREE_NOT_FOUND', `overlay ${rec.name} uses tree ${l.tree}, which is not registered`, {
        hint: `register ${l.tree} again with \`kiln tree add ${l.tree} ...\`, or delete and re-add overlay ${rec.name}`,
      });
    }
    collect(store, sub, out, [...chain, l.tree]);
  }
}

/**
 * Resolves `-p TREE`: a registered tree's name (when there is a store and the text has no `/`), else a path
 * (relative to `cwd`) to a folder that looks like a tree, which becomes a one-layer tree named after the
 * folder's base name. Throws KILN_E_TREE_NOT_FOUND or KILN_E_TREE_INVALID with a hint.
 */
export function resolveTree(store: Store | null, nameOrPath: string, cwd: string): TreeRef {
  if (store && !nameOrPath.includes('/')) {
    const rec = store.getTree(nameOrPath);
    if (rec) return { name: rec.name, layers: presentLayers(rec.name, layersOf(store, rec)) };
  }
  const dir = path.resolve(cwd, nameOrPath);
  if (nameOrPath === '' || !isDir(dir)) {
    const names = store ? store.listTrees().map((t) => t.name) : [];
    throw new KilnError('KILN_E_TREE_NOT_FOUND', `"${nameOrPath}" is neither a registered tree nor a folder`, {
      hint:
        names.length > 0
          ? `registered trees: ${names.join(', ')}; or give the path of a tree folder`
          : 'register one with `kiln tree add NAME --path DIR`, or give the path of a tree folder',
    });
  }
  if (firstPort(dir) === undefined) throw notATree(dir);
  return folderTree(dir);
}

/**
 * `layers`, once each layer's folder is known to be there: a registered tree whose folder has gone (deleted, an
 * unmounted disk) would scan as an empty tree, and a bulk would then plan to delete every package it has. Throws
 * KILN_E_TREE_MISSING naming the tree and the folder.
 */
export function presentLayers(name: string, layers: TreeLayer[]): TreeLayer[] {
  for (const l of layers) {
    if (isDir(l.dir)) continue;
    const layer = l.name === name ? '' : ` (its layer ${l.name})`;
    throw new KilnError('KILN_E_TREE_MISSING', `tree ${name} is registered, but its folder ${l.dir}${layer} is gone`, {
      hint: `restore ${l.dir}, or unregister the tree with \`kiln tree delete ${name}\``,
    });
  }
  return layers;
}

/** The one-layer tree of an unregistered folder (absolute `dir`), named after its base name. */
export function folderTree(dir: string): TreeRef {
  const base = path
    .basename(dir)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[._-]+/, '');
  return { name: base === '' ? 'tree' : base, layers: [{ name: base === '' ? dir : base, dir }] };
}

/**
 * The layers `-p TREE` of a command line will resolve to, when its arguments alone tell (a `-p`/`--tree` with a
 * `/`: a folder, never a registered name; see {@link resolveTree}); else undefined. A guess to start work early:
 * the command resolves the tree itself.
 */
export function treeLayersFromArgs(argv: readonly string[], cwd: string): TreeRef['layers'] | undefined {
  let spec: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '-p' || a === '--tree') spec = argv[i + 1];
    else if (a.startsWith('--tree=')) spec = a.slice('--tree='.length);
  }
  if (spec === undefined || !spec.includes('/')) return undefined;
  return folderTree(path.resolve(cwd, spec)).layers;
}

/** The error for a folder with no `CAT/NAME/port.yaml`. */
export function notATree(dir: string): KilnError {
  return new KilnError(
    'KILN_E_TREE_INVALID',
    `${dir} does not look like a ports tree: it has no CATEGORY/NAME/port.yaml`,
    {
      hint: 'point at the folder that holds the category folders (e.g. devel/hello/port.yaml)',
    },
  );
}
