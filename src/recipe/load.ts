/**
 * Loading a port from disk: `DIR/port.yaml` and its patches. The only file of the recipe module that
 * touches the disk; everything it reads goes through the pure {@link parseRecipe}. Problems (a missing
 * file, an unreadable patch) are returned, never thrown, so a tree scan reports them all at once.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import fs from 'node:fs';
import nodePath from 'node:path';
import type { Problem } from '../util/errors.js';
import { decodeUtf8 } from '../util/yamlpos.js';
import { locateField, parseRecipe } from './parse.js';
import { parseEagerParts, parseRecipeLazy } from './lazy-parse.js';
import type { Recipe } from './schema.js';
import type { Port } from './types.js';

/** What {@link loadPort} returns: the port (when valid) and every problem found. */
export interface PortLoad {
  /** The loaded port; absent when there are problems. */
  readonly port?: Port;
  /** Every problem of the recipe and its patches. */
  readonly problems: Problem[];
}

/** What {@link loadPortText} returns: a {@link PortLoad} plus the recipe's text when the port is valid. */
export interface PortLoadText extends PortLoad {
  /** The recipe file decoded (present with `port`). */
  readonly text?: string;
}

/** Why a file could not be read, in words. */
function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'is not readable (permission denied)';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (e instanceof NotRegular) return e.message;
  return `cannot be read (${code ?? String(e)})`;
}

/** A recipe, patch or port file larger than this is refused (nothing honest comes close). */
const MAX_FILE = 16 * 1024 * 1024;
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;

/** Refusal of a file that is not a plain file inside the tree (never read: a FIFO would hang, a device never end). */
class NotRegular extends Error {
  readonly code = 'NOTREG';
  constructor(why: string) {
    super(why);
  }
}

/** True when `p` is `root` or below it. */
function inside(p: string, root: string): boolean {
  return p === root || p.startsWith(root.endsWith(nodePath.sep) ? root : `${root}${nodePath.sep}`);
}

/**
 * What one scan learns once and reuses for every port (create one per scan with {@link newLoadMemo}): each tree
 * root's real path, and each category folder's (a symlink is resolved; a plain folder is its root's real path plus
 * its name). A memo is never kept across scans, so a folder replaced between two scans is looked at again.
 */
export interface LoadMemo {
  /** Tree root → its real path. */
  readonly roots: Map<string, string>;
  /** Category folder → its real path (undefined: it cannot be resolved) and the names of its plain sub-folders. */
  readonly cats: Map<string, CatMemo>;
  /** The category folder of the last port looked at (`prefix`: its path and a slash): a scan's ports come in runs. */
  last?: { readonly prefix: string; readonly root: string; readonly cat: CatMemo };
  /**
   * The `fstat` of the port.yaml the last load with this memo opened (undefined when it could not open one): what a
   * scan stamps the recipe with, without a second `stat`.
   */
  recipeStat?: fs.Stats;
  /**
   * True (a tree scan): the files of a port folder besides port.yaml and its patches are not listed; the build checks
   * them before the folder reaches its sandbox ({@link portFolderProblems}). False (default): a load checks them too.
   */
  readonly deferFiles: boolean;
}

/** What a {@link LoadMemo} knows of one category folder. */
interface CatMemo {
  /** Its real path (undefined: it cannot be resolved). */
  readonly real: string | undefined;
  /** The names of its plain sub-folders (not symlinks). */
  readonly plain: ReadonlySet<string>;
  /** True when `real` is inside the real tree root: then a plain sub-folder is too. */
  readonly inTree: boolean;
}

/** A fresh {@link LoadMemo} (one per scan, or per load when none is given). */
export function newLoadMemo(opts: { readonly deferFiles?: boolean } = {}): LoadMemo {
  return { roots: new Map(), cats: new Map(), deferFiles: opts.deferFiles === true };
}

/** The real path of tree root `root` (as given when it cannot be resolved), once per memo. */
function realRootOf(root: string, memo: LoadMemo): string {
  let real = memo.roots.get(root);
  if (real === undefined) {
    try {
      real = fs.realpathSync.native(root);
    } catch {
      real = root;
    }
    memo.roots.set(root, real);
  }
  return real;
}

/** The real path of `p` (undefined when dangling or looping). */
function realOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return undefined;
  }
}

/**
 * The real path of port folder `absDir` (`root/CAT/NAME`, or `root` itself), what `realpath` would say, from one
 * `lstat` and one listing of its category folder per memo: a component that is a plain folder (the listing's entry
 * types) adds its name to its parent's real path; only a symlink is resolved. Undefined when it cannot be resolved.
 */
