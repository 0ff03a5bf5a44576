/**
 * Files by content hash: the master's index of what it serves (jail tarball, port tarballs, distfiles, `.deb`s),
 * the tarballs themselves, and the worker's side (download into a cache, checked against the hash; upload).
 * Nothing is trusted by name: every transfer is checked against its sha256 before it is used.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../util/errors.js';
import { run } from '../util/exec.js';
import { INLINE_PORT_BYTES, type BlobRef, type PortFile } from './protocol.js';

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), async function* (src: AsyncIterable<Buffer>) {
    for await (const b of src) h.update(b);
  });
  return h.digest('hex');
}

/**
 * The master's blobs: only files added here are served, by their sha256. A file's hash is computed once per
 * (path, size, mtime).
 */
export class BlobIndex {
  private readonly byHash = new Map<string, string>();
  private readonly byPath = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  /** Adds a file (served under its hash from now on) and returns its reference. */
  async add(file: string, name = path.basename(file)): Promise<BlobRef> {
    const st = fs.statSync(file);
    const known = this.byPath.get(file);
    let sha256 = known && known.size === st.size && known.mtimeMs === st.mtimeMs ? known.sha256 : undefined;
    if (sha256 === undefined) {
      sha256 = await sha256File(file);
      this.byPath.set(file, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    }
    this.byHash.set(sha256, file);
    return { sha256, name, size: st.size };
  }

  /** The file served under `sha256`, if any. */
  path(sha256: string): string | undefined {
    return this.byHash.get(sha256);
  }

  /** Number of blobs served. */
  get size(): number {
    return this.byHash.size;
  }
}

const making = new Map<string, Promise<string>>();

/**
 * The jail's root as one zstd tarball, `HOME/dist/jails/IDENTITY.tar.zst`, made once per jail identity (numeric
 * owners kept; a concurrent or earlier call gets the same file).
 */
export function jailTarball(
  home: string,
  jail: { readonly path: string; readonly identity: string },
  log: (l: string) => void = () => {},
): Promise<string> {
  const file = path.join(home, 'dist', 'jails', `${jail.identity}.tar.zst`);
  if (fs.existsSync(file)) return Promise.resolve(file);
  let p = making.get(file);
  if (!p) {
    p = (async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      const t0 = Date.now();
      log(`dist: packing jail ${jail.identity.slice(0, 12)} (${jail.path}) for workers`);
      await run(
        'tar',
        ['--numeric-owner', '--xattrs', '--use-compress-program', 'zstd -1 -T0 -q', '-C', jail.path, '-cf', tmp, '.'],
        { timeoutMs: 30 * 60_000 },
      );
      fs.renameSync(tmp, file);
      log(
        `dist: jail packed in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(fs.statSync(file).size / 1e6).toFixed(0)} MB)`,
      );
      return file;
    })().finally(() => making.delete(file));
    making.set(file, p);
  }
  return p;
}

/**
 * The port folder (recipe, patches, files) as a reproducible tarball under `HOME/dist/ports/`, named by its
 * sha256; returns its path.
 */
