/**
 * Registered trees: `kiln tree add | update | list | delete | show`. A `--path` tree is the user's folder (kiln
 * never writes or deletes it); a `--git` tree is kiln's clone under `HOME/trees/NAME`; an overlay is a stack
 * of registered trees and folders, lowest first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, UsageError } from '../util/errors.js';
import { ORIGIN_RE } from '../recipe/light.js';
import type { OverlayLayerSpec, Store, TreeRecord, TreeSpec } from '../store/index.js';
import { gitClone, gitUpdate } from './git.js';
import { firstPort, hasPort, isDir } from './layout.js';
import { checkTreeName, layersOf, notATree, type TreeLayer, type TreeRef } from './ref.js';

/** Arguments of {@link addTree}: a name and exactly one of `path`, `git`, `overlay`. */
export interface AddTreeOptions {
  readonly name: string;
  /** A tree folder the user owns. */
  readonly path?: string;
  /** A git URL to clone into `HOME/trees/NAME`. */
  readonly git?: string;
  /** The branch to follow (with `git`); default: the remote's default branch. */
  readonly branch?: string;
  /** Layers, lowest first: registered tree names or folder paths (a list, or one comma-separated string). */
  readonly overlay?: string | readonly string[];
  /** Folder relative paths are resolved against (default: the process's). */
  readonly cwd?: string;
  /** A Debian release (`bookworm`): the tree's ports are that release's source packages. */
  readonly debian?: string;
  /** With `debian`: the archive component (default `main`). */
  readonly component?: string;
  /** With `debian`: architectures whose `Provides:` are indexed (default: the host's). */
  readonly arches?: readonly string[];
  /** With `debian`: the archive root URL (default: the host's apt sources). */
  readonly mirror?: string;
  /** With `debian`: false indexes the release alone, without its -updates and -security suites. */
  readonly updates?: boolean;
}

/** Folder that holds kiln's git clones. */
export function treesDir(home: string): string {
  return path.join(home, 'trees');
}

function notFound(name: string, store: Store): KilnError {
  const names = store.listTrees().map((t) => t.name);
  return new KilnError('KILN_E_TREE_NOT_FOUND', `no tree named "${name}" is registered`, {
    hint:
      names.length > 0 ? `registered trees: ${names.join(', ')}` : 'register one with `kiln tree add NAME --path DIR`',
  });
}

/** The registered tree `name`, or KILN_E_TREE_NOT_FOUND listing the registered ones. */
export function getTree(store: Store, name: string): TreeRecord {
  const rec = store.getTree(name);
  if (!rec) throw notFound(name, store);
  return rec;
}

/** Checks that `dir` is a folder that looks like a tree; returns it absolute. */
function checkTreeDir(dir: string, given: string): string {
  if (!isDir(dir)) {
    throw new KilnError('KILN_E_TREE_NOT_FOUND', `${given} is not a folder`, {
      hint: 'give the path of an existing tree folder',
    });
  }
  if (firstPort(dir) === undefined) throw notATree(dir);
  return dir;
}

/** Registers a tree (cloning it first for `git`). */
export async function addTree(store: Store, home: string, opts: AddTreeOptions): Promise<TreeRecord> {
  const cwd = opts.cwd ?? process.cwd();
  const kinds = [opts.path, opts.git, opts.overlay, opts.debian].filter((x) => x !== undefined).length;
  if (kinds !== 1) {
    throw new UsageError(
      'kiln tree add: give exactly one of --path DIR, --git URL, --overlay LOWER,...,UPPER, --debian RELEASE',
      'see `kiln tree add --help`',
    );
  }
  if (opts.branch !== undefined && opts.git === undefined)
    throw new UsageError('kiln tree add: --branch goes with --git');
  checkTreeName(opts.name);
  if (store.getTree(opts.name)) {
    throw new KilnError('KILN_E_TREE_EXISTS', `a tree named "${opts.name}" is already registered`, {
      hint: `pick another name, or remove it first with \`kiln tree delete ${opts.name}\``,
    });
  }
  if (opts.path !== undefined) {
    const dir = checkTreeDir(path.resolve(cwd, opts.path), opts.path);
    return store.insertTree(opts.name, { kind: 'path', path: dir });
  }
  if (opts.overlay !== undefined) return store.insertTree(opts.name, overlaySpec(store, opts.overlay, cwd));
  if (opts.debian !== undefined) {
    const { addDebianTree } = await import('./debian.js');
    return addDebianTree(store, home, {
      name: opts.name,
      release: opts.debian,
      component: opts.component,
      arches: opts.arches,
      mirror: opts.mirror,
      ...(opts.updates === false ? { updates: false } : {}),
    });
  }
  return addGitTree(store, home, opts.name, opts.git!, opts.branch);
}

