/**
 * Long procedures (a build, creating a jail) run as named phases over one context, each timed and logged
 * by {@link Procedure.phase}, with a cleanup stack that unwinds in reverse order whatever happens.
 */

/** One line of a procedure's log. */
export type PhaseLogger = (line: string) => void;

/** Timing of one finished (or failed) phase. */
export interface PhaseTiming {
  readonly name: string;
  readonly startedAt: number;
  readonly wallMs: number;
  readonly ok: boolean;
}

/** Thrown out of {@link Procedure.phase}: records which phase a failure died in. */
export class PhaseFailure extends Error {
  readonly phase: string;
  constructor(phase: string, cause: unknown) {
    super(`phase ${phase} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'PhaseFailure';
    this.phase = phase;
  }
}

/** A procedure: named phases plus a cleanup stack. Call {@link Procedure.close} in `finally`. */
export class Procedure {
  readonly timings: PhaseTiming[] = [];
  private readonly cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
  constructor(
    private readonly log: PhaseLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs one named phase, logging its start, end and duration; a throw becomes a {@link PhaseFailure}. */
  async phase<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const startedAt = this.now();
    this.log(`=== phase ${name} started`);
    try {
      const v = await fn();
      const wallMs = this.now() - startedAt;
      this.timings.push({ name, startedAt, wallMs, ok: true });
      this.log(`=== phase ${name} done in ${(wallMs / 1000).toFixed(2)} s`);
      return v;
    } catch (e) {
      const wallMs = this.now() - startedAt;
      this.timings.push({ name, startedAt, wallMs, ok: false });
      this.log(
        `=== phase ${name} FAILED after ${(wallMs / 1000).toFixed(2)} s: ${e instanceof Error ? e.message : String(e)}`,
      );
      throw e instanceof PhaseFailure ? e : new PhaseFailure(name, e);
    }
  }

  /** Pushes a cleanup step; cleanups run last-in first-out in {@link close}. */
  defer(name: string, fn: () => Promise<void> | void): void {
    this.cleanups.push({ name, fn });
  }

  /** Runs every cleanup, newest first. Errors are logged and collected; it never stops half-way. */
  async close(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.cleanups.length > 0) {
      const c = this.cleanups.pop()!;
      try {
        await c.fn();
        this.log(`=== cleanup ${c.name} done`);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        errors.push(err);
        this.log(`=== cleanup ${c.name} FAILED: ${err.message}`);
      }
    }
    return errors;
  }
}
