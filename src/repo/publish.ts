/**
 * Publishing a generation: scan the `.deb`s, link them from the pool store into a new `gen-N` built in a temp
 * folder, write and sign the indexes, then switch `current` by `rename()`. A kill at any instant leaves the
 * previous generation served whole; the next publish clears what a killed one left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { Procedure, PhaseFailure, type PhaseLogger } from '../util/phases.js';
import { loadConfig } from '../config/index.js';
import { DebIndex } from '../store/index.js';
import { controlValue } from './control.js';
import {
  entryIdentity,
  parseReleaseSha256,
  poolPath,
  releaseDate,
  releaseValidUntil,
  type PackageEntry,
} from './model.js';
import { PoolStore, type ScannedDeb } from './pool.js';
import { scanDebs } from './scan.js';
import { digests, startVariants, writeSuite } from './indexes.js';
import { GpgSigner, type Signer } from './signer.js';
import { FsPublishedStorage, type PublishedStorage } from './storage.js';
import {
  GENERATION_META_FILE,
  KEYRING_ASC_FILE,
  KEYRING_FILE,
  REPO_META_FILE,
  acquireLock,
  checkRepoOwner,
  currentGeneration,
  debugSuite,
  genDirName,
  generationNumbers,
  isRepoName,
  migrateRepoNames,
  repoDir,
  repoName,
  reposDir,
  switchCurrent,
  type GenerationMeta,
  type RepoMeta,
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
  /**
   * Debug symbol packages for the `JAIL-debug` suite, besides those of `debs` whose name ends in `-dbgsym` (or that
   * say `Auto-Built-Package: debug-symbols`). Published only with {@link debugSymbols}.
   */
  readonly debugDebs?: readonly PublishDeb[];
  /**
   * Publish debug symbol packages in the `JAIL-debug` suite, as Debian's debug archive does (default: kiln.yaml's
   * `debug_symbols`, else false). When false they are left out of the repository.
   */
  readonly debugSymbols?: boolean;
  /** Generations to keep, the new one included (kiln.yaml's keep_generations; default 5). */
  readonly keep?: number;
  /** Days a Release stays valid (`Valid-Until`); 0 leaves the field out. Default: kiln.yaml's `repo.valid_days`. */
  readonly validDays?: number;
  /** Default: {@link GpgSigner} on `HOME/keys` (made on first use), closed at the end. */
  readonly signer?: Signer;
  /** Default `process.env.SOURCE_DATE_EPOCH`; when set it is the Release Date. */
  readonly sourceDateEpoch?: string;
  readonly now?: () => Date;
  readonly log?: PhaseLogger;
  /** Release Origin (default `kiln`). */
  readonly origin?: string;
  /** Threads that read new `.deb`s (default: the number of cores). */
  readonly threads?: number;
}

/** What {@link publish} made. */
export interface PublishResult {
  readonly name: string;
  readonly generation: number;
  /** The generation's folder. */
  readonly dir: string;
  /** Packages in the main suite. */
  readonly packages: number;
  /** Packages in the debug suite (0 when it is not published). */
  readonly debugPackages: number;
  /** Debug symbol packages left out (debug symbols are not enabled). */
  readonly debugSkipped: number;
  /** Deb index hits and misses (misses were read from disk). */
  readonly cache: { readonly hits: number; readonly misses: number };
  /** Generations removed by keep-N. */
  readonly pruned: readonly number[];
}

