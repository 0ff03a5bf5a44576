/**
 * Worker thread of `loadAll` (see `parallel.ts`): claims chunks of recipe-loading jobs from a shared
 * counter, loads them with `loadPortText`, and posts each chunk back in compact form (`compact.ts`) before
 * claiming the next.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPortText } from '../recipe/index.js';
import { packChunk } from './compact.js';
import { WORKER_BUSY, WORKER_DONE, WORKER_IDLE, type WorkerInit } from './parallel-state.js';

function work(init: WorkerInit): void {
  const next = new Int32Array(init.next);
  const state = new Int32Array(init.state);
  // Start only if the caller has not finished without us (it then set CANCELLED).
  if (Atomics.compareExchange(state, init.index, WORKER_IDLE, WORKER_BUSY) !== WORKER_IDLE) return;
  Atomics.notify(state, init.index);
  let jobIndex: Map<string, number> | undefined;
  try {
    for (let guard = 0; guard <= init.jobs.length; guard++) {
      const start = Atomics.add(next, 0, init.chunk);
      if (start >= init.jobs.length) break;
      const end = Math.min(start + init.chunk, init.jobs.length);
      const loads = [];
      for (let i = start; i < end; i++) {
        const j = init.jobs[i]!;
        loads.push(loadPortText(j.dir, j.origin, j.layer));
      }
      jobIndex ??= new Map(init.jobs.map((j, i) => [j.origin, i]));
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
