/**
 * Reading `.deb`s for the index, with a cache keyed by (path, size, mtime, inode) so re-publishing does not
 * re-read unchanged files, and the content-addressed pool store (`repos/NAME/.kiln/pool/SHA256.deb`) that every
 * generation hard-links from.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { controlFromBytes, controlWithDpkg } from './deb.js';
import { parseControl, type ControlField } from './control.js';

/** What kiln knows of one `.deb` file's content. */
export interface DebRecord {
  readonly control: readonly ControlField[];
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

interface CachedRecord { c: string; s: number; m: string; h: string }

/** A JSON-file cache of {@link DebRecord}s; entries not used since load are dropped on {@link DebCache.save}. */
export class DebCache {
  private readonly old = new Map<string, CachedRecord>();
  private readonly used = new Map<string, CachedRecord>();
  /** Cache hits and misses since construction. */
  hits = 0;
  misses = 0;

  /** Loads `file` when it exists and parses; a damaged cache is ignored (it is only a cache). */
  constructor(private readonly file: string | null) {
    if (!file) return;
    try {
      const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: number; entries?: Record<string, CachedRecord> };
      if (data.version === 1 && data.entries) for (const [k, v] of Object.entries(data.entries)) this.old.set(k, v);
    } catch { /* missing or damaged: start empty */ }
  }

  /** The key of a file: its absolute path, size, mtime and inode. */
  static key(file: string, st: fs.Stats): string {
    return `${file}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
  }

  /** The cached record for `key`, marking it used. */
  get(key: string): DebRecord | undefined {
    const r = this.used.get(key) ?? this.old.get(key);
    if (!r) { this.misses++; return undefined; }
    this.hits++;
    this.used.set(key, r);
    return { control: parseControl(r.c), size: r.s, md5: r.m, sha256: r.h };
  }

  /** Records `rec` for `key` (its control text as read). */
  set(key: string, rec: DebRecord, controlText: string): void {
    this.used.set(key, { c: controlText, s: rec.size, m: rec.md5, h: rec.sha256 });
  }

  /** Writes the used entries atomically (temp file + rename). */
  save(): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 1, entries: Object.fromEntries(this.used) }));
    fs.renameSync(tmp, this.file);
  }
}

/** The content-addressed store of published `.deb`s: `DIR/SHA256.deb`, written once, never changed. */
export class PoolStore {
  constructor(readonly dir: string) {}

  /** Path of the stored file for a digest. */
  path(sha256: string): string {
    return path.join(this.dir, `${sha256}.deb`);
  }

  /** Is a file with this digest stored? */
  has(sha256: string): boolean {
    return fs.existsSync(this.path(sha256));
  }

  /** Stores `bytes` under its digest: written to a temp name and renamed, so a kill never leaves half a file. */
  put(sha256: string, bytes: Buffer): void {
    if (this.has(sha256)) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `.tmp-${process.pid}-${sha256}`);
    fs.writeFileSync(tmp, bytes, { mode: 0o644 });
    fs.renameSync(tmp, this.path(sha256));
  }

  /** Removes stored files no generation links to any more (link count 1) and stale temp files. Returns bytes freed. */
  gc(): number {
    let freed = 0;
    let names: string[] = [];
    try { names = fs.readdirSync(this.dir); } catch { return 0; }
    for (const n of names) {
      const f = path.join(this.dir, n);
      const st = fs.lstatSync(f);
      const staleTmp = n.startsWith('.tmp-') && !pidAlive(Number(n.split('-')[1]));
      if (staleTmp || (n.endsWith('.deb') && st.nlink <= 1)) { fs.rmSync(f, { force: true }); freed += st.size; }
    }
    return freed;
  }
}

/** Is a process with this pid running? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** One scanned input file. */
export interface ScannedDeb {
  /** The input path, absolute. */
  readonly path: string;
  readonly record: DebRecord;
}

/**
 * Reads every `.deb` (from the cache when its key matches and the pool store still has it), stores new
 * content in `store`, and returns the records in input order. Yields to the event loop every 200 files.
 */
export async function scanDebs(paths: readonly string[], opts: { cache: DebCache; store?: PoolStore }): Promise<ScannedDeb[]> {
  const out: ScannedDeb[] = [];
  for (let i = 0; i < paths.length; i++) {
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
    const file = path.resolve(paths[i]!);
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch (e) {
      throw new KilnError('KILN_E_REPO', `cannot read ${file}: ${(e as Error).message}`, { hint: 'publish only .deb files that exist', exitCode: 1 });
    }
    const key = DebCache.key(file, st);
    const cached = opts.cache.get(key);
    if (cached && (!opts.store || opts.store.has(cached.sha256))) { out.push({ path: file, record: cached }); continue; }
    const bytes = fs.readFileSync(file);
    let text: string | null;
    try { text = controlFromBytes(bytes); } catch (e) {
      throw new KilnError('KILN_E_REPO', `${file} is not a .deb: ${(e as Error).message}`, { hint: 'check it with `dpkg-deb -I`', exitCode: 1 });
    }
    text ??= await controlWithDpkg(file);
    const record: DebRecord = {
      control: parseControl(text), size: bytes.length,
      md5: crypto.createHash('md5').update(bytes).digest('hex'),
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    };
    opts.store?.put(record.sha256, bytes);
    opts.cache.set(key, record, text);
    out.push({ path: file, record });
  }
  return out;
}