/** Settings kiln.yaml gives a publish when the caller does not. */
function settings(opts: PublishOptions): { validDays: number; debugSymbols: boolean } {
  if (opts.validDays !== undefined && opts.debugSymbols !== undefined)
    return { validDays: opts.validDays, debugSymbols: opts.debugSymbols };
  const cfg = loadConfig(opts.home) as Readonly<Record<string, unknown>> & ReturnType<typeof loadConfig>;
  return {
    validDays: opts.validDays ?? cfg.repo.valid_days,
    debugSymbols: opts.debugSymbols ?? cfg.debug_symbols === true,
  };
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
  const storage = new FsPublishedStorage(dir);
  try {
    const conf = settings(opts);
    const release = await proc.phase('lock', () => acquireLock(dir));
    proc.defer('unlock', release);
    await proc.phase('clear-leftovers', () => clearLeftovers(storage));
    // The key opens (gpg starts) while the .debs are read.
    const signerP = opts.signer ? Promise.resolve(opts.signer) : GpgSigner.open(opts.home);
    signerP.catch(() => undefined);
    if (!opts.signer)
      proc.defer('close-key', async () => {
        await (await signerP.catch(() => undefined))?.close();
      });
    fs.rmSync(path.join(dir, '.kiln', 'debcache.json'), { force: true });
    const index = DebIndex.open(path.join(dir, '.kiln', 'debs.db'));
    proc.defer('close-index', () => index.close());
    const store = new PoolStore(path.join(dir, '.kiln', 'pool'));
    const extra = new Set((opts.debugDebs ?? []).map((d) => path.resolve(d.path)));
    const inputs = [...opts.debs.map((d) => d.path), ...extra];
    const scan = await proc.phase('scan', () => scanDebs(inputs, { index, store, threads: opts.threads }));
    const split = await proc.phase('entries', () => splitSuites(toEntries(scan.scanned, opts.arch), extra));
    const debug = conf.debugSymbols ? split.debug : [];
    const all = [...split.main, ...debug];
    const generation = Math.max(0, ...generationNumbers(dir), currentGeneration(dir) ?? 0) + 1;
    const staging = `${genDirName(generation)}.tmp-${process.pid}`;
    proc.defer('remove-staging', () => storage.remove(staging));
    // Packages is rendered and compressed while the pool links are made.
    const variants = {
      main: startVariants(
        split.main.map((e) => e.entry),
        storage,
        opts.jail,
        opts.arch,
      ),
      debug:
        debug.length > 0
          ? startVariants(
              debug.map((e) => e.entry),
              storage,
              debugSuite(opts.jail),
              opts.arch,
            )
          : null,
    };
    await proc.phase('pool', async () => {
      for (const e of all) await storage.linkFile(store.path(e.entry.sha256), `${staging}/${e.entry.filename}`);
    });
    const signer = await proc.phase('open-key', () => signerP);
    await proc.phase('indexes', () =>
      writeIndexes(storage, staging, {
        ...opts,
        keep,
        name,
        main: split.main.length,
        debug: debug.length,
        variants,
        signer,
        generation,
        dir,
        validDays: conf.validDays,
      }),
    );
    // Flush what this publish wrote (indexes, links, folders) before it can become `current`, so a power cut after the
    // switch cannot leave `current` naming half-written files; new pool files were flushed as they were copied.
    await proc.phase('sync', () => storage.flush());
    await proc.phase('switch', async () => {
      await storage.rename(staging, genDirName(generation));
      switchCurrent(dir, generation);
    });
    await proc.phase('key-rotation', () => signer.published?.(name, publishedRepos(opts.home, name)));
    const pruned = await proc.phase('prune', () => {
      const gone = prune(dir, keep, store);
      index.prune(new Set([...all.map((e) => e.path), ...all.map((e) => store.path(e.entry.sha256))]));
      return gone;
    });
    return {
      name,
      generation,
      dir: path.join(dir, genDirName(generation)),
      packages: split.main.length,
      debugPackages: debug.length,
      debugSkipped: split.debug.length - debug.length,
      cache: { hits: scan.hits, misses: scan.misses },
      pruned,
    };
  } catch (e) {
    throw e instanceof PhaseFailure && e.cause instanceof KilnError ? e.cause : e;
  } finally {
    await proc.close();
  }
}

