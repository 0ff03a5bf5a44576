/** Shared between `parallel.ts` and its worker: the job type and the per-worker states in shared memory. */
import type { MessagePort } from 'node:worker_threads';

/** One recipe to load. */
export interface LoadJob {
  readonly dir: string;
  readonly origin: string;
  readonly layer: string;
}

/** What a worker gets as `workerData`. Its jobs come later, as a {@link JobsMessage} on `port`. */
export interface WorkerInit {
  /** Int32[1]: index of the next unclaimed job. */
  readonly next: SharedArrayBuffer;
  /** Int32[workers]: each worker's state (WORKER_*). */
  readonly state: SharedArrayBuffer;
  /** Int32[1]: JOBS_WAITING until the jobs are posted (JOBS_POSTED) or there are none for workers (JOBS_NONE). */
  readonly go: SharedArrayBuffer;
  readonly index: number;
  readonly chunk: number;
  readonly port: MessagePort;
  /**
   * Int32[4]: the state of the walk a cached scan asks of one worker (WALK_*), that worker's index, 1: stop it
   * ({@link WALK_STOP}), the next category to walk ({@link WALK_NEXT_CAT}: the caller shares the walk once ready).
   */
  readonly walk: SharedArrayBuffer;
  /**
   * True when the scan likely has a cache file (few or no recipes to load): the worker imports the recipe module only
   * once jobs are posted, instead of at once (~0.15 s of CPU a no-op would spend for nothing).
   */
  readonly importLate?: boolean;
}

/** The jobs, as one string (`ORIGIN NUL DIR NUL ...`: NUL is in no path) plus each job's layer as an index into `layers`. */
export interface JobsMessage {
  readonly jobs: string;
  readonly layerOf: Int32Array;
  readonly layers: string[];
  /** Also stamp each job's port.yaml (for the scan cache). */
  readonly stamps?: boolean;
}

/** The walk request of a cached scan: the layers to walk (`walk.ts`). Worker 0 answers with a `TreeWalk`. */
export interface WalkMessage {
  readonly layers: { readonly name: string; readonly dir: string }[];
}

/** `go`: the jobs are not known yet. */
export const JOBS_WAITING = 0;
/** `go`: the jobs message is on the port. */
export const JOBS_POSTED = 1;
/** `go`: nothing to do (a small tree after all); the worker exits. */
export const JOBS_NONE = 2;
/** `go`: worker 0 walks the tree (a {@link WalkMessage} is on its port); the others wait for the next state. */
export const JOBS_WALK = 3;

/** `walk[WALK_STOP]` is 1 once the walk is not wanted any more. */
export const WALK_STOP = 2;
/** `walk[WALK_NEXT_CAT]`: the index of the next category to walk (each walker claims one at a time). */
export const WALK_NEXT_CAT = 3;
/** `walk`: nobody has taken the walk yet. */
export const WALK_WAITING = 0;
/** `walk`: worker 0 is walking. */
export const WALK_BUSY = 1;
/** `walk`: worker 0 has posted the walk. */
export const WALK_DONE = 2;
/** `walk`: the caller walks itself (worker 0 must not start). */
export const WALK_CANCELLED = 3;

/** Packs jobs for {@link JobsMessage} (one string and one typed array copy far faster than 3 strings a job). */
export function packJobs(jobs: readonly LoadJob[], stamps = false): JobsMessage {
  const layers: string[] = [];
  const layerIndex = new Map<string, number>();
  const layerOf = new Int32Array(jobs.length);
  const parts = new Array<string>(2 * jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i]!;
    let li = layerIndex.get(j.layer);
    if (li === undefined) {
      li = layers.length;
      layers.push(j.layer);
      layerIndex.set(j.layer, li);
    }
    layerOf[i] = li;
    parts[2 * i] = j.origin;
    parts[2 * i + 1] = j.dir;
  }
  return { jobs: parts.join('\0'), layerOf, layers, ...(stamps ? { stamps } : {}) };
}

/** The jobs of a {@link JobsMessage}. */
export function unpackJobs(m: JobsMessage): LoadJob[] {
  const parts = m.jobs.split('\0');
  const out = new Array<LoadJob>(m.layerOf.length);
  for (let i = 0; i < out.length; i++)
    out[i] = { origin: parts[2 * i]!, dir: parts[2 * i + 1]!, layer: m.layers[m.layerOf[i]!]! };
  return out;
}

/** Not started yet. */
export const WORKER_IDLE = 0;
/** Claiming and loading chunks. */
export const WORKER_BUSY = 1;
/** Finished: every chunk it claimed has been posted. */
export const WORKER_DONE = 2;
/** The caller finished before the worker started; it must not claim anything. */
export const WORKER_CANCELLED = 3;
