/**
 * The loading half of a loader worker (`load-worker.ts`): claims chunks of recipe-loading jobs from a shared counter,
 * loads them with `loadPortParts`, and posts each chunk back in compact form (`compact.ts`) before claiming the next.
 * A module of its own so that the worker imports the recipe module (zod and the parsers) only while it waits, and a
 * cached scan's walk does not wait for that import.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { loadPortParts, newLoadMemo } from '../recipe/index.js';
import { packChunk } from './compact.js';
import {
  WORKER_BUSY,
  WORKER_DONE,
  WORKER_IDLE,
  unpackJobs,
  type JobsMessage,
  type WorkerInit,
} from './parallel-state.js';
import { STAMP, stampFile, stampStats } from './walk.js';

/** Loads the posted jobs (the worker calls it once `go` says JOBS_POSTED). */
export function work(init: WorkerInit): void {
  const next = new Int32Array(init.next);
  const state = new Int32Array(init.state);
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
  const memo = newLoadMemo({ deferFiles: true }); // port files: the build checks them
  try {
    for (let guard = 0; guard <= jobs.length; guard++) {
      const start = Atomics.add(next, 0, init.chunk);
      if (start >= jobs.length) break;
      const end = Math.min(start + init.chunk, jobs.length);
      const loads = [];
      // Stamped with the stats of the file read, taken before reading it (a later change makes it racy: not cached).
      const stamps = m.stamps ? new Float64Array(STAMP * (end - start)) : undefined;
      for (let i = start; i < end; i++) {
        const j = jobs[i]!;
        loads.push(loadPortParts(j.dir, j.origin, j.layer, memo));
        if (stamps && memo.recipeStat) stampStats(memo.recipeStat, stamps, STAMP * (i - start));
        else if (stamps) stampFile(`${j.dir}/port.yaml`, stamps, STAMP * (i - start));
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
