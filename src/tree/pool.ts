/**
 * Starting the loader workers of a large scan (see `parallel.ts`). This module imports nothing but Node and the
 * shared-state constants, so the CLI can start the workers first thing (`prestartLoaders`), before it imports
 * the rest of kiln: their start-up (a fresh isolate importing the recipe module, ~0.15 s of CPU) then overlaps
 * the main thread's own imports, and the scan adopts them (`startLoaders` takes a prestarted pool).
 */
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import {
  JOBS_NONE,
  JOBS_WALK,
  WALK_STOP,
  WORKER_CANCELLED,
  type WalkMessage,
  type WorkerInit,
} from './parallel-state.js';
import type { TreeLayer } from './ref.js';

/** Jobs a thread claims at a time. */
export const CHUNK = 256;
/** Young generation of a loader thread, MiB (see {@link startLoaders}). */
const WORKER_YOUNG_MB = 48;

/**
 * How many helper workers to use by default: one fewer than the cores (the caller works too), at most 7;
 * `KILN_SCAN_WORKERS=N` overrides it (0: load on the calling thread only; benches compare the two).
 */
export function defaultWorkers(): number {
  const env = process.env.KILN_SCAN_WORKERS;
  if (env !== undefined && /^[0-9]$/.test(env)) return Number(env);
  return Math.max(0, Math.min(7, os.availableParallelism() - 1));
}

/**
 * How to start a worker: the compiled `load-worker.js` beside this file; when running from TypeScript
 * sources (tsx, in tests and benches) a worker does not inherit tsx's loader in Node 20, so a two-line
 * bootstrap registers it first.
 */
function workerSpec(): { entry: URL | string; eval: boolean } | undefined {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./load-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
  if (!fs.existsSync(fileURLToPath(url))) return undefined;
  if (!ts) return { entry: url, eval: false };
  const code =
    `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })` +
    '.catch((e) => { console.error(e); process.exit(1); });';
  return { entry: code, eval: true };
}

/**
 * Helper workers started before their jobs are known, so that their start-up (a fresh isolate importing
 * the recipe module: ~0.15 s of CPU) overlaps the tree walk. Hand it to {@link loadAll}, which posts the
 * jobs or, for a small job list, sends the workers away; either way it ends them.
 */
export interface LoaderPool {
  readonly workers: readonly { readonly worker: Worker; readonly port: MessagePort; readonly index: number }[];
  readonly next: SharedArrayBuffer;
  readonly state: SharedArrayBuffer;
  readonly go: SharedArrayBuffer;
  /**
   * Int32[4]: the state of a cached scan's walk (WALK_* in `parallel-state.ts`), the index of the worker asked,
   * 1 once the walk is not wanted any more (the worker then stops it early), the next category to walk.
   */
  readonly walk: SharedArrayBuffer;
  /** The layers (as {@link walkKey} gives them) of the walk asked of worker 0, once asked (one walk per pool). */
  walked?: string;
}

/** A walk's layers as a comparable string. */
export function walkKey(layers: readonly { readonly name: string; readonly dir: string }[]): string {
  return JSON.stringify(layers.map((l) => [l.name, l.dir]));
}

/** Asks the pool's first worker to walk `layers` (see `walk.ts`); false when it has none or was asked already. */
export function postWalk(
  pool: LoaderPool,
  layers: readonly { readonly name: string; readonly dir: string }[],
): boolean {
  const first = pool.workers[0];
  if (!first || pool.walked !== undefined) return false;
  const walk = new Int32Array(pool.walk);
  Atomics.store(walk, 1, first.index);
  const msg: WalkMessage = { layers: layers.map((l) => ({ name: l.name, dir: l.dir })) };
  first.port.postMessage(msg);
  pool.walked = walkKey(layers);
  const go = new Int32Array(pool.go);
  Atomics.store(go, 0, JOBS_WALK);
  Atomics.notify(go, 0);
  return true;
}

let prestarted: LoaderPool | undefined;

/**
 * Starts the default number of loader workers now, for the next {@link startLoaders} to adopt (the CLI calls it
 * before importing a command that will scan a large tree). A pool nobody adopts is harmless: its workers are
 * unref'd and end with the process; {@link dropPrestarted} ends them sooner. With `walk` (the layers the scan will
 * have, when the CLI can tell them from its arguments alone), worker 0 walks them at once, on the bet that the scan
 * has a cache file; a scan of other layers does not use that walk. `cached`: the CLI saw the tree's cache file (the
 * workers then import the recipe module only if jobs come).
 */
export function prestartLoaders(walk?: readonly TreeLayer[], cached = false): void {
  if (prestarted) return;
  prestarted = startLoaders(defaultWorkers(), cached);
  if (walk) postWalk(prestarted, walk);
}

/** The prestarted pool, if any, now owned by the caller (a cached scan asks its worker 0 to walk the tree). */
export function takePrestarted(): LoaderPool | undefined {
  const p = prestarted;
  prestarted = undefined;
  return p;
}

/** Ends a prestarted pool nobody adopted (a small tree). */
export function dropPrestarted(): void {
  if (prestarted) {
    stopLoaders(prestarted);
    prestarted = undefined;
  }
}

/** Starts `n` helper workers waiting for jobs (none when they cannot start here); adopts a prestarted pool of that size. */
export function startLoaders(n: number = defaultWorkers(), importLate = false): LoaderPool {
  if (prestarted && prestarted.workers.length === n) {
    const p = prestarted;
    prestarted = undefined;
    return p;
  }
  const spec = n > 0 ? workerSpec() : undefined;
  const next = new SharedArrayBuffer(4);
  const state = new SharedArrayBuffer(4 * Math.max(1, n));
  const go = new SharedArrayBuffer(4);
  const walk = new SharedArrayBuffer(16);
  const stateView = new Int32Array(state);
  const workers: { worker: Worker; port: MessagePort; index: number }[] = [];
  for (let index = 0; spec !== undefined && index < n; index++) {
    const { port1, port2 } = new MessageChannel();
    try {
      const init: WorkerInit = { next, state, go, index, chunk: CHUNK, port: port2, walk, importLate };
      // A larger young generation than V8's default: a loader allocates fast and keeps almost nothing (each
      // chunk is posted and dropped), so fewer scavenges are pure gain (-3 % CPU on a 35,000-port scan).
      const worker = new Worker(spec.entry, {
        eval: spec.eval,
        workerData: init,
        transferList: [port2],
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
      });
      worker.unref();
      worker.on('error', () => {
        /* its jobs are redone by loadAll */
      });
      workers.push({ worker, port: port1, index });
    } catch {
      // Workers that never got created stay IDLE and are cancelled like late ones.
      port1.close();
      Atomics.store(stateView, index, WORKER_CANCELLED);
    }
  }
  return { workers, next, state, go, walk };
}

/** Tells the worker walking for `pool` that its walk is not wanted (a scan without a cache file, or of other layers). */
export function dropWalk(pool: LoaderPool): void {
  Atomics.store(new Int32Array(pool.walk), WALK_STOP, 1);
}

/** Sends a pool's workers away unused and ends them. */
export function stopLoaders(pool: LoaderPool): void {
  const go = new Int32Array(pool.go);
  Atomics.store(go, 0, JOBS_NONE);
  Atomics.notify(go, 0);
  for (const s of pool.workers) {
    s.port.close();
    void s.worker.terminate();
  }
}
