/**
 * Worker thread of `loadAll` (see `parallel.ts`): waits for its jobs, then loads them (`load-jobs.ts`: claims chunks
 * of recipe-loading jobs from a shared counter and posts each chunk back in compact form). Before its jobs, the
 * worker a scan names walks the tree for it (`walk.ts`). It imports the loading half (the recipe module: zod and the
 * parsers, ~0.15 s) while it waits, without blocking: a walk asked meanwhile starts at once, and a scan with nothing
 * to load never waits for that import. When the scan likely has a cache file (`importLate`), only once jobs come.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  JOBS_POSTED,
  JOBS_WAITING,
  JOBS_WALK,
  WALK_BUSY,
  WALK_DONE,
  WALK_NEXT_CAT,
  WALK_STOP,
  WALK_WAITING,
  type WalkMessage,
  type WorkerInit,
} from './parallel-state.js';
import { walkCategories, walkShare } from './walk.js';

/** How long a worker started ahead waits for its jobs before giving up (the caller then loads them all). */
const JOBS_WAIT_MS = 120_000;

/** Walks the tree for a cached scan, if this worker is the one asked and the caller has not walked it already. */
function walkIfAsked(init: WorkerInit): void {
  const walk = new Int32Array(init.walk);
  if (Atomics.load(walk, 1) !== init.index) return;
  if (Atomics.compareExchange(walk, 0, WALK_WAITING, WALK_BUSY) !== WALK_WAITING) return;
  try {
    const msg = receiveMessageOnPort(init.port);
    const layers = (msg?.message as WalkMessage).layers;
    const cats = walkCategories(layers);
    // Categories are claimed from a shared counter: the caller walks the rest once it is ready for the walk.
    const w = walkShare(
      layers,
      cats,
      () => Atomics.add(walk, WALK_NEXT_CAT, 1),
      () => Atomics.load(walk, WALK_STOP) === 1,
    );
    init.port.postMessage({ walk: w, cats: cats.join('\n') }, [
      w.layer.buffer as ArrayBuffer,
      w.stamps.buffer as ArrayBuffer,
    ]);
  } catch (e) {
    init.port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  } finally {
    Atomics.store(walk, 0, WALK_DONE);
    Atomics.notify(walk, 0);
  }
}

type WaitAsync = (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: unknown };

/** Waits, without blocking this thread's event loop (the import goes on), while `go[0]` holds `value` (at most `ms`). */
async function waitWhile(go: Int32Array, value: number, ms: number): Promise<void> {
  const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(go, 0, value, ms);
  if (!r.async) return;
  // A pending waitAsync does not keep a thread alive in Node: a timer does, meanwhile.
  const keep = setInterval(() => undefined, 1 << 30);
  try {
    await r.value;
  } finally {
    clearInterval(keep);
  }
}

async function run(init: WorkerInit): Promise<void> {
  // A cold scan's worker imports at once (the import overlaps the caller's walk or imports); one likely to have
  // nothing to load (a cache file) only when jobs come.
  let loading = init.importLate ? undefined : import('./load-jobs.js');
  loading?.catch(() => undefined); // a failed import is reported below, if the jobs come
  // Started ahead of the tree walk: wait for the jobs (or for word that there are none for workers).
  const go = new Int32Array(init.go);
  await waitWhile(go, JOBS_WAITING, JOBS_WAIT_MS);
  if (Atomics.load(go, 0) === JOBS_WALK) {
    walkIfAsked(init);
    await waitWhile(go, JOBS_WALK, JOBS_WAIT_MS);
  }
  if (Atomics.load(go, 0) !== JOBS_POSTED) return;
  loading ??= import('./load-jobs.js');
  (await loading).work(init);
}

await run(workerData as WorkerInit);
parentPort?.close();
