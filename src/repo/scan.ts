/**
 * Scanning a publish's `.deb`s: each input is looked up in the repository's deb index (`DebIndex` in the store) by
 * (path, size, mtime, inode); only the others are read, once, by worker threads that hash them and copy them into
 * the pool store in the same pass ({@link ingestDeb}).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KilnError } from '../util/errors.js';
import type { DebIndex, DebStanza, DebFileKey } from '../store/index.js';
import { controlWithDpkg } from './deb.js';
import { parseControl } from './control.js';
import { ingestDeb, type Ingested } from './ingest.js';
import type { DebRecord, PoolStore, ScannedDeb } from './pool.js';

/** Below this many files to read, the calling thread reads them itself (a worker costs ~0.1 s to start). */
const INLINE_MAX = 4;

/** How to start an ingest worker: the compiled file, or from TypeScript sources (tsx) through a bootstrap. */
function workerSpec(): { entry: URL | string; eval: boolean } | undefined {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./ingest-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
  if (!fs.existsSync(fileURLToPath(url))) return undefined;
  if (!ts) return { entry: url, eval: false };
  const code =
    `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })` +
    '.catch((e) => { console.error(e); process.exit(1); });';
  return { entry: code, eval: true };
}

/** One file to read and where its copy goes. */
interface Job {
  readonly file: string;
  readonly copyTo: string | null;
}

/**
 * Reads `jobs` with up to `threads` worker threads (inline when few, or when workers cannot start here), results in
 * input order.
 */
export async function ingestAll(jobs: readonly Job[], threads = os.availableParallelism()): Promise<Ingested[]> {
  const spec = jobs.length > INLINE_MAX && threads > 0 ? workerSpec() : undefined;
  if (!spec) return jobs.map((j) => ingestDeb(j.file, j.copyTo));
  const results: Ingested[] = new Array(jobs.length);
  let next = 0;
  const n = Math.min(threads, jobs.length);
  const workers = Array.from({ length: n }, () => new Worker(spec.entry, { eval: spec.eval }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const give = (): void => {
              if (next >= jobs.length) {
                resolve();
                return;
              }
              const id = next++;
              w.postMessage({ id, file: jobs[id]!.file, copyTo: jobs[id]!.copyTo });
            };
            w.on('message', (m: { id: number; result: Ingested }) => {
              results[m.id] = m.result;
              give();
            });
            w.on('error', reject);
            // Before its work is done only (a resolved promise ignores this, e.g. at terminate()).
            w.on('exit', (code) => reject(new Error(`ingest worker exited with ${code}`)));
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** The stat key of an input file. */
function fileKey(file: string): DebFileKey {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(file, { bigint: true });
  } catch (e) {
    throw new KilnError('KILN_E_REPO', `cannot read ${file}: ${(e as Error).message}`, {
      hint: 'publish only .deb files that exist',
      exitCode: 1,
    });
  }
  return { path: file, size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino };
}

function record(s: DebStanza): DebRecord {
  return { control: parseControl(s.control), size: s.size, md5: s.md5, sha256: s.sha256 };
}

/** What {@link scanDebs} did. */
export interface ScanResult {
  readonly scanned: ScannedDeb[];
  /** Files found unchanged in the index (not read). */
  readonly hits: number;
  /** Files read. */
  readonly misses: number;
}

/**
 * Scans `paths` (see the module comment): returns each file's record in input order, with new contents stored in
 * `store` and recorded in `index`. Throws `KILN_E_REPO` for a missing file or one that is not a `.deb`.
 */
export async function scanDebs(
  paths: readonly string[],
  opts: { index: DebIndex; store: PoolStore; threads?: number },
): Promise<ScanResult> {
  const keys = paths.map((p) => fileKey(path.resolve(p)));
  const out: (ScannedDeb | undefined)[] = new Array(keys.length);
  const todo: number[] = [];
  keys.forEach((k, i) => {
    const hit = opts.index.lookup(k);
    if (hit && opts.store.has(hit.sha256)) out[i] = { path: k.path, record: record(hit) };
    else todo.push(i);
  });
  fs.mkdirSync(opts.store.dir, { recursive: true });
  const temps = todo.map((_, j) => opts.store.tempPath(`ingest-${j}`));
  try {
    const got = await ingestAll(
      todo.map((i, j) => ({ file: keys[i]!.path, copyTo: temps[j]! })),
      opts.threads,
    );
    const rows: { file: DebFileKey; stanza: DebStanza }[] = [];
    for (let j = 0; j < todo.length; j++) {
      const k = keys[todo[j]!]!;
      const r = got[j]!;
      if (r.error !== undefined) {
        throw new KilnError('KILN_E_REPO', `${k.path} is not a .deb: ${r.error}`, {
          hint: 'check it with `dpkg-deb -I`',
          exitCode: 1,
        });
      }
      const control = r.control ?? opts.index.stanza(r.sha256)?.control ?? (await controlWithDpkg(k.path));
      opts.store.adopt(r.sha256, temps[j]!);
      const stanza: DebStanza = { sha256: r.sha256, md5: r.md5, size: r.size, control };
      rows.push({ file: k, stanza });
      out[todo[j]!] = { path: k.path, record: record(stanza) };
    }
    opts.index.record(rows);
  } finally {
    for (const t of temps) fs.rmSync(t, { force: true });
  }
  return { scanned: out as ScannedDeb[], hits: keys.length - todo.length, misses: todo.length };
}
