/**
 * `kiln bulk` without `-n`: plan, build with N builders, publish, and tell the user as it goes (live lines on a
 * TTY, timestamped lines otherwise, JSON events with `--json`), then a summary. Exit 0 all built, 1 a build failed,
 * 2 input problems.
 */
import os from 'node:os';
import { UsageError, formatProblems } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import { loadConfig, maintainerOf } from '../../config/index.js';
import { hostMirror } from '../../debian/index.js';
import { getOptionChoices } from '../../tree/index.js';
import { runBulk, BulkEvents, LiveView, formatDuration, plainLine, type BulkSummary } from '../../bulk/index.js';
import type { CliContext } from '../context.js';
import { runHooks, writeReports, type PostBulkHooks } from '../../report/index.js';
import { planBulk, removalGuard, type BulkOptions } from './bulk-plan.js';

/** The parsed flags `kiln bulk` passes on. */
export interface BulkRunFlags extends BulkOptions {
  readonly builders?: number;
  readonly json: boolean;
  readonly tests: boolean;
  readonly resume: boolean;
  /** `--yes` / `--delete-stale`: carry out a removal of more than a quarter of the repository. */
  readonly yes?: boolean;
  /** `--redis URL`: build on remote workers (else kiln.yaml's `redis:`); `--dist-listen HOST:PORT` for them. */
  readonly redis?: string;
  readonly distListen?: string;
}

