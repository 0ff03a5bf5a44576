/** `kiln clean packages|distfiles|logs|sandboxes|ccache|layers [--dry-run] [--json]`: remove what no registered tree and jail needs any more. */
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import { loadConfig } from '../../config/index.js';
import { removeAllKept } from '../../sandbox/index.js';
import {
  cleanCcache,
  cleanLayers,
  cleanDistfiles,
  cleanLogs,
  cleanPackages,
  formatCleanReport,
  type CleanReport,
} from '../../clean/index.js';

const HELP = `usage: kiln clean (packages | distfiles | logs | sandboxes | ccache | layers) [--dry-run] [--json]

  packages   package files under HOME/packages/JAIL-TREE/All that neither the current package set nor a kept
             repository generation refers to, and the packages of pairs whose jail or tree is gone (pkgclean)
  distfiles  cached distfiles whose sha256 no recipe of a registered tree names (distclean)
  sandboxes  sandboxes kept by \`kiln testport --keep\` (unmounted and deleted)
  logs       logs of bulks older than the newest keep_generations (kiln.yaml) of their jail and tree (logclean)
  ccache     the per-port compiler caches (kiln.yaml ccache: true), but those of a running bulk
  layers     the dependency layers (installed build dependencies, kiln.yaml cache.layers_mb), but those a
             running build stacks
  -n, --dry-run   say what would be removed and how much, remove nothing
  --json          print the report as one JSON object`;

/** Handler of `kiln clean`. */
export async function cleanCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('clean', argv, {
    'dry-run': { type: 'boolean', short: 'n', default: false },
  });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  const [what, ...extra] = positionals;
  if (
    what === undefined ||
    extra.length > 0 ||
    !['packages', 'distfiles', 'logs', 'sandboxes', 'ccache', 'layers'].includes(what)
  ) {
    throw new UsageError(
      `kiln clean: say what to clean: packages, distfiles, logs, sandboxes, ccache or layers${what === undefined ? '' : ` (not "${positionals.join(' ')}")`}`,
      'see `kiln clean --help`',
    );
  }
  const dryRun = values['dry-run'];
  if (what === 'sandboxes') {
    const gone = await removeAllKept(ctx.home, dryRun);
    if (values.json) ctx.out(JSON.stringify({ dryRun, sandboxes: gone.map((k) => ({ id: k.id, origin: k.origin })) }));
    else
      ctx.out(
        gone.length === 0
          ? 'no kept sandboxes'
          : gone.map((k) => `${dryRun ? 'would remove' : 'removed'} sandbox ${k.id} (${k.origin})`).join('\n'),
      );
    return 0;
  }
  const cfg = what === 'logs' ? loadConfig(ctx.home) : undefined;
  const store = openStore(ctx.home);
  let report: CleanReport;
  try {
    report =
      what === 'packages'
        ? cleanPackages({ home: ctx.home, store, dryRun })
        : what === 'distfiles'
          ? await cleanDistfiles({ home: ctx.home, store, dryRun, cwd: ctx.cwd })
          : what === 'ccache'
            ? cleanCcache({ home: ctx.home, store, dryRun })
            : what === 'layers'
              ? cleanLayers({ home: ctx.home, store, dryRun })
              : cleanLogs({ home: ctx.home, store, dryRun, keep: cfg!.keep_generations });
  } finally {
    store.close();
  }
  ctx.out(values.json ? JSON.stringify(report) : formatCleanReport(report));
  return 0;
}
