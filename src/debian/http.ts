/**
 * The small HTTP client the archive indexes need: one GET into a file, hashed while it streams, with a time limit
 * and `If-Modified-Since`. (Distfiles use the richer downloader in `src/fetch/`, which retries and falls back.)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { KilnError } from '../util/errors.js';

/** What {@link httpGetToFile} left. */
export interface HttpGetResult {
  /** 200 (written) or 304 (not modified, nothing written). */
  readonly status: 200 | 304;
  /** sha256 of what was written (empty for 304). */
  readonly sha256: string;
  /** Bytes written. */
  readonly size: number;
  /** The response's `Last-Modified`, when given. */
  readonly lastModified?: string;
}

/**
 * `fetch(url, init)` for a file of the archive: undefined on 404 (its body discarded); a failure to get any answer
 * throws KILN_E_FETCH. Other statuses are the caller's to judge.
 */
export async function fetchUnless404(url: string, init: RequestInit): Promise<Response | undefined> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new KilnError('KILN_E_FETCH', `GET ${url} failed: ${describe(e)}`, {
      hint: "check the Debian mirror in the host's apt sources and the network",
      exitCode: 1,
      cause: e,
    });
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  return res;
}

/**
 * GETs `url` into `dest` (overwritten), hashing as it goes. 404 → `undefined`. Other failures throw KILN_E_FETCH.
 * `ifModifiedSince` sends that header, and a 304 answer writes nothing.
 */
export async function httpGetToFile(
  url: string,
  dest: string,
  opts: { timeoutMs?: number; ifModifiedSince?: string; signal?: AbortSignal } = {},
): Promise<HttpGetResult | undefined> {
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 120_000), ...(opts.signal ? [opts.signal] : [])];
  const signal = AbortSignal.any(signals);
  const res = await fetchUnless404(url, {
    signal,
    redirect: 'follow',
    headers: opts.ifModifiedSince ? { 'if-modified-since': opts.ifModifiedSince } : {},
  });
  if (res === undefined) return undefined;
  const lastModified = res.headers.get('last-modified') ?? undefined;
  if (res.status === 304) {
    await res.body?.cancel();
    return { status: 304, sha256: '', size: 0, ...(lastModified ? { lastModified } : {}) };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new KilnError('KILN_E_FETCH', `GET ${url} answered HTTP ${res.status}`, {
      hint: "check the Debian mirror in the host's apt sources",
      exitCode: 1,
    });
  }
  const hash = crypto.createHash('sha256');
  const out = fs.createWriteStream(dest);
  let size = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  } catch (e) {
    out.destroy();
    throw new KilnError('KILN_E_FETCH', `GET ${url} broke off after ${size} bytes: ${describe(e)}`, {
      hint: 'retry; check the network',
      exitCode: 1,
      cause: e,
    });
  }
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.end(() => resolve());
  });
  return { status: 200, sha256: hash.digest('hex'), size, ...(lastModified ? { lastModified } : {}) };
}

/** A network error's most useful words (undici hides the errno in `cause`). */
export function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (e.name === 'TimeoutError') return 'timed out';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return e.message;
}
