/**
 * Loading many recipes on every core while keeping a synchronous API: the calling thread and helper worker
 * threads claim chunks of jobs from one shared atomic counter (so a worker that starts late just takes
 * fewer), the caller blocks with `Atomics.wait` only for workers that are busy with a chunk, then collects
 * their results with `receiveMessageOnPort`. Results come back in job order whoever loaded them. Any trouble
 * with a worker (it cannot start, it dies) only means the caller loads those jobs itself.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { LoadMemo } from '../recipe/light.js';
import type { RecipeLoaders } from './recipes.js';
import {
  JOBS_POSTED,
  WALK_BUSY,
  WALK_CANCELLED,
  WALK_NEXT_CAT,
  WALK_WAITING,
  WORKER_BUSY,
  WORKER_CANCELLED,
  WORKER_IDLE,
  packJobs,
  type LoadJob,
} from './parallel-state.js';
import { CHUNK, defaultWorkers, postWalk, startLoaders, stopLoaders, walkKey, type LoaderPool } from './pool.js';
import { unpackChunk, type JobLoad, type LoadExtras, type PackedChunk } from './compact.js';
import {
  STAMP,
  joinWalk,
  stampFile,
  stampStats,
  walkCategories,
  walkShare,
  walkTree,
  type TreeWalk,
  type WalkPart,
} from './walk.js';
import type { TreeLayer } from './ref.js';

export type { LoadJob } from './parallel-state.js';
export { defaultWorkers, startLoaders, stopLoaders, type LoaderPool } from './pool.js';

/** Below this many jobs, starting a worker costs more than it saves. */
export const PARALLEL_MIN_JOBS = 3000;
/** How long the caller waits for a busy worker before loading its claimed jobs itself (a stuck worker). */
const WORKER_WAIT_MS = 60_000;

/**
 * Loads one job and keeps only what a large scan must keep: the port around a lazy recipe (its text,
 * scalars, `depends`, `options`; `sources`, `build` and `install` validated but built only when read).
 */
function loadLean(j: LoadJob, i: number, memo: LoadMemo, load: RecipeLoaders, extras?: LoadExtras): JobLoad {
  if (!extras) {
    const l = load.loadPortLazy(j.dir, j.origin, j.layer, memo);
    return l.port ? { port: l.port, problems: l.problems } : { problems: l.problems };
  }
  const l = load.loadPortParts(j.dir, j.origin, j.layer, memo);
  // Stamped with the stats of the very file read (taken before reading it); a change after that makes it racy.
  if (memo.recipeStat) stampStats(memo.recipeStat, extras.stamps, STAMP * i);
  else stampFile(`${j.dir}/port.yaml`, extras.stamps, STAMP * i);
  return l.parts ? { parts: l.parts, problems: l.problems } : { problems: l.problems };
}

/** Options of {@link loadAll}. */
export interface LoadAllOptions {
  /** Helper worker threads (default {@link defaultWorkers}); ignored when `pool` is given. */
  readonly workers?: number;
  /** Use workers only from this many jobs on (default {@link PARALLEL_MIN_JOBS}). */
  readonly minJobs?: number;
  /** False: the caller only waits and collects (tests use it to make sure the workers do the loading). */
  readonly callerLoads?: boolean;
  /** Workers started earlier with {@link startLoaders}; `loadAll` uses (or dismisses) and ends them. */
  readonly pool?: LoaderPool;
  /** Give each valid port as its parts (not a port), and each job's port.yaml stamp (for the scan cache). */
  readonly extras?: boolean;
  /** The recipe loaders ({@link recipeLoaders}); needed when there are jobs. */
  readonly loaders?: RecipeLoaders;
}

/**
 * Loads every job, in parallel when there are many. `results` are in job order; `byWorkers` counts what workers
 * loaded; `extras` (when asked for) holds the texts and stamps.
 */
