/**
 * Dependency layers: the Debian packages a build needs from its jail's archive, installed once into a folder that
 * later sandboxes stack read-only between their writable layer and the jail (overlayfs lower layers).
 *
 * `HOME/cache/layers/JAIL/KEY/` holds `root/` (the install's overlay upper, ids shifted so that root is host uid 0,
 * as in the jail) and `meta.json` (written last: a folder without it is never used); `KEY` is the sha256 of the
 * jail's identity, the parent layer's key and the sorted `name:arch=version` list the install added.
 * `HOME/cache/layers/JAIL/alias/REQ` names the KEY a request (the jail identity, the parent and what was asked
 * for) resolved to. A layer is only ever made from a sandbox in which nothing but apt ran, from the archive only,
 * and is saved only after the install succeeded. The last use is `meta.json`'s mtime (least recently used goes
 * first past `cache.layers_mb`).
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { listKept, listSandboxes, removeTree } from '../sandbox/index.js';
import { addedPackages, installedPackages } from './status.js';

/** Bumped when the layout changes: older layers are then ignored (and evicted). */
const LAYER_FORMAT = 1;

/** What `meta.json` holds. */
export interface LayerMeta {
  readonly format: number;
  readonly key: string;
  readonly jail: string;
  readonly jailIdentity: string;
  /** The layer it was installed over (its key), or null: over the jail itself. */
  readonly parent: string | null;
  /** What was asked for (package names, `build-dep` of a `.dsc`, ...). */
  readonly request: readonly string[];
  /** `name:arch=version` of every package the install added or changed, sorted. */
  readonly packages: readonly string[];
  readonly bytes: number;
  readonly files: number;
  readonly created: string;
}

/** A usable layer: its folder, its root and its meta. */
export interface Layer {
  readonly dir: string;
  readonly root: string;
  readonly meta: LayerMeta;
  /** The layers it stands on, nearest first (their roots go below it). */
  readonly parents: readonly Layer[];
}

/** The layers folder of a kiln home. */
export function layersRoot(home: string): string {
  return path.join(home, 'cache', 'layers');
}

/** The key of a request: the jail's identity, the parent layer and what is asked for, in that order. */
export function requestKey(jailIdentity: string, parent: Layer | undefined, request: readonly string[]): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify({ f: LAYER_FORMAT, jailIdentity, parent: parent?.meta.key ?? null, request }))
    .digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

function readMeta(dir: string): LayerMeta | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as LayerMeta;
    return m.format === LAYER_FORMAT && HEX64.test(m.key) && fs.statSync(path.join(dir, 'root')).isDirectory()
      ? m
      : undefined;
  } catch {
    return undefined;
  }
}

/** The layer `key` of `jail` with its parents, or undefined when it (or a parent) is missing or unfinished. */
function loadLayer(root: string, jail: string, key: string, depth = 0): Layer | undefined {
  if (!HEX64.test(key) || depth > 8) return undefined;
  const dir = path.join(root, jail, key);
  const meta = readMeta(dir);
  if (!meta || meta.key !== key || meta.jail !== jail) return undefined;
  let parents: Layer[] = [];
  if (meta.parent !== null) {
    const p = loadLayer(root, jail, meta.parent, depth + 1);
    if (!p) return undefined;
    parents = [p, ...p.parents];
  }
  return { dir, root: path.join(dir, 'root'), meta, parents };
}

/** The layer a request resolved to before, or undefined. Marks it (and its parents) used now. */
export function findLayer(root: string, jail: string, reqKey: string): Layer | undefined {
  let key: string;
  try {
    key = fs.readFileSync(path.join(root, jail, 'alias', reqKey), 'utf8').trim();
  } catch {
    return undefined;
  }
  const layer = loadLayer(root, jail, key);
  if (layer) touch(layer);
  return layer;
}

