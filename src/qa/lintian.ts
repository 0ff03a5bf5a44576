/**
 * lintian on a port's packages, as Debian checks them. kiln runs the **host's** lintian (installed by
 * `scripts/setup-qa-deps.sh`), not one installed into a sandbox over the jail: lintian is perl plus ~60 packages,
 * and installing it into every QA sandbox would cost more than the build of most ports. The untrusted `.deb`s still
 * meet a build's isolation: lintian runs under bubblewrap with the host's root read-only, fresh /tmp, no network,
 * own PID/IPC/UTS namespaces, as the unprivileged build user with no capabilities. The price: the tags are those of
 * the host release's lintian (a profile newer or older than the jail's may name a few tags differently).
 */
import path from 'node:path';
import { run } from '../util/exec.js';
import { BUILD_USER } from '../sandbox/index.js';

/** lintian's severities, most severe first (E error, W warning, I info, P pedantic, X experimental, O overridden). */
export type Severity = 'E' | 'W' | 'I' | 'P' | 'X' | 'O' | 'C' | 'N';

/** One lintian tag on one package. */
export interface LintianTag {
  readonly severity: Severity;
  /** The package (binary or source) it is about. */
  readonly package: string;
  readonly tag: string;
  /** The tag's context (file, field...), may be empty. */
  readonly info: string;
  /** The package's type when lintian names one (`source` for a source package's tags). */
  readonly kind?: string;
}

/** Parses lintian's output lines (`E: pkg: tag info`); other lines are ignored. Pure. */
export function parseLintian(text: string): LintianTag[] {
  const out: LintianTag[] = [];
  for (const line of text.split('\n')) {
    const m = /^([EWIPXOC]): ([^\s:]+)(?: ([^\s:]+))?: (\S+)(?: (.*))?$/.exec(line);
    if (m)
      out.push({
        severity: m[1] as Severity,
        package: m[2]!,
        tag: m[4]!,
        info: m[5] ?? '',
        ...(m[3] ? { kind: m[3] } : {}),
      });
  }
  return out;
}

/** Counts per severity (`{E: 2, W: 1}`). */
export function countBySeverity(tags: readonly LintianTag[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const t of tags) c[t.severity] = (c[t.severity] ?? 0) + 1;
  return c;
}

/** The bubblewrap command line that runs `argv` on the host's root, read-only, no network, as the build user. Pure. */
export function hostSandboxArgv(argv: readonly string[], binds: readonly { source: string; dest: string }[]): string[] {
  const a = [
    '--ro-bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
    '--perms',
    '1777',
    '--tmpfs',
    '/var/tmp',
    '--unshare-ipc',
    '--unshare-pid',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup-try',
    '--hostname',
    'kiln',
    '--die-with-parent',
    '--new-session',
  ];
  for (const b of binds) a.push('--perms', '0755', '--dir', path.posix.dirname(b.dest), '--ro-bind', b.source, b.dest);
  a.push('--cap-drop', 'ALL');
  for (const c of ['CAP_DAC_READ_SEARCH', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP']) a.push('--cap-add', c);
  a.push(
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/sbin:/usr/bin:/sbin:/bin',
    '--setenv',
    'HOME',
    '/tmp',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--chdir',
    '/tmp',
    '--',
    'setpriv',
    `--reuid=${BUILD_USER.uid}`,
    `--regid=${BUILD_USER.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
    ...argv,
  );
  return a;
}

/** What {@link runLintian} found. */
export interface LintianResult {
  readonly tags: LintianTag[];
  /** lintian's own output (for the log). */
  readonly output: string;
  /** lintian could not run at all (not installed, crashed): the reason. */
  readonly error?: string;
}

/** A source package for {@link runLintian}: its files (host path, name), bound together; the `.dsc` is linted. */
export interface LintianSource {
  readonly dsc: string;
  readonly files: readonly { readonly path: string; readonly name: string }[];
}

/**
 * Runs lintian on `files` (`.deb`s), each bound read-only at `/tmp/kiln-qa/N/NAME`, and on `opts.source` (a Debian
 * port's `.dsc`, its files bound together in `/tmp/kiln-qa/src`). Never throws: a lintian that cannot run is
 * reported in `error`.
 */
export async function runLintian(
  files: readonly string[],
  opts: { signal?: AbortSignal; timeoutMs?: number; source?: LintianSource } = {},
): Promise<LintianResult> {
  if (files.length === 0 && !opts.source) return { tags: [], output: '' };
  // Each file is bound on its own (its folder may be closed to the build user, e.g. a 0700 home).
  const binds = files.map((f, i) => ({ source: f, dest: `/tmp/kiln-qa/${i}/${path.basename(f)}` }));
  const inside = binds.map((b) => b.dest);
  if (opts.source) {
    for (const f of opts.source.files) binds.push({ source: f.path, dest: `/tmp/kiln-qa/src/${f.name}` });
    inside.push(`/tmp/kiln-qa/src/${opts.source.dsc}`);
  }
  try {
    const r = await run(
      'bwrap',
      hostSandboxArgv(['lintian', '--tag-display-limit', '0', '-I', '--no-cfg', ...inside], binds),
      {
        allowFailure: true,
        timeoutMs: opts.timeoutMs ?? 15 * 60_000,
        signal: opts.signal,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
    );
    const output = `${r.stdout}${r.stderr}`;
    const tags = parseLintian(r.stdout);
    // Status 0: no error tags; 1: error tags; anything else with nothing parsed: lintian itself failed.
    if (r.status !== 0 && r.status !== 1 && r.status !== 2 && tags.length === 0)
      return {
        tags,
        output,
        error: `lintian exited with status ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
      };
    return { tags, output };
  } catch (e) {
    return { tags: [], output: '', error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}
