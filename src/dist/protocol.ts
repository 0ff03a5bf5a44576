/**
 * What the master and its workers exchange: the job a worker takes from a BullMQ queue, the result it hands back
 * over HTTP, the worker records kept in Redis, and the names both sides agree on (queues, keys, routes).
 */
import crypto from 'node:crypto';
import type { PhaseTiming } from '../util/phases.js';
import type { DebianPortSource, Port, Recipe } from '../recipe/index.js';
import type { LimitName, Limits } from '../sandbox/index.js';
import type { KilnRunDep } from '../package/index.js';
import type { FailureKind } from '../build/index.js';

/** Version of the job and result formats; a worker refuses jobs of another version. */
export const PROTOCOL_VERSION = 1;

/** A file the master serves by content hash. */
export interface BlobRef {
  /** sha256 (hex) of the file's bytes. */
  readonly sha256: string;
  /** The name it is used under (a `.deb`'s file name, a distfile's name). */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
}

/** One file of a port folder, inline in a job. */
export interface PortFile {
  /** Path relative to the port folder. */
  readonly path: string;
  readonly mode: number;
  /** The bytes, base64. */
  readonly data: string;
}

/** Port folders up to this many bytes travel inline in the job. */
export const INLINE_PORT_BYTES = 256 * 1024;

/** One build handed to a worker (BullMQ job data). Everything in it is plain JSON. */
export interface DistJob {
  readonly v: number;
  /** The job's key, also its BullMQ job id: the same port at the same identity in the same jail. */
  readonly key: string;
  /** Base URL of the master's HTTP endpoint (a worker's `--master` overrides it). */
  readonly master: string;
  readonly jail: {
    readonly name: string;
    readonly release: string;
    readonly arch: string;
    readonly identity: string;
    readonly tarball: BlobRef;
  };
  readonly port: {
    readonly origin: string;
    readonly pkgname: string;
    readonly layer: string;
    readonly contentHash: string;
    readonly recipe: Recipe;
    /** The port folder (recipe, patches) as a tarball, when it is too big to travel inline. */
    readonly tarball?: BlobRef;
    /** The port folder's files inline (small folders: saves a download and two tar runs per job). */
    readonly files?: readonly PortFile[];
    /** The Debian source package, for ports built from one (`Port.debian`). */
    readonly debian?: DebianPortSource;
  };
  /** Build identity (recorded in the `.deb`). */
  readonly identity: string;
  readonly options: Readonly<Record<string, boolean>>;
  /** The `.deb`s to install before the build (build dependencies and what they need). */
  readonly deps: readonly BlobRef[];
  /** The port's distfiles, already in the master's cache. */
  readonly distfiles: readonly BlobRef[];
  readonly kilnRun: readonly KilnRunDep[];
  readonly kilnSonames: readonly (readonly [string, string | null])[];
  readonly jobs: number;
  readonly withTests: boolean;
  readonly limits: Limits;
  readonly sourceDateEpoch: number;
  /** The bulk's shared dependency layer (package names most of its ports install); the worker makes it in its home. */
  readonly sharedLayer?: readonly string[];
}

/** The port part of a job, from a loaded port and how its folder travels (inline files or a tarball). */
export function jobPort(p: Port, folder: { files: readonly PortFile[] } | { tarball: BlobRef }): DistJob['port'] {
  return {
    origin: p.origin,
    pkgname: p.pkgname,
    layer: p.layer,
    contentHash: p.contentHash,
    recipe: p.recipe,
    ...folder,
    ...(p.debian ? { debian: p.debian } : {}),
  };
}

/** The port a worker builds from a job's port part, its folder unpacked at `dir`. */
export function portFromJob(jp: DistJob['port'], dir: string): Port {
  return {
    origin: jp.origin,
    dir,
    path: `${dir}/port.yaml`,
    layer: jp.layer,
    pkgname: jp.pkgname,
    recipe: jp.recipe,
    contentHash: jp.contentHash,
    ...(jp.debian ? { debian: jp.debian } : {}),
  };
}