function realPortDir(absDir: string, root: string, memo: LoadMemo): string | undefined {
  const realRoot = realRootOf(root, memo);
  if (absDir === root) return realRoot;
  const prefix = root.endsWith(nodePath.sep) ? root : `${root}${nodePath.sep}`;
  const rest = absDir.startsWith(prefix) ? absDir.slice(prefix.length) : '';
  const slash = rest.indexOf(nodePath.sep);
  if (slash <= 0 || rest.indexOf(nodePath.sep, slash + 1) >= 0) return realOrUndefined(absDir);
  const catDir = absDir.slice(0, prefix.length + slash);
  let cat = memo.cats.get(catDir);
  if (cat === undefined) {
    const st = fs.lstatSync(catDir, { throwIfNoEntry: false });
    const real = st?.isDirectory() ? `${realRoot}${nodePath.sep}${rest.slice(0, slash)}` : realOrUndefined(catDir);
    const plain = new Set<string>();
    try {
      for (const e of fs.readdirSync(catDir, { withFileTypes: true })) if (e.isDirectory()) plain.add(e.name);
    } catch {
      /* each port folder is then looked at alone */
    }
    cat = { real, plain, inTree: real !== undefined && inside(real, realRoot) };
    memo.cats.set(catDir, cat);
  }
  memo.last = { prefix: `${catDir}${nodePath.sep}`, root, cat };
  const name = rest.slice(slash + 1);
  if (cat.real === undefined) return realOrUndefined(absDir);
  if (cat.plain.has(name)) return `${cat.real}${nodePath.sep}${name}`;
  // Not listed as a plain folder (a symlink, or made since): looked at alone.
  const st = fs.lstatSync(absDir, { throwIfNoEntry: false });
  return st?.isDirectory() ? `${cat.real}${nodePath.sep}${name}` : realOrUndefined(absDir);
}

/**
 * Opens `file` for reading only if it is a regular file inside `root`: never follows a symlink out of the tree,
 * never blocks on a FIFO (O_NONBLOCK), never reads a device or socket (fstat before any read). A symlink that stays
 * in the tree is followed. Throws {@link NotRegular} (or the open's own error: ENOENT, EACCES).
 */
function openRegular(file: string, root: string, memo: LoadMemo): number {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new NotRegular('not a regular file (a socket)');
    if ((e as NodeJS.ErrnoException).code !== 'ELOOP') throw e;
    // A symlink: follow it only when its target stays in the tree.
    const real = realOrUndefined(file);
    if (real === undefined) throw new NotRegular('not a regular file (a dangling or looping symlink)');
    if (!inside(real, realRootOf(root, memo)))
      throw new NotRegular(`not a regular file (a symlink to ${real}, outside the tree)`);
    fd = fs.openSync(real, OPEN_FLAGS);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new NotRegular(
      `not a regular file (${st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isDirectory() ? 'a folder' : 'a device'})`,
    );
  }
  if (st.size > MAX_FILE) {
    fs.closeSync(fd);
    throw new NotRegular(`is larger than ${MAX_FILE / 1024 / 1024} MiB`);
  }
  lastOpened = st;
  return fd;
}

/** The `fstat` of the file {@link openRegular} opened last (this thread). */
let lastOpened: fs.Stats | undefined;

/** The tree root of a port folder: `dir` minus its `CATEGORY/NAME` origin (else the folder itself). */
function treeRootOf(absDir: string, origin: string): string {
  // `origin` is CATEGORY/NAME with a '/', which is also the path separator here (POSIX).
  const n = absDir.length - origin.length - 1;
  if (n >= 0 && absDir.charCodeAt(n) === 0x2f && absDir.endsWith(origin))
    return n === 0 ? nodePath.sep : absDir.slice(0, n);
  return absDir;
}

/** No problem (shared: never pushed to). */
const NO_PROBLEMS: Problem[] = [];

/** The port folder itself (or its category folder) as a symlink out of the tree: a problem (else undefined). */
function portDirProblem(absDir: string, root: string, memo: LoadMemo): Problem | undefined {
  // The common case of a scan: a plain sub-folder of the last port's category folder, which is in the tree.
  const last = memo.last;
  if (last !== undefined && last.root === root && last.cat.inTree && absDir.startsWith(last.prefix)) {
    const name = absDir.slice(last.prefix.length);
    if (!name.includes(nodePath.sep) && last.cat.plain.has(name)) return undefined;
  }
  const realDir = realPortDir(absDir, root, memo) ?? absDir; // unresolvable: read errors are reported elsewhere
  if (inside(realDir, realRootOf(root, memo))) return undefined;
  return {
    path: absDir,
    line: 1,
    column: 1,
    field: '-',
    message: `not a regular folder (a symlink to ${realDir}, outside the tree)`,
  };
}

/**
 * Port files that are not regular files or folders (FIFOs, devices, sockets) or symlinks leaving the tree:
 * refused, since the whole port folder reaches the build. Bounded walk. A tree scan (`memo.deferFiles`) does not
 * call it: the build does ({@link portFolderProblems}).
 */
