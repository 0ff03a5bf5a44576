/**
 * The QA phase of a port (`kiln bulk -t`, always in `kiln testport`): lintian on its packages, then the install
 * test. Results go to the port's log (tags by severity), to `LOG.qa.json` beside the log (read by the report and the
 * page), and decide the port: a failing install test (apt, a maintainer script, files `dpkg -L` lists missing) fails
 * it; with `strict` (`-t`), so does an `E:` tag that the baseline does not have. The baseline is Debian's own build of
 * the same packages for a Debian port (downloaded from the jail's archive and linted the same way), and for a kiln
 * recipe port the tags kiln's packaging gives every package by design ({@link KILN_PACKAGING_TAGS}).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ARCHIVE_PROXY, createSandbox, sharedAptCache, type JailRef, type Limits } from '../sandbox/index.js';
import { countBySeverity, runLintian, type LintianTag } from './lintian.js';
import { installTest, type InstallResult } from './install.js';
import { runAutopkgtest, type AutopkgtestResult, type AutopkgtestSource } from './autopkgtest.js';

/**
 * E: tags every package kiln makes from a recipe has by design, so they are no regression: the maintainer
 * `kiln@localhost`, no copyright file or Debian changelog (a recipe has neither), file times at SOURCE_DATE_EPOCH
 * (1 by default), and a recipe without `description`.
 */
export const KILN_PACKAGING_TAGS: readonly string[] = [
  'bogus-mail-host',
  'no-copyright-file',
  'no-changelog',
  'package-contains-ancient-file',
  'extended-description-is-empty',
];

/** What QA found for one port (`LOG.qa.json`). */
export interface QaReport {
  readonly origin: string;
  readonly ok: boolean;
  /** Why the port fails QA. */
  readonly reason?: string;
  readonly lintian: {
    readonly tags: LintianTag[];
    readonly counts: Record<string, number>;
    readonly error?: string;
    /** E: tags the baseline does not have (these fail the port with `strict`). */
    readonly newErrors: string[];
    readonly baseline: 'debian' | 'kiln-packaging' | 'none';
  };
  readonly install: InstallResult;
  /** A Debian port's autopkgtests (absent for a recipe port or a source not at hand). */
  readonly autopkgtest?: AutopkgtestResult;
  readonly wallMs: number;
}

/** Options of {@link runQa}. */
export interface QaOptions {
  readonly home: string;
  readonly jail: JailRef;
  readonly origin: string;
  /** The port's packages (and a Debian port's `.changes`, linted too). */
  readonly debs: readonly string[];
  /** kiln's packages of the pair, for the install test's dependencies. */
  readonly repoDebs: readonly string[];
  /** A Debian source package: its binaries are compared with Debian's own build. */
  readonly debian: boolean;
  /** `-t`: new E: tags fail the port. */
  readonly strict: boolean;
  /** A Debian port's source package (the archive's `.dsc`, its files, the port's patches): linted, and its autopkgtests run. */
  readonly source?: AutopkgtestSource;
  /** The jail's architecture (for the autopkgtests' architecture-qualified dependencies). */
  readonly arch?: string;
  readonly log: (line: string) => void;
  readonly limits?: Limits;
  readonly signal?: AbortSignal;
}

/** The path of a port's QA report, beside its log. */
export function qaReportPath(logFile: string): string {
  return logFile.replace(/\.log$/, '') + '.qa.json';
}

/** Reads a QA report written by {@link runQa}, if any. */
export function readQaReport(logFile: string): QaReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(qaReportPath(logFile), 'utf8')) as QaReport;
  } catch {
    return undefined;
  }
}

const key = (t: LintianTag): string => `${t.package} ${t.tag}`;

