/** The table of subcommands. Each handler lives in its own file in this folder. */
import type { CommandHandler } from '../context.js';
import { treeCommand } from './tree.js';
import { optionsCommand } from './options.js';
import { jailCommand } from './jail.js';
import { bulkCommand } from './bulk.js';
import { simulateCommand } from './simulate.js';
import { repoCommand } from './repo.js';
import { serveCommand } from './serve.js';
import { configCommand } from './config.js';
import { statusCommand, logsCommand } from './status.js';

/** Subcommand name → handler. */
export const COMMANDS: Record<string, CommandHandler> = {
  tree: treeCommand,
  options: optionsCommand,
  bulk: bulkCommand,
  simulate: simulateCommand,
  jail: jailCommand,
  repo: repoCommand,
  serve: serveCommand,
  config: configCommand,
  status: statusCommand,
  logs: logsCommand,
};

/** `kiln --help`. */
export const USAGE = `usage: kiln COMMAND [options]   (every command takes --home DIR and, where it reports, --json)

  kiln jail create NAME [--release bookworm] [--arch amd64|arm64] [--mirror URL] [--include PKG,...]
  kiln jail update NAME | list | delete NAME
  kiln tree add NAME (--path DIR | --git URL [--branch B] | --overlay LOWER,...,UPPER)
  kiln tree update NAME | list | show NAME ORIGIN | delete NAME
  kiln options -p TREE (-f LIST | ORIGIN...) [--set ORIGIN:OPT=on|off ...] [--show]
  kiln bulk -j JAIL -p TREE (-f LIST | ORIGIN... | -a) [-J BUILDERS] [-n] [--explain] [-t] [-C] [--resume] [--keep-stale]
  kiln simulate -p TREE (-f LIST | ORIGIN... | -a) -J BUILDERS [--durations FILE] [--policy kiln|fifo|poudriere|pbulk] [--json]
  kiln status [BULK] [--json]
  kiln logs BULK ORIGIN
  kiln repo list | show NAME | rollback NAME [--to N]
  kiln serve [--listen 127.0.0.1:8080] [--url BASE]
  kiln config [--json]
`;
