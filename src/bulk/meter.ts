/**
 * CPU time per build phase: a {@link SandboxRunner} wrapper that adds each sandboxed command's CPU time (measured by
 * the sandbox's cgroup) to the phase that was current when the command started. The build tells the phase through
 * its `onPhase` callback; the bulk records the sums in the build's phases JSON.
 */
import type {
  OpenSandboxOptions,
  SandboxCommand,
  SandboxResult,
  SandboxRunner,
  SandboxSession,
} from '../sandbox/index.js';

/** Sums CPU milliseconds per phase of one build. */
export class PhaseMeter {
  private current = 'start';
  private readonly sums = new Map<string, number>();
  private measured = false;

  /** Tells the meter which phase runs now. */
  phase(name: string): void {
    this.current = name;
  }

  /** CPU ms of a phase, or undefined when no command of it reported a measured CPU time. */
  cpuMs(phase: string): number | undefined {
    return this.sums.get(phase);
  }

  /** True when at least one command reported a CPU time above zero (a cgroup measured it). */
  get anyMeasured(): boolean {
    return this.measured;
  }

  /** A runner whose sessions report every command's CPU time to this meter. */
  wrap(inner: SandboxRunner): SandboxRunner {
    return { open: async (opts: OpenSandboxOptions) => this.session(await inner.open(opts)) };
  }

  private session(s: SandboxSession): SandboxSession {
    return {
      id: s.id,
      hostPath: (p: string) => s.hostPath(p),
      teardown: () => s.teardown(),
      run: async (cmd: SandboxCommand): Promise<SandboxResult> => {
        const phase = this.current;
        const r = await s.run(cmd);
        if (r.cpuMs > 0) {
          this.measured = true;
          this.sums.set(phase, (this.sums.get(phase) ?? 0) + r.cpuMs);
        }
        return r;
      },
    };
  }
}