function overlaySpec(store: Store, overlay: string | readonly string[], cwd: string): TreeSpec {
  const items = typeof overlay === 'string' ? overlay.split(',') : [...overlay];
  if (items.length < 2 || items.some((i) => i.trim() === '')) {
    throw new KilnError(
      'KILN_E_TREE_INVALID',
      `--overlay "${items.join(',')}" must name at least two layers, none empty`,
      {
        hint: 'write --overlay LOWER,...,UPPER with registered tree names or tree folders, lowest first',
      },
    );
  }
  const layers: OverlayLayerSpec[] = [];
  const bad: string[] = [];
  for (const raw of items) {
    const item = raw.trim();
    if (!item.includes('/') && store.getTree(item)) {
      layers.push({ tree: item });
      continue;
    }
    const dir = path.resolve(cwd, item);
    if (!isDir(dir)) bad.push(`${item} (neither a registered tree nor a folder)`);
    else if (firstPort(dir) === undefined) bad.push(`${item} (a folder with no CATEGORY/NAME/port.yaml)`);
    else layers.push({ path: dir });
  }
  if (bad.length > 0) {
    throw new KilnError('KILN_E_TREE_NOT_FOUND', `overlay layers not usable: ${bad.join('; ')}`, {
      hint: 'each layer is a registered tree name (`kiln tree list`) or the path of a tree folder',
    });
  }
  return { kind: 'overlay', layers };
}

async function addGitTree(
  store: Store,
  home: string,
  name: string,
  url: string,
  branch: string | undefined,
): Promise<TreeRecord> {
  const dir = path.join(treesDir(home), name);
  if (fs.existsSync(dir)) {
    throw new KilnError('KILN_E_TREE_EXISTS', `${dir} exists already but no tree "${name}" is registered`, {
      hint: `remove ${dir} (a leftover clone) or pick another name`,
    });
  }
  fs.mkdirSync(treesDir(home), { recursive: true });
  const tmp = path.join(treesDir(home), `.${name}.partial-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const got = await gitClone(url, branch, tmp);
    if (firstPort(tmp) === undefined) {
      throw new KilnError(
        'KILN_E_TREE_INVALID',
        `${url} does not look like a ports tree: it has no CATEGORY/NAME/port.yaml`,
        {
          hint: 'the repository root must hold the category folders (e.g. devel/hello/port.yaml)',
        },
      );
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another `kiln tree add` of the same name won the race.
      throw new KilnError('KILN_E_TREE_EXISTS', `${dir} appeared while cloning`, {
        hint: 'another kiln added a tree of that name; see `kiln tree list`',
        cause: e,
      });
    }
    try {
      return store.insertTree(name, { kind: 'git', url, branch: got.branch, dir, commit: got.commit });
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** What {@link updateTree} did to one tree. */
export interface TreeUpdate {
  readonly name: string;
  readonly kind: TreeSpec['kind'];
  /** The commit now checked out (git trees). */
  readonly commit?: string;
  /** Source packages in the index (Debian trees). */
  readonly sources?: number;
}

/** Updates a tree: fetch and reset a git clone to its branch, re-check a folder, or do both for every layer of an overlay. */
export async function updateTree(store: Store, home: string, name: string): Promise<TreeUpdate[]> {
  const rec = getTree(store, name);
  const done: TreeUpdate[] = [];
  const seen = new Set<string>();
  const visit = async (r: TreeRecord): Promise<void> => {
    if (seen.has(r.name)) return;
    seen.add(r.name);
    const spec = r.spec;
    if (spec.kind === 'path') {
      checkTreeDir(spec.path, spec.path);
      store.updateTreeSpec(r.name, spec);
      done.push({ name: r.name, kind: 'path' });
    } else if (spec.kind === 'git') {
      let commit: string;
      if (fs.existsSync(spec.dir)) commit = (await gitUpdate(spec.url, spec.branch, spec.dir)).commit;
      else commit = (await gitClone(spec.url, spec.branch, spec.dir)).commit;
      if (firstPort(spec.dir) === undefined) throw notATree(spec.dir);
      store.updateTreeSpec(r.name, { ...spec, commit });
      done.push({ name: r.name, kind: 'git', commit });
    } else if (spec.kind === 'debian') {
      const { updateDebianTree } = await import('./debian.js');
      const res = await updateDebianTree(spec, home);
      store.updateTreeSpec(r.name, spec);
      done.push({ name: r.name, kind: 'debian', sources: res.sources });
    } else {
      for (const l of spec.layers) {
        if ('path' in l) checkTreeDir(l.path, l.path);
        else await visit(getTree(store, l.tree));
      }
      store.updateTreeSpec(r.name, spec);
      done.push({ name: r.name, kind: 'overlay' });
    }
  };
  await visit(rec);
  return done;
}

/** A registered tree with its flattened layers, for `tree list`. */
export interface TreeInfo extends TreeRecord {
  /** Layers, lowest first (empty when an overlay's layer has gone missing). */
  readonly layers: readonly TreeLayer[];
  /** One-line description of where it comes from (folder, URL and branch, or layer list). */
  readonly source: string;
}

/** Every registered tree, by name. */
export function listTrees(store: Store): TreeInfo[] {
  return store.listTrees().map((rec) => {
    let layers: TreeLayer[] = [];
    try {
      layers = layersOf(store, rec);
    } catch {
      /* shown with no layers */
    }
    const s = rec.spec;
    const source =
      s.kind === 'path'
        ? s.path
        : s.kind === 'git'
          ? `${s.url} (${s.branch})`
          : s.kind === 'debian'
            ? `Debian ${s.release} ${s.component} (${s.arches.join(', ')})`
            : s.layers.map((l) => ('tree' in l ? l.tree : l.path)).join(',');
    return { ...rec, layers, source };
  });
}

/** Unregisters a tree and its option choices, and removes kiln's clone of a git tree (never a `--path` folder). */
export function deleteTree(store: Store, home: string, name: string): void {
  const rec = getTree(store, name);
  const users = store
    .listTrees()
    .filter(
      (t) => t.spec.kind === 'overlay' && t.spec.layers.some((l: OverlayLayerSpec) => 'tree' in l && l.tree === name),
    );
  if (users.length > 0) {
    const list = users.map((u) => u.name).join(', ');
    throw new KilnError('KILN_E_TREE_IN_USE', `tree "${name}" is a layer of overlay ${list}`, {
      hint: `delete ${users.length === 1 ? 'that overlay' : 'those overlays'} first (\`kiln tree delete ${users[0]!.name}\`)`,
    });
  }
  store.deleteTree(name);
  if (rec.spec.kind === 'git' || rec.spec.kind === 'debian') {
    const rel = path.relative(treesDir(home), rec.spec.dir);
    // Only ever remove a folder inside HOME/trees.
    if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel))
      fs.rmSync(rec.spec.dir, { recursive: true, force: true });
  }
}

