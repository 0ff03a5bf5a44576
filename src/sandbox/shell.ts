/**
 * An interactive shell inside a sandbox (`kiln testport -i`, `kiln sandbox shell ID`): the same bubblewrap command
 * line as a build step, with the terminal handed over. The shell gets a terminal of its own: `script(1)` makes a
 * fresh pseudo-terminal and relays it, so a program inside cannot push keystrokes (TIOCSTI) into the operator's
 * terminal, and job control and Ctrl-C work inside as in any shell. bubblewrap's `--new-session` is left out for
 * that reason: the private pty is the shell's controlling terminal. In a sandbox with a user namespace the shell
 * enters it as every build step does (`nsenter` before bubblewrap), so it has the build's ids and no more power.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { UsageError } from '../util/errors.js';
import { bwrapArgv, type BindMount } from './argv.js';
import { BUILD_USER } from './session.js';
import { usernsPrefix } from './userns.js';

/** What {@link openShell} needs. */
export interface ShellOptions {
  /** The host folder bound as `/` (a sandbox's merged folder). */
  readonly root: string;
  /** The environment (the build's); TERM is taken from kiln's own. */
  readonly env: Readonly<Record<string, string>>;
  /** Working folder inside (the build folder). */
  readonly cwd: string;
  readonly binds?: readonly BindMount[];
  /** `build` (default): the build user, as builds run; `root`. */
  readonly user?: 'build' | 'root';
  /** A word shown in the prompt (Debian's `debian_chroot`), e.g. the port's origin. */
  readonly label?: string;
  /** Allow network inside (default false, as a build). */
  readonly network?: boolean;
  /** kiln's environment (for TERM). */
  readonly hostEnv?: NodeJS.ProcessEnv;
  /**
   * The sandbox's user namespace (its nsfs file): the shell enters it as a build step does, so root and the build
   * user are those of the build (nobody on the host). `root` and the bind sources are then the gate's paths
   * (`Sandbox.shellTarget()` gives all three).
   */
  readonly nsFile?: string;
}

/** Quotes one word for POSIX sh. */
function q(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The bwrap argument vector of the shell (pure): a build step's, without `--new-session`. */
export function shellArgv(o: ShellOptions, haveBash: boolean): string[] {
  const term = o.hostEnv?.TERM ?? 'xterm';
  const env = { ...o.env, TERM: term, ...(o.label ? { debian_chroot: `kiln:${o.label}` } : {}) };
  const a = bwrapArgv({
    root: o.root,
    argv: haveBash ? ['bash', '-i'] : ['sh', '-i'],
    network: o.network ?? false,
    env,
    cwd: o.cwd,
    binds: o.binds ?? [],
    user: o.user === 'root' ? { kind: 'root' } : { kind: 'build', ...BUILD_USER },
  });
  const i = a.indexOf('--new-session');
  if (i > 0 && a[i - 1] === '--die-with-parent') a.splice(i, 1);
  return a;
}

/** The whole command of the shell (pure): bubblewrap, entered through the sandbox's user namespace when it has one. */
export function shellCommand(o: ShellOptions, haveBash: boolean): string[] {
  return [...(o.nsFile !== undefined ? usernsPrefix(o.nsFile) : []), 'bwrap', ...shellArgv(o, haveBash)];
}

/**
 * Runs an interactive shell in the sandbox rooted at `o.root` on kiln's terminal; returns when the user leaves it,
 * with the shell's exit status. Throws a usage error when stdin is not a terminal.
 */
export async function openShell(o: ShellOptions, stdinIsTTY: boolean = Boolean(process.stdin.isTTY)): Promise<number> {
  if (!stdinIsTTY)
    throw new UsageError(
      'an interactive shell needs a terminal: stdin is not one',
      'run it from a terminal, or use --keep and `kiln sandbox shell ID` later',
    );
  const haveBash = fs.existsSync(path.join(o.root, 'bin/bash')) || fs.existsSync(path.join(o.root, 'usr/bin/bash'));
  const cmd = shellCommand(o, haveBash).map(q).join(' ');
  const r = await run('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
    stdio: 'inherit',
    allowFailure: true,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SHELL: '/bin/sh', TERM: o.hostEnv?.TERM ?? 'xterm' },
  });
  return r.status ?? 1;
}
