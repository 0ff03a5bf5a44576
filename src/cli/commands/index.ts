/**
 * The table of subcommands. Each handler lives in its own file in this folder and is imported only when
 * its command runs (`lazy`), so `kiln bulk` does not pay for fastify, BullMQ or the image tools at start-up.
 * To add a command: one line `NAME: lazy(async () => (await import('./FILE.js')).handler),`.
 */
import type { CommandHandler } from '../context.js';

/** A command whose module is imported on first use. */
export interface LazyCommand {
  /** Imports the command's module and returns its handler. */
  readonly load: () => Promise<CommandHandler>;
}

/** Wraps a dynamic import of a command's handler (see the table below). */
export function lazy(load: () => Promise<CommandHandler>): LazyCommand {
  return { load };
}

/** The handler of `entry`, importing its module if it is lazy. */
export async function commandHandler(entry: CommandHandler | LazyCommand): Promise<CommandHandler> {
  return typeof entry === 'function' ? entry : entry.load();
}

/** Subcommand name → handler (a {@link LazyCommand}, or a handler imported eagerly). */
export const COMMANDS: Record<string, CommandHandler | LazyCommand> = {
  tree: lazy(async () => (await import('./tree.js')).treeCommand),
  options: lazy(async () => (await import('./options.js')).optionsCommand),
  bulk: lazy(async () => (await import('./bulk.js')).bulkCommand),
  simulate: lazy(async () => (await import('./simulate.js')).simulateCommand),
  jail: lazy(async () => (await import('./jail.js')).jailCommand),
  repo: lazy(async () => (await import('./repo.js')).repoCommand),
  serve: lazy(async () => (await import('./serve.js')).serveCommand),
  worker: lazy(async () => (await import('./worker.js')).workerCommand),
  config: lazy(async () => (await import('./config.js')).configCommand),
  status: lazy(async () => (await import('./status.js')).statusCommand),
  logs: lazy(async () => (await import('./status.js')).logsCommand),
  clean: lazy(async () => (await import('./clean.js')).cleanCommand),
  doctor: lazy(async () => (await import('./doctor.js')).doctorCommand),
  image: lazy(async () => (await import('./image.js')).imageCommand),
  testport: lazy(async () => (await import('./testport.js')).testportCommand),
  sandbox: lazy(async () => (await import('./sandbox.js')).sandboxCommand),
};

/** `kiln --help`. */
export const USAGE = `usage: kiln COMMAND [options]   (every command takes --home DIR and, where it reports, --json)

  kiln jail create NAME [--release bookworm] [--arch amd64|arm64] [--mirror URL] [--include PKG,...]
  kiln jail update NAME | list | delete NAME
  kiln tree add NAME (--path DIR | --git URL [--branch B] | --overlay LOWER,...,UPPER)
  kiln tree update NAME | list | show NAME ORIGIN | delete NAME
  kiln options -p TREE (-f LIST | ORIGIN...) [--set ORIGIN:OPT=on|off ...] [--show]
  kiln bulk -j JAIL -p TREE (-f LIST | ORIGIN... | -a) [-J BUILDERS] [-n] [--explain] [-t] [-C] [--resume] [--keep-stale]
  kiln testport -j JAIL -p TREE ORIGIN [-i | -I | --keep] [-t]
  kiln sandbox list | shell ID | rm ID
  kiln simulate -p TREE (-f LIST | ORIGIN... | -a) -J BUILDERS [--durations FILE] [--policy kiln|fifo|poudriere|pbulk] [--json]
  kiln status [BULK] [--json]
  kiln logs BULK ORIGIN
  kiln repo list | show NAME | rollback NAME [--to N]
  kiln serve [--listen 127.0.0.1:8080] [--url BASE]
  kiln worker --redis URL [--master URL] [--token T] [--slots N]
  kiln config [--json]
  kiln doctor [--json]
  kiln image -j JAIL -p TREE -f LIST -t tar|squashfs|raw -o FILE [--overlay DIR] [--size 2G] [--hostname H] [--bootable]
  kiln clean (packages|distfiles|logs|sandboxes|layers|ccache) [--dry-run] [--json]
`;
