/**
 * `kiln testport -j JAIL -p TREE ORIGIN [-i | -I | --keep] [-t]`: the port maintainer's loop (poudriere's testport).
 * The port's missing dependencies are built as a bulk builds them (into the repository, published); then the port
 * itself in a sandbox, not published: its `.deb`s and log go to `HOME/testport/JAIL-TREE/CAT_NAME/`. `-i` opens a
 * shell in the sandbox when a phase fails, `-I` after the last phase whatever happened, `--keep` leaves the sandbox
 * for `kiln sandbox shell ID`. Exit 0 built, 1 a build failed, 2 bad usage or input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { KilnError, UsageError, formatProblem } from '../../util/errors.js';
import { suggestion } from '../suggest.js';
import { openStore, type PackageRow, type Store } from '../../store/index.js';
import { loadConfig } from '../../config/index.js';
import { hostMirror } from '../../debian/index.js';
import { effectiveOptions, type Port } from '../../recipe/index.js';
import { getOptionChoices } from '../../tree/index.js';
import { hostArch, limitsForArch } from '../../jail/index.js';
import { runBulk, packagesDir, portLimits, BulkEvents, plainLine } from '../../bulk/index.js';
import { buildPort, kilnRunDeps, kilnSonameMap, type BuiltPackage } from '../../build/index.js';
import { layersRoot } from '../../layers/index.js';
import { debsIn, readQaReport, withQa } from '../../qa/index.js';
import { testBuild, type AfterBuild } from '../../build/testport.js';
import type { Limits } from '../../sandbox/index.js';
import { planBulk } from './bulk.js';

const HELP = `usage: kiln testport -j JAIL -p TREE ORIGIN [-i | -I | --keep] [-t] [-J N]

  Builds one port as a maintainer tests it: its missing dependencies as a bulk would (into the repository),
  then the port itself in a sandbox, not published. Prints where its .debs and its log are.
  -i       when a phase fails, open a shell in the sandbox (as the build user, in the build folder, with the
           build's environment); leaving the shell tears the sandbox down. Needs a terminal.
  -I       open the shell after the last phase, whether the build failed or not
  --keep   no shell: keep the sandbox (\`kiln sandbox list | shell ID | rm ID\`, \`kiln clean sandboxes\`)
  -t       run the port's tests
  -J N     builders for the dependencies (default: kiln.yaml's)`;

/** The folder a testport build of `origin` writes its `.deb`s and log to. */
export function testportDir(home: string, jail: string, tree: string, origin: string): string {
  return path.join(home, 'testport', `${jail}-${tree}`, origin.replace('/', '_'));
}

