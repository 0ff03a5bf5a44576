/**
 * Debian's source index for one release, downloaded and cached under `HOME/cache/debian/RELEASE/`, and looked up
 * by package name or by a file's sha256. The cache is refreshed on demand: the release's `InRelease` (or `Release`)
 * is fetched with `If-Modified-Since`, and `Sources` is downloaded again only when its hash there changed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { run, have } from '../util/exec.js';
import { httpGetToFile } from './http.js';
import { parseSources, type SourcePackage, type SourcePackageFile } from './sources.js';

/** A file of Debian's source archive found by its sha256. */
export interface DebianSourceFile {
  /** Full URL in the pool. */
  readonly url: string;
  /** Size in bytes. */
  readonly size: number;
  /** Its name in the pool, e.g. `hello_2.10.orig.tar.gz`. */
  readonly filename: string;
  /** Its sha256. */
  readonly sha256: string;
  /** The source package that holds it. */
  readonly package: string;
  /** That package's version. */
  readonly version: string;
}

/** How to reach and keep the index. */
export interface SourcesIndexOptions {
  /** kiln's home folder; the cache is `HOME/cache/debian/RELEASE/`. */
  readonly home: string;
  /** Archive root URL (from `hostMirror()`), no trailing slash. */
  readonly mirror: string;
  /** Release (suite) name, e.g. `bookworm`. */
  readonly release: string;
  /** Archive component (default `main`). */
  readonly component?: string;
  /**
   * When to ask the archive: `missing` (default: only when nothing is cached), `always` (check the release file,
   * download `Sources` again if its hash changed), `never` (cache only; a missing cache is an error).
   */
  readonly refresh?: 'missing' | 'always' | 'never';
  /** An OpenPGP keyring to verify `InRelease` with (`gpgv`); without it the release file is read unverified. */
  readonly keyring?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Abort downloads. */
  readonly signal?: AbortSignal;
}

/** What the cache folder holds besides the index. */
interface CacheState {
  mirror: string;
  component: string;
  /** sha256 of the compressed index as the release file lists it. */
  compressedSha256: string;
  /** `Last-Modified` of the release file. */
  releaseLastModified?: string;
  fetchedAt: string;
}

/** Cache folder of a release. */
export function sourcesCacheDir(home: string, release: string): string {
  return path.join(home, 'cache', 'debian', release);
}

/** The `SHA256:` section of a Release file: path → {sha256, size}. */
export function parseReleaseSha256(text: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  let inSha = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inSha = /^SHA256:/.test(line);
      continue;
    }
    if (!inSha) continue;
    const w = line.trim().split(/\s+/);
    if (w.length === 3) out.set(w[2]!, { sha256: w[0]!.toLowerCase(), size: Number(w[1]) });
  }
  return out;
}

