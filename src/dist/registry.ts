/**
 * Redis connections, and the worker registry kept in Redis: each worker refreshes its record (host, arch, slots,
 * current ports, last seen) every {@link HEARTBEAT_MS}; the master counts the live slots; `kiln serve` shows them.
 * A worker that fails the same job repeatedly is marked out of rotation here and stops taking jobs.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { KilnError } from '../util/errors.js';
import { ALIVE_MS, type WorkerRecord, type WorkerView } from './protocol.js';

/** ioredis options from a `redis://[user:password@]host[:port][/db]` or `rediss://` URL. */
export function redisOptions(url: string): RedisOptions & { retryStrategy: (times: number) => number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    u = new URL('invalid:');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new KilnError('KILN_E_USAGE', `not a Redis URL: ${url}`, {
      hint: 'give redis://HOST:PORT (or rediss:// for TLS)',
    });
  }
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db && /^\d+$/.test(db) ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ needs commands to wait for a reconnect rather than fail (a Redis restart must not stop a bulk).
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/** A new ioredis connection to `url`. */
export function connectRedis(url: string): Redis {
  return new Redis(redisOptions(url));
}

const WORKERS = 'kiln:dist:workers';
const DISABLED = 'kiln:dist:disabled';
const failuresKey = (id: string): string => `kiln:dist:failures:${id}`;

/** The workers known to Redis. */
export class WorkerRegistry {
  constructor(private readonly redis: Redis) {}

  /** Writes a worker's record (its heartbeat); returns why it is out of rotation, if it is. */
  async beat(rec: WorkerRecord): Promise<string | undefined> {
    const [, disabled] =
      (await this.redis.multi().hset(WORKERS, rec.id, JSON.stringify(rec)).hget(DISABLED, rec.id).exec()) ?? [];
    const v = disabled?.[1];
    return typeof v === 'string' ? v : undefined;
  }

  /** Every worker, newest heartbeat first, with `alive` and `disabled`. Records gone for a day are dropped. */
  async list(now = Date.now()): Promise<WorkerView[]> {
    const [all, disabled] = await Promise.all([this.redis.hgetall(WORKERS), this.redis.hgetall(DISABLED)]);
    const out: WorkerView[] = [];
    for (const [id, text] of Object.entries(all)) {
      let rec: WorkerRecord;
      try {
        rec = JSON.parse(text) as WorkerRecord;
      } catch {
        continue;
      }
      const age = now - Date.parse(rec.lastSeen);
      if (age > 86_400_000) {
        await this.redis.hdel(WORKERS, id);
        continue;
      }
      out.push({ ...rec, alive: age <= ALIVE_MS, ...(disabled[id] !== undefined ? { disabled: disabled[id] } : {}) });
    }
    return out.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || a.id.localeCompare(b.id));
  }

  /** Build slots of the live workers of `arch` that are in rotation. */
  async slots(arch: string): Promise<number> {
    return (await this.list())
      .filter((w) => w.alive && !w.disabled && w.arch === arch)
      .reduce((n, w) => n + w.slots, 0);
  }

  /** Forgets a worker (it stopped cleanly). */
  async remove(id: string): Promise<void> {
    await this.redis.multi().hdel(WORKERS, id).del(failuresKey(id)).exec();
  }

  /**
   * Counts one failure of worker `id` on job `key` (an error outside the build itself: transfer, unpacking,
   * sandbox) and returns how many times it failed that job.
   */
  async failure(id: string, key: string): Promise<number> {
    const res = await this.redis.multi().hincrby(failuresKey(id), key, 1).expire(failuresKey(id), 86_400).exec();
    return Number(res?.[0]?.[1] ?? 1);
  }

  /** Takes a worker out of rotation, saying why. */
  async disable(id: string, reason: string): Promise<void> {
    await this.redis.hset(DISABLED, id, reason);
  }

  /** Puts a worker back into rotation and forgets its failures (a worker does this when it starts). */
  async enable(id: string): Promise<void> {
    await this.redis.multi().hdel(DISABLED, id).del(failuresKey(id)).exec();
  }
}