/** Names of the repositories that serve a generation (plus `name`): who must publish once during a key rotation. */
function publishedRepos(home: string, name: string): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(reposDir(home)).filter((n) => isRepoName(n) && currentGeneration(repoDir(home, n)) !== null);
  } catch {
    /* none */
  }
  return [...new Set([...names, name])];
}

async function clearLeftovers(storage: PublishedStorage): Promise<void> {
  for (const n of await storage.list('.')) {
    if (/^gen-\d+\.tmp-\d+$/.test(n) || n === 'current.tmp' || /\.tmp-\d+$/.test(n)) await storage.remove(n);
  }
}

/** An entry and the input it came from. */
interface Placed {
  readonly path: string;
  readonly entry: PackageEntry;
}

/** Is this a debug symbol package (`-dbgsym`, as debhelper names them, or marked so by dh_strip)? */
export function isDebugPackage(control: PackageEntry['control']): boolean {
  return (
    (controlValue(control, 'Package') ?? '').endsWith('-dbgsym') ||
    controlValue(control, 'Auto-Built-Package') === 'debug-symbols'
  );
}

/** Main-suite and debug-suite entries: debug symbol packages, and every package of the explicit debug list, go apart. */
function splitSuites(
  entries: readonly Placed[],
  debugInputs: ReadonlySet<string>,
): { main: Placed[]; debug: Placed[] } {
  const main: Placed[] = [];
  const debug: Placed[] = [];
  for (const e of entries) (debugInputs.has(e.path) || isDebugPackage(e.entry.control) ? debug : main).push(e);
  return { main, debug };
}

function toEntries(scanned: readonly ScannedDeb[], arch: string): Placed[] {
  const seen = new Map<string, { path: string; sha256: string }>();
  const out: Placed[] = [];
  for (const s of scanned) {
    let id: ReturnType<typeof entryIdentity>;
    try {
      id = entryIdentity(s.record.control);
    } catch (e) {
      throw new KilnError('KILN_E_REPO', `${s.path}: ${(e as Error).message}`, {
        hint: 'rebuild the package',
        exitCode: 1,
      });
    }
    if (id.arch !== arch && id.arch !== 'all') {
      throw new KilnError('KILN_E_REPO', `${s.path} is for ${id.arch}, the repository is for ${arch}`, {
        hint: 'publish only packages built in this jail',
        exitCode: 1,
      });
    }
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(id.name) || /[/\s]/.test(id.version)) {
      throw new KilnError('KILN_E_REPO', `${s.path} has an invalid Package or Version`, {
        hint: 'rebuild the package',
        exitCode: 1,
      });
    }
    const key = `${id.name} ${id.version} ${id.arch}`;
    const prev = seen.get(key);
    if (prev) {
      if (prev.sha256 === s.record.sha256) continue;
      throw new KilnError(
        'KILN_E_REPO',
        `${prev.path} and ${s.path} are both ${key.replace(/ /g, '_')} with different contents`,
        { hint: 'publish one file per package version (bump the revision when a package changes)', exitCode: 1 },
      );
    }
    seen.set(key, { path: s.path, sha256: s.record.sha256 });
    out.push({
      path: s.path,
      entry: {
        control: s.record.control,
        filename: poolPath(id.name, id.version, id.arch),
        size: s.record.size,
        md5: s.record.md5,
        sha256: s.record.sha256,
      },
    });
  }
  return out;
}

interface IndexJob extends PublishOptions {
  readonly keep: number;
  readonly name: string;
  /** Packages in the main and the debug suite (0: no debug suite in this generation). */
  readonly main: number;
  readonly debug: number;
  readonly variants: { readonly main: Promise<[string, Buffer][]>; readonly debug: Promise<[string, Buffer][]> | null };
  readonly signer: Signer;
  readonly generation: number;
  readonly dir: string;
  readonly validDays: number;
}

