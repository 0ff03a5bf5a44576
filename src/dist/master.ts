/**
 * The master side of distributed builds: a build executor for `runBulk` that puts each ready port on the BullMQ
 * queue of the jail's architecture (priority = the scheduler's critical-path order; the DAG stays with the
 * master) and resolves when a worker's result has come back over HTTP and passed the checks. A watchdog puts back
 * jobs Redis lost (a Redis restart) and fails jobs whose attempts ran out; BullMQ's stalled-job handling puts back
 * the job of a worker that died.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { KilnError } from '../util/errors.js';
import type { JailRecord } from '../store/index.js';
import type { BuildPortInput, BuildResult } from '../build/index.js';
import type { FetchedDistfile } from '../fetch/index.js';
import { BlobIndex } from './blobs.js';
import { distPlugin, type MasterEndpoints } from './plugin.js';
import { aptProxyRewrite, aptUpstreams } from './apt-proxy.js';
import { connectRedis, redisOptions, WorkerRegistry } from './registry.js';
import { jobKey, queueName, type DistJob, type DistResult, type ResultAnswer, type WorkerView } from './protocol.js';
import { failure, fetchJobSources, jobData } from './master-job.js';
import { takeDebs } from './master-result.js';

/** Options of {@link startDistMaster}. */
export interface DistMasterOptions {
  readonly home: string;
  readonly redisUrl: string;
  /** The bulk's jail (its root is packed once per identity for the workers). */
  readonly jail: JailRecord;
  /** `HOST:PORT` of the HTTP endpoint workers talk to (default `127.0.0.1:8081`; port 0 picks one). */
  readonly listen?: string;
  /** URL workers are told to use (default `http://` + the listen address). */
  readonly publicUrl?: string;
  /** Shared token (default {@link distToken}). */
  readonly token?: string;
  /** Ports in the scheduler's one-builder order (`plan.build`): the earlier, the higher the queue priority. */
  readonly order?: readonly string[];
  readonly mirrors?: readonly string[];
  readonly debianMirror?: string;
  /** Attempts per job before it counts as failed (default 3). */
  readonly attempts?: number;
  /** Watchdog period, ms (default 2000). */
  readonly watchMs?: number;
  /** Serve apt's proxy for the jail's archives to workers (default true). */
  readonly aptProxy?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

interface Pending {
  readonly key: string;
  readonly input: BuildPortInput;
  readonly data: DistJob;
  readonly priority: number;
  readonly t0: number;
  enqueued: boolean;
  /** When the job first went onto the queue. */
  tQueued?: number;
  taken: boolean;
  resolve: (r: BuildResult) => void;
  readonly promise: Promise<BuildResult>;
}

/** The shared token: `KILN_DIST_TOKEN`, else `HOME/dist/token` (made, mode 0600, on first use). */
export function distToken(home: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_DIST_TOKEN) return env.KILN_DIST_TOKEN;
  const file = path.join(home, 'dist', 'token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    /* make it */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const t = crypto.randomBytes(32).toString('hex');
  try {
    fs.writeFileSync(file, `${t}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    return fs.readFileSync(file, 'utf8').trim();
  }
  return t;
}

/** A running master: pass {@link DistMaster.execute} to `runBulk`. */
export class DistMaster implements MasterEndpoints {
  readonly uploadsDir: string;
  readonly blobs = new BlobIndex();
  /** Per finished job: ms spent outside the worker's build (queue, transfers, checks). */
  readonly overheadMs: number[] = [];
  /** Per finished job: the parts of that overhead, ms (prepare, queue, inputs, upload, post, check). */
  readonly timings: Record<string, number>[] = [];
  /** Which worker's result was taken, per origin (latest bulk). */
  readonly builtBy = new Map<string, string>();
  private readonly pending = new Map<string, Pending>();
  private readonly priorities: Map<string, number>;
  private readonly registry: WorkerRegistry;
  private timer: NodeJS.Timeout | undefined;
  private watching = false;
  private redisDown = false;
  private readonly shown = new Map<string, string>();

  /** @internal use {@link startDistMaster} */
  constructor(
    private readonly o: DistMasterOptions & { readonly token: string },
    private readonly queue: Queue,
    private readonly redis: Redis,
    private readonly app: FastifyInstance,
    /** URL workers reach this master at. */
    readonly url: string,
  ) {
    this.uploadsDir = path.join(o.home, 'dist', 'uploads');
    this.registry = new WorkerRegistry(redis);
    this.priorities = new Map((o.order ?? []).map((origin, i) => [origin, Math.min(1 + i, 2_097_151)]));
    this.timer = setInterval(() => {
      void this.watch();
    }, o.watchMs ?? 2000);
  }

  /** The shared token. */
  get token(): string {
    return this.o.token;
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  /** The file served under `sha256`. */
  blob(sha256: string): string | undefined {
    return this.blobs.path(sha256);
  }

  /** Build slots of the live workers of the jail's arch, in rotation. */
  slots(): Promise<number> {
    return this.registry.slots(this.o.jail.arch);
  }

  /** The worker registry. */
  workers(): Promise<WorkerView[]> {
    return this.registry.list();
  }

  /** Runs one build on a remote worker (same input and result as `buildPort`). */
  execute = async (input: BuildPortInput): Promise<BuildResult> => {
    const t0 = Date.now();
    const origin = input.port.origin;
    const key = jobKey(this.o.jail.identity, origin, input.identity);
    const existing = this.pending.get(key);
    if (existing) return existing.promise;
    const note = (l: string): void => {
      fs.mkdirSync(path.dirname(input.logFile), { recursive: true });
      fs.appendFileSync(input.logFile, `[${new Date().toISOString()}] ${l}\n`);
    };
    let fetched: FetchedDistfile[];
    try {
      fetched = await fetchJobSources(this.o, input, note);
    } catch (e) {
      const kind = e instanceof KilnError && e.code === 'KILN_E_CHECKSUM' ? 'checksum' : 'fetch';
      const reason = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      note(`FAILED in phase fetch (on the master): ${reason}`);
      return failure(kind, 'fetch', reason, t0);
    }
    let data: DistJob;
    try {
      data = await jobData(this.o, this.blobs, this.url, key, input, fetched, (l) => this.log(l));
    } catch (e) {
      const reason = `preparing the job on the master failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      note(`FAILED in phase sandbox: ${reason}`);
      return failure('sandbox', 'sandbox', reason, t0);
    }
    return this.queueJob(input, key, data, t0, note);
  };

  /** Puts a prepared job on the queue and waits for its result (or the build's cancellation). */
  private async queueJob(
    input: BuildPortInput,
    key: string,
    data: DistJob,
    t0: number,
    note: (line: string) => void,
  ): Promise<BuildResult> {
    const origin = input.port.origin;
    let resolve!: (r: BuildResult) => void;
    const promise = new Promise<BuildResult>((r) => {
      resolve = r;
    });
    const entry: Pending = {
      key,
      input,
      data,
      priority: this.priorities.get(origin) ?? 2_097_151,
      t0,
      enqueued: false,
      taken: false,
      resolve,
      promise,
    };
    this.pending.set(key, entry);
    const onAbort = (): void => {
      if (entry.taken) return;
      this.settle(entry, failure('aborted', 'queued', 'the build was cancelled', t0));
      void this.queue.remove(key).catch(() => undefined);
    };
    input.signal?.addEventListener('abort', onAbort, { once: true });
    if (input.signal?.aborted) onAbort();
    note(`queued for a remote worker (queue ${queueName(this.o.jail.arch)}, job ${key}, priority ${entry.priority})`);
    try {
      await this.enqueue(entry);
    } catch (e) {
      this.log(
        `dist: could not queue ${origin} yet (${e instanceof Error ? e.message : String(e)}); the watchdog retries`,
      );
    }
    try {
      return await promise;
    } finally {
      input.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async enqueue(e: Pending): Promise<void> {
    const job = await this.queue.getJob(e.key);
    if (job) {
      const state = await job.getState();
      if (state === 'active') {
        e.enqueued = true;
        return;
      } // a worker has it (an earlier master queued it)
      await job.remove().catch(() => undefined);
    }
    if (e.taken) return;
    await this.queue.add(e.data.port.origin, e.data, {
      jobId: e.key,
      priority: e.priority,
      attempts: this.o.attempts ?? 3,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: { age: 86_400 },
    });
    e.tQueued ??= Date.now();
    e.enqueued = true;
  }

  private settle(e: Pending, r: BuildResult): void {
    e.taken = true;
    this.pending.delete(e.key);
    e.resolve(r);
  }

  /** Puts back jobs Redis lost, fails jobs out of attempts, and reports workers taken out of rotation. */
  private async watch(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    try {
      for (const e of [...this.pending.values()]) {
        if (e.taken) continue;
        const state = await this.queue.getJobState(e.key);
        if (e.taken) continue;
        if (state === 'unknown') {
          if (e.enqueued)
            this.log(`dist: the job of ${e.data.port.origin} is gone from Redis (restarted?); queueing it again`);
          await this.enqueue(e);
        } else if (state === 'failed') {
          const job = await this.queue.getJob(e.key);
          const why = job?.failedReason ?? 'unknown error';
          this.settle(
            e,
            failure('sandbox', 'remote', `remote workers failed ${job?.attemptsMade ?? '?'} times: ${why}`, e.t0),
          );
        }
      }
      for (const w of await this.registry.list()) {
        const was = this.shown.get(w.id);
        const now = w.disabled ? `out of rotation: ${w.disabled}` : w.alive ? 'alive' : 'gone';
        if (was !== now) {
          this.shown.set(w.id, now);
          if (was !== undefined || now !== 'gone')
            this.log(`dist: worker ${w.id} (${w.host}, ${w.slots} slots) ${now}`);
        }
      }
      if (this.redisDown) this.log('dist: Redis is back');
      this.redisDown = false;
    } catch (err) {
      if (!this.redisDown)
        this.log(`dist: Redis unreachable (${err instanceof Error ? err.message : String(err)}); waiting for it`);
      this.redisDown = true;
    } finally {
      this.watching = false;
    }
  }

  /** Takes a worker's result: the first copy only, and only when its `.deb`s hash right and carry the identity. */
  async result(body: DistResult): Promise<ResultAnswer> {
    const e = this.pending.get(body.key);
    if (!e || e.taken)
      return { accepted: false, reason: e ? 'a result for this job was taken already' : 'no build waits for this job' };
    e.taken = true;
    const tResult = Date.now();
    const inp = e.input;
    let r: BuildResult;
    try {
      const logRef = body.log;
      const logUp = logRef ? path.join(this.uploadsDir, logRef.sha256) : undefined;
      if (body.logText !== undefined || (logUp && fs.existsSync(logUp))) {
        fs.appendFileSync(
          inp.logFile,
          `[${new Date().toISOString()}] built on worker ${body.worker}; its log follows\n`,
        );
        fs.appendFileSync(inp.logFile, body.logText ?? fs.readFileSync(logUp!));
      }
      const debs = body.ok ? await takeDebs(body, inp, this.uploadsDir, this.o.jail.arch) : [];
      r = {
        ok: body.ok,
        debs,
        timings: body.timings,
        wallMs: body.wallMs,
        cpuMs: body.cpuMs,
        ...(body.phase !== undefined ? { phase: body.phase } : {}),
        ...(body.failure !== undefined ? { failure: body.failure } : {}),
        ...(body.limit !== undefined ? { limit: body.limit } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
      };
      this.builtBy.set(e.data.port.origin, body.worker);
      this.timing(e, body, tResult);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      fs.appendFileSync(
        inp.logFile,
        `[${new Date().toISOString()}] the result of worker ${body.worker} was rejected: ${why}\n`,
      );
      r = failure('package', 'package', `the result of worker ${body.worker} was rejected: ${why}`, e.t0);
    } finally {
      for (const d of [...body.debs, ...(body.log ? [body.log] : [])])
        fs.rmSync(path.join(this.uploadsDir, d.sha256), { force: true });
    }
    this.settle(e, r);
    void this.queue.remove(e.key).catch(() => undefined); // a second copy still waiting need not run
    return { accepted: true };
  }

  /** Where a job's time went outside the worker's build: one line in the port's log, and the figures kept. */
  private timing(e: Pending, body: DistResult, tResult: number): void {
    const st = body.steps;
    // The whole buildPort call on the worker (its wallMs plus the sandbox teardown, which a local build pays too).
    const buildMs = st?.buildMs ?? body.wallMs;
    const overhead = Math.max(0, Date.now() - e.t0 - buildMs);
    this.overheadMs.push(overhead);
    const parts: Record<string, number> = { prepare: (e.tQueued ?? tResult) - e.t0 };
    if (st) {
      // takenAt is the worker's clock: queue and post are approximate across hosts.
      parts.queue = Math.max(0, st.takenAt - (e.tQueued ?? e.t0));
      parts.inputs = st.inputsMs;
      parts.upload = st.uploadMs;
      parts.post = Math.max(0, tResult - (st.takenAt + st.inputsMs + buildMs + st.uploadMs));
    }
    parts.check = Date.now() - tResult;
    this.timings.push(parts);
    fs.appendFileSync(
      e.input.logFile,
      `[${new Date().toISOString()}] dist: ${overhead} ms outside the build (${Object.entries(parts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} ms; ` +
        `build ${body.wallMs} ms + teardown ${Math.max(0, buildMs - body.wallMs)} ms on worker ${body.worker})\n`,
    );
  }

  /** Medians of the per-job overhead and its parts so far (none before the first result). */
  overheadSummary(): string | undefined {
    if (this.overheadMs.length === 0) return undefined;
    const med = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)] ?? 0;
    };
    const keys = [...new Set(this.timings.flatMap((t) => Object.keys(t)))];
    return (
      `dist: ${this.overheadMs.length} job(s), overhead per job outside the build: median ${med(this.overheadMs)} ms ` +
      `(${keys.map((k) => `${k} ${med(this.timings.map((t) => t[k] ?? 0))}`).join(', ')} ms)`
    );
  }

  /** Stops the watchdog, the HTTP endpoint and the Redis connections. Pending builds end as cancelled. */
  async close(): Promise<void> {
    const summary = this.overheadSummary();
    if (summary) this.log(summary);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const e of [...this.pending.values()])
      this.settle(e, failure('aborted', 'queued', 'the master stopped', e.t0));
    await this.app.close();
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
    fs.rmSync(this.uploadsDir, { recursive: true, force: true });
  }
}

