/** Resource limits of one sandboxed command, and the error a limit hit becomes. */
import { KilnError } from '../util/errors.js';

/** Which limit a command hit. */
export type LimitName = 'wall' | 'cpu' | 'no-output' | 'memory' | 'nproc' | 'disk';

/** Limits of one command; an absent field means no limit of that kind. */
export interface Limits {
  /** Wall-clock time, ms. */
  readonly wallMs?: number;
  /** Longest time without a byte of output, ms (poudriere's NOHANG). */
  readonly noOutputMs?: number;
  /** CPU time of the whole process tree, seconds. */
  readonly cpuSeconds?: number;
  /** Memory of the whole process tree, bytes. */
  readonly memoryBytes?: number;
  /** Number of processes (and threads) at once: stops fork bombs. */
  readonly nproc?: number;
  /** Bytes the sandbox may write (its upper layer, `/tmp` included); set when the sandbox is made. */
  readonly diskBytes?: number;
  /** Files (inodes) the sandbox may make (poudriere's MAX_FILES); set when the sandbox is made. */
  readonly files?: number;
}

/** What each limit means, for messages. */
const WHAT: Record<LimitName, string> = {
  wall: 'wall-time',
  cpu: 'CPU-time',
  'no-output': 'no-output',
  memory: 'memory',
  nproc: 'process-count',
  disk: 'disk',
};

/** A sandboxed command hit a limit; its process tree was killed. Code `KILN_E_LIMIT`, `limit` says which. */
export class LimitError extends KilnError {
  readonly limit: LimitName;
  /** The command (for logs). */
  readonly command: string;
  constructor(limit: LimitName, command: string, detail: string) {
    super('KILN_E_LIMIT', `${command} hit its ${WHAT[limit]} limit (${detail}) and was killed`, {
      hint:
        limit === 'no-output'
          ? 'the build printed nothing for too long; if it is merely slow and quiet, raise the no-output limit of the port'
          : `raise the ${WHAT[limit]} limit of the port (or globally) if the build legitimately needs more`,
      exitCode: 1,
    });
    this.limit = limit;
    this.command = command;
  }
}

/** Human form of a limit's value, for {@link LimitError} messages. */
export function describeLimit(limit: LimitName, l: Limits): string {
  switch (limit) {
    case 'wall':
      return `${(l.wallMs ?? 0) / 1000} s`;
    case 'no-output':
      return `${(l.noOutputMs ?? 0) / 1000} s silent`;
    case 'cpu':
      return `${l.cpuSeconds ?? 0} CPU s`;
    case 'memory':
      return `${Math.round((l.memoryBytes ?? 0) / 1048576)} MiB`;
    case 'nproc':
      return `${l.nproc ?? 0} processes`;
    case 'disk':
      return l.diskBytes !== undefined ? `${Math.round(l.diskBytes / 1048576)} MiB` : `${l.files ?? 0} files`;
  }
}

/**
 * `prlimit` arguments for the limits no cgroup enforces (pure): no core dumps, and without a cgroup, CPU time (per
 * process: SIGXCPU at the soft limit), address space and RLIMIT_NPROC stand in. The sandbox runs prlimit only
 * without a cgroup.
 */
export function prlimitArgs(l: Limits, cgroup: boolean): string[] {
  const a = ['--core=0'];
  if (cgroup) return a;
  if (l.cpuSeconds !== undefined) a.push(`--cpu=${Math.ceil(l.cpuSeconds)}:${Math.ceil(l.cpuSeconds) + 2}`);
  if (l.memoryBytes !== undefined) a.push(`--as=${l.memoryBytes}`);
  if (l.nproc !== undefined) a.push(`--nproc=${l.nproc}`);
  return a;
}

/**
 * Limits scaled by `factor` for slower builds (emulated foreign-arch builds under qemu-user, as poudriere scales
 * its timeouts): the time limits grow, memory and process count stay.
 */
export function scaleLimits(l: Limits, factor: number): Limits {
  const t = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x * factor));
  return { ...l, wallMs: t(l.wallMs), noOutputMs: t(l.noOutputMs), cpuSeconds: t(l.cpuSeconds) };
}
