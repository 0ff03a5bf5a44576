/**
 * Publishing a generation: scan the `.deb`s, link them from the pool store into a new `gen-N` built in a temp
 * folder, write and sign the indexes, then switch `current` by `rename()`. A kill at any instant leaves the
 * previous generation served whole; the next publish clears what a killed one left.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { Procedure, PhaseFailure, type PhaseLogger } from '../util/phases.js';
import { entryIdentity, parseReleaseSha256, poolPath, releaseDate, renderPackages, renderRelease, type IndexFile, type PackageEntry } from './model.js';
import { DebCache, PoolStore, scanDebs } from './pool.js';
import { GpgSigner, type Signer } from './signer.js';
import { FsPublishedStorage, type PublishedStorage } from './storage.js';
import {
  GENERATION_META_FILE, KEYRING_ASC_FILE, KEYRING_FILE, REPO_META_FILE, acquireLock, checkRepoOwner, currentGeneration, genDirName,
  generationNumbers, isRepoName, migrateRepoNames, repoDir, repoName, reposDir, switchCurrent, type GenerationMeta, type RepoMeta,
} from './generations.js';

/** One `.deb` to publish. */
export interface PublishDeb {
  readonly path: string;
}

/** Input of {@link publish}. */
export interface PublishOptions {
  readonly home: string;
  readonly jail: string;
  readonly tree: string;
  /** The jail's Debian architecture; `.deb`s must be this or `all`. */
  readonly arch: string;
  /** The complete package set of the new generation (what is not listed is not published). */
  readonly debs: readonly PublishDeb[];
  /** Generations to keep, the new one included (kiln.yaml's keep_generations; default 5). */
  readonly keep?: number;
  /** Default: {@link GpgSigner} on `HOME/keys` (made on first use), closed at the end. */
  readonly signer?: Signer;
  /** Default `process.env.SOURCE_DATE_EPOCH`; when set it is the Release Date. */
  readonly sourceDateEpoch?: string;
  readonly now?: () => Date;
  readonly log?: PhaseLogger;
  /** Release Origin (default `kiln`). */
  readonly origin?: string;
}

/** What {@link publish} made. */
export interface PublishResult {
  readonly name: string;
  readonly generation: number;
  /** The generation's folder. */
  readonly dir: string;
  readonly packages: number;
  /** Deb cache hits and misses (misses were read from disk). */
  readonly cache: { readonly hits: number; readonly misses: number };
  /** Generations removed by keep-N. */
  readonly pruned: readonly number[];
}

type XzModule = { xz: { compressSync(input: Uint8Array): Buffer } };
let xzMod: XzModule | null | undefined;

async function xzCompress(data: Buffer): Promise<Buffer> {
  if (xzMod === undefined) {
    try { xzMod = createRequire(import.meta.url)('@napi-rs/lzma') as XzModule; } catch { xzMod = null; }
  }
  if (xzMod) return xzMod.xz.compressSync(data);
  return (await run('xz', ['-c', '-6'], { input: data })).stdoutBytes;
}