function touch(layer: Layer): void {
  const now = new Date();
  for (const l of [layer, ...layer.parents]) {
    try {
      fs.utimesSync(path.join(l.dir, 'meta.json'), now, now);
    } catch {
      // evicted meanwhile: the next lookup misses
    }
  }
}

/** The host folders a sandbox stacks for `layer`: its root, then its parents' (topmost first). */
export function layerStack(layer: Layer): string[] {
  return [layer.root, ...layer.parents.map((p) => p.root)];
}

/** Writes `file` by a temporary file and a rename. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Gives every entry under `dir` the ids it had inside the sandbox (host id − `base`), as the jail's own files are
 * owned, restoring set-id bits that `chown` clears. Entries not owned within the sandbox's range are refused.
 * Returns the bytes (allocated, each inode once) and the entry count.
 */
export function shiftIds(dir: string, base: number): { bytes: number; files: number } {
  const seen = new Set<number>();
  let bytes = 0;
  let files = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const st = fs.lstatSync(d);
    shiftOne(d, st, base);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      files += 1;
      if (e.isDirectory()) {
        stack.push(p);
        continue;
      }
      const s = fs.lstatSync(p);
      if (seen.has(s.ino)) continue;
      seen.add(s.ino);
      bytes += s.blocks * 512;
      shiftOne(p, s, base);
    }
  }
  return { bytes, files };
}

function shiftOne(p: string, st: fs.Stats, base: number): void {
  const inRange = (id: number): boolean => id >= base && id < base + 65536;
  if (base === 0 || (!inRange(st.uid) && !inRange(st.gid))) return;
  fs.lchownSync(p, inRange(st.uid) ? st.uid - base : st.uid, inRange(st.gid) ? st.gid - base : st.gid);
  if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) fs.chmodSync(p, st.mode & 0o7777);
}

/** What {@link saveLayer} needs: a sandbox in which only the install ran, after it succeeded. */
export interface SaveLayerInput {
  readonly root: string;
  readonly jail: { readonly name: string; readonly identity: string };
  readonly reqKey: string;
  readonly request: readonly string[];
  readonly parent?: Layer;
  /** Puts the sandbox's writable layer at `dest` (and ends the sandbox); the host id of its root. */
  readonly take: (dest: string) => Promise<void>;
  readonly idBase: number;
  /** Installed packages (see `installedPackages`) before and after the install. */
  readonly before: readonly string[];
  readonly after: readonly string[];
}

/**
 * Moves the sandbox's writable layer into a new layer (or finds the same one made already: then the sandbox just
 * ends) and records the request's alias. Folders of kiln's own (`/kiln`, its binds' mount points) are left out.
 */
export async function saveLayer(i: SaveLayerInput): Promise<Layer> {
  const packages = addedPackages(i.before, i.after);
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify({ f: LAYER_FORMAT, j: i.jail.identity, p: i.parent?.meta.key ?? null, packages }))
    .digest('hex');
  const jailDir = path.join(i.root, i.jail.name);
  fs.mkdirSync(path.join(jailDir, 'alias'), { recursive: true, mode: 0o700 });
  fs.chmodSync(i.root, 0o700);
  let layer = loadLayer(i.root, i.jail.name, key);
  if (!layer) {
    const tmp = path.join(jailDir, `.tmp-${key.slice(0, 16)}-${crypto.randomBytes(4).toString('hex')}`);
    fs.mkdirSync(tmp, { mode: 0o700 });
    try {
      await i.take(path.join(tmp, 'root'));
      fs.rmSync(path.join(tmp, 'root', 'kiln'), { recursive: true, force: true });
      const { bytes, files } = shiftIds(path.join(tmp, 'root'), i.idBase);
      const meta: LayerMeta = {
        format: LAYER_FORMAT,
        key,
        jail: i.jail.name,
        jailIdentity: i.jail.identity,
        parent: i.parent?.meta.key ?? null,
        request: i.request,
        packages,
        bytes,
        files,
        created: new Date().toISOString(),
      };
      fs.writeFileSync(path.join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
      try {
        fs.renameSync(tmp, path.join(jailDir, key));
      } catch {
        // made meanwhile by another build: keep that one
      }
    } finally {
      await removeTree(tmp);
    }
    layer = loadLayer(i.root, i.jail.name, key);
    if (!layer) throw new Error(`layer ${key} vanished as it was made`);
  }
  writeAtomic(path.join(jailDir, 'alias', i.reqKey), `${key}\n`);
  touch(layer);
  return layer;
}