/** Runs a real bulk; returns the exit code. */
export async function runBulkCommand(ctx: CliContext, f: BulkRunFlags): Promise<number> {
  const cfg = loadConfig(ctx.home);
  const store = openStore(ctx.home);
  const ac = new AbortController();
  const onSignal = (): void => {
    ctx.err('kiln: interrupted: cancelling the running builds (sandboxes are torn down)');
    ac.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ticker: NodeJS.Timeout | undefined;
  let dist: import('../../dist/index.js').DistMaster | undefined;
  try {
    const res = await planBulk(ctx, { ...f, dryRun: false, store });
    for (const n of res.notes) ctx.err(n);
    for (const l of formatProblems(res.problems)) ctx.err(l);
    for (const e of res.errors) ctx.err(e);
    // Bad input stops the bulk before anything is built or published: the repository stays as it is.
    if (res.problems.length > 0 || res.errors.length > 0) {
      ctx.err('kiln: nothing was built or published: fix the problems above and run again (-n shows the plan)');
      return 2;
    }
    const removal = removalGuard(res.plan, res.current);
    if (removal !== undefined && !f.yes) {
      throw new UsageError(
        `kiln bulk: ${removal}; nothing was built or published`,
        'run again with --yes (or --delete-stale) to remove them, or --keep-stale to keep them; -n shows the plan',
      );
    }
    const events = new BulkEvents();
    if (f.json) {
      events.subscribe((e) => ctx.out(JSON.stringify(e)));
    } else if (ctx.isTTY) {
      const view = new LiveView((s) => process.stdout.write(s), process.stdout.columns ?? 100);
      events.subscribe((e) => view.onEvent(e));
      ticker = setInterval(() => view.tick(), 1000);
    } else {
      // Plain lines for logs: every port event; a progress line when the counts change, else once a minute.
      let lastProgress: { key: string; t: number } | undefined;
      events.subscribe((e) => {
        if (e.type === 'progress') {
          const key = JSON.stringify(e.counts);
          if (lastProgress && lastProgress.key === key && e.t - lastProgress.t < 60_000) return;
          lastProgress = { key, t: e.t };
        }
        const l = plainLine(e);
        if (l !== null) ctx.out(l);
      });
    }
    const redis = f.redis ?? cfg.redis;
    dist =
      redis && res.jail
        ? await (await import('../../dist/index.js')).startDistMaster({
            home: ctx.home,
            redisUrl: redis,
            jail: res.jail,
            listen: f.distListen,
            order: res.plan.build,
            mirrors: cfg.mirrors,
            debianMirror: hostMirror(cfg.debian_mirror),
            log: ctx.err,
          })
        : undefined;
    if (dist)
      ctx.err(
        `kiln: building on remote workers through ${redis}: ${await dist.slots()} worker slot(s) now; workers reach this master at ${dist.url}`,
      );
    const builders =
      f.builders ?? (dist ? Math.max(1, await dist.slots()) : undefined) ?? cfg.builders ?? os.availableParallelism();
    const summary = await runBulk({
      home: ctx.home,
      store,
      jail: res.jail!,
      tree: res.tree,
      plan: res.plan,
      dag: res.dag,
      ports: res.ports,
      identities: res.identities,
      choices: getOptionChoices(store, res.tree),
      builders,
      jobBudget: cfg.job_budget,
      ...(cfg.ccache ? { ccache: { maxSize: cfg.ccache_size } } : {}),
      ...(cfg.cache.layers_mb > 0 ? { layers: { maxMb: cfg.cache.layers_mb } } : {}),
      limits: {
        wallMs: cfg.limits.wall_s * 1000,
        noOutputMs: cfg.limits.no_output_s * 1000,
        cpuSeconds: cfg.limits.cpu_s,
        memoryBytes: cfg.limits.memory_mb * 1024 * 1024,
        nproc: 4096,
        ...(cfg.limits.disk_mb !== undefined ? { diskBytes: cfg.limits.disk_mb * 1024 * 1024 } : {}),
        ...(cfg.limits.files !== undefined ? { files: cfg.limits.files } : {}),
      },
      withTests: f.tests,
      keepStale: f.keepStale,
      keepGenerations: cfg.keep_generations,
      mirrors: cfg.mirrors,
      debianMirror: hostMirror(cfg.debian_mirror),
      resume: f.resume,
      carried: res.carried,
      events,
      signal: ac.signal,
      request: { file: f.file, origins: f.origins, all: f.all, clean: f.clean, tests: f.tests, builders },
      sourceDateEpoch: ctx.env.SOURCE_DATE_EPOCH ? Number(ctx.env.SOURCE_DATE_EPOCH) : undefined,
      maintainer: maintainerOf(cfg),
      // -t: the qa phase (lintian, install test) after each good build (src/qa).
      execute:
        f.tests && res.jail
          ? (await import('../../qa/index.js')).bulkQa(ctx.home, res.jail.name, res.tree.name, dist?.execute)
          : dist?.execute,
    });
    if (ticker) clearInterval(ticker);
    if (!f.json) printSummary(ctx, summary);
    await afterBulk(ctx, summary.bulk.id, cfg.hooks.post_bulk, f.json);
    if (res.problems.length > 0 || res.errors.length > 0) return 2;
    return summary.counts.failed > 0 || ac.signal.aborted ? 1 : 0;
  } finally {
    if (ticker) clearInterval(ticker);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await dist?.close();
    store.close();
  }
}

/** report.html / report.json beside the logs, then the post-bulk hooks of kiln.yaml; neither changes the exit code. */
async function afterBulk(ctx: CliContext, bulkId: number, hooks: PostBulkHooks, json: boolean): Promise<void> {
  try {
    const r = writeReports(ctx.home, bulkId);
    if (!json) ctx.out(`  report: ${r.html}`);
  } catch (e) {
    ctx.err(`kiln: writing the report of bulk ${bulkId} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (hooks.commands.length === 0 && hooks.urls.length === 0) return;
  for (const h of await runHooks({ home: ctx.home, bulkId, hooks })) {
    if (!h.ok) ctx.err(`kiln: post-bulk hook ${h.target} failed: ${h.detail}`);
  }
}

/** The end-of-bulk report for a person: counts, failures with their phase, the most offending failures. */
function printSummary(ctx: CliContext, s: BulkSummary): void {
  const c = s.counts;
  ctx.out(
    `bulk ${s.bulk.id}: built ${c.built}, failed ${c.failed}, skipped ${c.skipped}, kept ${c.kept}, deleted ${c.deleted} in ${formatDuration(s.wallS)}`,
  );
  for (const f of s.failed)
    ctx.out(
      `  failed  ${f.origin} (phase ${f.phase ?? '?'}): ${f.reason ?? ''}  log: kiln logs ${s.bulk.id} ${f.origin}`,
    );
  for (const k of s.skipped) ctx.out(`  skipped ${k.origin}: ${k.reason}`);
  if (s.offenders.length > 0)
    ctx.out(`  most offending: ${s.offenders.map((o) => `${o.origin} (blocked ${o.blocked})`).join(', ')}`);
  if (s.generation !== undefined)
    ctx.out(`  repository: generation ${s.generation} published (see \`kiln repo show\`)`);
}
