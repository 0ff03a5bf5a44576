/**
 * What every command handler gets: parsed arguments, the home folder, output streams. Handlers are thin:
 * they parse, call module functions and print. They return the exit code (0 ok, 1 work failed, 2 bad input).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

/** Output and environment of one CLI invocation. Tests pass their own. */
export interface CliContext {
  /** Resolved `--home` (default `$KILN_HOME`, else `/var/lib/kiln`). */
  readonly home: string;
  /** Print a line (or lines) to stdout. */
  readonly out: (text: string) => void;
  /** Print a line (or lines) to stderr. */
  readonly err: (text: string) => void;
  /** Is stdout a terminal (for live progress)? */
  readonly isTTY: boolean;
  /** Environment (for KILN_* settings). */
  readonly env: NodeJS.ProcessEnv;
  /** Current working folder, for relative paths. */
  readonly cwd: string;
}

/** A subcommand: `argv` is what follows its name (and verb, for grouped commands). */
export type CommandHandler = (argv: string[], ctx: CliContext) => Promise<number>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  home: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

/**
 * Parses `argv` strictly with `node:util` parseArgs plus {@link COMMON_OPTIONS}; unknown flags become a
 * {@link UsageError} naming the flag and the command.
 */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: O,
) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(
      `kiln ${command}: ${e instanceof Error ? e.message : String(e)}`,
      `see \`kiln ${command} --help\``,
    );
  }
}