/** `HOST:PORT` → parts (`[v6]:port` too). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535)
    throw new KilnError('KILN_E_USAGE', `not HOST:PORT: ${s}`, {
      hint: 'for example 10.0.0.1:8081 (port 0 picks a free one)',
    });
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Starts the master: the HTTP endpoint (token-authenticated), the queue, the watchdog. */
export async function startDistMaster(o: DistMasterOptions): Promise<DistMaster> {
  const token = o.token ?? distToken(o.home);
  const { host, port } = parseListen(o.listen ?? '127.0.0.1:8081');
  const redis = connectRedis(o.redisUrl);
  redis.on('error', () => {
    /* reconnects; the watchdog reports it */
  });
  const queue = new Queue(queueName(o.jail.arch), { connection: redisOptions(o.redisUrl) });
  queue.on('error', () => {
    /* reconnects */
  });
  const app = Fastify({ logger: false, rewriteUrl: (req) => aptProxyRewrite(req.url) });
  let master: DistMaster | undefined;
  const endpoints: MasterEndpoints = {
    token,
    uploadsDir: path.join(o.home, 'dist', 'uploads'),
    blob: (sha) => master?.blob(sha),
    result: (body) =>
      master ? master.result(body) : Promise.resolve({ accepted: false, reason: 'the master is starting' }),
    aptUpstreams: o.aptProxy === false ? [] : aptUpstreams(o.jail.path),
  };
  await app.register(distPlugin, { home: o.home, redisUrl: o.redisUrl, master: endpoints });
  await app.listen({ host, port });
  const addr = app.server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  const url = o.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  master = new DistMaster({ ...o, token }, queue, redis, app, url);
  return master;
}
