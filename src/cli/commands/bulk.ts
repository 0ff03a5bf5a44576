/**
 * `kiln bulk -j JAIL -p TREE (-f LIST | ORIGIN... | -a) [-J N] [-n] [--explain] [--json] [-t] [-C]
 * [--resume] [--keep-stale]`: the command. Planning is bulk-plan.ts ({@link planBulk}); a real bulk is bulk-run.ts.
 */
import { performance } from 'node:perf_hooks';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError, formatProblems } from '../../util/errors.js';
import { formatPlanText, planToJson } from '../../plan/index.js';
import { planBulk, removalGuard } from './bulk-plan.js';

export { loadBuiltRecords, planBulk, type BulkOptions, type BulkPlan } from './bulk-plan.js';

const HELP = `usage: kiln bulk -j JAIL -p TREE (-f LIST | ORIGIN... | -a) [-J N] [-n] [--explain] [--json]
                 [-t] [-C] [--resume] [--keep-stale | --yes] [--rdeps ORIGIN [--rdeps-depth N]]

  Builds the ports of a list (and everything they depend on) in a jail into its repository.
  -j JAIL        the jail to build in (with -n it may not exist yet)
  -p TREE        a registered tree name or a path to a tree folder
  -f LIST        a list file: one origin per line, # comments;  ORIGIN...  origins;  -a  every port
  -J N           builders (default: kiln.yaml's)
  -n             dry run: print the plan (build, keep, delete, skip) and exit
  --explain      say why each port is built, kept or deleted
  -t             run each port's tests
  -C             rebuild the requested ports even if unchanged
  --resume       continue an interrupted bulk
  --keep-stale   keep packages whose port left the tree or the list (ORIGIN... always keeps the others)
  -y, --yes      carry out a removal of more than a quarter of the repository (also --delete-stale)
  --redis URL    build on remote workers (\`kiln worker\`) through this Redis (default: kiln.yaml's redis:)
  --dist-listen HOST:PORT  where workers reach this master (default 127.0.0.1:8081; see docs/distributed.md)
  --rdeps ORIGIN also build the ports that build-depend on ORIGIN's packages (trees over Debian's archive;
                 repeatable); --rdeps-depth N follows them N levels (default 1)`;

/** Handler of `kiln bulk`. */
export async function bulkCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('bulk', argv, {
    jail: { type: 'string', short: 'j' },
    tree: { type: 'string', short: 'p' },
    file: { type: 'string', short: 'f' },
    all: { type: 'boolean', short: 'a', default: false },
    builders: { type: 'string', short: 'J' },
    'dry-run': { type: 'boolean', short: 'n', default: false },
    explain: { type: 'boolean', default: false },
    test: { type: 'boolean', short: 't', default: false },
    clean: { type: 'boolean', short: 'C', default: false },
    resume: { type: 'boolean', default: false },
    'keep-stale': { type: 'boolean', default: false },
    yes: { type: 'boolean', short: 'y', default: false },
    'delete-stale': { type: 'boolean', default: false },
    redis: { type: 'string' },
    'dist-listen': { type: 'string' },
    rdeps: { type: 'string', multiple: true },
    'rdeps-depth': { type: 'string' },
  });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  if (values.jail === undefined) throw new UsageError('kiln bulk: -j JAIL is required', 'see `kiln bulk --help`');
  if (values.tree === undefined) throw new UsageError('kiln bulk: -p TREE is required', 'see `kiln bulk --help`');
  const ways = [values.all, values.file !== undefined, positionals.length > 0].filter(Boolean).length;
  if (ways !== 1) {
    throw new UsageError('kiln bulk: give exactly one of -f LIST, ORIGIN..., or -a', 'see `kiln bulk --help`');
  }
  if (values.builders !== undefined && !/^[1-9][0-9]{0,3}$/.test(values.builders)) {
    throw new UsageError(`kiln bulk: -J must be a whole number of builders from 1 to 9999, not "${values.builders}"`);
  }
  const rdepsDepth = values['rdeps-depth'] === undefined ? undefined : Number(values['rdeps-depth']);
  if (rdepsDepth !== undefined && !(Number.isInteger(rdepsDepth) && rdepsDepth >= 1 && rdepsDepth <= 100)) {
    throw new UsageError(
      `kiln bulk: --rdeps-depth must be a whole number from 1 to 100, not "${values['rdeps-depth']}"`,
    );
  }
  const rdeps = values.rdeps as string[] | undefined;
  if (!values['dry-run']) {
    // Loaded only for real bulks: `bulk -n` needs none of the build, repository or config machinery.
    const { runBulkCommand } = await import('./bulk-run.js');
    return runBulkCommand(ctx, {
      jail: values.jail,
      tree: values.tree,
      file: values.file,
      origins: positionals,
      all: values.all,
      clean: values.clean,
      keepStale: values['keep-stale'],
      json: values.json,
      tests: values.test,
      resume: values.resume,
      yes: values.yes || values['delete-stale'],
      ...(values.builders !== undefined ? { builders: Number(values.builders) } : {}),
      redis: values.redis,
      distListen: values['dist-listen'],
      rdeps,
      rdepsDepth,
    });
  }
  const res = await planBulk(ctx, {
    jail: values.jail,
    tree: values.tree,
    file: values.file,
    origins: positionals,
    all: values.all,
    dryRun: true,
    clean: values.clean,
    keepStale: values['keep-stale'],
    tests: values.test,
    rdeps,
    rdepsDepth,
  });
  for (const n of res.notes) ctx.err(n);
  for (const l of formatProblems(res.problems)) ctx.err(l);
  for (const e of res.errors) ctx.err(e);
  const removal = removalGuard(res.plan, res.current);
  if (removal !== undefined) {
    ctx.err(
      `kiln: note: ${removal}; without -n this needs --yes (or --delete-stale)${values.yes || values['delete-stale'] ? ', which is given' : ''}`,
    );
  }
  const t0 = performance.now();
  const deb = res.debian ? await import('./bulk-debian.js') : undefined; // a tree of recipes never loads it
  if (values.json) {
    const j = planToJson(res.plan, values.explain);
    ctx.out(JSON.stringify(res.debian && deb ? { ...j, debian: deb.debianPlanJson(res.debian) } : j));
  } else {
    ctx.out(formatPlanText(res.plan, values.explain));
    if (res.debian && deb) ctx.out(deb.formatDebianNotes(res.debian, values.explain));
  }
  if (ctx.env.KILN_TIMINGS === '1') {
    const rows = [...res.timings, { step: 'print', ms: performance.now() - t0 }];
    ctx.err(rows.map((r) => `kiln: timing: ${r.step}: ${r.ms.toFixed(0)} ms`).join('\n'));
  }
  return res.problems.length > 0 || res.errors.length > 0 ? 2 : 0;
}