/** Handler of `kiln testport`. */
export async function testportCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('testport', argv, {
    jail: { type: 'string', short: 'j' },
    tree: { type: 'string', short: 'p' },
    interactive: { type: 'boolean', short: 'i', default: false },
    always: { type: 'boolean', short: 'I', default: false },
    keep: { type: 'boolean', default: false },
    test: { type: 'boolean', short: 't', default: false },
    builders: { type: 'string', short: 'J' },
  });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  if (values.jail === undefined)
    throw new UsageError('kiln testport: -j JAIL is required', 'see `kiln testport --help`');
  if (values.tree === undefined)
    throw new UsageError('kiln testport: -p TREE is required', 'see `kiln testport --help`');
  if (positionals.length !== 1)
    throw new UsageError(
      `kiln testport: give exactly one ORIGIN (got ${positionals.length})`,
      'see `kiln testport --help`',
    );
  if ([values.interactive, values.always, values.keep].filter(Boolean).length > 1) {
    throw new UsageError('kiln testport: -i, -I and --keep exclude each other', 'see `kiln testport --help`');
  }
  if ((values.interactive || values.always) && !process.stdin.isTTY) {
    throw new UsageError(
      `kiln testport: ${values.interactive ? '-i' : '-I'} opens a shell and needs a terminal, but stdin is not one`,
      'run it from a terminal, or use --keep and `kiln sandbox shell ID` later',
    );
  }
  if (values.builders !== undefined && !/^[1-9][0-9]{0,3}$/.test(values.builders)) {
    throw new UsageError(
      `kiln testport: -J must be a whole number of builders from 1 to 9999, not "${values.builders}"`,
    );
  }
  const after: AfterBuild = values.interactive
    ? 'shell-on-failure'
    : values.always
      ? 'shell'
      : values.keep
        ? 'keep'
        : 'teardown';
  const origin = positionals[0]!;
  const cfg = loadConfig(ctx.home);
  const store = openStore(ctx.home);
  const ac = new AbortController();
  const onSignal = (): void => {
    ctx.err('kiln: interrupted: cancelling (sandboxes are torn down)');
    ac.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!store.getJail(values.jail)) {
      throw new KilnError(
        'KILN_E_JAIL_NOT_FOUND',
        `no jail named ${values.jail}${suggestion(
          values.jail,
          store.listJails().map((j) => j.name),
        )}`,
        { hint: `make it with \`kiln jail create ${values.jail}\`, or see \`kiln jail list\``, exitCode: 2 },
      );
    }
    const res = await planBulk(ctx, {
      jail: values.jail,
      tree: values.tree,
      origins: [origin],
      dryRun: false,
      keepStale: true,
      tests: values.test,
      store,
    });
    for (const n of res.notes) ctx.err(n);
    const port = res.ports.get(origin);
    const skip = res.plan.skip.find((s) => s.origin === origin);
    if (!port) {
      ctx.err(`kiln testport: no port ${origin} in tree ${res.tree.name}${suggestion(origin, res.ports.keys())}`);
      return 2;
    }
    if (skip || res.errors.length > 0) {
      for (const p of res.problems) ctx.err(formatProblem(p));
      for (const e of res.errors) ctx.err(e);
      if (skip) ctx.err(`kiln testport: ${origin} cannot be built: ${skip.reason}`);
      return 2;
    }
    const jail = res.jail!;
    const limits: Limits = {
      wallMs: cfg.limits.wall_s * 1000,
      noOutputMs: cfg.limits.no_output_s * 1000,
      cpuSeconds: cfg.limits.cpu_s,
      memoryBytes: cfg.limits.memory_mb * 1024 * 1024,
      nproc: 4096,
    };
    // 1. The missing dependencies, as a bulk builds them (published into the repository).
    const deps = res.plan.build.filter((o) => o !== origin);
    const builders =
      values.builders !== undefined ? Number(values.builders) : (cfg.builders ?? os.availableParallelism());
    if (deps.length > 0) {
      ctx.out(
        `kiln testport: building ${deps.length} missing dependenc${deps.length === 1 ? 'y' : 'ies'} of ${origin} first: ${deps.join(', ')}`,
      );
      const events = new BulkEvents();
      events.subscribe((e) => {
        if (e.type !== 'progress') {
          const l = plainLine(e);
          if (l !== null) ctx.out(l);
        }
      });
      const summary = await runBulk({
        home: ctx.home,
        store,
        jail,
        tree: res.tree,
        plan: { ...res.plan, build: deps, keep: res.plan.keep.filter((o) => o !== origin), delete: [] },
        dag: res.dag,
        ports: res.ports,
        identities: res.identities,
        choices: getOptionChoices(store, res.tree),
        builders,
        jobBudget: cfg.job_budget,
        limits,
        withTests: values.test,
        keepStale: true,
        keepGenerations: cfg.keep_generations,
        mirrors: cfg.mirrors,
        debianMirror: hostMirror(cfg.debian_mirror),
        events,
        signal: ac.signal,
        request: { testport: origin, origins: [origin], tests: values.test, builders },
        sourceDateEpoch: Number(ctx.env.SOURCE_DATE_EPOCH ?? 1),
      });
      if (summary.counts.failed > 0 || ac.signal.aborted) {
        for (const f of summary.failed)
          ctx.err(
            `kiln testport: dependency ${f.origin} failed (phase ${f.phase ?? '?'}): ${f.reason ?? ''}  log: kiln logs ${summary.bulk.id} ${f.origin}`,
          );
        return 1;
      }
    }
    // 2. The port itself, in a sandbox that outlives the build when asked; not published.
    const outDir = testportDir(ctx.home, jail.name, res.tree.name, origin);
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.mkdirSync(outDir, { recursive: true });
    const logFile = path.join(outDir, 'build.log');
    const have = depPackages(store, ctx.home, jail.name, res.tree.name, res.ports);
    const depDebs = closureDebs(port, res.ports, have);
    const runDeps = port.recipe.depends.run.map((d) => have.get(d)).filter((x): x is BuiltPackage => x !== undefined);
    ctx.out(`kiln testport: building ${origin} (not published); log: ${logFile}`);
    const out = await testBuild({
      after,
      print: (t) => ctx.out(t),
      hostEnv: ctx.env,
      // QA always runs in testport; -t makes new lintian errors fail the port.
      execute: withQa(buildPort, {
        strict: values.test,
        repoDebs: () => debsIn(path.join(packagesDir(ctx.home, jail.name, res.tree.name), 'All')),
      }),
      input: {
        home: ctx.home,
        jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release },
        port,
        identity: res.identities.get(origin)?.hash ?? 'testport',
        options: effectiveOptions(port.recipe, getOptionChoices(store, res.tree).get(origin) ?? {}),
        depDebs: depDebs.flatMap((p) => p.debs ?? [p.deb]),
        kilnRun: kilnRunDeps(runDeps),
        kilnSonames: await kilnSonameMap(depDebs),
        jobs: os.availableParallelism(),
        withTests: values.test,
        limits: limitsForArch(portLimits(limits, port), jail.arch, await hostArch()),
        outDir,
        logFile,
        sourceDateEpoch: Number(ctx.env.SOURCE_DATE_EPOCH ?? 1),
        mirrors: cfg.mirrors,
        debianMirror: hostMirror(cfg.debian_mirror),
        // The maintainer's loop gains most: each rerun finds the port's dependencies in its layer.
        ...(cfg.cache.layers_mb > 0
          ? {
              layers: {
                root: layersRoot(ctx.home),
                jailIdentity: jail.identity,
                maxBytes: cfg.cache.layers_mb * 1048576,
              },
            }
          : {}),
        signal: ac.signal,
        onPhase: (p) => {
          if (p !== 'teardown') ctx.out(`kiln testport: ${origin}: phase ${p}`);
        },
      },
    });
    const r = out.result;
    if (r.ok) {
      ctx.out(`kiln testport: ${origin} built; not published`);
      for (const d of r.debs) ctx.out(`  deb: ${d}`);
    } else {
      ctx.out(`kiln testport: ${origin} failed in phase ${r.phase ?? '?'}: ${r.reason ?? ''}`);
    }
    ctx.out(`  log: ${logFile}`);
    const qa = readQaReport(logFile);
    if (qa) {
      const c =
        Object.entries(qa.lintian.counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ') || 'no tags';
      ctx.out(
        `  qa: lintian ${c}${qa.lintian.newErrors.length ? ` (new errors: ${qa.lintian.newErrors.join(', ')})` : ''}; install test ${qa.install.ok ? 'passed' : `failed: ${qa.install.reason ?? ''}`}${qa.install.leftovers.length ? `, ${qa.install.leftovers.length} file(s) left after purge` : ''}${
          qa.autopkgtest
            ? `; autopkgtest ${
                Object.entries(qa.autopkgtest.counts)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ') || 'none'
              }`
            : ''
        }`,
      );
    }
    if (out.kept)
      ctx.out(`  sandbox kept: ${out.kept.id} (kiln sandbox shell ${out.kept.id}; kiln sandbox rm ${out.kept.id})`);
    return r.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    store.close();
  }
}

