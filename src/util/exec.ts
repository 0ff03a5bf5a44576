/**
 * The only place in kiln that spawns processes. Every child runs in its own process group so that a
 * timeout or an abort kills the whole tree; failures throw a typed {@link ExecError}.
 */
import { spawn } from 'node:child_process';
import { KilnError } from './errors.js';

/** Why a child process ended badly. */
export type ExecFailure = 'exit' | 'signal' | 'timeout' | 'no-output' | 'aborted' | 'not-found';

/** A child process failed; `reason` says how. */
export class ExecError extends KilnError {
  readonly command: string;
  readonly reason: ExecFailure;
  readonly exitStatus: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(init: {
    command: string;
    reason: ExecFailure;
    exitStatus: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    hint?: string;
  }) {
    const tail = init.stderr.trim().split('\n').slice(-5).join('\n');
    const what =
      init.reason === 'exit'
        ? `exited with status ${init.exitStatus}`
        : init.reason === 'signal'
          ? `was killed by ${init.signal}`
          : init.reason === 'timeout'
            ? 'ran past its wall-time limit and was killed'
            : init.reason === 'no-output'
              ? 'printed nothing for too long and was killed'
              : init.reason === 'aborted'
                ? 'was aborted'
                : 'is not installed';
    super(
      init.reason === 'not-found' ? 'KILN_E_EXEC_NOT_FOUND' : 'KILN_E_EXEC',
      `${init.command} ${what}${tail ? `:\n${tail}` : ''}`,
      { hint: init.hint ?? (init.reason === 'not-found' ? 'install it (see `kiln doctor`)' : undefined), exitCode: 1 },
    );
    this.command = init.command;
    this.reason = init.reason;
    this.exitStatus = init.exitStatus;
    this.signal = init.signal;
    this.stdout = init.stdout;
    this.stderr = init.stderr;
  }
}

/** How a child ended, in {@link ExecError}'s terms: exit status (null when a signal ended it), signal, output. */
export interface ExitState {
  readonly exitStatus: number | null;
  readonly signal?: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The {@link ExecError} of `command`, which failed for `reason` and ended as `end` says. */
export function execError(command: string, reason: ExecFailure, end: ExitState): ExecError {
  return new ExecError({
    command,
    reason,
    exitStatus: end.exitStatus,
    signal: end.signal ?? null,
    stdout: end.stdout,
    stderr: end.stderr,
  });
}

/**
 * The one exit check of a finished child: the {@link ExecError} its end calls for (killed for `killedFor`, ended by a
 * signal, or exited non-zero without `allowFailure`, in that order), or null when it succeeded.
 */
export function exitError(
  command: string,
  end: ExitState,
  allowFailure = false,
  killedFor: ExecFailure | null = null,
): ExecError | null {
  if (killedFor !== null) return execError(command, killedFor, end);
  if ((end.signal ?? null) !== null) return execError(command, 'signal', end);
  if (end.exitStatus !== 0 && !allowFailure) return execError(command, 'exit', end);
  return null;
}

/** Options for {@link run}. */
export interface RunOptions {
  cwd?: string;
  /** Full environment; defaults to the parent's. */
  env?: NodeJS.ProcessEnv;
  /** Bytes or text written to stdin, then closed. */
  input?: string | Buffer;
  /** Kill the whole process group after this many ms. */
  timeoutMs?: number;
  /** Kill the whole process group when it prints nothing for this many ms. */
  noOutputMs?: number;
  /** Called with each chunk of stdout/stderr as it arrives (for logs). */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Keep at most this many bytes of each stream in the result (default 4 MiB). */
  maxBuffer?: number;
  /** Abort the child (kills its process group). */
  signal?: AbortSignal;
  /** Do not throw on a non-zero exit; return it. */
  allowFailure?: boolean;
  /** Called with the child's pid once spawned. */
  onSpawn?: (pid: number) => void;
  /**
   * `inherit`: the child gets kiln's own stdin, stdout and stderr (an interactive shell on the terminal); nothing is
   * captured, `input` and `onOutput` are ignored, and the child stays in kiln's process group (not detached).
   */
  stdio?: 'pipe' | 'inherit';
}

/** What a finished child left. */
export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A limit in ms as a timer delay: longer limits (e.g. a day's wall time scaled for emulation) are capped, not wrapped. */
function timerMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** Runs `cmd args...` to completion. Throws {@link ExecError} unless `allowFailure` and it merely exited non-zero. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = [cmd, ...args].join(' ');
  const max = opts.maxBuffer ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const inherit = opts.stdio === 'inherit';
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: !inherit,
      stdio: inherit ? 'inherit' : ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let killedFor: ExecFailure | null = null;
    let timer: NodeJS.Timeout | undefined;
    let quiet: NodeJS.Timeout | undefined;
    const killGroup = (why: ExecFailure): void => {
      if (killedFor !== null) return;
      killedFor = why;
      try {
        if (child.pid !== undefined) process.kill(inherit ? child.pid : -child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const armQuiet = (): void => {
      if (opts.noOutputMs === undefined) return;
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(() => killGroup('no-output'), timerMs(opts.noOutputMs));
    };
    if (opts.timeoutMs !== undefined) timer = setTimeout(() => killGroup('timeout'), timerMs(opts.timeoutMs));
    armQuiet();
    const onAbort = (): void => killGroup('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    child.on('spawn', () => {
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    });
    child.stdout?.on('data', (b: Buffer) => {
      armQuiet();
      opts.onOutput?.(b, 'stdout');
      if (outLen < max) {
        out.push(b);
        outLen += b.length;
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      armQuiet();
      opts.onOutput?.(b, 'stderr');
      if (errLen < max) {
        err.push(b);
        errLen += b.length;
      }
    });
    child.stdin?.on('error', () => {
      /* child closed stdin early */
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      if (quiet) clearTimeout(quiet);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        execError(command, e.code === 'ENOENT' ? 'not-found' : 'exit', {
          exitStatus: null,
          stdout: '',
          stderr: e.message,
        }),
      );
    });
    child.on('close', (status, sig) => {
      cleanup();
      const stdoutBytes = Buffer.concat(out);
      const res: RunResult = {
        status,
        signal: sig,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes,
      };
      const failed = exitError(
        command,
        { exitStatus: status, signal: sig, stdout: res.stdout, stderr: res.stderr },
        opts.allowFailure,
        killedFor,
      );
      if (failed) reject(failed);
      else resolve(res);
    });
  });
}

/** True when `cmd` is on PATH. */
export async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v "$1" >/dev/null`, 'sh', cmd]);
    return true;
  } catch {
    return false;
  }
}