function portFileProblems(absDir: string, root: string, patches: ReadonlySet<string>, memo: LoadMemo): Problem[] {
  const dirProblem = portDirProblem(absDir, root, memo);
  return dirProblem ? [dirProblem] : portFilesWalk(absDir, root, patches, memo);
}

/** {@link portFileProblems} of a port folder already known to be in the tree: the walk of its files. */
function portFilesWalk(absDir: string, root: string, patches: ReadonlySet<string>, memo: LoadMemo): Problem[] {
  const out: Problem[] = [];
  const realRoot = realRootOf(root, memo);
  let seen = 0;
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > 10_000 || depth > 16) return;
      const full = nodePath.join(dir, e.name);
      if (e.isDirectory()) {
        walk(full, depth + 1);
        continue;
      }
      if (e.isFile() || patches.has(full)) continue;
      let why = 'not a regular file';
      if (e.isSymbolicLink()) {
        const real = realOrUndefined(full); // dangling: harmless
        if (real === undefined || inside(real, realRoot)) continue;
        why = `not a regular file (a symlink to ${real}, outside the tree)`;
      }
      out.push({ path: full, line: 1, column: 1, field: '-', message: why });
    }
  };
  walk(absDir, 0);
  return out;
}

/**
 * Everything wrong with the files of a loaded port's folder (see {@link portFileProblems}): what the build checks
 * before binding the folder into its sandbox, since a tree scan ({@link LoadMemo.deferFiles}) does not list them.
 * Each problem names its file.
 */
export function portFolderProblems(port: {
  readonly dir: string;
  readonly origin: string;
  readonly recipe: { readonly patches: readonly string[] };
}): Problem[] {
  const absDir = nodePath.resolve(port.dir);
  const patches = new Set(port.recipe.patches.map((p) => nodePath.join(absDir, p)));
  return portFileProblems(absDir, treeRootOf(absDir, port.origin), patches, newLoadMemo());
}

/** Reused read buffer (grown on demand): a scan reads ~35,000 small files, one at a time per thread. */
let readBuf = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a whole file with open + read + close into the shared buffer, skipping the `fstat` (and the fresh
 * buffer) of `readFileSync`, and the final read that returns 0. The bytes returned are valid until the next call.
 */