export async function portTarball(home: string, portDir: string): Promise<string> {
  const dir = path.join(home, 'dist', 'ports');
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tar`);
  await run('tar', [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    portDir,
    '-cf',
    tmp,
    '.',
  ]);
  const sha = await sha256File(tmp);
  const file = path.join(dir, `${sha}.tar`);
  fs.renameSync(tmp, file);
  return file;
}

/** The port folder's regular files inline, or undefined when it holds more than {@link INLINE_PORT_BYTES} or other kinds of files. */
export function inlinePortFiles(portDir: string): PortFile[] | undefined {
  const out: PortFile[] = [];
  let total = 0;
  const walk = (rel: string): boolean => {
    for (const e of fs
      .readdirSync(path.join(portDir, rel), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!walk(r)) return false;
        continue;
      }
      if (!e.isFile()) return false;
      const full = path.join(portDir, r);
      const st = fs.statSync(full);
      total += st.size;
      if (total > INLINE_PORT_BYTES || out.length >= 256) return false;
      out.push({ path: r, mode: st.mode & 0o777, data: fs.readFileSync(full).toString('base64') });
    }
    return true;
  };
  return walk('') ? out : undefined;
}

/** Writes inline port files into `dest` (made); refuses paths that would leave it. */
export function writePortFiles(files: readonly PortFile[], dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const f of files) {
    const full = path.resolve(dest, f.path);
    if (!full.startsWith(`${path.resolve(dest)}${path.sep}`) || f.path.split('/').some((x) => x === '..' || x === '')) {
      throw new KilnError('KILN_E_DIST', `a job carries an unsafe port file path: ${JSON.stringify(f.path)}`, {
        exitCode: 1,
      });
    }
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, Buffer.from(f.data, 'base64'), { mode: f.mode & 0o755 });
  }
}

/** Unpacks a tarball (plain or zstd) into `dest` (made), keeping numeric owners and permissions. */
export async function extractTarball(file: string, dest: string): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const zst = file.endsWith('.zst');
  await run(
    'tar',
    [
      '--numeric-owner',
      '-p',
      ...(zst ? ['--xattrs', '--use-compress-program', 'zstd -d -T0 -q'] : []),
      '-C',
      dest,
      '-xf',
      file,
    ],
    { timeoutMs: 30 * 60_000 },
  );
}

/** An HTTP problem talking to the master; `transient` ones are worth retrying. */
export class TransferError extends KilnError {
  readonly transient: boolean;
  constructor(message: string, transient: boolean) {
    super('KILN_E_DIST', message, {
      hint: 'check that the master (kiln bulk --redis) is running and reachable, and the token',
      exitCode: 1,
    });
    this.transient = transient;
  }
}

/** `Authorization` header for the shared token. */
export function authHeader(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * Downloads `BASE/dist/blobs/SHA` to `dest`, checking the hash on the way (a mismatch deletes the file and throws).
 * The file appears at `dest` only complete and checked.
 */
export async function downloadBlob(
  base: string,
  token: string,
  ref: BlobRef,
  dest: string,
  timeoutMs = 30 * 60_000,
): Promise<void> {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  let res: Response;
  try {
    res = await fetch(`${base}/dist/blobs/${ref.sha256}`, {
      headers: authHeader(token),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new TransferError(`cannot reach the master at ${base}: ${e instanceof Error ? e.message : String(e)}`, true);
  }
  if (!res.ok || !res.body)
    throw new TransferError(
      `the master answered ${res.status} for blob ${ref.sha256.slice(0, 12)} (${ref.name})`,
      res.status >= 500,
    );
  const h = crypto.createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      hasher,
      fs.createWriteStream(tmp),
    );
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new TransferError(
      `downloading ${ref.name} from ${base} broke off: ${e instanceof Error ? e.message : String(e)}`,
      true,
    );
  }
  const got = h.digest('hex');
  if (got !== ref.sha256) {
    fs.rmSync(tmp, { force: true });
    throw new TransferError(`${ref.name} from ${base} has sha256 ${got}, expected ${ref.sha256}`, true);
  }
  fs.renameSync(tmp, dest);
}

/** Uploads a file to `BASE/dist/uploads/SHA` (the master checks the hash); returns its reference. */
export async function uploadBlob(
  base: string,
  token: string,
  file: string,
  name = path.basename(file),
): Promise<BlobRef> {
  const sha256 = await sha256File(file);
  const size = fs.statSync(file).size;
  let res: Response;
  try {
    res = await fetch(`${base}/dist/uploads/${sha256}`, {
      method: 'PUT',
      headers: { ...authHeader(token), 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: Readable.toWeb(fs.createReadStream(file)) as ReadableStream,
      duplex: 'half',
      signal: AbortSignal.timeout(30 * 60_000),
    } as RequestInit);
  } catch (e) {
    throw new TransferError(`cannot upload ${name} to ${base}: ${e instanceof Error ? e.message : String(e)}`, true);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok)
    throw new TransferError(`the master refused the upload of ${name}: HTTP ${res.status}`, res.status >= 500);
  return { sha256, name, size };
}