/** Strips the clear-sign armour of an `InRelease` file without checking the signature. */
function stripClearsign(text: string): string {
  const start = text.indexOf('\n\n');
  const sig = text.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (!text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----') || start === -1 || sig === -1) return text;
  return text.slice(start + 2, sig + 1).replace(/^- /gm, '');
}

async function readRelease(
  dir: string,
  base: string,
  opts: SourcesIndexOptions,
  state: CacheState | undefined,
): Promise<{ text: string; lastModified?: string } | 'unchanged'> {
  const tmp = path.join(dir, `.InRelease.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  try {
    const ims = state?.mirror === opts.mirror ? state.releaseLastModified : undefined;
    let got = await httpGetToFile(`${base}/InRelease`, tmp, {
      signal: opts.signal,
      ...(ims ? { ifModifiedSince: ims } : {}),
    });
    let signed = true;
    if (got === undefined) {
      signed = false;
      got = await httpGetToFile(`${base}/Release`, tmp, {
        signal: opts.signal,
        ...(ims ? { ifModifiedSince: ims } : {}),
      });
    }
    if (got === undefined) {
      throw new KilnError('KILN_E_FETCH', `${base}/InRelease and ${base}/Release do not exist`, {
        hint: `check the release name "${opts.release}" and the mirror`,
        exitCode: 1,
      });
    }
    if (got.status === 304 && fs.existsSync(path.join(dir, 'Release'))) return 'unchanged';
    let text = fs.readFileSync(tmp, 'utf8');
    if (signed && opts.keyring && (await have('gpgv'))) {
      try {
        text = (await run('gpgv', ['--keyring', opts.keyring, '--output', '-', tmp], { timeoutMs: 60_000 })).stdout;
      } catch (e) {
        throw new KilnError('KILN_E_FETCH', `${base}/InRelease: signature check with ${opts.keyring} failed`, {
          hint: "the mirror served a release file not signed by Debian's archive key; check the mirror",
          exitCode: 1,
          cause: e,
        });
      }
    } else if (signed) text = stripClearsign(text);
    return { text, ...(got.lastModified ? { lastModified: got.lastModified } : {}) };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Makes sure the cache holds the release's source index, downloading it when asked or missing. Returns the path
 * of the decompressed index and whether it was downloaded now.
 */
export function updateSourcesIndex(opts: SourcesIndexOptions): Promise<{ path: string; changed: boolean }> {
  const component = opts.component ?? 'main';
  return updateIndexFile(opts, {
    remote: `${component}/source/Sources`,
    local: `${component}.Sources`,
    state: `${component}.state.json`,
  });
}

/**
 * Like {@link updateSourcesIndex} for the binary index of one architecture (`main/binary-ARCH/Packages`), cached as
 * `HOME/cache/debian/RELEASE/COMPONENT.Packages-ARCH`.
 */
export function updatePackagesIndex(
  opts: SourcesIndexOptions & { readonly arch: string },
): Promise<{ path: string; changed: boolean }> {
  const component = opts.component ?? 'main';
  return updateIndexFile(opts, {
    remote: `${component}/binary-${opts.arch}/Packages`,
    local: `${component}.Packages-${opts.arch}`,
    state: `${component}.Packages-${opts.arch}.state.json`,
  });
}

/** One index of a release: its path under `dists/RELEASE/` (without `.xz`), its cached file and state file names. */
interface IndexFileSpec {
  readonly remote: string;
  readonly local: string;
  readonly state: string;
}

async function updateIndexFile(
  opts: SourcesIndexOptions,
  spec: IndexFileSpec,
): Promise<{ path: string; changed: boolean }> {
  const component = opts.component ?? 'main';
  const dir = sourcesCacheDir(opts.home, opts.release);
  const file = path.join(dir, spec.local);
  const stateFile = path.join(dir, spec.state);
  const refresh = opts.refresh ?? 'missing';
  const cached = fs.existsSync(file);
  if (refresh === 'never' || (refresh === 'missing' && cached)) {
    if (!cached) {
      throw new KilnError('KILN_E_FETCH', `no cached index ${spec.local} for ${opts.release} in ${dir}`, {
        hint: 'refresh it (kiln tree update, or any command allowed to reach the archive)',
        exitCode: 1,
      });
    }
    return { path: file, changed: false };
  }
  fs.mkdirSync(dir, { recursive: true });
  let state: CacheState | undefined;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CacheState;
  } catch {
    state = undefined;
  }
  const base = `${opts.mirror}/dists/${opts.release}`;
  const rel = await readRelease(dir, base, opts, cached ? state : undefined);
  if (rel === 'unchanged') {
    opts.log?.(`debian: ${opts.release} release file not modified; ${spec.local} kept`);
    return { path: file, changed: false };
  }
  const sums = parseReleaseSha256(rel.text);
  const pick = ['xz', 'gz'].map((ext) => ({ ext, rel: `${spec.remote}.${ext}` })).find((c) => sums.has(c.rel));
  if (!pick) {
    throw new KilnError('KILN_E_FETCH', `${base}: the release file lists no ${spec.remote}.xz or .gz`, {
      hint: `this archive has no such index for component ${component}`,
      exitCode: 1,
    });
  }
  const want = sums.get(pick.rel)!;
  if (cached && state?.compressedSha256 === want.sha256 && state.mirror === opts.mirror) {
    fs.writeFileSync(path.join(dir, 'Release'), rel.text);
    fs.writeFileSync(
      stateFile,
      JSON.stringify({ ...state, ...(rel.lastModified ? { releaseLastModified: rel.lastModified } : {}) }, null, 2),
    );
    opts.log?.(`debian: ${opts.release} ${pick.rel} unchanged; index kept`);
    return { path: file, changed: false };
  }
  const url = `${base}/${pick.rel}`;
  const unique = `${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  const tmp = path.join(dir, `.${spec.local}.${unique}.${pick.ext}`);
  const tmpPlain = path.join(dir, `.${spec.local}.${unique}`);
  try {
    opts.log?.(`debian: downloading ${url} (${want.size} bytes)`);
    const got = await httpGetToFile(url, tmp, { signal: opts.signal, timeoutMs: 600_000 });
    if (!got || got.status !== 200)
      throw new KilnError('KILN_E_FETCH', `${url} is missing`, {
        hint: 'the mirror is inconsistent; retry later',
        exitCode: 1,
      });
    if (got.sha256 !== want.sha256) {
      throw new KilnError('KILN_E_CHECKSUM', `${url}: sha256 ${got.sha256}, the release file says ${want.sha256}`, {
        hint: 'the mirror is being updated or is broken; retry later',
        exitCode: 1,
      });
    }
    await decompress(tmp, pick.ext, tmpPlain);
    fs.renameSync(tmpPlain, file);
    fs.writeFileSync(path.join(dir, 'Release'), rel.text);
    const next: CacheState = {
      mirror: opts.mirror,
      component,
      compressedSha256: want.sha256,
      ...(rel.lastModified ? { releaseLastModified: rel.lastModified } : {}),
      fetchedAt: new Date().toISOString(),
    };
    fs.writeFileSync(stateFile, JSON.stringify(next, null, 2));
    return { path: file, changed: true };
  } finally {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(tmpPlain, { force: true });
  }
}

async function decompress(src: string, ext: string, dest: string): Promise<void> {
  if (ext === 'xz') {
    await run('sh', ['-c', 'xz -dc -- "$1" > "$2"', 'sh', src, dest], { timeoutMs: 300_000 });
    return;
  }
  const zlib = await import('node:zlib');
  const { pipeline } = await import('node:stream/promises');
  await pipeline(fs.createReadStream(src), zlib.createGunzip(), fs.createWriteStream(dest));
}

/** A release's source index in memory, with lookups. */
export class SourcesIndex {
  private shaMap: Map<string, { pkg: SourcePackage; file: SourcePackageFile }> | undefined;
  private nameMap: Map<string, SourcePackage> | undefined;

  /**
   * @param packages the parsed stanzas, in index order
   * @param mirror the archive root URL the pool URLs are made from
   */
  constructor(
    readonly packages: readonly SourcePackage[],
    readonly mirror: string,
  ) {}

  /** The archive file with that sha256, with its pool URL, or undefined. */
  bySha256(sha256: string): DebianSourceFile | undefined {
    if (!this.shaMap) {
      this.shaMap = new Map();
      for (const pkg of this.packages) for (const file of pkg.files) this.shaMap.set(file.sha256, { pkg, file });
    }
    const hit = this.shaMap.get(sha256.toLowerCase());
    if (!hit) return undefined;
    return {
      url: this.fileUrl(hit.pkg, hit.file.name),
      size: hit.file.size,
      filename: hit.file.name,
      sha256: hit.file.sha256,
      package: hit.pkg.package,
      version: hit.pkg.version,
    };
  }

  /** The source package of that name (the last stanza wins when a release lists several versions). */
  byName(name: string): SourcePackage | undefined {
    if (!this.nameMap) {
      this.nameMap = new Map();
      for (const p of this.packages) this.nameMap.set(p.package, p);
    }
    return this.nameMap.get(name);
  }

  /** Pool URL of one of a package's files. */
  fileUrl(pkg: SourcePackage, filename: string): string {
    return `${this.mirror}/${pkg.directory}/${filename}`;
  }
}

/** Reads a decompressed `Sources` file into a {@link SourcesIndex}. */
export function readSourcesIndex(file: string, mirror: string): SourcesIndex {
  return new SourcesIndex(parseSources(fs.readFileSync(file, 'utf8')), mirror);
}

/** Parsed indexes kept per file for the life of the process (the file's mtime and size key a reload). */
const memo = new Map<string, { key: string; index: SourcesIndex }>();

const inflight = new Map<string, Promise<SourcesIndex>>();

/**
 * Updates the cache as `opts.refresh` says, then parses it (memoised per process while the file is unchanged).
 * Concurrent calls for the same index (parallel builders) share one download and one parse.
 */
export function loadSourcesIndex(opts: SourcesIndexOptions): Promise<SourcesIndex> {
  const key = `${opts.home}|${opts.mirror}|${opts.release}|${opts.component ?? 'main'}`;
  const running = inflight.get(key);
  if (running) return running;
  const p = loadOnce(opts).finally(() => inflight.delete(key));
  inflight.set(key, p);
  return p;
}

async function loadOnce(opts: SourcesIndexOptions): Promise<SourcesIndex> {
  const { path: file } = await updateSourcesIndex(opts);
  const st = fs.statSync(file);
  const key = `${opts.mirror}|${st.size}|${st.mtimeMs}`;
  const hit = memo.get(file);
  if (hit && hit.key === key) return hit.index;
  const index = readSourcesIndex(file, opts.mirror);
  memo.set(file, { key, index });
  return index;
}
