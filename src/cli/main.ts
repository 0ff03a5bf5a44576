/**
 * kiln's entry point: picks the subcommand, resolves `--home`, runs the handler, and turns errors into
 * one line per problem on stderr and the exit code of the CLI spec.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, formatProblems, InputError } from '../util/errors.js';
import type { CliContext, CommandHandler } from './context.js';
import { COMMANDS, USAGE, commandHandler } from './commands/index.js';
import { POUDRIERE_WORDS, hoistGlobals, homeExists, isReadOnly, suggestion } from './suggest.js';
import { KILN_VERSION } from './version.js';

/** Finds `--home DIR` / `--home=DIR` anywhere in argv; else `$KILN_HOME`, else `/var/lib/kiln`. */
export function resolveHome(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): string {
  let home: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--home') home = argv[i + 1];
    else if (a.startsWith('--home=')) home = a.slice('--home='.length);
  }
  return path.resolve(cwd, home ?? env.KILN_HOME ?? '/var/lib/kiln');
}

/** Runs kiln with `argv` (without `node kiln`); returns the exit code. */
export async function main(argv: string[], ctx?: Partial<CliContext>): Promise<number> {
  const env = ctx?.env ?? process.env;
  const cwd = ctx?.cwd ?? process.cwd();
  const full: CliContext = {
    home: ctx?.home ?? resolveHome(argv, env, cwd),
    out: ctx?.out ?? ((t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`)),
    err: ctx?.err ?? ((t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`)),
    isTTY: ctx?.isTTY ?? Boolean(process.stdout.isTTY),
    env,
    cwd,
  };
  const [name, ...rest] = hoistGlobals(argv);
  if (name === 'help' && rest[0] !== undefined && !rest[0].startsWith('-'))
    return main([rest[0], '--help', ...rest.slice(1)], full);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    full.out(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    full.out(KILN_VERSION);
    return 0;
  }
  const entry = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    const pointer = POUDRIERE_WORDS[name];
    full.err(
      pointer !== undefined && !Object.prototype.hasOwnProperty.call(COMMANDS, name)
        ? `kiln: unknown command "${name}": poudriere's ${name} is \`${pointer}\` in kiln`
        : `kiln: unknown command "${name}"${suggestion(name, Object.keys(COMMANDS))}; see \`kiln --help\``,
    );
    return 2;
  }
  if (name === 'bulk' && rest.includes('-c')) {
    full.err(
      'kiln: bulk -c is poudriere\'s "clean all"; kiln\'s is -C (rebuild the requested ports even if unchanged)',
    );
    return 2;
  }
  // Read commands never create a home or its database.
  if (isReadOnly(name, rest) && !rest.includes('--help') && !rest.includes('-h') && !homeExists(full.home)) {
    full.err(`kiln: no kiln home at ${full.home} (kiln jail create makes one)`);
    return 2;
  }
  // A whole-tree bulk or simulation scans every recipe: start the scan's loader workers first thing, so that their
  // start-up overlaps this thread's imports of the command (tree/pool.ts, tree/ref.ts and tree/scan-cache-key.ts
  // import nothing heavy, by design); for a tree given as a folder, one of them walks it at once: with a scan cache
  // file, for the cache; without one, the walk gives the scan its job list while this thread is still importing.
  if ((name === 'bulk' || name === 'simulate') && rest.some((a) => a === '--all' || /^-[nCt]*a[nCt]*$/.test(a))) {
    const [{ treeLayersFromArgs }, key, pool] = await Promise.all([
      import('../tree/ref.js'),
      import('../tree/scan-cache-key.js'),
      import('../tree/pool.js'),
    ]);
    const layers = treeLayersFromArgs(rest, full.cwd);
    const file = layers && key.scanCacheFile({ dir: key.scanCacheDir(full.home) }, layers);
    const cached = file !== undefined && fs.existsSync(file); // then most recipes stand: load code only if needed
    pool.prestartLoaders(name === 'bulk' && file !== undefined ? layers : undefined, cached);
  }
  try {
    const handler: CommandHandler = await commandHandler(entry);
    const code = await handler(rest, full);
    if (ctx === undefined && name === 'bulk' && isDryRun(rest)) exitNow(code);
    return code;
  } catch (e) {
    return reportError(e, full);
  }
}

export { KILN_VERSION } from './version.js';

/** `bulk -n` / `--dry-run` (alone or among short flags, as `-na`). */
function isDryRun(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') break;
    if (a === '--dry-run' || /^-[a-zA-Z]*n[a-zA-Z]*$/.test(a)) return true;
  }
  return false;
}

/**
 * Ends the process now with `code`, once its output is written (on Linux, writes to files, pipes and terminals are
 * synchronous; anything still queued keeps the normal exit). For the process's own run of a command that leaves
 * nothing running behind it (`bulk -n`): the normal exit would first tear down a heap of 100 MB or more, ~20 ms.
 */
function exitNow(code: number): void {
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
}

/** Prints an error as the CLI spec wants (one line per problem, then a hint) and returns its exit code. */
export function reportError(e: unknown, ctx: Pick<CliContext, 'err'>): number {
  if (e instanceof InputError) {
    for (const l of formatProblems(e.problems)) ctx.err(l);
    if (e.hint) ctx.err(`hint: ${e.hint}`);
    return e.exitCode;
  }
  if (e instanceof KilnError) {
    ctx.err(`kiln: ${e.message} [${e.code}]`);
    if (e.hint) ctx.err(`hint: ${e.hint}`);
    return e.exitCode;
  }
  ctx.err(`kiln: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return 1;
}