export function loadAll(
  jobs: readonly LoadJob[],
  opts: LoadAllOptions = {},
): { results: JobLoad[]; byWorkers: number; extras?: LoadExtras } {
  const results: (JobLoad | undefined)[] = new Array(jobs.length);
  const extras: LoadExtras | undefined = opts.extras ? { stamps: new Float64Array(STAMP * jobs.length) } : undefined;
  const parallel = jobs.length >= (opts.minJobs ?? PARALLEL_MIN_JOBS);
  let pool = opts.pool;
  if (pool && !parallel) {
    stopLoaders(pool);
    pool = undefined;
  }
  if (!pool && parallel) pool = startLoaders(opts.workers ?? defaultWorkers());
  const started = pool?.workers ?? [];
  const load = opts.loaders;
  if (load === undefined && jobs.length > 0) throw new Error('loadAll: jobs without recipe loaders (a bug in kiln)');
  const memo = load?.newLoadMemo({ deferFiles: true }); // real paths of root and categories, once per load; port files: the build checks them
  let byWorkers = 0;
  const nextView = new Int32Array(pool?.next ?? new SharedArrayBuffer(4));
  const stateView = new Int32Array(pool?.state ?? new SharedArrayBuffer(4));
  if (pool && started.length > 0) {
    const msg = packJobs(jobs, opts.extras === true);
    for (const s of started) s.port.postMessage(msg);
    const go = new Int32Array(pool.go);
    Atomics.store(go, 0, JOBS_POSTED);
    Atomics.notify(go, 0);
  }
  // Takes in whatever a worker has posted so far (without waiting). Doing it between our own chunks
  // spreads the cost of taking results in across the run, and the workers then claim more of the jobs.
  const drain = (port: MessagePort): void => {
    for (let guard = 0; guard <= jobs.length; guard++) {
      const msg = receiveMessageOnPort(port);
      if (!msg) return;
      const m = msg.message as { packed?: PackedChunk };
      if (m.packed) {
        unpackChunk(m.packed, jobs, results, extras);
        byWorkers += m.packed.count;
      }
    }
  };
  try {
    for (let guard = 0; opts.callerLoads !== false && guard <= jobs.length; guard++) {
      const start = Atomics.add(nextView, 0, CHUNK);
      if (start >= jobs.length) break;
      const end = Math.min(start + CHUNK, jobs.length);
      for (let i = start; i < end; i++) results[i] = loadLean(jobs[i]!, i, memo!, load!, extras);
      for (const s of started) drain(s.port);
    }
    for (const s of started) {
      if (opts.callerLoads === false) Atomics.wait(stateView, s.index, WORKER_IDLE, WORKER_WAIT_MS);
      // A worker that has not started yet claimed nothing: cancel it. A busy one gets to finish its chunk.
      if (Atomics.compareExchange(stateView, s.index, WORKER_IDLE, WORKER_CANCELLED) === WORKER_IDLE) continue;
      Atomics.wait(stateView, s.index, WORKER_BUSY, WORKER_WAIT_MS);
      drain(s.port);
    }
  } finally {
    for (const s of started) {
      s.port.close();
      void s.worker.terminate();
    }
  }
  // Whatever a failed worker claimed but never delivered is loaded here.
  for (let i = 0; i < jobs.length; i++) {
    if (results[i] === undefined) results[i] = loadLean(jobs[i]!, i, memo!, load!, extras);
  }
  return { results: results as JobLoad[], byWorkers, ...(extras ? { extras } : {}) };
}

/**
 * Asks the pool's first worker to walk `layers` (`walk.ts`) while this thread does other work; true also when a walk
 * of the same layers was asked already (at prestart); false when it has no worker or walks other layers.
 */
export function askWalk(pool: LoaderPool, layers: readonly TreeLayer[]): boolean {
  if (pool.walked !== undefined) return pool.walked === walkKey(layers);
  return postWalk(pool, layers);
}

/**
 * The walk asked with {@link askWalk}: shared with the worker when it has started (this thread walks the categories
 * the worker has not taken yet, then joins the worker's share to its own), this thread's own when the worker has not
 * taken it yet (it is then cancelled), failed, or takes longer than a busy worker may. Undefined: see `walkTree`.
 */
export function takeWalk(pool: LoaderPool, layers: readonly TreeLayer[]): TreeWalk | undefined {
  const walk = new Int32Array(pool.walk);
  const first = pool.workers[0];
  if (!first || Atomics.compareExchange(walk, 0, WALK_WAITING, WALK_CANCELLED) === WALK_WAITING)
    return walkTree(layers);
  const cats = walkCategories(layers);
  const mine = walkShare(layers, cats, () => Atomics.add(walk, WALK_NEXT_CAT, 1));
  Atomics.wait(walk, 0, WALK_BUSY, WORKER_WAIT_MS);
  for (let guard = 0; guard < 4; guard++) {
    const msg = receiveMessageOnPort(first.port);
    if (!msg) break;
    const m = msg.message as { walk?: WalkPart; cats?: string };
    // The worker listed the categories itself: a category made or removed in between makes the shares disagree.
    if (m.walk && m.cats === cats.join('\n')) return joinWalk(cats, [m.walk, mine]) ?? walkTree(layers);
  }
  return walkTree(layers);
}