/** What a worker posts to `/dist/results/KEY` once the `.deb`s and the log are uploaded. */
export interface DistResult {
  readonly v: number;
  /** The worker's id. */
  readonly worker: string;
  readonly key: string;
  readonly ok: boolean;
  /** Uploaded `.deb`s (empty on failure). */
  readonly debs: readonly BlobRef[];
  /** The uploaded build log (big logs; small ones travel inline in `logText`). */
  readonly log?: BlobRef;
  /** The build log inline, when it is at most {@link INLINE_LOG_BYTES}. */
  readonly logText?: string;
  /** The worker's side of the job's overhead, for the master's timing line. */
  readonly steps?: WorkerSteps;
  readonly phase?: string;
  readonly failure?: FailureKind;
  readonly limit?: LimitName;
  readonly reason?: string;
  readonly timings: readonly PhaseTiming[];
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Logs up to this many bytes travel inline in the result (saves an upload, a hash and a round trip per job). */
export const INLINE_LOG_BYTES = 512 * 1024;

/** Where a worker spent a job's time outside the build itself. */
export interface WorkerSteps {
  /** When the worker took the job (epoch ms, the worker's clock). */
  readonly takenAt: number;
  /** Getting the inputs ready (jail, distfiles, port folder, dependency `.deb`s). */
  readonly inputsMs: number;
  /** The whole `buildPort` call: the build's own `wallMs` plus the sandbox teardown after it. */
  readonly buildMs?: number;
  /** Uploading the `.deb`s (and a big log). */
  readonly uploadMs: number;
}

/** The master's answer to a result. */
export interface ResultAnswer {
  /** True when this result was taken; false when another copy was taken already or nobody waits for it. */
  readonly accepted: boolean;
  readonly reason?: string;
}

/** A worker as it describes itself in Redis (refreshed by its heartbeat). */
export interface WorkerRecord {
  readonly id: string;
  readonly host: string;
  readonly arch: string;
  readonly slots: number;
  /** kiln's version on the worker. */
  readonly version: string;
  /** Ports being built now, with their phase. */
  readonly current: readonly { readonly origin: string; readonly phase: string; readonly since: string }[];
  readonly built: number;
  readonly failed: number;
  readonly startedAt: string;
  /** ISO 8601 time of the last heartbeat. */
  readonly lastSeen: string;
}

/** A worker as the master and `kiln serve` show it. */
export interface WorkerView extends WorkerRecord {
  /** Seen within {@link ALIVE_MS}. */
  readonly alive: boolean;
  /** Why it was taken out of rotation (it failed the same job repeatedly), if it was. */
  readonly disabled?: string;
}

/** A worker whose last heartbeat is older than this is shown as gone and its slots are not counted. */
export const ALIVE_MS = 15_000;
/** How often a worker refreshes its record. */
export const HEARTBEAT_MS = 2_000;

/** The BullMQ queue of one architecture's jobs (a worker serves only its jail architecture's queue). */
export function queueName(arch: string): string {
  return `kiln-build-${arch}`;
}

/** The key (and BullMQ job id) of a build: stable across master restarts, so a re-queued job is the same job. */
export function jobKey(jailIdentity: string, origin: string, identity: string): string {
  return `k${crypto.createHash('sha256').update(`${jailIdentity}\0${origin}\0${identity}`).digest('hex').slice(0, 40)}`;
}

/** A well-formed sha256 in hex. */
export function isSha256(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

/** A well-formed job key. */
export function isJobKey(s: string): boolean {
  return /^k[0-9a-f]{40}$/.test(s);
}

/** A `.deb` file name safe to write into the packages folder. */
export function isDebName(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9.+~_-]*\.deb$/.test(s) && s.length <= 255;
}
