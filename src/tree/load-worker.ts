/**
 * Worker thread of `loadAll` (see `parallel.ts`): claims chunks of recipe-loading jobs from a shared
 * counter, loads them with `loadPortParts`, and posts each chunk back in compact form (`compact.ts`) before
 * claiming the next.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { loadPortParts } from '../recipe/index.js';
import { packChunk } from './compact.js';
import {
  JOBS_POSTED, JOBS_WAITING, WORKER_BUSY, WORKER_DONE, WORKER_IDLE, unpackJobs, type JobsMessage, type WorkerInit,
} from './parallel-state.js';

/** How long a worker started ahead waits for its jobs before giving up (the caller then loads them all). */
const JOBS_WAIT_MS = 120_000;

function work(init: WorkerInit): void {
  const next = new Int32Array(init.next);
  const state = new Int32Array(init.state);
  // Started ahead of the tree walk: wait for the jobs (or for word that there are none for workers).
  const go = new Int32Array(init.go);
  Atomics.wait(go, 0, JOBS_WAITING, JOBS_WAIT_MS);
  if (Atomics.load(go, 0) !== JOBS_POSTED) return;
  const msg = receiveMessageOnPort(init.port);
  if (!msg) return;
  const jobs = unpackJobs(msg.message as JobsMessage);
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
      for (let i = start; i < end; i++) {
        const j = jobs[i]!;
        loads.push(loadPortParts(j.dir, j.origin, j.layer));
      }
      jobIndex ??= new Map(jobs.map((j, i) => [j.origin, i]));
      const packed = packChunk(start, loads, jobIndex);
      init.port.postMessage({ packed }, [packed.flags.buffer as ArrayBuffer, packed.ints.buffer as ArrayBuffer]);
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