/** Every finished layer under `root`: its folder, jail, key, bytes and last use (ms). */
export function listLayers(root: string): { dir: string; jail: string; meta: LayerMeta; usedMs: number }[] {
  const out: { dir: string; jail: string; meta: LayerMeta; usedMs: number }[] = [];
  let jails: string[] = [];
  try {
    jails = fs.readdirSync(root);
  } catch {
    return out;
  }
  for (const jail of jails.sort()) {
    let keys: string[] = [];
    try {
      keys = fs.readdirSync(path.join(root, jail)).filter((k) => HEX64.test(k));
    } catch {
      continue;
    }
    for (const key of keys.sort()) {
      const dir = path.join(root, jail, key);
      const meta = readMeta(dir);
      if (meta) out.push({ dir, jail, meta, usedMs: fs.statSync(path.join(dir, 'meta.json')).mtimeMs });
    }
  }
  return out;
}

/** Layer folders stacked by a sandbox whose kiln still runs, or that is mounted (kept by `testport --keep` too). */
export function layersInUse(home: string): Set<string> {
  const out = new Set<string>();
  for (const s of listSandboxes(home)) if (s.live || s.mounted) for (const l of s.owner?.layers ?? []) out.add(l);
  for (const k of listKept(home)) {
    if (!k.mounted) continue;
    try {
      const o = JSON.parse(fs.readFileSync(path.join(k.dir, 'owner.json'), 'utf8')) as { layers?: unknown };
      if (Array.isArray(o.layers)) for (const l of o.layers) if (typeof l === 'string') out.add(l);
    } catch {
      // no owner.json: it stacks no layer kiln knows of
    }
  }
  return out;
}

/**
 * Removes the least recently used layers until all of them together take at most `maxBytes`; never one a running
 * sandbox stacks (nor `keep`). Returns the folders removed.
 */
export async function evictLayers(home: string, maxBytes: number, keep: readonly string[] = []): Promise<string[]> {
  const all = listLayers(layersRoot(home)).sort((a, b) => a.usedMs - b.usedMs);
  let total = all.reduce((n, l) => n + l.meta.bytes, 0);
  if (total <= maxBytes) return [];
  const busy = layersInUse(home);
  for (const k of keep) busy.add(path.resolve(k));
  const removed: string[] = [];
  for (const l of all) {
    if (total <= maxBytes) break;
    if (busy.has(path.join(l.dir, 'root')) || busy.has(l.dir)) continue;
    await removeTree(l.dir);
    removed.push(l.dir);
    total -= l.meta.bytes;
  }
  return removed;
}

/** Reads the installed packages of a root's dpkg status file (not following a symlink); [] when absent. */
export function readInstalled(statusFile: string): string[] {
  let fd: number;
  try {
    fd = fs.openSync(statusFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return [];
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return [];
    return installedPackages(fs.readFileSync(fd, 'utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes every layer of `jail` (after `kiln jail update` changed it, or `jail delete`). Returns the folder's bytes. */
export async function dropJailLayers(home: string, jail: string): Promise<number> {
  const dir = path.join(layersRoot(home), jail);
  if (!fs.existsSync(dir) || jail.includes('/') || jail.startsWith('.')) return 0;
  const bytes = listLayers(layersRoot(home))
    .filter((l) => l.jail === jail)
    .reduce((n, l) => n + l.meta.bytes, 0);
  await removeTree(dir);
  return bytes;
}
