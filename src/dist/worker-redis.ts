/**
 * Before a worker takes jobs it must reach Redis. ioredis alone retries forever without a word (BullMQ wants that
 * once running), so a worker pointed at a wrong or down Redis looked hung. {@link waitForRedis} tries once within
 * about 1.5 s, says so when it fails, and keeps retrying with a visible, growing backoff (1 s, 2 s, 4 s ... 30 s).
 */
import { Redis } from 'ioredis';
import { redisOptions } from './registry.js';

/** The backoff before attempt `n + 1` (n ≥ 1), seconds: 1, 2, 4, 8, 16, 30, 30, ... Pure. */
export function redisBackoffS(n: number): number {
  return Math.min(30, 2 ** Math.max(0, n - 1));
}

/** Waits until Redis at `url` answers PING; logs each failure and the wait before the next try. False if aborted. */
export async function waitForRedis(
  url: string,
  o: { log: (line: string) => void; signal?: AbortSignal; connectTimeoutMs?: number },
): Promise<boolean> {
  const opts = redisOptions(url);
  const where = `${opts.host}:${opts.port}`;
  for (let n = 1; !o.signal?.aborted; n++) {
    const r = new Redis({
      ...opts,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: o.connectTimeoutMs ?? 1500,
    });
    let cause = '';
    r.on('error', (e: Error) => {
      cause = e.message;
    });
    try {
      await r.connect();
      await r.ping();
      if (n > 1) o.log(`redis at ${where} reachable now`);
      return true;
    } catch (e) {
      const why = cause || (e instanceof Error ? e.message : String(e));
      const wait = redisBackoffS(n);
      o.log(`redis at ${where} is unreachable (${why}); retry ${n} in ${wait} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait * 1000);
        o.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    } finally {
      r.disconnect();
    }
  }
  return false;
}
