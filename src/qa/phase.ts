/**
 * The `qa` phase after a build: {@link withQa} wraps a build executor (`buildPort`, or the distributed one) so that
 * a good build is followed by {@link runQa}; the phase is told to `onPhase` (the page and the ETA count it, since the
 * build's wall time includes it), logged in the port's log, and its report written beside the log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildPort, type BuildPortInput, type BuildResult } from '../build/index.js';
import { DistfileCache } from '../fetch/index.js';
import { runQa, qaReportPath } from './run.js';
import type { Port } from '../recipe/index.js';
import type { AutopkgtestSource } from './autopkgtest.js';

/** Options of {@link withQa}. */
export interface WithQaOptions {
  /** New E: tags fail the port (`-t`). */
  readonly strict: boolean;
  /** kiln's packages of the pair now (for the install test's dependencies). */
  readonly repoDebs: () => string[];
}

/** Appends time-stamped lines to a log file. */
function logger(file: string): (line: string) => void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return (line) => fs.appendFileSync(file, `[${new Date().toISOString()}] ${line}\n`);
}

/** `execute` followed by the QA phase for good builds. */
export function withQa(
  execute: (i: BuildPortInput) => Promise<BuildResult>,
  o: WithQaOptions,
): (i: BuildPortInput) => Promise<BuildResult> {
  return async (input) => {
    const res = await execute(input);
    if (!res.ok || input.signal?.aborted) return res;
    input.onPhase?.('qa');
    const log = logger(input.logFile);
    const t0 = Date.now();
    log('=== phase qa started');
    const source = debianSource(input.home, input.port);
    const qa = await runQa({
      home: input.home,
      jail: { name: input.jail.name, path: input.jail.path },
      origin: input.port.origin,
      debs: res.debs,
      repoDebs: o.repoDebs(),
      debian: input.port.recipe.build.system === 'debian',
      strict: o.strict,
      ...(source ? { source } : {}),
      ...(input.jail.arch ? { arch: input.jail.arch } : {}),
      limits: input.limits,
      log,
      signal: input.signal,
    });
    fs.writeFileSync(qaReportPath(input.logFile), `${JSON.stringify(qa)}\n`);
    const wallMs = Date.now() - t0;
    log(
      qa.ok
        ? `=== phase qa done in ${(wallMs / 1000).toFixed(2)} s`
        : `=== phase qa FAILED after ${(wallMs / 1000).toFixed(2)} s: ${qa.reason ?? ''}`,
    );
    const timings = [...res.timings, { name: 'qa', startedAt: t0, wallMs, ok: qa.ok }];
    if (qa.ok) return { ...res, timings, wallMs: res.wallMs + wallMs };
    log(`FAILED in phase qa: ${qa.reason ?? ''}`);
    return {
      ...res,
      ok: false,
      debs: [],
      phase: 'qa',
      failure: 'test',
      reason: `qa failed: ${qa.reason ?? ''}`,
      timings,
      wallMs: res.wallMs + wallMs,
    };
  };
}

/**
 * A Debian port's source package from the distfiles cache (where its fetch phase put it), with the port's patches;
 * undefined for a recipe port or when a file is not at hand (a build made by a worker).
 */
export function debianSource(
  home: string,
  port: Pick<Port, 'debian' | 'recipe' | 'dir'>,
): AutopkgtestSource | undefined {
  const deb = port.debian;
  if (port.recipe.build.system !== 'debian' || !deb) return undefined;
  const cache = new DistfileCache(path.join(home, 'distfiles'));
  const files = deb.files.map((f) => ({ path: cache.pathOf(f.sha256), name: f.name }));
  const dsc = files.find((f) => f.name.endsWith('.dsc'));
  if (!dsc || !files.every((f) => fs.existsSync(f.path))) return undefined;
  const names = port.recipe.patches;
  return { dsc: dsc.name, files, ...(names.length > 0 ? { patches: { dir: port.dir, names } } : {}) };
}

/** The `.deb`s in a folder (none if it does not exist). */
export function debsIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.deb'))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/**
 * The executor of `kiln bulk -t`: `execute` (default {@link buildPort}) then the strict QA phase, with kiln's packages
 * of the pair (`HOME/packages/JAIL-TREE/All`) for the install test's dependencies.
 */
export function bulkQa(
  home: string,
  jail: string,
  tree: string,
  execute?: (i: BuildPortInput) => Promise<BuildResult>,
): (i: BuildPortInput) => Promise<BuildResult> {
  return withQa(execute ?? buildPort, {
    strict: true,
    repoDebs: () => debsIn(path.join(home, 'packages', `${jail}-${tree}`, 'All')),
  });
}
