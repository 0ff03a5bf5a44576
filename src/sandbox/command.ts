/** One command in a sandbox: its launcher, its output lines, and the cgroup limits watched while it runs. */
import type { Cgroup } from './cgroup.js';
import type { LimitName, Limits } from './limits.js';
/** Wraps a command so that it enters `dirs` (cgroup folders) and gets `argsFile` on fd 3 before exec'ing. */
export function launcher(argsFile: string, dirs: readonly string[]): string[] {
  return [
    'sh',
    '-c',
    'a=$1; shift; while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; done; shift; exec "$@" 3<"$a"',
    'kiln-sandbox',
    argsFile,
    ...dirs,
    '--',
  ];
}

/** Splits chunks into lines for a line callback; {@link flush} emits a last unterminated line. */
export function lineSplitter(onLine: (line: string, s: 'stdout' | 'stderr') => void) {
  const rest = { stdout: '', stderr: '' };
  return {
    push(b: Buffer, s: 'stdout' | 'stderr'): void {
      const parts = (rest[s] + b.toString('utf8')).split('\n');
      rest[s] = parts.pop()!;
      for (const l of parts) onLine(l, s);
    },
    flush(): void {
      for (const s of ['stdout', 'stderr'] as const)
        if (rest[s] !== '') {
          onLine(rest[s], s);
          rest[s] = '';
        }
    },
  };
}

/**
 * Arms the cgroup's limits for one command and, when it caps processes, memory or CPU time, polls them every
 * 100 ms: the first limit hit (`hit`) kills the whole tree and aborts the command. `stop()` ends the polling.
 */
export function limitWatch(
  cg: Cgroup | null,
  limits: Limits,
  ac: AbortController,
): { hit: LimitName | null; stop(): void } {
  const w: { hit: LimitName | null; stop(): void } = { hit: null, stop: () => undefined };
  cg?.arm(limits);
  const watch =
    cg && (limits.nproc !== undefined || limits.memoryBytes !== undefined || limits.cpuSeconds !== undefined)
      ? setInterval(() => {
          const h = cg.hit(limits);
          if (h && w.hit === null) {
            w.hit = h;
            cg.killAll();
            ac.abort();
          }
        }, 100)
      : undefined;
  w.stop = () => {
    if (watch) clearInterval(watch);
  };
  return w;
}
