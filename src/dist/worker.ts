/**
 * A remote worker (`kiln worker`): takes jobs from the queue of its architecture, fetches what a build needs from
 * the master by content hash into its own caches (the jail as a tarball unpacked once per jail identity, distfiles,
 * the port folder, the dependencies' `.deb`s), builds with `buildPort` in its own sandbox over its own copy of the
 * jail, and hands back the `.deb`s, the log and the timings over HTTP. It cannot publish: the master decides.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import { KilnError } from '../util/errors.js';
import { buildPort, type BuildResult } from '../build/index.js';
import { DistfileCache } from '../fetch/index.js';
import { debianArch } from '../debian/index.js';
import { cleanupStaleSandboxes } from '../sandbox/index.js';
import { loadConfig } from '../config/index.js';
import { layersRoot } from '../layers/index.js';
import type { LayerSpec } from '../build/index.js';
import { DEB_RELATION_RE } from '../recipe/index.js';
import { authHeader, downloadBlob, extractTarball, TransferError, uploadBlob, writePortFiles } from './blobs.js';
import crypto from 'node:crypto';
import { connectRedis, redisOptions, WorkerRegistry } from './registry.js';
import { waitForRedis } from './worker-redis.js';
import { applyAptProxy, aptProxyConf } from './apt-proxy.js';
import {
  HEARTBEAT_MS,
  INLINE_LOG_BYTES,
  PROTOCOL_VERSION,
  portFromJob,
  queueName,
  type WorkerSteps,
  type BlobRef,
  type DistJob,
  type DistResult,
  type ResultAnswer,
  type WorkerRecord,
} from './protocol.js';

/** Options of {@link startWorker}. */
export interface DistWorkerOptions {
  readonly redisUrl: string;
  /** Stops the wait for an unreachable Redis (SIGINT). */
  readonly signal?: AbortSignal;
  /** The worker's own kiln home (caches, jails, sandboxes). */
  readonly home: string;
  readonly token: string;
  /** Master URL; overrides the one each job names (use it when the master listens on 0.0.0.0 or behind NAT). */
  readonly master?: string;
  /** Builds at once (default 1). */
  readonly slots?: number;
  /** Architecture served (default: the host's, as Debian names it). */
  readonly arch?: string;
  /** Worker id (default `HOST-PID`). */
  readonly id?: string;
  /** BullMQ lock duration, ms: a dead worker's job goes back to the queue about this long after it died (default 30000). */
  readonly lockMs?: number;
  /** Failures of one job (outside the build itself) after which the worker takes itself out of rotation (default 2). */
  readonly maxFailuresPerJob?: number;
  readonly version?: string;
  /**
   * How apt in the sandbox reaches Debian's archive for `depends.system`: `master` (default) through the master's
   * proxy, so a worker needs no route but to the master; `direct` with the jail's sources as they are.
   */
  readonly apt?: 'master' | 'direct';
  readonly log?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running worker. */
export class DistWorker {
  readonly id: string;
  private readonly arch: string;
  private readonly slots: number;
  private readonly redis;
  private readonly registry: WorkerRegistry;
  private worker: Worker | undefined;
  private readonly current = new Map<string, { origin: string; phase: string; since: string }>();
  private built = 0;
  private failed = 0;
  private readonly startedAt = new Date().toISOString();
  private beatTimer: NodeJS.Timeout | undefined;
  private disabled: string | undefined;
  private readonly jails = new Map<string, Promise<string>>();
  private readonly abort = new AbortController();

  constructor(private readonly o: DistWorkerOptions) {
    this.id = o.id ?? `${os.hostname()}-${process.pid}`;
    this.arch = o.arch ?? debianArch();
    this.slots = Math.max(1, o.slots ?? 1);
    this.redis = connectRedis(o.redisUrl);
    this.redis.on('error', () => {
      /* reconnects */
    });
    this.registry = new WorkerRegistry(this.redis);
  }

  private log(l: string): void {
    this.o.log?.(l);
  }