function digests(data: Buffer): { md5: string; sha256: string } {
  return { md5: crypto.createHash('md5').update(data).digest('hex'), sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

/** Publishes a new generation of the (jail, tree) repository and serves it. See the module comment. */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const name = repoName(opts.jail, opts.tree);
  const keep = Math.max(1, opts.keep ?? 5);
  migrateRepoNames(opts.home);
  const dir = repoDir(opts.home, name);
  const proc = new Procedure(opts.log ?? (() => undefined));
  fs.mkdirSync(dir, { recursive: true });
  checkRepoOwner(dir, opts.jail, opts.tree);
  const storage: PublishedStorage = new FsPublishedStorage(dir);
  try {
    const release = await proc.phase('lock', () => acquireLock(dir));
    proc.defer('unlock', release);
    await proc.phase('clear-leftovers', () => clearLeftovers(storage));
    const cache = new DebCache(path.join(dir, '.kiln', 'debcache.json'));
    const store = new PoolStore(path.join(dir, '.kiln', 'pool'));
    const scanned = await proc.phase('scan', () => scanDebs(opts.debs.map((d) => d.path), { cache, store }));
    const entries = await proc.phase('entries', () => toEntries(scanned, opts.arch));
    const generation = Math.max(0, ...generationNumbers(dir), currentGeneration(dir) ?? 0) + 1;
    const staging = `${genDirName(generation)}.tmp-${process.pid}`;
    proc.defer('remove-staging', () => storage.remove(staging));
    await proc.phase('pool', async () => {
      for (const e of entries) await storage.linkFile(store.path(e.entry.sha256), `${staging}/${e.entry.filename}`);
    });
    const signer = opts.signer ?? await proc.phase('open-key', () => GpgSigner.open(opts.home));
    if (!opts.signer) proc.defer('close-key', () => signer.close());
    await proc.phase('indexes', () => writeIndexes(storage, staging, {
      ...opts, keep, name, entries: entries.map((e) => e.entry), signer, generation, dir,
    }));
    // Flush the new generation (and the pool store) to disk before it can become `current`, so a power cut
    // after the switch cannot leave `current` naming half-written files. One syncfs for the whole filesystem.
    await proc.phase('sync', () => run('sync', ['-f', dir]).then(() => undefined));
    await proc.phase('switch', async () => {
      await storage.rename(staging, genDirName(generation));
      switchCurrent(dir, generation);
    });
    await proc.phase('key-rotation', () => signer.published?.(name, publishedRepos(opts.home, name)));
    const pruned = await proc.phase('prune', () => prune(dir, keep, store));
    await proc.phase('save-cache', () => cache.save());
    return { name, generation, dir: path.join(dir, genDirName(generation)), packages: entries.length,
      cache: { hits: cache.hits, misses: cache.misses }, pruned };
  } catch (e) {
    throw e instanceof PhaseFailure && e.cause instanceof KilnError ? e.cause : e;
  } finally {
    await proc.close();
  }
}

/** Names of the repositories that serve a generation (plus `name`): who must publish once during a key rotation. */
function publishedRepos(home: string, name: string): string[] {
  let names: string[] = [];
  try { names = fs.readdirSync(reposDir(home)).filter((n) => isRepoName(n) && currentGeneration(repoDir(home, n)) !== null); } catch { /* none */ }
  return [...new Set([...names, name])];
}

async function clearLeftovers(storage: PublishedStorage): Promise<void> {
  for (const n of await storage.list('.')) {
    if (/^gen-\d+\.tmp-\d+$/.test(n) || n === 'current.tmp' || /\.tmp-\d+$/.test(n)) await storage.remove(n);
  }
}

function toEntries(scanned: Awaited<ReturnType<typeof scanDebs>>, arch: string): { path: string; entry: PackageEntry }[] {
  const seen = new Map<string, { path: string; sha256: string }>();
  const out: { path: string; entry: PackageEntry }[] = [];
  for (const s of scanned) {
    let id: ReturnType<typeof entryIdentity>;
    try { id = entryIdentity(s.record.control); } catch (e) {
      throw new KilnError('KILN_E_REPO', `${s.path}: ${(e as Error).message}`, { hint: 'rebuild the package', exitCode: 1 });
    }
    if (id.arch !== arch && id.arch !== 'all') {
      throw new KilnError('KILN_E_REPO', `${s.path} is for ${id.arch}, the repository is for ${arch}`,
        { hint: 'publish only packages built in this jail', exitCode: 1 });
    }
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(id.name) || /[/\s]/.test(id.version)) {
      throw new KilnError('KILN_E_REPO', `${s.path} has an invalid Package or Version`, { hint: 'rebuild the package', exitCode: 1 });
    }
    const key = `${id.name} ${id.version} ${id.arch}`;
    const prev = seen.get(key);
    if (prev) {
      if (prev.sha256 === s.record.sha256) continue;
      throw new KilnError('KILN_E_REPO', `${prev.path} and ${s.path} are both ${key.replace(/ /g, '_')} with different contents`,
        { hint: 'publish one file per package version (bump the revision when a package changes)', exitCode: 1 });
    }
    seen.set(key, { path: s.path, sha256: s.record.sha256 });
    out.push({ path: s.path, entry: { control: s.record.control, filename: poolPath(id.name, id.version, id.arch),
      size: s.record.size, md5: s.record.md5, sha256: s.record.sha256 } });
  }
  return out;
}

interface IndexJob extends PublishOptions {
  readonly keep: number;
  readonly name: string;
  readonly entries: readonly PackageEntry[];
  readonly signer: Signer;
  readonly generation: number;
  readonly dir: string;
}