/** Where one origin of a tree comes from. */
export interface PortSource {
  readonly origin: string;
  /** The layer whose folder provides the port. */
  readonly layer: TreeLayer;
  /** Lower layers that also have the origin, highest first: their folders are replaced. */
  readonly shadows: readonly TreeLayer[];
  /** When the origin is a source package of a `--debian` layer: what the archive says of it. */
  readonly debian?: { readonly package: string; readonly version: string; readonly binaries: readonly string[] };
}

/** Which layer of `tree` provides `origin`, and which lower layers it shadows. KILN_E_PORT_NOT_FOUND when none. */
export function showPort(store: Store, tree: string | TreeRef, origin: string): PortSource {
  return locatePort(
    typeof tree === 'string' ? { name: tree, layers: layersOf(store, getTree(store, tree)) } : tree,
    origin,
  );
}

/** Like {@link showPort} for a resolved tree: finds the top layer with `ORIGIN/port.yaml`. */
export function locatePort(ref: TreeRef, origin: string): PortSource {
  const clean = origin.replace(/\/+$/, '');
  const having = ORIGIN_RE.test(clean) ? ref.layers.filter((l) => hasPort(l.dir, clean)) : [];
  const deb = ref.layers.find((l) => l.debian !== undefined);
  const archive = deb && ORIGIN_RE.test(clean) ? archiveSource(deb, clean) : undefined;
  if (deb && archive) having.unshift(deb);
  const top = having.pop();
  if (!top) {
    throw new KilnError('KILN_E_PORT_NOT_FOUND', `${origin} is not in tree ${ref.name}`, {
      hint: deb
        ? `an origin is CATEGORY/NAME: a source package of Debian ${deb.debian!.release} (SECTION/SOURCE, e.g. utils/jq) or a port.yaml in one of the layers`
        : `an origin is CATEGORY/NAME with a port.yaml in one of the layers: ${ref.layers.map((l) => l.dir).join(', ')}`,
    });
  }
  return { origin: clean, layer: top, shadows: having.reverse(), ...(archive ? { debian: archive } : {}) };
}

/** The archive lookup of `archive.ts`, once {@link loadArchiveLookup} has imported it. */
let archiveLookup: ((layer: TreeLayer, origin: string) => PortSource['debian']) | undefined;

/**
 * Imports what {@link locatePort} and {@link showPort} need for a tree over Debian's archive (the debian module, which
 * a tree of recipes never needs: it is not imported until asked). Commands that locate ports call it first.
 */
export async function loadArchiveLookup(): Promise<void> {
  archiveLookup ??= (await import('./archive.js')).archiveSource;
}

/** The archive's source package at `origin` in a `--debian` layer's index, if any. */
function archiveSource(layer: TreeLayer, origin: string): PortSource['debian'] {
  if (!archiveLookup) throw new Error('tree: a Debian layer is located before loadArchiveLookup() was awaited');
  return archiveLookup(layer, origin);
}
