/** Shared between `parallel.ts` and its worker: the job type and the per-worker states in shared memory. */
import type { MessagePort } from 'node:worker_threads';

/** One recipe to load. */
export interface LoadJob {
  readonly dir: string;
  readonly origin: string;
  readonly layer: string;
}

/** What a worker gets as `workerData`. */
export interface WorkerInit {
  readonly jobs: readonly LoadJob[];
  /** Int32[1]: index of the next unclaimed job. */
  readonly next: SharedArrayBuffer;
  /** Int32[workers]: each worker's state (WORKER_*). */
  readonly state: SharedArrayBuffer;
  readonly index: number;
  readonly chunk: number;
  readonly port: MessagePort;
}

/** Not started yet. */
export const WORKER_IDLE = 0;
/** Claiming and loading chunks. */
export const WORKER_BUSY = 1;
/** Finished: every chunk it claimed has been posted. */
export const WORKER_DONE = 2;
/** The caller finished before the worker started; it must not claim anything. */
export const WORKER_CANCELLED = 3;