async function writeIndexes(storage: PublishedStorage, staging: string, job: IndexJob): Promise<void> {
  const dists = `${staging}/dists/${job.jail}`;
  const binDir = `main/binary-${job.arch}`;
  const packages = Buffer.from(renderPackages(job.entries));
  const variants: [string, Buffer][] = [
    ['Packages', packages],
    ['Packages.gz', zlib.gzipSync(packages, { level: 9 })],
    ['Packages.xz', await xzCompress(packages)],
  ];
  const files: IndexFile[] = [];
  for (const [file, data] of variants) {
    const d = digests(data);
    await storage.writeFile(`${dists}/${binDir}/${file}`, data);
    await storage.linkWithin(`${dists}/${binDir}/${file}`, `${dists}/${binDir}/by-hash/SHA256/${d.sha256}`);
    await storage.linkWithin(`${dists}/${binDir}/${file}`, `${dists}/${binDir}/by-hash/MD5Sum/${d.md5}`);
    files.push({ path: `${binDir}/${file}`, size: data.length, ...d });
  }
  // by-hash keeps the indexes of the generations still kept, so a client that read an older InRelease
  // just before the switch still finds the index it was promised.
  const olders = job.keep > 1 ? generationNumbers(job.dir).slice(-(job.keep - 1)) : [];
  for (const older of olders) {
    const rel = `${genDirName(older)}/dists/${job.jail}/${binDir}/by-hash`;
    for (const algo of ['SHA256', 'MD5Sum']) {
      for (const h of await storage.list(`${rel}/${algo}`)) {
        if (!(await storage.exists(`${dists}/${binDir}/by-hash/${algo}/${h}`))) {
          await storage.linkWithin(`${rel}/${algo}/${h}`, `${dists}/${binDir}/by-hash/${algo}/${h}`);
        }
      }
    }
  }
  const date = releaseDate(job.sourceDateEpoch ?? process.env.SOURCE_DATE_EPOCH, (job.now ?? (() => new Date()))());
  const releaseText = Buffer.from(renderRelease({
    origin: job.origin ?? 'kiln', label: job.name, suite: job.jail, architectures: [job.arch], components: ['main'],
    description: `kiln packages of tree ${job.tree} built in jail ${job.jail}`, date, files,
  }));
  await storage.writeFile(`${dists}/Release`, releaseText);
  await storage.writeFile(`${dists}/InRelease`, await job.signer.clearsign(releaseText));
  await storage.writeFile(`${dists}/Release.gpg`, await job.signer.detachSign(releaseText));
  const key = await job.signer.publicKey();
  await storage.writeFile(`${staging}/${KEYRING_FILE}`, key.binary);
  await storage.writeFile(`${staging}/${KEYRING_ASC_FILE}`, key.armored);
  const meta: GenerationMeta = { generation: job.generation, createdAt: (job.now ?? (() => new Date()))().toISOString(), packages: job.entries.length };
  await storage.writeFile(`${staging}/${GENERATION_META_FILE}`, `${JSON.stringify(meta, null, 2)}\n`);
  // Beside the repository: the key and repo.json, each replaced atomically.
  for (const [file, data] of [[KEYRING_FILE, key.binary], [KEYRING_ASC_FILE, key.armored],
    [REPO_META_FILE, `${JSON.stringify({ jail: job.jail, tree: job.tree, arch: job.arch } satisfies RepoMeta, null, 2)}\n`]] as const) {
    await storage.writeFile(`${file}.tmp-${process.pid}`, data);
    await storage.rename(`${file}.tmp-${process.pid}`, file);
  }
}

/** Removes generations beyond the newest `keep` (never the served one), then unlinked pool files. */
function prune(dir: string, keep: number, store: PoolStore): number[] {
  const current = currentGeneration(dir);
  const nums = generationNumbers(dir);
  const doomed = nums.slice(0, Math.max(0, nums.length - keep)).filter((n) => n !== current);
  for (const n of doomed) fs.rmSync(path.join(dir, genDirName(n)), { recursive: true, force: true });
  store.gc();
  return doomed;
}

/** Checks a served generation: every index the Release lists is present with its size and SHA256. */
export function verifyGeneration(genDir: string, jail: string): string[] {
  const problems: string[] = [];
  const dists = path.join(genDir, 'dists', jail);
  let release: string;
  try { release = fs.readFileSync(path.join(dists, 'Release'), 'utf8'); } catch { return [`${dists}/Release is missing`]; }
  for (const [rel, want] of parseReleaseSha256(release)) {
    let data: Buffer;
    try { data = fs.readFileSync(path.join(dists, rel)); } catch { problems.push(`${rel} is missing`); continue; }
    if (data.length !== want.size || digests(data).sha256 !== want.sha256) problems.push(`${rel} does not match Release`);
  }
  return problems;
}
