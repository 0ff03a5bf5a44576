/**
 * Writing one suite of a generation: `Packages` and its `.gz` and `.xz` (compressed at the same time: gzip on
 * libuv's thread pool, xz in its own process), by-hash copies (with the kept generations' indexes), and a `Release`
 * with MD5Sum, SHA256 and SHA512, signed as `InRelease` and `Release.gpg` (both signatures made at once).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { renderPackages, renderRelease, type IndexFile, type PackageEntry } from './model.js';
import type { Signer } from './signer.js';
import type { PublishedStorage } from './storage.js';
import { genDirName } from './generations.js';

const gzip = promisify(zlib.gzip);

/** The digests a Release lists. */
export function digests(data: Buffer): { md5: string; sha256: string; sha512: string } {
  const h = (a: string): string => crypto.createHash(a).update(data).digest('hex');
  return { md5: h('md5'), sha256: h('sha256'), sha512: h('sha512') };
}

/** Size of the xz blocks of a large `Packages` (each block is compressed on a thread of its own). */
export const XZ_BLOCK = 1 << 20;

/**
 * `xz` arguments for `bytes` of input (pure): `-6`; above {@link XZ_BLOCK}, blocks of that size compressed by two or
 * more threads (about 4 % larger than one stream, half the wall time on two cores). Always xz's threaded mode then,
 * so the bytes do not depend on how many cores the host has.
 */
export function xzArgs(bytes: number, cores: number): string[] {
  if (bytes <= XZ_BLOCK) return ['-6', '-c', '-q', '-T1'];
  const threads = Math.max(2, Math.min(cores, Math.ceil(bytes / XZ_BLOCK)));
  return ['-6', '-c', '-q', `-T${threads}`, `--block-size=${XZ_BLOCK}`];
}

/** xz -6 of `data` by the `xz` program (xz-utils), a process of its own so it runs beside gzip. */
export async function xzCompress(data: Buffer): Promise<Buffer> {
  try {
    return (await run('xz', xzArgs(data.length, os.availableParallelism()), { input: data, maxBuffer: 1 << 30 }))
      .stdoutBytes;
  } catch (e) {
    throw new KilnError(
      'KILN_E_REPO',
      `xz could not compress Packages: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: 'install xz-utils (scripts/setup-repo-deps.sh)',
        exitCode: 1,
        cause: e,
      },
    );
  }
}

/**
 * `Packages` in its three forms, the compressed ones made at the same time, or taken from `previous` (the served
 * generation's folder of this index, relative to the storage) when its `Packages` is the same and its `.gz` and
 * `.xz` decompress to it.
 */
export async function packagesVariants(
  packages: Buffer,
  storage?: PublishedStorage,
  previous?: string,
): Promise<[string, Buffer][]> {
  const reused = storage && previous !== undefined ? await reusable(packages, storage, previous) : null;
  if (reused)
    return [
      ['Packages', packages],
      ['Packages.gz', reused.gz],
      ['Packages.xz', reused.xz],
    ];
  const [gz, xz] = await Promise.all([gzip(packages, { level: 9 }), xzCompress(packages)]);
  return [
    ['Packages', packages],
    ['Packages.gz', gz],
    ['Packages.xz', xz],
  ];
}

/**
 * Starts rendering and compressing the `Packages` of `entries` (suite `suite`), to be awaited by {@link writeSuite}:
 * it runs while the pool links are made. A failure is kept for the awaiter (never unhandled).
 */
export function startVariants(
  entries: readonly PackageEntry[],
  storage: PublishedStorage,
  suite: string,
  arch: string,
): Promise<[string, Buffer][]> {
  const p = packagesVariants(
    Buffer.from(renderPackages(entries)),
    storage,
    `current/dists/${suite}/main/binary-${arch}`,
  );
  p.catch(() => undefined);
  return p;
}

async function reusable(
  packages: Buffer,
  storage: PublishedStorage,
  dir: string,
): Promise<{ gz: Buffer; xz: Buffer } | null> {
  try {
    const [plain, gz, xz] = await Promise.all(
      ['Packages', 'Packages.gz', 'Packages.xz'].map((f) => storage.readFile(`${dir}/${f}`)),
    );
    if (!plain || !gz || !xz || !plain.equals(packages) || !zlib.gunzipSync(gz).equals(packages)) return null;
    const back = await run('xz', ['-dc'], { input: xz, maxBuffer: 1 << 30 });
    return back.stdoutBytes.equals(packages) ? { gz, xz } : null;
  } catch {
    return null;
  }
}

/** One suite to write. */
export interface SuiteJob {
  /** The generation folder being built, relative to the repository (`gen-N.tmp-PID`). */
  readonly staging: string;
  /** Suite = Codename (`JAIL`, or `JAIL-debug`). */
  readonly suite: string;
  readonly arch: string;
  /** `Packages` and its compressed forms ({@link packagesVariants}, started before the pool links are made). */
  readonly variants: Promise<[string, Buffer][]>;
  /** Generations whose by-hash indexes stay reachable (the kept ones). */
  readonly olders: readonly number[];
  readonly origin: string;
  readonly label: string;
  readonly description: string;
  readonly date: Date;
  readonly validUntil?: Date;
  readonly signer: Signer;
}

/** Writes the suite's indexes, by-hash copies, Release, InRelease and Release.gpg into the staging generation. */
export async function writeSuite(storage: PublishedStorage, job: SuiteJob): Promise<void> {
  const dists = `${job.staging}/dists/${job.suite}`;
  const binDir = `main/binary-${job.arch}`;
  const files: IndexFile[] = [];
  for (const [file, data] of await job.variants) {
    const d = digests(data);
    await storage.writeFile(`${dists}/${binDir}/${file}`, data);
    await storage.linkWithin(`${dists}/${binDir}/${file}`, `${dists}/${binDir}/by-hash/SHA256/${d.sha256}`);
    await storage.linkWithin(`${dists}/${binDir}/${file}`, `${dists}/${binDir}/by-hash/MD5Sum/${d.md5}`);
    files.push({ path: `${binDir}/${file}`, size: data.length, ...d });
  }
  // by-hash keeps the indexes of the generations still kept, so a client that read an older InRelease
  // just before the switch still finds the index it was promised.
  for (const older of job.olders) {
    const rel = `${genDirName(older)}/dists/${job.suite}/${binDir}/by-hash`;
    for (const algo of ['SHA256', 'MD5Sum']) {
      for (const h of await storage.list(`${rel}/${algo}`)) {
        if (!(await storage.exists(`${dists}/${binDir}/by-hash/${algo}/${h}`))) {
          await storage.linkWithin(`${rel}/${algo}/${h}`, `${dists}/${binDir}/by-hash/${algo}/${h}`);
        }
      }
    }
  }
  const releaseText = Buffer.from(
    renderRelease({
      origin: job.origin,
      label: job.label,
      suite: job.suite,
      architectures: [job.arch],
      components: ['main'],
      description: job.description,
      date: job.date,
      ...(job.validUntil ? { validUntil: job.validUntil } : {}),
      files,
    }),
  );
  const [inRelease, detached] = await Promise.all([
    job.signer.clearsign(releaseText),
    job.signer.detachSign(releaseText),
  ]);
  await storage.writeFile(`${dists}/Release`, releaseText);
  await storage.writeFile(`${dists}/InRelease`, inRelease);
  await storage.writeFile(`${dists}/Release.gpg`, detached);
}