/** Runs lintian and the install test; writes nothing but the log (the caller writes the report). */
export async function runQa(o: QaOptions): Promise<QaReport> {
  const t0 = Date.now();
  o.log("=== qa: lintian (the host's lintian, sandboxed read-only, no network, as the build user)");
  const lint = await runLintian(o.debs, {
    signal: o.signal,
    ...(o.source ? { source: { dsc: o.source.dsc, files: o.source.files } } : {}),
  });
  for (const sev of ['E', 'W', 'I', 'P', 'X', 'O', 'C'] as const)
    for (const t of lint.tags.filter((x) => x.severity === sev))
      o.log(`${sev}: ${t.package}${t.kind ? ` ${t.kind}` : ''}: ${t.tag}${t.info ? ` ${t.info}` : ''}`);
  if (lint.error) o.log(`lintian could not run: ${lint.error}`);
  const counts = countBySeverity(lint.tags);
  o.log(
    `lintian: ${
      Object.entries(counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'no tags'
    }`,
  );
  let baselineKind: QaReport['lintian']['baseline'] = 'kiln-packaging';
  let known = new Set<string>();
  // The .dsc linted is the archive's own (kiln builds binaries only), so its tags are Debian's: never new errors.
  const errors = lint.tags.filter((t) => t.severity === 'E' && t.kind !== 'source');
  if (o.debian && errors.length > 0) {
    const base = await debianBaseline(o, [...new Set(errors.map((t) => t.package))]);
    baselineKind = base ? 'debian' : 'none';
    known = new Set((base ?? []).filter((t) => t.severity === 'E').map(key));
  }
  const newErrors = [
    ...new Set(errors.filter((t) => (o.debian ? !known.has(key(t)) : !KILN_PACKAGING_TAGS.includes(t.tag))).map(key)),
  ];
  if (newErrors.length > 0)
    o.log(
      `lintian: E: tags the ${baselineKind === 'debian' ? 'Debian build' : 'baseline'} does not have: ${newErrors.join(', ')}`,
    );
  o.log('=== qa: install test');
  const install = await installTest({
    home: o.home,
    jail: o.jail,
    debs: o.debs.filter((d) => /\.u?deb$/.test(d)),
    repoDebs: o.repoDebs,
    label: o.origin,
    log: o.log,
    limits: o.limits,
    signal: o.signal,
  });
  for (const m of install.missing) o.log(`install test: missing: ${m}`);
  for (const l of install.leftovers) o.log(`install test: left after purge: ${l}`);
  o.log(
    `install test: ${install.ok ? 'passed' : `FAILED: ${install.reason ?? ''}`}${install.leftovers.length ? ` (${install.leftovers.length} file(s) left after purge)` : ''}`,
  );
  const autopkgtest = o.source ? await autopkgtests(o, o.source) : undefined;
  const failed = (autopkgtest?.tests ?? []).filter((t) => t.result === 'fail').map((t) => t.name);
  const reason = !install.ok
    ? `install test: ${install.reason ?? 'failed'}`
    : o.strict && newErrors.length > 0
      ? `lintian: E: ${newErrors.slice(0, 5).join(', ')}${newErrors.length > 5 ? ` and ${newErrors.length - 5} more` : ''} (not in the ${baselineKind === 'debian' ? "Debian build's tags" : "kiln packaging's"})`
      : o.strict && failed.length > 0
        ? `autopkgtest: ${failed.length} failed: ${failed.slice(0, 5).join(', ')}`
        : undefined;
  return {
    origin: o.origin,
    ok: reason === undefined,
    ...(reason ? { reason } : {}),
    lintian: {
      tags: lint.tags,
      counts,
      ...(lint.error ? { error: lint.error } : {}),
      newErrors,
      baseline: baselineKind,
    },
    install,
    ...(autopkgtest ? { autopkgtest } : {}),
    wallMs: Date.now() - t0,
  };
}

/** The autopkgtest step of {@link runQa}. */
async function autopkgtests(o: QaOptions, source: AutopkgtestSource): Promise<AutopkgtestResult> {
  o.log('=== qa: autopkgtest (a sandbox of the jail, no network, against the built packages)');
  const r = await runAutopkgtest({
    home: o.home,
    jail: o.jail,
    debs: o.debs.filter((d) => /\.u?deb$/.test(d)),
    source,
    label: o.origin,
    log: o.log,
    ...(o.arch ? { arch: o.arch } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (r.error) o.log(`autopkgtest could not run: ${r.error}`);
  return r;
}

/** lintian's tags on Debian's own build of `packages` (downloaded from the jail's archive), or undefined if unavailable. */
async function debianBaseline(o: QaOptions, packages: readonly string[]): Promise<LintianTag[] | undefined> {
  const sb = await createSandbox({ home: o.home, jail: o.jail, label: `qa-base-${o.origin}` });
  try {
    sb.mkdir('/kiln', 'root');
    sb.mkdir('/kiln/base', 'root');
    // As a build's download step: root of the sandbox's user namespace, no network but the proxy to the jail's archives.
    const proxy = `-o Acquire::http::Proxy=${ARCHIVE_PROXY} -o Acquire::https::Proxy=${ARCHIVE_PROXY}`;
    const r = await sb.run({
      argv: [
        'sh',
        '-c',
        `cd /kiln/base && for p in "$@"; do apt-get download -q -o APT::Sandbox::User=root ${proxy} "$p" || true; done`,
        'sh',
        ...packages,
      ],
      user: 'root',
      network: 'archive',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
      aptCache: sharedAptCache(o.home),
      allowFailure: true,
      signal: o.signal,
    });
    const dir = sb.hostPath('/kiln/base');
    const debs = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.deb'))
      .map((f) => path.join(dir, f));
    o.log(
      `lintian baseline: Debian's build: ${debs.map((d) => path.basename(d)).join(' ') || `none downloaded (${r.stderr.trim().split('\n').pop() ?? ''})`}`,
    );
    if (debs.length === 0) return undefined;
    const base = await runLintian(debs, { signal: o.signal });
    return base.error ? undefined : base.tags;
  } finally {
    await sb.teardown();
  }
}
