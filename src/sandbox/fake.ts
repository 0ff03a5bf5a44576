/**
 * FakeRunner: a {@link SandboxRunner} that touches no disk and runs nothing, for fast scheduler tests only.
 * Each command's outcome comes from a script function; it can fail, hit a limit or print lines.
 */
import { exitError } from '../util/exec.js';
import { LimitError, type LimitName } from './limits.js';
import type { OpenSandboxOptions, SandboxCommand, SandboxResult, SandboxRunner, SandboxSession } from './session.js';

/** What a fake command does. */
export interface FakeOutcome {
  /** Exit status (default 0). */
  readonly status?: number;
  /** Lines printed on stdout (sent to onLine). */
  readonly lines?: readonly string[];
  /** Hit this limit instead of finishing. */
  readonly limit?: LimitName;
  /** Real milliseconds to wait before finishing (default 0). */
  readonly delayMs?: number;
}

/** Decides each command's outcome: gets the sandbox label and the command. */
export type FakeScript = (label: string, cmd: SandboxCommand) => FakeOutcome | Promise<FakeOutcome>;

/** One call the fake saw, for assertions. */
export interface FakeCall {
  readonly sandbox: string;
  readonly label: string;
  readonly argv: readonly string[];
  readonly user: 'root' | 'build';
  readonly network: boolean | 'archive';
}

/** The fake runner. Not for real builds: it builds nothing. */
export class FakeRunner implements SandboxRunner {
  /** Every command run, in order. */
  readonly calls: FakeCall[] = [];
  /** Sandboxes opened and not torn down. */
  private readonly live: Set<string> = new Set();
  private next = 0;
  constructor(private readonly script: FakeScript = () => ({})) {}

  /** Ids of sandboxes still open (a test asserts this is empty at the end). */
  get openSandboxes(): string[] {
    return [...this.live];
  }

  async open(opts: OpenSandboxOptions): Promise<SandboxSession> {
    const id = `fake-${++this.next}`;
    const label = opts.label ?? opts.jail.name;
    this.live.add(id);
    const self = this;
    const session: SandboxSession = {
      id,
      hostPath: (inside) => `/nonexistent/fake-sandbox/${id}${inside.startsWith('/') ? '' : '/'}${inside}`,
      async run(cmd: SandboxCommand): Promise<SandboxResult> {
        const user = cmd.user ?? 'build';
        self.calls.push({ sandbox: id, label, argv: [...cmd.argv], user, network: cmd.network ?? false });
        const o = await self.script(label, cmd);
        if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
        for (const l of o.lines ?? []) cmd.onLine?.(l, 'stdout');
        const shown = cmd.argv.join(' ');
        if (o.limit) throw new LimitError(o.limit, shown, 'fake');
        const status = o.status ?? 0;
        const failed = exitError(shown, { exitStatus: status, stdout: '', stderr: '' }, cmd.allowFailure);
        if (failed) throw failed;
        return { status, stdout: (o.lines ?? []).join('\n'), stderr: '', wallMs: o.delayMs ?? 0, cpuMs: 0 };
      },
      async teardown() {
        self.live.delete(id);
      },
    };
    opts.proc?.defer(`teardown sandbox ${id}`, () => session.teardown());
    return session;
  }
}