/** The published packages of (jail, tree) as builds see them, by origin. */
function depPackages(
  store: Store,
  home: string,
  jail: string,
  tree: string,
  ports: ReadonlyMap<string, Port>,
): Map<string, BuiltPackage> {
  const dir = packagesDir(home, jail, tree);
  const out = new Map<string, BuiltPackage>();
  for (const p of store.bulks.packages(jail, tree) as PackageRow[]) {
    if (p.files.length === 0) continue;
    const files = p.files.map((f) => path.join(dir, f));
    out.set(p.origin, {
      origin: p.origin,
      pkgname: p.pkgname,
      version: p.version,
      deb: files[0]!,
      ...(ports.get(p.origin)?.debian ? { debs: files } : {}),
    });
  }
  return out;
}

/** The kiln packages a port's build needs installed: its build dependencies and, recursively, their run dependencies. */
function closureDebs(
  port: Port,
  ports: ReadonlyMap<string, Port>,
  have: ReadonlyMap<string, BuiltPackage>,
): BuiltPackage[] {
  const out = new Map<string, BuiltPackage>();
  const stack = [...port.recipe.depends.build];
  for (let guard = 0; stack.length > 0 && guard < 1_000_000; guard++) {
    const d = stack.pop()!;
    if (out.has(d)) continue;
    const b = have.get(d);
    if (!b) continue;
    out.set(d, b);
    stack.push(...(ports.get(d)?.recipe.depends.run ?? []));
  }
  return [...out.values()];
}