function readShared(file: string, root: string, memo: LoadMemo): Buffer {
  const fd = openRegular(file, root, memo);
  try {
    let n = 0;
    for (let guard = 0; guard < 1 << 20; guard++) {
      if (n === readBuf.length) {
        const bigger = Buffer.allocUnsafe(readBuf.length * 2);
        readBuf.copy(bigger, 0, 0, n);
        readBuf = bigger;
      }
      const want = readBuf.length - n;
      const got = fs.readSync(fd, readBuf, n, want, null);
      n += got;
      // A regular file reads short only at its end: stop there instead of one more read that returns 0
      // (a quarter of the system calls of a scan).
      if (got < want) break;
    }
    return readBuf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Loads the port in folder `dir` whose origin is `origin` (`CATEGORY/NAME`), from tree layer `layer`.
 * `Port.contentHash` is the sha256 (hex) of the recipe's bytes, then for each patch its name, a NUL
 * byte and its bytes, in recipe order. A missing patch is a problem located at `patches[i]`.
 */
export function loadPort(dir: string, origin: string, layer: string): PortLoad {
  const { port, problems } = loadPortText(dir, origin, layer);
  return port ? { port, problems } : { problems };
}

/** {@link loadPort}, also returning the recipe's text (for a {@link lazyRecipe} elsewhere). */
export function loadPortText(dir: string, origin: string, layer: string, memo?: LoadMemo): PortLoadText {
  return asPort(loadWith(dir, origin, layer, parseRecipe, memo), origin, layer);
}

/**
 * {@link loadPortText} whose port holds a lazy recipe (`parseRecipeLazy`): validated whole, but `sources`,
 * `build` and `install` are built from the text only when first read. What a tree scan keeps per port.
 */
export function loadPortLazy(dir: string, origin: string, layer: string, memo?: LoadMemo): PortLoadText {
  return asPort(loadWith(dir, origin, layer, parseRecipeLazy, memo), origin, layer);
}

/** What {@link loadPortParts} returns for a valid port: what a lazy recipe of it is made of, and the port's fields. */
export interface PortParts {
  readonly origin: string;
  readonly dir: string;
  readonly path: string;
  readonly pkgname: string;
  readonly contentHash: string;
  /** The recipe file decoded. */
  readonly text: string;
  /** The recipe's key mask and its eager values, as {@link lazyParts} gives them (`lazyRecipe` takes both). */
  readonly mask: number;
  readonly values: readonly unknown[];
  /** The recipe's `depends` and `name` (also among `values`). */
  readonly depends: Recipe['depends'];
  readonly name?: string;
}

/**
 * {@link loadPortLazy} without making the lazy recipe: its parts, for a loader thread that sends them on
 * (a lazy recipe is made where the port is kept). Same verdict and problems.
 */
export function loadPortParts(
  dir: string,
  origin: string,
  layer: string,
  memo?: LoadMemo,
): { parts?: PortParts; problems: Problem[] } {
  const l = loadWith(dir, origin, layer, parseEagerParts, memo);
  if (!l.recipe) return { problems: l.problems };
  const r = l.recipe;
  return {
    parts: {
      origin,
      dir: l.dir,
      path: l.path,
      pkgname: l.pkgname,
      contentHash: l.contentHash,
      text: l.text,
      mask: r.mask,
      values: r.values,
      depends: r.depends,
      ...(r.name !== undefined ? { name: r.name } : {}),
    },
    problems: l.problems,
  };
}

/** A loaded recipe file: the parse's result plus what a port needs (valid only with `recipe`). */
interface Loaded<R> {
  readonly recipe?: R;
  readonly problems: Problem[];
  readonly dir: string;
  readonly path: string;
  readonly text: string;
  readonly pkgname: string;
  readonly contentHash: string;
}

function asPort(l: Loaded<Recipe>, origin: string, layer: string): PortLoadText {
  if (!l.recipe) return { problems: l.problems };
  const port: Port = {
    origin,
    dir: l.dir,
    path: l.path,
    layer,
    pkgname: l.pkgname,
    recipe: l.recipe,
    contentHash: l.contentHash,
  };
  return { port, problems: l.problems, text: l.text };
}

/** Reads, decodes, parses (with `parse`) and hashes one recipe with its patches. */
function loadWith<R extends { readonly patches: readonly string[]; readonly name?: string }>(
  dir: string,
  origin: string,
  layer: string,
  parse: (text: string, path: string, origin: string) => { recipe?: R; problems: Problem[] },
  memo: LoadMemo = newLoadMemo(),
): Loaded<R> {
  const absDir = nodePath.isAbsolute(dir) ? dir : nodePath.resolve(dir);
  const file = `${absDir}${nodePath.sep}port.yaml`;
  const failed = (found: Problem[]): Loaded<R> => ({
    problems: found,
    dir: absDir,
    path: file,
    text: '',
    pkgname: '',
    contentHash: '',
  });
  const root = treeRootOf(absDir, origin);
  // Nothing is opened through a port or category folder that leaves the tree.
  const dirProblem = portDirProblem(absDir, root, memo);
  if (dirProblem) return failed([dirProblem]);
  let bytes: Buffer;
  try {
    memo.recipeStat = undefined;
    bytes = readShared(file, root, memo);
    memo.recipeStat = lastOpened;
  } catch (e) {
    if (e instanceof NotRegular) return failed([{ path: file, line: 1, column: 1, field: '-', message: e.message }]);
    return failed([{ path: file, line: 1, column: 1, field: '-', message: `port.yaml ${readFailure(e)}` }]);
  }
  const dec = decodeUtf8(bytes, file);
  if (dec.text === undefined) return failed([dec.problem!]);
  const text = dec.text;
  const { recipe, problems } = parse(text, file, origin);
  if (!recipe) return failed(problems);
  const pkgname = recipe.name ?? origin.slice(origin.indexOf('/') + 1);
  const strange = memo.deferFiles
    ? NO_PROBLEMS
    : portFilesWalk(absDir, root, new Set(recipe.patches.map((p) => nodePath.join(absDir, p))), memo); // folder checked above
  if (strange.length > 0 && recipe.patches.length === 0) return failed(strange);
  if (recipe.patches.length === 0) {
    return { recipe, problems, dir: absDir, path: file, text, pkgname, contentHash: oneShotHash('sha256', bytes) };
  }
  const hash = createHash('sha256').update(bytes);
  recipe.patches.forEach((name, i) => {
    const patchPath = nodePath.join(absDir, name);
    try {
      const fd = openRegular(patchPath, root, memo);
      let patch: Buffer;
      try {
        patch = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      hash.update(name).update('\0').update(patch);
    } catch (e) {
      const at = locateField(file, text, ['patches', i]);
      const message =
        e instanceof NotRegular
          ? `${patchPath}: ${e.message}`
          : `patch file ${JSON.stringify(name)} ${readFailure(e)} in ${absDir}`;
      problems.push({ path: file, ...at, field: `patches[${i}]`, message });
    }
  });
  if (problems.length > 0 || strange.length > 0) return failed([...problems, ...strange]);
  return { recipe, problems, dir: absDir, path: file, text, pkgname, contentHash: hash.digest('hex') };
}
