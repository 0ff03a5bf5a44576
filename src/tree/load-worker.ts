/**
 * Worker thread of `loadAll` (see `parallel.ts`): claims chunks of recipe-loading jobs from a shared
 * counter, loads them with `loadPortParts`, and posts each chunk back in compact form (`compact.ts`) before
 * claiming the next. Before its jobs, the worker a cached scan names walks the tree for it (`walk.ts`).
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { loadPortParts } from '../recipe/index.js';
import { packChunk } from './compact.js';
import {
  JOBS_POSTED,
  JOBS_WAITING,
  JOBS_WALK,
  WALK_BUSY,
  WALK_DONE,
  WALK_WAITING,
  WORKER_BUSY,
  WORKER_DONE,
  WORKER_IDLE,
  unpackJobs,
  type JobsMessage,
  type WalkMessage,
  type WorkerInit,
} from './parallel-state.js';
import { STAMP, stampFile, walkTree } from './walk.js';

/** How long a worker started ahead waits for its jobs before giving up (the caller then loads them all). */
const JOBS_WAIT_MS = 120_000;

/** Walks the tree for a cached scan, if this worker is the one asked and the caller has not walked it already. */
function walkIfAsked(init: WorkerInit): void {
  const walk = new Int32Array(init.walk);
  if (Atomics.load(walk, 1) !== init.index) return;
  if (Atomics.compareExchange(walk, 0, WALK_WAITING, WALK_BUSY) !== WALK_WAITING) return;
  try {
    const msg = receiveMessageOnPort(init.port);
    const w = walkTree((msg?.message as WalkMessage).layers);
    init.port.postMessage({ walk: w }, [w.layer.buffer as ArrayBuffer, w.stamps.buffer as ArrayBuffer]);
  } catch (e) {
    init.port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  } finally {
    Atomics.store(walk, 0, WALK_DONE);
    Atomics.notify(walk, 0);
  }
}

function work(init: WorkerInit): void {
  const next = new Int32Array(init.next);
  const state = new Int32Array(init.state);
  // Started ahead of the tree walk: wait for the jobs (or for word that there are none for workers).
  const go = new Int32Array(init.go);
  Atomics.wait(go, 0, JOBS_WAITING, JOBS_WAIT_MS);
  if (Atomics.load(go, 0) === JOBS_WALK) {
    walkIfAsked(init);
    Atomics.wait(go, 0, JOBS_WALK, JOBS_WAIT_MS);
  }
  if (Atomics.load(go, 0) !== JOBS_POSTED) return;
  // The jobs, after a walk request this worker did not take (the caller walked itself), if there is one.
  let m: JobsMessage | undefined;
  for (let guard = 0; guard < 4 && m === undefined; guard++) {
    const msg = receiveMessageOnPort(init.port);
    if (!msg) return;
    if ((msg.message as Partial<JobsMessage>).jobs !== undefined) m = msg.message as JobsMessage;
  }
  if (m === undefined) return;
  const jobs = unpackJobs(m);
  // Start only if the caller has not finished without us (it then set CANCELLED).
  if (Atomics.compareExchange(state, init.index, WORKER_IDLE, WORKER_BUSY) !== WORKER_IDLE) return;
  Atomics.notify(state, init.index);
  let jobIndex: Map<string, number> | undefined;
  try {
    for (let guard = 0; guard <= jobs.length; guard++) {
      const start = Atomics.add(next, 0, init.chunk);
      if (start >= jobs.length) break;
      const end = Math.min(start + init.chunk, jobs.length);
      const loads = [];
      // Stamped before loading (a change in between makes the file racy, and the scan cache then skips it).
      const stamps = m.stamps ? new Float64Array(STAMP * (end - start)) : undefined;
      for (let i = start; i < end; i++) {
        const j = jobs[i]!;
        if (stamps) stampFile(`${j.dir}/port.yaml`, stamps, STAMP * (i - start));
        loads.push(loadPortParts(j.dir, j.origin, j.layer));
      }
      jobIndex ??= new Map(jobs.map((j, i) => [j.origin, i]));
      const packed = packChunk(start, loads, jobIndex, stamps);
      const transfer = [packed.flags.buffer as ArrayBuffer, packed.ints.buffer as ArrayBuffer];
      if (stamps) transfer.push(stamps.buffer as ArrayBuffer);
      init.port.postMessage({ packed }, transfer);
    }
  } catch (e) {
    // The caller loads whatever was claimed but not posted.
    init.port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  } finally {
    Atomics.store(state, init.index, WORKER_DONE);
    Atomics.notify(state, init.index);
  }
}

work(workerData as WorkerInit);
parentPort?.close();
