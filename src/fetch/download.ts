/**
 * One download into a file, hashed while it streams, with a connect (time-to-headers) limit, a stall limit, an
 * overall limit and a bounded number of attempts. Failures come back as values, classified so that the caller can
 * tell an unreachable host (skip it from now on) from a missing file or a transient fault.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Limits of one download. */
export interface DownloadLimits {
  /** Time allowed until the response headers arrive (DNS, connect, TLS, server think time). Default 15 s. */
  readonly connectTimeoutMs?: number;
  /** Time allowed without receiving a byte once the body flows. Default 30 s. */
  readonly stallTimeoutMs?: number;
  /** Time allowed for the whole download of one attempt. Default 10 min. */
  readonly timeoutMs?: number;
  /** Attempts for transient failures (5xx, reset, stall); unreachable hosts and 4xx are not retried. Default 2. */
  readonly attempts?: number;
  /** Aborts the download. */
  readonly signal?: AbortSignal;
}

/** Why a download failed. */
export type DownloadFailureKind = 'unreachable' | 'not-found' | 'http' | 'transient' | 'unsupported' | 'aborted';

/** The outcome of {@link downloadToFile}. */
export type DownloadResult =
  | { readonly ok: true; readonly sha256: string; readonly size: number }
  | { readonly ok: false; readonly kind: DownloadFailureKind; readonly reason: string };

const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

class Timeout extends Error { constructor(readonly what: 'connect' | 'stall' | 'overall') { super(`${what} timeout`); } }

function errCode(e: unknown): string | undefined {
  const c = (e as { cause?: { code?: string } }).cause;
  return c?.code ?? (e as { code?: string }).code;
}

async function attemptHttp(url: string, dest: string, lim: Required<Omit<DownloadLimits, 'signal'>> & { signal?: AbortSignal }): Promise<DownloadResult> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, what: Timeout['what']): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new Timeout(what)), ms);
  };
  const overall = setTimeout(() => ctl.abort(new Timeout('overall')), lim.timeoutMs);
  const onAbort = (): void => ctl.abort(lim.signal?.reason);
  lim.signal?.addEventListener('abort', onAbort, { once: true });
  const out = fs.createWriteStream(dest);
  let closing: Promise<void> | undefined;
  out.on('error', () => undefined);
  const closeOut = (): Promise<void> => (closing ??= new Promise((r) => { out.once('error', () => r()); out.end(() => r()); }));
  try {
    arm(lim.connectTimeoutMs, 'connect');
    let res: Response;
    try {
      res = await fetch(url, { signal: ctl.signal, redirect: 'follow', headers: { 'user-agent': 'kiln' } });
    } catch (e) {
      return classify(e, ctl.signal, lim.signal, 'connect');
    }
    if (res.status === 404 || res.status === 410) { await res.body?.cancel().catch(() => undefined); return { ok: false, kind: 'not-found', reason: `HTTP ${res.status}` }; }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, kind: res.status >= 500 || res.status === 429 ? 'transient' : 'http', reason: `HTTP ${res.status}` };
    }
    const hash = crypto.createHash('sha256');
    let size = 0;
    try {
      arm(lim.stallTimeoutMs, 'stall');
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm(lim.stallTimeoutMs, 'stall');
        hash.update(chunk); size += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } catch (e) {
      const c = classify(e, ctl.signal, lim.signal, 'body');
      return c.ok ? c : { ...c, reason: `${c.reason} after ${size} bytes` };
    }
    await closeOut();
    return { ok: true, sha256: hash.digest('hex'), size };
  } finally {
    if (timer) clearTimeout(timer);
    clearTimeout(overall);
    lim.signal?.removeEventListener('abort', onAbort);
    await closeOut();
  }
}

function classify(e: unknown, own: AbortSignal, user: AbortSignal | undefined, stage: 'connect' | 'body'): DownloadResult {
  if (user?.aborted) return { ok: false, kind: 'aborted', reason: 'aborted' };
  if (own.aborted && own.reason instanceof Timeout) {
    const t = own.reason.what;
    return { ok: false, kind: t === 'connect' ? 'unreachable' : 'transient', reason: `${t} timeout` };
  }
  const code = errCode(e);
  if (code && UNREACHABLE.has(code)) return { ok: false, kind: 'unreachable', reason: code };
  const msg = e instanceof Error ? e.message : String(e);
  return { ok: false, kind: 'transient', reason: `${code ?? msg}${stage === 'connect' ? '' : ' (while reading)'}` };
}

async function copyFile(url: string, dest: string): Promise<DownloadResult> {
  const src = fileURLToPath(url);
  if (!fs.existsSync(src)) return { ok: false, kind: 'not-found', reason: 'no such file' };
  const hash = crypto.createHash('sha256');
  let size = 0;
  const out = fs.createWriteStream(dest);
  for await (const chunk of fs.createReadStream(src) as AsyncIterable<Buffer>) {
    hash.update(chunk); size += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => { out.on('error', j); out.end(() => r()); });
  return { ok: true, sha256: hash.digest('hex'), size };
}

/**
 * Downloads `url` (http, https or file) into `dest`, overwriting it, and returns its sha256 and size, or a
 * classified failure. Never throws for network trouble. Transient failures are retried up to `attempts` times
 * with a short pause; an unreachable host, a 404 and other 4xx answers are not.
 */
export async function downloadToFile(url: string, dest: string, limits: DownloadLimits = {}): Promise<DownloadResult> {
  const lim = {
    connectTimeoutMs: limits.connectTimeoutMs ?? 15_000,
    stallTimeoutMs: limits.stallTimeoutMs ?? 30_000,
    timeoutMs: limits.timeoutMs ?? 600_000,
    attempts: Math.max(1, Math.min(limits.attempts ?? 2, 10)),
    ...(limits.signal ? { signal: limits.signal } : {}),
  };
  let scheme: string;
  try { scheme = new URL(url).protocol; } catch { return { ok: false, kind: 'unsupported', reason: 'not a URL' }; }
  if (scheme === 'file:') return copyFile(url, dest);
  if (scheme !== 'http:' && scheme !== 'https:') return { ok: false, kind: 'unsupported', reason: `${scheme.replace(/:$/, '')} URLs are not supported` };
  let last: DownloadResult = { ok: false, kind: 'transient', reason: 'no attempt made' };
  for (let i = 1; i <= lim.attempts; i++) {
    last = await attemptHttp(url, dest, lim);
    if (last.ok || last.kind !== 'transient') return last;
    if (i < lim.attempts) await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** i, 2_000)));
  }
  return last.ok ? last : { ...last, reason: lim.attempts > 1 ? `${last.reason} (${lim.attempts} attempts)` : last.reason };
}
