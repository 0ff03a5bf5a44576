/**
 * kiln's error catalogue. Every failure kiln reports on purpose is a {@link KilnError} with a stable
 * `code` (`KILN_E_*`) and a `hint` that says what to do. Code branches on `err.code`, never on
 * `err.message`. `docs/errors.md` documents every code; a test keeps the two in step.
 */

/** Every stable error code, with its one-line meaning. Add new codes here (one line each). */
export const ERROR_CODES = {
  KILN_E_USAGE: 'bad command-line usage',
  KILN_E_RECIPE: 'one or more recipes are invalid',
  KILN_E_CONFIG: 'kiln.yaml is invalid',
  KILN_E_LIST: 'a package list file is invalid',
  KILN_E_TREE_NOT_FOUND: 'no such registered tree or tree folder',
  KILN_E_TREE_EXISTS: 'a tree with that name is already registered',
  KILN_E_TREE_INVALID: 'a tree folder or overlay specification is invalid',
  KILN_E_TREE_MISSING: 'the folder of a registered tree is gone',
  KILN_E_PORT_NOT_FOUND: 'an origin is not in the tree',
  KILN_E_MISSING_DEP: 'a recipe depends on an origin that is not in the tree',
  KILN_E_CYCLE: 'the dependency graph has a cycle',
  KILN_E_OPTION: 'an option name or value is invalid',
  KILN_E_JAIL_NOT_FOUND: 'no such jail',
  KILN_E_JAIL_EXISTS: 'a jail with that name exists already',
  KILN_E_JAIL_CREATE: 'creating or updating a jail failed',
  KILN_E_EXEC: 'a child process failed',
  KILN_E_EXEC_NOT_FOUND: 'a required program is not installed',
  KILN_E_STORE: 'the state database is unusable',
  KILN_E_FETCH: 'a distfile could not be fetched',
  KILN_E_CHECKSUM: 'a distfile does not match its sha256',
  KILN_E_SANDBOX: 'setting up or tearing down a sandbox failed',
  KILN_E_BUILD: 'a port failed to build',
  KILN_E_LIMIT: 'a build hit a resource limit',
  KILN_E_PACKAGE: 'making a .deb failed',
  KILN_E_LOCK: 'another process holds the lock',
  KILN_E_SCHEDULER: 'the scheduler was asked for an impossible transition or given invalid input',
  KILN_E_DURATIONS: 'a durations file is invalid',
  KILN_E_TREE_IN_USE: 'an overlay uses the tree',
  KILN_E_REPO: 'publishing or reading a package repository failed',
  KILN_E_REPO_NOT_FOUND: 'no such repository or generation',
  KILN_E_SIGN: 'making or using the repository signing key failed',
  KILN_E_JAIL_BUSY: 'a sandbox over the jail is mounted',
  KILN_E_FOREIGN_ARCH: 'emulation for a foreign architecture is not set up',
  KILN_E_DIST: 'a distributed build could not reach Redis, the master or a worker, or a transfer failed',
  KILN_E_IMAGE: 'making a system image failed',
  KILN_E_NOT_IMPLEMENTED: 'the capability is not built yet',
} as const;

/** A stable error code from {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of every deliberate kiln error. */
export class KilnError extends Error {
  /** Stable code to branch on. */
  readonly code: ErrorCode;
  /** What the user should do about it. */
  readonly hint: string | undefined;
  /** Process exit code the CLI uses for this error (2 bad input/usage, 1 the work failed). */
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 2;
  }
}

/** Bad command-line usage (exit 2). */
export class UsageError extends KilnError {
  constructor(message: string, hint?: string) {
    super('KILN_E_USAGE', message, { hint: hint ?? 'see `kiln --help`', exitCode: 2 });
  }
}

/** One located problem in an input file (recipe, kiln.yaml, list file). */
export interface Problem {
  /** File the problem is in. */
  readonly path: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** Dotted field path (`build.system`, `sources[0].sha256`), or `-` when the whole file is at fault. */
  readonly field: string;
  /** What is wrong and, where useful, what to write instead. */
  readonly message: string;
}

/** Formats a problem as `PATH:LINE:COLUMN: FIELD: message`. */
export function formatProblem(p: Problem): string {
  return `${p.path}:${p.line}:${p.column}: ${p.field}: ${p.message}`;
}

/** Problems printed before the rest are only counted (a hostile file can hold 100,000 of them). */
export const MAX_PRINTED_PROBLEMS = 50;

/** Formatted problems, at most `max`, then `and N more problems` for the rest (so at most `max + 1` lines). */
export function formatProblems(problems: readonly Problem[], max = MAX_PRINTED_PROBLEMS): string[] {
  if (problems.length <= max + 1) return problems.map(formatProblem);
  const lines = problems.slice(0, max).map(formatProblem);
  if (problems.length > max) lines.push(`and ${problems.length - max} more problems`);
  return lines;
}

/** Invalid input files: carries every problem found, not just the first (exit 2). */
export class InputError extends KilnError {
  readonly problems: readonly Problem[];
  constructor(code: ErrorCode, problems: readonly Problem[], hint?: string) {
    super(code, formatProblems(problems).join('\n'), { hint, exitCode: 2 });
    this.problems = problems;
  }
}