  /** Registers, puts itself back in rotation and starts taking jobs. */
  async start(): Promise<void> {
    fs.mkdirSync(path.join(this.o.home, 'dist'), { recursive: true });
    await cleanupStaleSandboxes(this.o.home);
    await this.registry.enable(this.id);
    await this.beat();
    this.beatTimer = setInterval(() => {
      void this.beat().catch(() => undefined);
    }, HEARTBEAT_MS);
    const lockMs = this.o.lockMs ?? 30_000;
    this.worker = new Worker(queueName(this.arch), (job: Job) => this.process(job), {
      connection: redisOptions(this.o.redisUrl),
      concurrency: this.slots,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 5,
      name: this.id,
    });
    this.worker.on('error', (e) => this.log(`worker: queue error: ${e.message}`));
    this.worker.on('failed', (job, e) => this.log(`worker: job ${job?.name ?? '?'} failed here: ${e.message}`));
    this.log(`worker ${this.id}: serving ${queueName(this.arch)} with ${this.slots} slot(s)`);
  }

  private record(): WorkerRecord {
    return {
      id: this.id,
      host: os.hostname(),
      arch: this.arch,
      slots: this.slots,
      version: this.o.version ?? '0',
      current: [...this.current.values()],
      built: this.built,
      failed: this.failed,
      startedAt: this.startedAt,
      lastSeen: new Date().toISOString(),
    };
  }

  private async beat(): Promise<void> {
    const d = await this.registry.beat(this.record());
    if (d !== undefined && this.disabled === undefined) {
      this.disabled = d;
      this.log(`worker ${this.id}: out of rotation: ${d}`);
      void this.worker?.pause(true);
    }
  }

  /** One job: fetch, build, hand back. Throws for failures outside the build (BullMQ then retries elsewhere). */
  private async process(job: Job): Promise<{ accepted: boolean }> {
    const takenAt = Date.now();
    const d = job.data as DistJob;
    if (d.v !== PROTOCOL_VERSION)
      throw new KilnError('KILN_E_DIST', `job format ${d.v}, this worker speaks ${PROTOCOL_VERSION}`, {
        hint: 'run the same kiln version on the master and the workers',
      });
    const base = this.o.master ?? d.master;
    const origin = d.port.origin;
    const slot = `${job.id}`;
    this.current.set(slot, { origin, phase: 'fetch-inputs', since: new Date().toISOString() });
    void this.beat().catch(() => undefined);
    this.log(`building ${origin} (job ${job.id}, attempt ${job.attemptsMade + 1})`);
    const out = fs.mkdtempSync(path.join(this.o.home, 'dist', 'out-'));
    try {
      const jailRoot = await this.ensureJail(base, d.jail);
      applyAptProxy(jailRoot, this.o.apt === 'direct' ? undefined : aptProxyConf(base, this.o.token));
      const cache = new DistfileCache(path.join(this.o.home, 'distfiles'));
      for (const f of d.distfiles) {
        if (cache.lookup(f.sha256)) continue;
        const tmp = cache.tempPath(f.name);
        await downloadBlob(base, this.o.token, f, tmp);
        cache.adopt(tmp, f.sha256, f.name);
      }
      const portDir = d.port.files
        ? this.ensureInline(d.port.files)
        : await this.ensureUnpacked(base, d.port.tarball!, 'ports');
      const deps: string[] = [];
      for (const dep of d.deps) deps.push(await this.ensureFile(base, dep, 'debs'));
      const port = portFromJob(d.port, portDir);
      const logFile = path.join(out, 'build.log');
      const inputsMs = Date.now() - takenAt;
      const res = await buildPort({
        home: this.o.home,
        jail: { name: d.jail.name, path: jailRoot, arch: d.jail.arch, release: d.jail.release },
        port,
        identity: d.identity,
        options: d.options,
        depDebs: deps,
        kilnRun: d.kilnRun,
        kilnSonames: new Map(d.kilnSonames),
        jobs: d.jobs,
        withTests: d.withTests,
        limits: d.limits,
        outDir: out,
        logFile,
        sourceDateEpoch: d.sourceDateEpoch,
        // Layers per worker home (the worker's kiln.yaml cache.layers_mb), over the bulk's shared layer if any.
        ...layersOf(this.o.home, d.jail.identity, d.sharedLayer),
        signal: this.abort.signal,
        onPhase: (phase) => {
          const c = this.current.get(slot);
          if (c) this.current.set(slot, { ...c, phase });
        },
      });
      if (!res.ok && res.failure === 'sandbox')
        throw new KilnError('KILN_E_SANDBOX', `the sandbox failed on ${this.id}: ${res.reason ?? ''}`);
      if (!res.ok && res.failure === 'aborted') throw new KilnError('KILN_E_DIST', `worker ${this.id} is stopping`);
      const answer = await this.handBack(base, d, res, logFile, {
        takenAt,
        inputsMs,
        buildMs: Date.now() - takenAt - inputsMs,
      });
      if (res.ok) this.built++;
      else this.failed++;
      this.log(
        `done ${origin} ${res.ok ? 'ok' : `failed in ${res.phase ?? '?'}`} in ${(res.wallMs / 1000).toFixed(1)} s${answer.accepted ? '' : ` (not taken: ${answer.reason ?? ''})`}`,
      );
      return { accepted: answer.accepted };
    } catch (e) {
      if (this.abort.signal.aborted) throw e;
      const n = await this.registry.failure(this.id, d.key).catch(() => 0);
      const why = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      this.log(`error on ${origin} (failure ${n} of this job here): ${why}`);
      if (n >= (this.o.maxFailuresPerJob ?? 2) && this.disabled === undefined) {
        const reason = `failed job ${origin} ${n} times: ${why}`;
        await this.registry.disable(this.id, reason).catch(() => undefined);
        this.disabled = reason;
        this.log(`worker ${this.id}: out of rotation: ${reason}`);
        void this.worker?.pause(true);
      }
      throw e;
    } finally {
      this.current.delete(slot);
      fs.rmSync(out, { recursive: true, force: true });
    }
  }