async function writeIndexes(storage: PublishedStorage, staging: string, job: IndexJob): Promise<void> {
  const now = (job.now ?? (() => new Date()))();
  const date = releaseDate(job.sourceDateEpoch ?? process.env.SOURCE_DATE_EPOCH, now);
  const validUntil = releaseValidUntil(date, now, job.validDays);
  const olders = job.keep > 1 ? generationNumbers(job.dir).slice(-(job.keep - 1)) : [];
  const base = {
    staging,
    arch: job.arch,
    olders,
    origin: job.origin ?? 'kiln',
    date,
    signer: job.signer,
    ...(validUntil ? { validUntil } : {}),
  };
  const [key] = await Promise.all([
    job.signer.publicKey(),
    writeSuite(storage, {
      ...base,
      suite: job.jail,
      variants: job.variants.main,
      label: job.name,
      description: `kiln packages of tree ${job.tree} built in jail ${job.jail}`,
    }),
    ...(job.variants.debug
      ? [
          writeSuite(storage, {
            ...base,
            suite: debugSuite(job.jail),
            variants: job.variants.debug,
            label: `${job.name}-debug`,
            description: `debug symbols of the kiln packages of tree ${job.tree} built in jail ${job.jail}`,
          }),
        ]
      : []),
  ]);
  await storage.writeFile(`${staging}/${KEYRING_FILE}`, key.binary);
  await storage.writeFile(`${staging}/${KEYRING_ASC_FILE}`, key.armored);
  const meta: GenerationMeta = {
    generation: job.generation,
    createdAt: now.toISOString(),
    packages: job.main,
    ...(job.debug > 0 ? { debugPackages: job.debug } : {}),
  };
  await storage.writeFile(`${staging}/${GENERATION_META_FILE}`, `${JSON.stringify(meta, null, 2)}\n`);
  // Beside the repository: the key and repo.json, each replaced atomically.
  for (const [file, data] of [
    [KEYRING_FILE, key.binary],
    [KEYRING_ASC_FILE, key.armored],
    [
      REPO_META_FILE,
      `${JSON.stringify({ jail: job.jail, tree: job.tree, arch: job.arch } satisfies RepoMeta, null, 2)}\n`,
    ],
  ] as const) {
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
  store.gc(usedDigests(dir));
  return doomed;
}

/**
 * The SHA256 of every package the repository's generations list (each suite's `Packages`). A generation whose
 * indexes cannot be read (damaged by hand) makes nothing collectable: gc then waits for a later publish.
 */
function usedDigests(dir: string): Set<string> | null {
  const used = new Set<string>();
  for (const n of generationNumbers(dir)) {
    const dists = path.join(dir, genDirName(n), 'dists');
    let found = 0;
    for (const suite of fs.existsSync(dists) ? fs.readdirSync(dists) : []) {
      const main = path.join(dists, suite, 'main');
      for (const bin of fs.existsSync(main) ? fs.readdirSync(main).filter((b) => b.startsWith('binary-')) : []) {
        let text: string;
        try {
          text = fs.readFileSync(path.join(main, bin, 'Packages'), 'utf8');
        } catch {
          return null;
        }
        for (const m of text.matchAll(/^SHA256: ([0-9a-f]{64})$/gm)) used.add(m[1]!);
        found++;
      }
    }
    if (found === 0) return null;
  }
  return used;
}

/** Checks a served generation: every index the Release lists is present with its size and SHA256. */
export function verifyGeneration(genDir: string, jail: string): string[] {
  const problems: string[] = [];
  const dists = path.join(genDir, 'dists', jail);
  let release: string;
  try {
    release = fs.readFileSync(path.join(dists, 'Release'), 'utf8');
  } catch {
    return [`${dists}/Release is missing`];
  }
  for (const [rel, want] of parseReleaseSha256(release)) {
    let data: Buffer;
    try {
      data = fs.readFileSync(path.join(dists, rel));
    } catch {
      problems.push(`${rel} is missing`);
      continue;
    }
    if (data.length !== want.size || digests(data).sha256 !== want.sha256)
      problems.push(`${rel} does not match Release`);
  }
  return problems;
}