  /** Uploads the `.deb`s (and a big log), then posts the result; transient failures are retried for about two minutes. */
  private async handBack(
    base: string,
    d: DistJob,
    res: BuildResult,
    logFile: string,
    steps: Omit<WorkerSteps, 'uploadMs'>,
  ): Promise<ResultAnswer> {
    for (let attempt = 1; ; attempt++) {
      try {
        const t0 = Date.now();
        const logSize = fs.existsSync(logFile) ? fs.statSync(logFile).size : -1;
        const inline = logSize >= 0 && logSize <= INLINE_LOG_BYTES;
        const [debs, log] = await Promise.all([
          Promise.all(res.debs.map((f) => uploadBlob(base, this.o.token, f))),
          logSize >= 0 && !inline ? uploadBlob(base, this.o.token, logFile, 'build.log') : Promise.resolve(undefined),
        ]);
        const body: DistResult = {
          v: PROTOCOL_VERSION,
          worker: this.id,
          key: d.key,
          ok: res.ok,
          debs,
          ...(log ? { log } : {}),
          ...(inline ? { logText: fs.readFileSync(logFile, 'utf8') } : {}),
          steps: { ...steps, uploadMs: Date.now() - t0 },
          ...(res.phase !== undefined ? { phase: res.phase } : {}),
          ...(res.failure !== undefined ? { failure: res.failure } : {}),
          ...(res.limit !== undefined ? { limit: res.limit } : {}),
          ...(res.reason !== undefined ? { reason: res.reason } : {}),
          timings: res.timings,
          wallMs: res.wallMs,
          cpuMs: res.cpuMs,
        };
        let r: Response;
        try {
          r = await fetch(`${base}/dist/results/${d.key}`, {
            method: 'POST',
            headers: { ...authHeader(this.o.token), 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(120_000),
          });
        } catch (e) {
          throw new TransferError(
            `cannot reach the master at ${base}: ${e instanceof Error ? e.message : String(e)}`,
            true,
          );
        }
        if (!r.ok)
          throw new TransferError(`the master refused the result: HTTP ${r.status} ${await r.text()}`, r.status >= 500);
        return (await r.json()) as ResultAnswer;
      } catch (e) {
        if (!(e instanceof TransferError) || !e.transient || attempt >= 40) throw e;
        await sleep(3000);
      }
    }
  }

  /** The jail's root, unpacked once per identity under `HOME/dist/jails/IDENTITY/root`. */
  private ensureJail(base: string, j: DistJob['jail']): Promise<string> {
    const root = path.join(this.o.home, 'dist', 'jails', j.identity, 'root');
    if (fs.existsSync(path.join(root, 'usr'))) return Promise.resolve(root);
    let p = this.jails.get(j.identity);
    if (!p) {
      p = (async () => {
        const t0 = Date.now();
        this.log(
          `fetching jail ${j.name} (${j.identity.slice(0, 12)}, ${(j.tarball.size / 1e6).toFixed(0)} MB) from the master`,
        );
        const file = await this.ensureFile(base, j.tarball, 'blobs');
        const tmp = path.join(this.o.home, 'dist', 'jails', `.${j.identity}.tmp-${process.pid}`);
        fs.rmSync(tmp, { recursive: true, force: true });
        await extractTarball(file, path.join(tmp, 'root'));
        fs.rmSync(path.dirname(root), { recursive: true, force: true });
        fs.renameSync(tmp, path.dirname(root));
        fs.rmSync(file, { force: true });
        this.log(`jail ${j.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return root;
      })().finally(() => this.jails.delete(j.identity));
      this.jails.set(j.identity, p);
    }
    return p;
  }

  /** A blob in the cache `HOME/dist/KIND/SHA/NAME`, downloaded when missing. */
  private async ensureFile(base: string, ref: BlobRef, kind: string): Promise<string> {
    const dest = path.join(this.o.home, 'dist', kind, ref.sha256, path.basename(ref.name));
    if (!fs.existsSync(dest)) await downloadBlob(base, this.o.token, ref, dest);
    return dest;
  }

  /** Inline port files written once into `HOME/dist/ports/inline-SHA/tree`. */
  private ensureInline(files: NonNullable<DistJob['port']['files']>): string {
    const sha = crypto.createHash('sha256').update(JSON.stringify(files)).digest('hex');
    const dir = path.join(this.o.home, 'dist', 'ports', `inline-${sha}`, 'tree');
    if (fs.existsSync(dir)) return dir;
    const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    writePortFiles(files, tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(dir)) throw e;
    }
    return dir;
  }

  /** A tarball blob unpacked once into `HOME/dist/KIND/SHA/tree`. */
  private async ensureUnpacked(base: string, ref: BlobRef, kind: string): Promise<string> {
    const dir = path.join(this.o.home, 'dist', kind, ref.sha256, 'tree');
    if (fs.existsSync(dir)) return dir;
    const file = await this.ensureFile(base, ref, kind);
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await extractTarball(file, tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(dir)) throw e; // another slot unpacked it first
    }
    return dir;
  }

  /** Stops taking jobs, cancels running builds (their jobs go back to the queue), and unregisters. */
  async close(): Promise<void> {
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.abort.abort();
    await this.worker?.close().catch(() => undefined);
    await this.registry.remove(this.id).catch(() => undefined);
    this.redis.disconnect();
  }
}

/** Starts a worker; call `close()` to stop it. */
export async function startWorker(o: DistWorkerOptions): Promise<DistWorker> {
  // Say at once when Redis cannot be reached, and keep trying with a visible backoff (not a silent hang).
  await waitForRedis(o.redisUrl, { log: (l) => o.log?.(l), ...(o.signal ? { signal: o.signal } : {}) });
  if (o.signal?.aborted)
    throw new KilnError('KILN_E_USAGE', 'the worker was stopped before Redis could be reached', { exitCode: 1 });
  const w = new DistWorker(o);
  await w.start();
  return w;
}

/**
 * The names of a job's shared layer the worker accepts: package names (a Debian port's Build-Depends, resolved) and
 * relations as recipes write them in `depends.system` (`libfoo-dev (>= 1.2)`, `a | b`); anything else is dropped.
 */
export function sharedLayerNames(shared: readonly unknown[] | undefined): string[] {
  return (shared ?? []).filter(
    (n): n is string =>
      typeof n === 'string' &&
      n.length <= 512 &&
      (DEB_RELATION_RE.test(n) || /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$/.test(n)),
  );
}

/** The worker's dependency layers for a jail (its home's kiln.yaml `cache.layers_mb`; none when 0 or unreadable). */
function layersOf(home: string, jailIdentity: string, shared?: readonly string[]): { layers?: LayerSpec } {
  let mb = 8192;
  try {
    mb = loadConfig(home).cache.layers_mb;
  } catch {
    return {};
  }
  if (mb <= 0) return {};
  const names = sharedLayerNames(shared);
  return {
    layers: {
      root: layersRoot(home),
      jailIdentity,
      maxBytes: mb * 1048576,
      ...(names.length > 0 ? { shared: names } : {}),
    },
  };
}
